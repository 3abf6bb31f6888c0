"""Security events into the audit log: logins, failures, lockouts, logouts; changes of users and grants."""

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import models
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import Signal, receiver
from guardian.models import GroupObjectPermission, UserObjectPermission

from patent_platform import audit
from patent_platform.choices import AuditAction
from patent_platform.middleware import client_ip
from patent_platform.models import User

# Fields whose change is not a data change worth recording (or must never be recorded).
_USER_IGNORED = frozenset({"password", "last_login"})


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: User, **kwargs: Any) -> None:
    # one record per login, whatever the path; a path other than the password form says which (`login_note`)
    audit.audit_event(
        action=AuditAction.LOGIN,
        obj=user,
        actor=user,
        message=getattr(request, "login_note", ""),
        ip=client_ip(request) if request else None,
    )


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: User | None, **kwargs: Any) -> None:
    if user is not None:
        audit.audit_event(action=AuditAction.LOGOUT, obj=user, actor=user, ip=client_ip(request) if request else None)


@receiver(user_login_failed)
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    audit.audit_event(
        action=AuditAction.LOGIN_FAILED,
        object_type="patent_platform.User",
        object_repr=str(credentials.get("username", ""))[:200],
        success=False,
        ip=client_ip(request) if request else None,
    )


@receiver(user_locked_out)
def _locked_out(sender: Any, request: Any, username: str, ip_address: str, **kwargs: Any) -> None:
    audit.audit_event(
        action=AuditAction.LOCKOUT,
        object_type="patent_platform.User",
        object_repr=str(username)[:200],
        success=False,
        ip=ip_address,
    )


def _before(sender: Any, instance: Any, **kwargs: Any) -> None:
    if instance.pk and not kwargs.get("raw"):
        old = sender._default_manager.filter(pk=instance.pk).first()
        # our marker on the instance, clear of model fields
        instance._audit_before = audit.snapshot(old) if old else None  # noqa: SLF001


def _after(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return
    before = None if created else getattr(instance, "_audit_before", None)
    if created or before is not None:
        audit.audit_change(obj=instance, before=before, ignore=_AUDITED[sender])


def _deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    audit.audit_event(action=AuditAction.DELETE, obj=instance, changes=audit.snapshot(instance))


_AUDITED: dict[type[models.Model], frozenset[str]] = {}


def register_audited(model: type[models.Model], *, ignore: frozenset[str] = frozenset()) -> None:
    """Record every save and delete of `model` with before → after (fields in `ignore` left out).

    Bulk operations bypass signals: they call `audit.audit_bulk` themselves."""
    if model in _AUDITED:
        return
    _AUDITED[model] = ignore
    pre_save.connect(_before, sender=model, weak=False, dispatch_uid=f"audit-before-{model._meta.label}")
    post_save.connect(_after, sender=model, weak=False, dispatch_uid=f"audit-after-{model._meta.label}")
    post_delete.connect(_deleted, sender=model, weak=False, dispatch_uid=f"audit-delete-{model._meta.label}")


register_audited(User, ignore=_USER_IGNORED)


def _grant_changed(instance: Any, granted: bool) -> None:
    who = instance.user.email if isinstance(instance, UserObjectPermission) else instance.group.name
    audit.audit_event(
        action=AuditAction.PERMISSION,
        object_type=f"{instance.content_type.app_label}.{instance.content_type.model}",
        object_id=str(instance.object_pk),
        object_repr=f"{instance.permission.codename} → {who}",
        changes={"granted": [not granted, granted]},
    )


@receiver(post_save, sender=UserObjectPermission)
@receiver(post_save, sender=GroupObjectPermission)
def _grant_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if created and not kwargs.get("raw"):  # a restore loads grants as they were, already audited
        _grant_changed(instance, True)


@receiver(post_delete, sender=UserObjectPermission)
@receiver(post_delete, sender=GroupObjectPermission)
def _grant_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    _grant_changed(instance, False)


# Sent after a set-based write (queryset.update, bulk_create) that may move a dashboard figure, which
# no post_save signal reports: `products` the ids of the products concerned. provincial.dashboards.freshness marks
# their regions dirty (inside the sender's transaction).
figures_changed = Signal()
