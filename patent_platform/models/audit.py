"""The append-only, hash-chained audit log: who, when, what, before → after, from which address.

Append-only: the application has no update or delete path for these rows: `save()` refuses to change
an existing row, `delete()` refuses, and the queryset's bulk `update()` / `delete()` / `bulk_create()`
refuse; the model is not registered in the admin and has only the "view" permission. On PostgreSQL a
trigger (migration 0002) refuses UPDATE and DELETE, so not even a raw query can rewrite history; on
SQLite a trigger (migration 0004) refuses UPDATE (see there why not DELETE).

Tamper-evident (等保 2.0 L3-CES1-14/25; GB/T 39786-2021 level 3, integrity of important data): every row
carries `prev_hash`, the `hash` of the row inserted before it, and its own `hash`, HMAC-SM3 under
settings.AUDIT_CHAIN_KEY over a canonical JSON of its content and `prev_hash` (`content_hash`). Without the
key nobody can recompute a changed record's hash, so a rewrite of the table (rows and hashes together) is
caught too, which a plain hash chain cannot do.

`hash_version` says how a row was hashed: empty for the rows written before migration 0014 (plain SHA-256,
kept as they were: the table is append-only and rewriting history to re-chain it would be the very thing the
log must show never happens), 2 for HMAC-SM3. Migration 0014 seals the legacy rows: it appends one HMAC-SM3
record whose `prev_hash` is the last legacy hash, so a legacy row rewritten later breaks that seal. The
verifier refuses a legacy row after an HMAC row (a downgrade) and a chain whose last row is a legacy one.

Inserting takes a transaction-level advisory lock on PostgreSQL, so two transactions
cannot both chain onto the same predecessor; `prev_hash` is unique as a second guard. `manage.py
verify_audit` walks the chain in id order and names the first record that does not fit.
"""

import datetime as dt
import hashlib
import json
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.core import checks
from django.db import models, router, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patent_platform.choices import AuditAction, Role
from patent_platform.locks import advisory_xact_lock
from patent_platform.scoping import ScopedQuerySet
from patent_platform.signing import hmac_sm3_hex

if TYPE_CHECKING:
    from patent_platform.scoping import Reader

# The advisory lock every process writing the audit table takes (per database: patent_platform.locks).
ADVISORY_LOCK_NAME = "patent_platform.audit"
GENESIS = ""  # prev_hash of the first record
HMAC_SM3 = 2  # hash_version of the records hashed with HMAC-SM3 (empty: the legacy sha256 rows)
AUDIT_CHAIN_KEY_MIN_LENGTH = 32
# 等保 2.0 L3-CES1-14 asks for audit records to be kept; the Cybersecurity Law (art. 21) says 6 months.
AUDIT_RETENTION_MINIMUM_DAYS = 180
# Who reads the audit log (views/audit.py): the audit administrator of the separation of duties
# (三权分立, 等保 L3-CES1-08) and nobody else — not even the national administrator, whose actions it records.
AUDIT_READER_ROLES: frozenset[str] = frozenset({Role.AUDIT_ADMIN})


class AppendOnlyError(Exception):
    """Raised on any attempt to change or remove an audit record."""


def _canonical_time(value: dt.datetime) -> str:
    # Milliseconds in UTC: Django's JSON serializer (dumpdata, hence backups) keeps milliseconds only,
    # so a record restored from a backup hashes exactly as it did when it was written.
    utc = value.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def content_hash(
    *,
    at: dt.datetime,
    actor_id: int | None,
    actor_email: str,
    ip: str | None,
    action: str,
    object_type: str,
    object_id: str,
    object_repr: str,
    changes: Any,
    message: str,
    success: bool,
    prev_hash: str,
    version: int | None = None,
) -> str:
    """The record's hash (hex) over its canonical JSON (sorted keys, no whitespace, UTF-8): HMAC-SM3 under
    settings.AUDIT_CHAIN_KEY for `version` 2 (HMAC_SM3), plain sha256 for the legacy rows (None)."""
    document = {
        "at": _canonical_time(at),
        "actor_id": actor_id,
        "actor_email": actor_email,
        "ip": ip or None,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "object_repr": object_repr,
        "changes": changes,
        "message": message,
        "success": bool(success),
        "prev_hash": prev_hash,
    }
    if version == HMAC_SM3:
        document["hash_version"] = HMAC_SM3
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    if version is None:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()
    if version != HMAC_SM3:
        raise ValueError(f"unknown audit hash version {version!r}")
    return hmac_sm3_hex(chain_key(), text.encode("utf-8"))


def chain_key() -> bytes:
    result: bytes = settings.AUDIT_CHAIN_KEY.encode("utf-8")
    return result


HASHED_FIELDS = (
    "at",
    "actor_id",
    "actor_email",
    "ip",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "changes",
    "message",
    "success",
    "prev_hash",
)


