"""The append-only audit log: who, when, what, before → after, from which address.

The application has no update or delete path for these rows: `save()` refuses to change an existing
row, `delete()` refuses, and the queryset's bulk `update()` / `delete()` refuse. On PostgreSQL a
trigger (migration 0002) refuses UPDATE and DELETE as well, so not even a raw query can rewrite history.
"""

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from patent_platform.choices import AuditAction


class AppendOnlyError(Exception):
    """Raised on any attempt to change or remove an audit record."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("audit records cannot be updated")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit records cannot be deleted")

    # bulk_update goes through update(); _raw_delete is what Collector uses for fast deletes.
    def _raw_delete(self, using: str) -> int:
        raise AppendOnlyError("audit records cannot be deleted")


class AuditEvent(models.Model):
    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    # The actor is kept as an id and an e-mail snapshot, not a foreign key: deleting or renaming a
    # user must never change or remove the record of what that user did.
    actor_id = models.BigIntegerField(_("操作人 ID"), null=True, blank=True, db_index=True)
    actor_email = models.CharField(_("操作人"), max_length=254, blank=True)
    ip = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)
    action = models.CharField(_("操作"), max_length=20, choices=AuditAction.choices, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=100, blank=True)
    object_id = models.CharField(_("对象 ID"), max_length=64, blank=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    changes = models.JSONField(_("变更（前 → 后）"), default=dict, blank=True)
    message = models.TextField(_("说明"), blank=True)
    success = models.BooleanField(_("成功"), default=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["-at", "-id"]
        indexes = [
            # "history of this object" on detail pages and in the audit administrator's search
            models.Index(fields=["object_type", "object_id", "at"], name="audit_object_history"),
        ]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_email} {self.action} {self.object_type}#{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None or not self._state.adding:
            raise AppendOnlyError("audit records cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit records cannot be deleted")
