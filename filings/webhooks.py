"""Webhooks of filing units (issue 24, "told, not polled"; docs/API.md, "Webhooks").

An enterprise registers an https endpoint; the platform then posts signed events to it when one of the
unit's filings is returned, approved, revoked or flagged, or a product of the unit is certified.

- Wire format: Standard Webhooks (standardwebhooks.com). Headers `webhook-id` (the event id, the same on
  every retry and replay), `webhook-timestamp` (seconds, the time of the attempt) and `webhook-signature`
  (`v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` keyed with the secret's decoded bytes); the body
  is `{"type", "timestamp", "data"}`, the same bytes on every attempt. `data` carries ids, the filing
  number, the product's name, the data year, the status and the reasons: no personal data.
- Verified before use: a new endpoint is pending; a `webhook.verification` event carries a random
  `challenge`, and the endpoint becomes active only when it answers 2xx with a body containing it. Events
  are recorded only for active endpoints that subscribe to them (nothing is kept for a pending or disabled
  one); a failed verification leaves (or puts) the endpoint pending.
- Written like the mail outbox (patent_platform/outbox.py): `emit` writes one `WebhookDelivery` per active
  endpoint inside the transaction of the change that causes the event (a rolled-back change leaves none, a
  committed one always has its rows) and asks for a delivery after commit; the beat sweep every minute
  sends what the broker or a worker left.
- `deliver_due` claims due rows with a token and a lease (SKIP LOCKED where the database has it, and a
  conditional UPDATE on the lease in any case: two workers never send one delivery at the same time), posts
  each outside any transaction (10 s timeout, redirects not followed, TLS verified, the address resolved
  once, checked, and connected to — a DNS answer cannot switch to an internal address between the check
  and the connection) and records the answer. A failure is retried after 1 min, 5 min, 30 min, 2 h and 6 h;
  after WEBHOOK_MAX_ATTEMPTS attempts the delivery is dead. A replay sends a delivery again, same id.
  The addresses allowed and the HTTPS request itself are in filings/webhook_transport.py.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from filings.models import FilingUnit, WebhookDelivery, WebhookEndpoint
from filings.models.webhooks import (
    EVENT_TYPES,
    VERIFICATION_EVENT,
    WebhookDeliveryStatus,
    WebhookEndpointStatus,
)
from filings.webhook_transport import Answer, post, validate_url
from patent_platform import audit
from patent_platform.choices import AuditAction, Role
from patent_platform.claims import DB_ERRORS, on_fresh_connection
from patent_platform.roles import require_role
from patent_platform.scoping import lock_visible, scope_of

if TYPE_CHECKING:
    from patent_platform.models import User

logger = logging.getLogger("filings.webhooks")

D = WebhookDeliveryStatus
E = WebhookEndpointStatus
SECRET_PREFIX = "whsec_"  # noqa: S105  (the format's prefix, not a secret)
# the waits after the 1st, 2nd … failed attempt; the last one repeats if WEBHOOK_MAX_ATTEMPTS allows more
RETRY_DELAYS = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=6),
)
BATCH = 20
# longer than a batch can take: BATCH sends of at most WEBHOOK_TIMEOUT to connect and to read each
LEASE = dt.timedelta(minutes=15)
USER_AGENT = "patent-platform-webhooks/1"


# ---------------------------------------------------------------------------------------------
# Secrets and signatures


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def secret_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def body_bytes(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# ---------------------------------------------------------------------------------------------
# Endpoints: register, verify, disable, enable, delete


def _check_member(user: User, unit_id: int) -> None:
    """The unit's own enterprise users only (the role, then the membership)."""
    message = _("只有本单位的企业用户可以管理 Webhook。")
    require_role(user, Role.ENTERPRISE, message=message)
    if unit_id not in scope_of(user).unit_ids:
        raise PermissionDenied(message)