class AuditEventQuerySet(ScopedQuerySet["AuditEvent"]):
    # No region and no unit: only the audit readers (AUDIT_READER_ROLES) read the log, whatever the
    # scope of other roles (national administrators and reviewers see all business data, not this).
    region_prefix = None
    unit_field = None

    def visible_to(self, user: "Reader") -> "AuditEventQuerySet":
        # The audit administrator sees no business data (its scope is empty) but reads every record.
        if (
            getattr(user, "is_authenticated", False)
            and getattr(user, "is_active", False)
            and getattr(user, "role", None) in AUDIT_READER_ROLES
        ):
            return self.all()
        return self.none()

    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("audit records cannot be updated")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit records cannot be deleted")

    # bulk_update goes through update(); _raw_delete is what Collector uses for fast deletes.
    def _raw_delete(self, using: str | None) -> int:
        raise AppendOnlyError("audit records cannot be deleted")

    def bulk_create(self, *args: Any, **kwargs: Any) -> list["AuditEvent"]:
        # Rows created in bulk would not be chained one by one.
        raise AppendOnlyError("audit records are created one at a time (audit_event)")


class AuditEvent(models.Model):
    # Set by save() (not auto_now_add) because the time is part of the hashed content.
    at = models.DateTimeField(_("时间"), default=timezone.now, editable=False, db_index=True)
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
    prev_hash = models.CharField(_("前一记录哈希"), max_length=64, blank=True, editable=False)
    hash = models.CharField(_("记录哈希"), max_length=64, blank=True, editable=False)
    # Null for the rows hashed with plain sha256 before migration 0014; HMAC_SM3 since (see the module's doc).
    # Null, not a default: SQLite adds such a column in place, so the append-only trigger stays.
    hash_version = models.PositiveSmallIntegerField(_("哈希算法版本"), null=True, blank=True, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering: ClassVar[list[str]] = ["-at", "-id"]
        indexes: ClassVar[list[models.Index]] = [
            # "history of this object" on detail pages and in the audit administrator's search
            models.Index(fields=["object_type", "object_id", "at"], name="audit_object_history"),
        ]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            # Two records chained onto the same predecessor would fork the chain.
            models.UniqueConstraint(fields=["prev_hash"], name="audit_chain_no_fork"),
        ]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_email} {self.action} {self.object_type}#{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None or not self._state.adding:
            raise AppendOnlyError("audit records cannot be changed")
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        # What is hashed is what the database gives back: the address as stored, the changes as JSON.
        self.ip = self._meta.get_field("ip").get_prep_value(self.ip) or None
        self.changes = json.loads(json.dumps(self.changes, ensure_ascii=False, allow_nan=False))
        with transaction.atomic(using=using):
            # Held until the outermost transaction ends: the next writer reads our row as the last.
            advisory_xact_lock(ADVISORY_LOCK_NAME, using)
            last = type(self)._base_manager.using(using).order_by("-id").values_list("hash", flat=True).first()
            self.prev_hash = last if last is not None else GENESIS
            self.at = timezone.now()
            self.hash_version = HMAC_SM3
            self.hash = self.compute_hash()
            super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit records cannot be deleted")

    def compute_hash(self) -> str:
        return content_hash(**{name: getattr(self, name) for name in HASHED_FIELDS}, version=self.hash_version)


def retention_days() -> int:
    """How long audit records are kept at least (settings.AUDIT_RETENTION_DAYS, never below 180)."""
    days = int(getattr(settings, "AUDIT_RETENTION_DAYS", AUDIT_RETENTION_MINIMUM_DAYS))
    return max(days, AUDIT_RETENTION_MINIMUM_DAYS)


@checks.register(checks.Tags.security)
def check_audit_chain_key(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    key = getattr(settings, "AUDIT_CHAIN_KEY", "")
    if not isinstance(key, str) or len(key) < AUDIT_CHAIN_KEY_MIN_LENGTH:
        return [
            checks.Error(
                f"AUDIT_CHAIN_KEY must be at least {AUDIT_CHAIN_KEY_MIN_LENGTH} characters (the HMAC-SM3 key of "
                "the audit chain and of the access-control tags).",
                id="patent_platform.E102",
            )
        ]
    return []


@checks.register(checks.Tags.security)
def check_audit_retention(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    days = getattr(settings, "AUDIT_RETENTION_DAYS", AUDIT_RETENTION_MINIMUM_DAYS)
    if not isinstance(days, int) or days < AUDIT_RETENTION_MINIMUM_DAYS:
        return [
            checks.Error(
                f"AUDIT_RETENTION_DAYS is {days!r}; audit records must be kept at least "
                f"{AUDIT_RETENTION_MINIMUM_DAYS} days (等保 2.0 L3-CES1-14).",
                id="patent_platform.E101",
            )
        ]
    return []
