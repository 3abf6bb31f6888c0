"""Security records of accounts: the hashes of earlier passwords (reuse history, 等保 L3-CES1-01).

Also the receivers that end an account's sessions and delete its API tokens when it is disabled: they
live here, with the models, so that they are connected whenever the models are loaded (web, worker,
management commands), not only when a view module happens to be imported.
"""

from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _


class PasswordHistory(models.Model):
    """One password an account has had: its hash only (as stored in User.password), never the password."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="password_history", verbose_name=_("用户")
    )
    password = models.CharField(_("密码哈希"), max_length=128)
    created_at = models.DateTimeField(_("设置时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("历史密码")
        verbose_name_plural = _("历史密码")
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["user", "-created_at"], name="pwhistory_user_recent")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.created_at:%Y-%m-%d %H:%M}"


@receiver(pre_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="security-user-was-active")
def _remember_active(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    instance._security_was_active = (  # noqa: SLF001 (our marker on the instance, clear of model fields)
        None
        if raw or not instance.pk
        else sender._default_manager.filter(pk=instance.pk).values_list("is_active", flat=True).first()
    )


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="security-user-disabled")
def _end_sessions_when_disabled(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """is_active True → False by any save (the inactive-accounts task, the admin site, a service): the
    account's sessions are deleted from the session store and its API tokens deleted (L3-CES1-31)."""
    if raw or instance.is_active or not getattr(instance, "_security_was_active", False):
        return
    from patent_platform.security import end_access

    end_access([instance.pk])


@receiver(pre_save, sender="authtoken.Token", dispatch_uid="security-no-staff-tokens")
def _refuse_staff_tokens(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """No API token for an account whose role requires 2FA: a token would bypass the second factor.
    DRF turns the PermissionDenied into a 403 answer of the token endpoint."""
    from patent_platform.security import otp_required

    if not raw and instance._state.adding and otp_required(instance.user):
        raise PermissionDenied(_("工作人员账号须使用双因素认证登录网页，不能获取 API 令牌。API 令牌仅供企业系统使用。"))