def _clean_events(events: Iterable[str] | None) -> list[str]:
    if events is None:
        return list(EVENT_TYPES)
    chosen = list(dict.fromkeys(events))
    unknown = [e for e in chosen if e not in EVENT_TYPES]
    if unknown:
        raise ValidationError(
            {"events": _("未知的事件类型：%(types)s") % {"types": ", ".join(unknown)}}, code="unknown_event"
        )
    if not chosen:
        raise ValidationError({"events": _("请至少选择一种事件。")}, code="required")
    return [e for e in EVENT_TYPES if e in chosen]  # in the documented order


def endpoint_create(*, unit: FilingUnit, user: User, url: str, events: Iterable[str] | None = None) -> WebhookEndpoint:
    """Register an endpoint (pending) and send it the verification event after commit."""
    _check_member(user, unit.pk)
    url = validate_url(url)
    chosen = _clean_events(events)
    with transaction.atomic():
        # the unit's row lock: two registrations at once count each other
        FilingUnit.objects.select_for_update().filter(pk=unit.pk).first()
        existing = WebhookEndpoint.objects.filter(unit=unit)
        if existing.filter(url=url).exists():
            raise ValidationError({"url": _("该地址已登记。")}, code="duplicate")
        if existing.count() >= settings.WEBHOOK_MAX_ENDPOINTS:
            raise ValidationError(
                _("每个单位最多登记 %(n)s 个接收地址。") % {"n": settings.WEBHOOK_MAX_ENDPOINTS}, code="too_many"
            )
        endpoint = WebhookEndpoint.objects.create(
            unit=unit, url=url, events=chosen, secret=new_secret(), status=E.PENDING, created_by=user
        )
        audit.audit_event(
            action=AuditAction.CREATE,
            obj=endpoint,
            actor=user,
            changes={"url": [None, url], "events": [None, chosen]},
            message="webhook endpoint registered",
        )
        _queue_verification(endpoint)
    return endpoint


def _queue_verification(endpoint: WebhookEndpoint) -> WebhookDelivery:
    now = timezone.now()
    event_id = uuid.uuid4()
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_id=event_id,
        event_type=VERIFICATION_EVENT,
        payload={
            "type": VERIFICATION_EVENT,
            "timestamp": _iso(now),
            "data": {"endpoint_id": endpoint.pk, "challenge": secrets.token_urlsafe(24)},
        },
        next_attempt_at=now,
    )
    kick_after_commit()
    return delivery


def endpoint_verify(*, endpoint: WebhookEndpoint, user: User) -> WebhookDelivery:
    """Send a new verification event ("verify again"); a disabled endpoint is enabled this way."""
    with transaction.atomic():
        locked = lock_visible(WebhookEndpoint.objects.all(), user, endpoint.pk)
        _check_member(user, locked.unit_id)
        if locked.status == E.DISABLED:
            _set_status(locked, E.PENDING, user, "webhook endpoint enabled: verification sent")
        delivery = _queue_verification(locked)
    endpoint.status = locked.status
    return delivery


def _set_status(endpoint: WebhookEndpoint, status: str, user: User, message: str) -> None:
    before = endpoint.status
    endpoint.status = status
    endpoint.save(update_fields=["status"])
    audit.audit_event(
        action=AuditAction.UPDATE, obj=endpoint, actor=user, changes={"status": [before, status]}, message=message
    )


def endpoint_disable(*, endpoint: WebhookEndpoint, user: User) -> WebhookEndpoint:
    """No more events are recorded for a disabled endpoint; deliveries already waiting stay (sent once it is
    active again)."""
    with transaction.atomic():
        locked = lock_visible(WebhookEndpoint.objects.all(), user, endpoint.pk)
        _check_member(user, locked.unit_id)
        if locked.status != E.DISABLED:
            _set_status(locked, E.DISABLED, user, "webhook endpoint disabled")
    endpoint.status = locked.status
    return locked


def endpoint_enable(*, endpoint: WebhookEndpoint, user: User) -> WebhookEndpoint:
    """Enabling verifies again: the address may have changed hands while the endpoint was disabled."""
    endpoint_verify(endpoint=endpoint, user=user)
    return endpoint


