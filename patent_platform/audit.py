"""Writing the audit log: one place that every service, signal and bulk operation calls.

Signal-based history misses bulk updates and bulk creates, so imports and bulk operations call
`audit_bulk` themselves; per-object changes call `audit_change` with the before and after values.
"""

from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import models

from patent_platform.choices import AuditAction
from patent_platform.models import AuditEvent
from patent_platform.models.audit import GENESIS, HMAC_SM3, retention_days
from patent_platform.signing import constant_time_equal


@dataclass(frozen=True)
class RequestContext:
    actor_id: int | None = None
    actor_email: str = ""
    ip: str | None = None


_context: ContextVar[RequestContext] = ContextVar("audit_context", default=RequestContext())  # noqa: B039


def set_context(*, actor: Any = None, ip: str | None = None) -> object:
    """Set who acts and from where for the rest of this request or task; returns a reset token."""
    if actor is not None and getattr(actor, "is_authenticated", False):
        ctx = RequestContext(actor_id=actor.pk, actor_email=actor.email, ip=ip)
    else:
        ctx = RequestContext(ip=ip)
    return _context.set(ctx)


def reset_context(token: object) -> None:
    _context.reset(token)  # type: ignore[arg-type]


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, models.Model):
        return value.pk
    return str(value)


def audit_event(
    *,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    changes: Mapping[str, Any] | None = None,
    message: str = "",
    success: bool = True,
    actor: Any = None,
    ip: str | None = None,
) -> AuditEvent:
    ctx = _context.get()
    if actor is not None and getattr(actor, "is_authenticated", False):
        actor_id, actor_email = actor.pk, actor.email
    else:
        actor_id, actor_email = ctx.actor_id, ctx.actor_email
    if obj is not None:
        object_type = object_type or obj._meta.label
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
    return AuditEvent.objects.create(
        actor_id=actor_id,
        actor_email=actor_email,
        ip=ip or ctx.ip,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        changes=_jsonable(dict(changes or {})),
        message=message,
        success=success,
    )


def snapshot(obj: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The concrete field values of `obj` (foreign keys as ids), for a before/after comparison.

    Personal data stored encrypted (patent_platform/encrypted_fields.py) goes into the log masked (a***@x.cn,
    138****5678, 陈**), never in clear: the log would otherwise keep in plaintext what the tables encrypt.
    Blind indexes are left out."""
    from patent_platform.encrypted_fields import BlindIndexField, is_encrypted
    from patent_platform.masking import mask_contact_value

    by_attname = {f.attname: f for f in obj._meta.concrete_fields}
    names = fields or [f.attname for f in obj._meta.concrete_fields if not isinstance(f, BlindIndexField)]
    values = {}
    for name in names:
        value = getattr(obj, name)
        field = by_attname.get(name)
        values[name] = (
            mask_contact_value(name, value) if field is not None and is_encrypted(field) else _jsonable(value)
        )
    return values


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{field: [before, after]} for the fields whose value changed."""
    keys = set(before) | set(after)
    return {k: [before.get(k), after.get(k)] for k in sorted(keys) if before.get(k) != after.get(k)}


def audit_change(
    *,
    obj: models.Model,
    before: Mapping[str, Any] | None,
    ignore: frozenset[str] = frozenset(),
    message: str = "",
    actor: Any = None,
) -> AuditEvent | None:
    """Record a create (before is None) or an update of `obj`; nothing if no field changed.

    Fields in `ignore` (password hashes, last login) are never written to the log."""
    after = {k: v for k, v in snapshot(obj).items() if k not in ignore}
    if before is None:
        return audit_event(
            action=AuditAction.CREATE, obj=obj, changes={k: [None, v] for k, v in after.items()}, actor=actor
        )
    changes = diff({k: v for k, v in before.items() if k not in ignore}, after)
    if not changes:
        return None
    return audit_event(action=AuditAction.UPDATE, obj=obj, changes=changes, message=message, actor=actor)


def audit_bulk(*, action: str, model: type[models.Model], ids: Iterable[Any], message: str = "") -> AuditEvent:
    """One record for a bulk create / update / import, naming every affected row."""
    id_list = [str(i) for i in ids]
    return audit_event(
        action=action,
        object_type=model._meta.label,
        object_id="",
        object_repr=f"{len(id_list)} × {model._meta.verbose_name}",
        changes={"ids": id_list},
        message=message,
    )


@dataclass(frozen=True)
class ChainReport:
    count: int  # records checked
    broken_id: int | None = None  # the first record that does not fit, if any
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def verify_chain(*, using: str = "default", chunk_size: int = 2000) -> ChainReport:
    """Walk the audit chain in id order (streaming) and report the first record that does not fit:
    its `prev_hash` is not the previous record's `hash` (a record removed or inserted), or its `hash`
    is not the hash of its content (a record changed)."""
    prev = GENESIS
    count = 0
    keyed = False  # an HMAC-SM3 record has been seen: no legacy record may follow
    last: AuditEvent | None = None
    rows = AuditEvent._base_manager.using(using).order_by("id").iterator(chunk_size=chunk_size)
    for event in rows:
        if event.prev_hash != prev:
            return ChainReport(count, event.pk, "prev_hash does not match the previous record's hash")
        if keyed and event.hash_version != HMAC_SM3:
            return ChainReport(count, event.pk, "a plain-hash record after HMAC-SM3 records (downgraded)")
        if not constant_time_equal(event.hash, event.compute_hash()):
            return ChainReport(count, event.pk, "hash does not match the record's content")
        keyed = keyed or event.hash_version == HMAC_SM3
        prev = event.hash
        last = event
        count += 1
    if last is not None and not keyed:
        # Migration 0014 appends an HMAC-SM3 seal after the legacy records; a chain of plain hashes only can be
        # recomputed by anyone, so it proves nothing.
        return ChainReport(count, last.pk, "no HMAC-SM3 record seals the chain")
    return ChainReport(count)


__all__ = [
    "ChainReport",
    "audit_bulk",
    "audit_change",
    "audit_event",
    "diff",
    "reset_context",
    "retention_days",
    "set_context",
    "snapshot",
    "verify_chain",
]
