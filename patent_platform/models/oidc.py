"""The link between an account and its identity at an OpenID Connect provider (patent_platform/oidc.py).

A login through a provider finds the account by (provider, subject), never by e-mail once linked: the e-mail at
the provider may change or be reassigned; the subject is the provider's stable identifier of the person."""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class OIDCIdentity(models.Model):
    provider = models.CharField(_("身份提供方"), max_length=50)
    subject = models.CharField(_("身份标识"), max_length=255)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_identities", verbose_name=_("用户")
    )
    created_at = models.DateTimeField(_("关联时间"), auto_now_add=True)
    last_login_at = models.DateTimeField(_("最近登录"), null=True, blank=True)

    class Meta:
        verbose_name = _("统一身份认证关联")
        verbose_name_plural = _("统一身份认证关联")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["provider", "subject"], name="oidc_identity_provider_subject"),
            # one identity per provider and account: a second person at the same provider cannot take it over
            models.UniqueConstraint(fields=["provider", "user"], name="oidc_identity_provider_user"),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.subject}"