def endpoint_delete(*, endpoint: WebhookEndpoint, user: User) -> None:
    with transaction.atomic():
        locked = lock_visible(WebhookEndpoint.objects.all(), user, endpoint.pk)
        _check_member(user, locked.unit_id)
        audit.audit_event(
            action=AuditAction.DELETE,
            obj=locked,
            actor=user,
            changes={"url": [locked.url, None], "status": [locked.status, None]},
            message="webhook endpoint deleted",
        )
        locked.delete()


def delivery_replay(*, delivery_id: int, user: User, endpoint: WebhookEndpoint | None = None) -> WebhookDelivery:
    """Send a delivery again (same event id and body), whatever became of it; its attempts count anew."""
    with transaction.atomic():
        qs = WebhookDelivery.objects.select_related("endpoint")
        if endpoint is not None:
            qs = qs.filter(endpoint_id=endpoint.pk)
        locked = lock_visible(qs, user, delivery_id)
        _check_member(user, locked.endpoint.unit_id)
        now = timezone.now()
        before = locked.status
        # the claim is left alone: a sender holding it now finishes its attempt first (its result stands, and
        # no second sender takes the row before its lease ends)
        WebhookDelivery.objects.filter(pk=locked.pk).update(
            status=D.PENDING, attempts=0, next_attempt_at=now, replayed_at=now
        )
        audit.audit_event(
            action=AuditAction.UPDATE,
            obj=locked,
            actor=user,
            changes={"status": [before, D.PENDING]},
            message=f"webhook delivery replayed: {locked.event_type} {locked.event_id}",
        )
        kick_after_commit()
    locked.refresh_from_db()
    return locked


# ---------------------------------------------------------------------------------------------
# Events, written in the transaction of the change


def _active_endpoints(unit_ids: Iterable[int] | None = None) -> dict[int, list[WebhookEndpoint]]:
    """The active endpoints by unit (of these units, or of every unit: a handful per unit that uses webhooks)."""
    qs = WebhookEndpoint.objects.filter(status=E.ACTIVE)
    if unit_ids is not None:
        qs = qs.filter(unit_id__in=sorted(set(unit_ids)))
    by_unit: dict[int, list[WebhookEndpoint]] = {}
    for endpoint in qs.order_by("pk"):
        by_unit.setdefault(endpoint.unit_id, []).append(endpoint)
    return by_unit


def emit(
    event_type: str,
    *,
    unit_id: int,
    data: Mapping[str, Any],
    kick: bool = True,
    active: Sequence[WebhookEndpoint] | None = None,
) -> int:
    """Record the event for every active endpoint of the unit that subscribes to it, in the current
    transaction; returns how many deliveries were written. Nothing is recorded for pending or disabled
    endpoints. `active`: the unit's active endpoints when the caller read them already (many events)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event {event_type!r}: add it to filings.models.webhooks.EVENT_TYPES")
    if active is None:
        active = _active_endpoints([unit_id]).get(unit_id, [])
    endpoints = [e for e in active if e.subscribes_to(event_type)]
    if not endpoints:
        return 0
    now = timezone.now()
    event_id = uuid.uuid4()  # one event: the same id at every endpoint of the unit
    payload = {"type": event_type, "timestamp": _iso(now), "data": dict(data)}
    with transaction.atomic():
        WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    endpoint=e, event_id=event_id, event_type=event_type, payload=payload, next_attempt_at=now
                )
                for e in endpoints
            ]
        )
        if kick:
            kick_after_commit()
    return len(endpoints)


def _filing_data(version: Any) -> dict[str, Any]:
    product = version.product
    return {
        "unit_id": product.unit_id,
        "product_id": product.pk,
        "version_id": version.pk,
        "filing_number": product.filing_number,
        "product_name": version.name,
        "data_year": version.data_year,
        "status": version.status,
    }


def emit_transition(version: Any, action: str, *, reasons: Sequence[Mapping[str, str]] = (), reason: str = "") -> int:
    """`filing.returned` / `filing.approved` / `filing.revoked` for a workflow transition (filings/workflow.py)."""
    event_type = {"return": "filing.returned", "approve": "filing.approved", "revoke": "filing.revoked"}[action]
    data = _filing_data(version)
    if action == "return":
        data["reasons"] = [{"field": r["field"], "message": r["message"]} for r in reasons]
    elif action == "revoke":
        data["reason"] = reason
    return emit(event_type, unit_id=version.product.unit_id, data=data)


def emit_flags(flag_ids: Sequence[int]) -> int:
    """`filing.flagged` for each new flag (filings/drift.py): a linked patent is no longer valid. A status
    import may flag thousands of filings: only those of units with an active endpoint are read."""
    from filings.models import FilingFlag

    by_unit = _active_endpoints()
    if not by_unit:
        return 0
    ids = sorted(flag_ids)
    written = 0
    for start in range(0, len(ids), 500):
        flags = FilingFlag.objects.filter(
            pk__in=ids[start : start + 500], version__product__unit_id__in=sorted(by_unit)
        ).select_related("version__product", "patent")
        for flag in flags.order_by("pk"):
            unit_id = flag.version.product.unit_id
            data = {
                **_filing_data(flag.version),
                "flag_id": flag.pk,
                "patent_number": flag.patent.number,
                "legal_status": flag.legal_status,
            }
            written += emit("filing.flagged", unit_id=unit_id, data=data, kick=False, active=by_unit[unit_id])
    if written:
        kick_after_commit()
    return written


@dataclass(frozen=True)
class Certified:
    """A certified candidate, as evaluation/rounds.py hands it over (this layer does not import evaluation)."""

    candidate_id: int
    round_id: int
    version: Any
    certificate_number: str
    certified_at: dt.datetime


def emit_certified(items: Iterable[Certified]) -> int:
    """`product.certified` for each certificate of a round's final list (evaluation/rounds.py)."""
    items = list(items)
    by_unit = _active_endpoints({item.version.product.unit_id for item in items})
    written = 0
    for item in items:
        unit_id = item.version.product.unit_id
        if unit_id not in by_unit:
            continue
        data = {
            **_filing_data(item.version),
            "candidate_id": item.candidate_id,
            "round_id": item.round_id,
            "certificate_number": item.certificate_number,
            "certified_at": _iso(item.certified_at),
        }
        written += emit("product.certified", unit_id=unit_id, data=data, kick=False, active=by_unit[unit_id])
    if written:
        kick_after_commit()
    return written


# ---------------------------------------------------------------------------------------------
# Delivery


def _kick() -> None:
    from filings.tasks import deliver_webhooks

    try:
        deliver_webhooks.delay()
    except Exception:  # in-process (the embedded default) or the broker down: the beat sweep sends them
        logger.exception("webhook delivery after commit failed; the rows stay pending for the sweep")


def kick_after_commit() -> None:
    """Ask for a delivery once the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(_kick)


def retry_delay(attempts: int) -> dt.timedelta:
    """The wait after the `attempts`-th failed attempt."""
    return RETRY_DELAYS[min(max(attempts, 1), len(RETRY_DELAYS)) - 1]


def _sendable() -> Q:
    """Events go to active endpoints only; a verification to a pending or active one."""
    return Q(endpoint__status=E.ACTIVE) | Q(event_type=VERIFICATION_EVENT, endpoint__status__in=[E.PENDING, E.ACTIVE])


def _claim(now: dt.datetime, limit: int) -> tuple[uuid.UUID, list[int]]:
    token = uuid.uuid4()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    with transaction.atomic():
        due = (
            WebhookDelivery.objects.filter(status__in=[D.PENDING, D.RETRYING], next_attempt_at__lte=now)
            .filter(free)
            .filter(_sendable())
            .order_by("next_attempt_at", "pk")
            .select_for_update(skip_locked=True, of=("self",))
        )
        ids = list(due.values_list("pk", flat=True)[:limit])
        if ids:
            # conditional on the lease still free: on a database without SKIP LOCKED (SQLite) two claimers
            # may read the same ids, and only one of them takes each row
            WebhookDelivery.objects.filter(pk__in=ids).filter(free).update(claim=token, lease_until=now + LEASE)
    return token, ids


def headers_for(delivery: WebhookDelivery, body: bytes, now: dt.datetime) -> dict[str, str]:
    msg_id = str(delivery.event_id)
    timestamp = int(now.timestamp())
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(delivery.endpoint.secret, msg_id, timestamp, body),
    }


def _record(delivery: WebhookDelivery, token: uuid.UUID, answer: Answer, now: dt.datetime) -> str:
    """Write the attempt's result (under the claim); returns the delivery's new status."""
    attempts = delivery.attempts + 1
    ok = answer.status is not None and 200 <= answer.status < 300 and not answer.error
    verification = delivery.event_type == VERIFICATION_EVENT
    error = answer.error
    if ok and verification:
        challenge = str(delivery.payload.get("data", {}).get("challenge", ""))
        if challenge.encode() not in answer.body:
            ok, error = False, "the answer does not contain the challenge"
    fields: dict[str, Any] = {
        "attempts": attempts,
        "last_status_code": answer.status,
        "last_error": error[:300],
        "last_attempt_at": now,
        "claim": None,
        "lease_until": None,
    }
    if ok:
        status = D.DELIVERED
        fields.update(status=status, delivered_at=now, next_attempt_at=None)
    elif verification or attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        # a verification is tried once: the enterprise fixes its receiver and verifies again
        status = D.DEAD
        fields.update(status=status, next_attempt_at=None)
    else:
        status = D.RETRYING
        fields.update(status=status, next_attempt_at=now + retry_delay(attempts))
    with transaction.atomic():
        updated = WebhookDelivery.objects.filter(pk=delivery.pk, claim=token).update(**fields)
        if updated and verification:
            _verified(delivery.endpoint_id, ok, now)
    if not ok:
        log = logger.error if status == D.DEAD else logger.warning
        log(
            "webhook %s (%s → endpoint %s) attempt %s failed: %s",
            delivery.event_id,
            delivery.event_type,
            delivery.endpoint_id,
            attempts,
            error,
        )
    return status


def _verified(endpoint_id: int, ok: bool, now: dt.datetime) -> None:
    """The outcome of a verification: active with the time, or pending (not a disabled endpoint)."""
    endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id).first()
    if endpoint is None or endpoint.status == E.DISABLED:
        return
    before = endpoint.status
    if ok:
        endpoint.status, endpoint.verified_at = E.ACTIVE, now
        endpoint.save(update_fields=["status", "verified_at"])
    elif before != E.PENDING:
        endpoint.status = E.PENDING
        endpoint.save(update_fields=["status"])
    if endpoint.status != before:
        audit.audit_event(
            action=AuditAction.UPDATE,
            obj=endpoint,
            changes={"status": [before, endpoint.status]},
            message="webhook endpoint verified" if ok else "webhook endpoint verification failed",
        )


def deliver_due(*, now: dt.datetime | None = None, limit: int = BATCH) -> dict[str, int]:
    """Send the deliveries that are due (`now`: the clock, for tests); returns counts by outcome."""
    counts = {"delivered": 0, "retrying": 0, "dead": 0}
    while True:
        moment = now or timezone.now()
        token, ids = _claim(moment, limit)
        if not ids:
            return counts
        try:
            deliveries = WebhookDelivery.objects.filter(pk__in=ids, claim=token).select_related("endpoint")
            for delivery in deliveries.order_by("next_attempt_at", "pk"):
                body = body_bytes(delivery.payload)
                sent_at = now or timezone.now()
                answer = post(delivery.endpoint.url, headers_for(delivery, body, sent_at), body)
                status = on_fresh_connection(partial(_record, delivery, token, answer, sent_at))
                counts[status] = counts.get(status, 0) + 1
        finally:
            _release(token, ids)
        if len(ids) < limit:
            return counts


def _release(token: uuid.UUID, ids: list[int]) -> None:
    """A delivery never ends holding a claim: what it did not get to is due again at once."""
    try:
        on_fresh_connection(
            lambda: WebhookDelivery.objects.filter(pk__in=ids, claim=token).update(claim=None, lease_until=None)
        )
    except DB_ERRORS:  # the database still unreachable: the lease frees the rows
        logger.warning("could not release the claim of webhook deliveries %s; their lease frees them", ids[:20])
