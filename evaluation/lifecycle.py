"""The life of a certificate (证书的有效期、状态与变更记录): one rule, in one place, for every reader and writer.

A certificate is issued when its round's final list is published (`rounds.round_finalize` calls `issue`). From
then on it has:

- a **validity period**: from the day the final list was published, for the round's
  `certificate_validity_months` (the last day included);
- a **status**: valid, suspended, revoked or expired, as last recorded (`Candidate.certificate_status`),
  with what a suspension rests on (`Candidate.suspension`: the core patents that ended, the data year of
  the yearly update missed) and, for a revocation, its ground and reason;
- a **history**: one `CertificateEvent` per change (from, to, cause, reason, details, source, actor).

What moves it (each on every path, because each hangs off the one place its cause is applied):

- a core patent of the certified product-year lapses, expires or is invalidated → **suspended**; restored to
  valid → **reinstated** (`filings.drift.status_changed`, sent by `drift.legal_status_apply`, which the legal-status
  import, the admin site and any other writer of a patent's status go through);
- the product has not filed its yearly update for the data year of a later round whose cut-off (its
  `deadline`) has passed → **suspended**; the update filed (submitted for review, or approved) →
  **reinstated** (`filings.workflow.transitioned`, and the daily re-check for cut-offs that pass);
- the certified filing is revoked or withdrawn → the certificate **ends** (recorded as revoked, on that ground;
  `filings.workflow.transitioned`);
- the national office **revokes** it with a ground (an objection upheld, a finding) and a reason (`revoke`);
- the end of the validity period → **expired** (the daily re-check records it).

Revoked and expired are final. Readers never wait for the daily re-check: `standing` corrects the recorded
status for the day it is read (expiry; a cut-off that has passed without the update), and
`held_q`/`certified_as_of` ("certified as of D") is the one definition that the certified list and its
export, the verification page, the public product page, the open data, the dashboards and the filing
statement read.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from evaluation.choices import REVOCATION_GROUNDS, CandidateStatus, CertificateCause, CertificateStatus, Stage
from evaluation.models import Candidate, CandidateQuerySet, CertificateEvent, Round
from evaluation.notifications import addresses
from filings.choices import ENDED_STATUSES, FilingStatus
from filings.models import PatentLink, ProductVersion
from patent_platform import audit, outbox
from patent_platform.choices import AuditAction, Role
from patent_platform.clock import CHINA_TZ as CHINA
from patent_platform.clock import china_today
from patent_platform.models import User
from patent_platform.roles import require_role
from patent_platform.signals import figures_changed

S = CertificateStatus
C = CertificateCause
# A yearly update counts as filed once it is submitted for review and not withdrawn or revoked.
FILED_STATUSES = (FilingStatus.SUBMITTED, FilingStatus.RETURNED, FilingStatus.RESUBMITTED, FilingStatus.APPROVED)
FINAL_STATUSES = (S.REVOKED, S.EXPIRED)
REASON_MIN = 10
CHUNK = 500


# --- dates ---------------------------------------------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def validity(rnd: Round, start: dt.date) -> tuple[dt.date, dt.date]:
    """The validity period of a certificate of `rnd` issued on `start` (both days included)."""
    return start, add_months(start, rnd.certificate_validity_months) - dt.timedelta(days=1)


def end_of(day: dt.date) -> dt.datetime:
    """The first moment after `day` in China (a day's standing is the standing at its end)."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=CHINA)


def day_before(moment: dt.datetime) -> dt.date:
    """The day in China that ends at or before `moment` (month ends are given as the next month's start)."""
    return timezone.localtime(moment - dt.timedelta(microseconds=1), CHINA).date()


# --- the one rule: certified as of D -------------------------------------------------------------------


def issued() -> CandidateQuerySet:
    """Every certificate ever issued (a final list published, a number given), whatever its status now."""
    return Candidate.objects.filter(
        status=CandidateStatus.CERTIFIED, round__stage=Stage.FINAL, certificate_number__isnull=False
    )


def held_q(moment: dt.datetime) -> Q:
    """A certificate held at `moment` (a Q on Candidate): issued before it, its validity not over, not
    revoked (nor its filing ended) by then. Valid and suspended certificates are held; a suspended one is
    shown with its suspension wherever it appears."""
    return (
        Q(status=CandidateStatus.CERTIFIED, round__stage=Stage.FINAL, certificate_number__isnull=False)
        & Q(certified_at__lt=moment)
        & (Q(valid_until__isnull=True) | Q(valid_until__gte=day_before(moment)))
        & (Q(revoked_at__isnull=True) | Q(revoked_at__gte=moment))
    )


def held_by_product(moment: dt.datetime) -> Exists:
    """The product (OuterRef "pk") holds a certificate at `moment`."""
    return Exists(Candidate.objects.filter(held_q(moment), product=OuterRef("pk")))


def with_standing(qs: QuerySet[Candidate], day: dt.date | None = None) -> QuerySet[Candidate]:
    """`qs` with what `standing` needs to correct the recorded status for `day`: the data year of the newest
    round whose cut-off has passed by then (`due_year`, later than the certificate's own) and whether the
    product has filed its update for that year (`update_filed`)."""
    day = day or china_today()
    due = Round.objects.filter(data_year__gt=OuterRef("round__data_year"), deadline__lt=day).order_by("-data_year")
    filed = ProductVersion.objects.filter(
        product=OuterRef("product_id"), data_year=OuterRef("due_year"), status__in=FILED_STATUSES
    )
    return qs.annotate(due_year=Subquery(due.values("data_year")[:1])).annotate(update_filed=Exists(filed))


def certified_as_of(day: dt.date | None = None) -> QuerySet[Candidate]:
    """The certificates held at the end of `day` (default today, in China), with their standing's inputs."""
    day = day or china_today()
    return with_standing(Candidate.objects.filter(held_q(end_of(day))), day)


# --- a certificate's standing on a day -----------------------------------------------------------------


@dataclass
class Standing:
    status: str
    reasons: list[str] = field(default_factory=list)
    patents: list[str] = field(default_factory=list)
    update_year: int | None = None

    @property
    def label(self) -> str:
        return str(S(self.status).label)

    @property
    def held(self) -> bool:
        return self.status in (S.VALID, S.SUSPENDED)


def _missed_year(candidate: Candidate, day: dt.date) -> int | None:
    if hasattr(candidate, "due_year"):
        return None if candidate.update_filed else candidate.due_year  # type: ignore[attr-defined]  # with_standing's
    standing_of = with_standing(Candidate.objects.filter(pk=candidate.pk), day)
    row = standing_of.values("due_year", "update_filed").first()  # type: ignore[misc]  # with_standing's annotations
    if not row or row["update_filed"]:
        return None
    due: int | None = row["due_year"]
    return due


def update_reason(year: int) -> str:
    return _("未在 %(year)s 年度认定批次截止日前提交 %(year)s 年度数据的年度更新") % {"year": year}


def patents_reason(numbers: Iterable[str]) -> str:
    return _("核心专利 %(numbers)s 失效、期限届满或被宣告无效") % {"numbers": "、".join(numbers)}


def standing(candidate: Candidate, day: dt.date | None = None) -> Standing:
    """The status of `candidate`'s certificate on `day` (default today) and why, as every reader shows it."""
    day = day or china_today()
    if candidate.revoked_at is not None and candidate.revoked_at < end_of(day):
        ground = C(candidate.revocation_ground).label if candidate.revocation_ground else ""
        reasons = [str(r) for r in (ground, candidate.revocation_reason) if r]
        return Standing(S.REVOKED, reasons)
    if candidate.valid_until is not None and candidate.valid_until < day:
        return Standing(S.EXPIRED, [_("有效期至 %(day)s") % {"day": candidate.valid_until.isoformat()}])
    suspension = candidate.suspension or {}
    patents = list(suspension.get("patents") or [])
    year = _missed_year(candidate, day)
    reasons = []
    if patents:
        reasons.append(patents_reason(patents))
    if year:
        reasons.append(update_reason(year))
    return Standing(S.SUSPENDED if reasons else S.VALID, reasons, patents, year)


# --- writers -------------------------------------------------------------------------------------------


def _record(
    candidate: Candidate,
    to_status: str,
    cause: str,
    *,
    user: User | None = None,
    source: str = "",
    reason: str = "",
    details: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> CertificateEvent:
    at = at or timezone.now()
    return CertificateEvent.objects.create(
        candidate=candidate,
        at=at,
        from_status=candidate.certificate_status,
        to_status=to_status,
        cause=cause,
        reason=reason,
        details=details or {},
        source=source[:100],
        actor=user if getattr(user, "pk", None) else None,
    )


def certificate_issue(*, candidate: Candidate, user: User, at: dt.datetime) -> None:
    """Give a certificate just numbered by `rounds.round_finalize` its validity and its first history row."""
    start, end = validity(candidate.round, timezone.localtime(at, CHINA).date())
    _record(candidate, S.VALID, C.ISSUED, user=user, source="finalize", at=at)
    candidate.valid_from, candidate.valid_until = start, end
    candidate.certificate_status, candidate.status_changed_at = S.VALID, at
    candidate.save(update_fields=["valid_from", "valid_until", "certificate_status", "status_changed_at"])


def _ended_core_patents(candidate: Candidate) -> list[str]:
    return sorted(
        set(
            PatentLink.objects.filter(
                version_id=candidate.version_id, is_core=True, right__patent__legal_status__in=ENDED_STATUSES
            ).values_list("right__patent__number", flat=True)
        )
    )


def _changed(
    candidate: Candidate,
    status: str,
    suspension: dict[str, Any] | None,
    events: list[tuple[str, dict[str, Any]]],
    *,
    user: User | None,
    source: str,
) -> None:
    now = timezone.now()
    for cause, details in events:
        event = _record(candidate, status, cause, user=user, source=source, details=details, at=now)
        queue_certificate_notice(event)  # the filer hears of it; the notice commits with the change
    candidate.certificate_status, candidate.suspension, candidate.status_changed_at = status, suspension, now
    candidate.save(update_fields=["certificate_status", "suspension", "status_changed_at"])


def certificate_recheck(
    *, candidate_ids: Iterable[int], user: User | None = None, source: str = "", day: dt.date | None = None
) -> int:
    """Bring the recorded status of these certificates in line with their causes (call inside a transaction;
    the rows are locked in id order). Returns how many changed. Revoked and expired certificates stay so."""
    day = day or china_today()
    ids = sorted(set(candidate_ids))
    changed = 0
    ended_products: list[int] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        locked = list(issued().filter(pk__in=chunk).select_for_update(of=("self",)).order_by("pk"))
        annotated = {
            c.pk: c for c in with_standing(issued().filter(pk__in=[c.pk for c in locked]), day).select_related("round")
        }
        for candidate in locked:
            if candidate.certificate_status in FINAL_STATUSES or candidate.revoked_at is not None:
                continue
            if candidate.valid_until is not None and candidate.valid_until < day:
                details = {"valid_until": str(candidate.valid_until)}
                _changed(candidate, S.EXPIRED, candidate.suspension, [(C.EXPIRED, details)], user=user, source=source)
                ended_products.append(candidate.product_id)
                changed += 1
                continue
            fresh = annotated[candidate.pk]
            patents = _ended_core_patents(candidate)
            year = None if fresh.update_filed else fresh.due_year  # type: ignore[attr-defined]  # with_standing's
            suspension: dict[str, Any] = {}
            if patents:
                suspension["patents"] = patents
            if year:
                suspension["update_year"] = year
            old = candidate.suspension or {}
            if suspension == old and candidate.certificate_status:
                continue
            status = S.SUSPENDED if suspension else S.VALID
            events: list[tuple[str, dict[str, Any]]] = []
            if patents and patents != old.get("patents"):
                events.append((C.PATENT_ENDED, {"patents": patents}))
            elif not patents and old.get("patents"):
                events.append((C.PATENT_RESTORED, {"patents": old["patents"]}))
            if year and year != old.get("update_year"):
                events.append((C.UPDATE_MISSED, {"update_year": year}))
            elif not year and old.get("update_year"):
                events.append((C.UPDATE_FILED, {"update_year": old["update_year"]}))
            _changed(candidate, status, suspension, events, user=user, source=source)
            changed += 1
    if ended_products:
        figures_changed.send(sender=Candidate, products=sorted(set(ended_products)))
    if changed:
        audit.audit_bulk(
            action=AuditAction.UPDATE, model=Candidate, ids=ids, message=f"certificate recheck ({source}): {changed}"
        )
    return changed


def certificate_recheck_all(*, day: dt.date | None = None) -> int:
    """The daily re-check (evaluation.recheck_certificates): every certificate neither revoked nor expired,
    in chunks, each in its own transaction (a certificate re-checked twice changes nothing the second time)."""
    ids = list(issued().exclude(certificate_status__in=FINAL_STATUSES).order_by("pk").values_list("pk", flat=True))
    changed = 0
    for start in range(0, len(ids), CHUNK):
        with transaction.atomic():
            changed += certificate_recheck(candidate_ids=ids[start : start + CHUNK], source="daily", day=day)
    return changed


def _end(candidate: Candidate, cause: str, *, user: User | None, reason: str, source: str) -> CertificateEvent:
    now = timezone.now()
    event = _record(candidate, S.REVOKED, cause, user=user, source=source, reason=reason, at=now)
    candidate.certificate_status, candidate.status_changed_at = S.REVOKED, now
    candidate.revoked_at, candidate.revocation_ground, candidate.revocation_reason = now, cause, reason
    candidate.save(
        update_fields=[
            "certificate_status",
            "status_changed_at",
            "revoked_at",
            "revocation_ground",
            "revocation_reason",
        ]
    )
    figures_changed.send(sender=Candidate, products=[candidate.product_id])
    queue_certificate_notice(event)
    return event


def certificate_revoke(*, candidate_id: int, user: User, ground: str, reason: str) -> Candidate:
    """The national office revokes a certificate after an objection or a finding, with its reason."""
    require_role(user, Role.NATIONAL_ADMIN, message=_("只有国家知识产权局可以撤销认定证书。"), error=Http404)
    reason = (reason or "").strip()
    errors: dict[str, list[str]] = {}
    if ground not in REVOCATION_GROUNDS:
        errors["ground"] = [_("请选择撤销依据。")]
    if len(reason) < REASON_MIN:
        errors["reason"] = [_("请写明撤销理由（不少于 %(n)s 个字）。") % {"n": REASON_MIN}]
    elif len(reason) > 3000:
        errors["reason"] = [_("理由不能超过 %(n)s 字。") % {"n": 3000}]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        try:
            candidate: Candidate = issued().visible_to(user).select_for_update(of=("self",)).get(pk=candidate_id)
        except Candidate.DoesNotExist as exc:
            raise Http404 from exc
        if candidate.revoked_at is not None:
            raise ValidationError(_("该证书已于 %(at)s 撤销。") % {"at": _local(candidate.revoked_at)}, code="revoked")
        before = candidate.certificate_status
        _end(candidate, ground, user=user, reason=reason, source="national office")
        audit.audit_event(
            action=AuditAction.TRANSITION,
            obj=candidate,
            actor=user,
            changes={"certificate_status": [before, S.REVOKED], "reason": [None, reason]},
            message=f"certificate {candidate.certificate_number} revoked: {ground}",
        )
    return candidate


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment, CHINA).strftime("%Y-%m-%d %H:%M")


def queue_certificate_notice(event: CertificateEvent) -> int:
    """The filer's notice of a change of its certificate's status (call inside the change's transaction)."""
    candidate = Candidate.objects.select_related("version", "unit").get(pk=event.candidate_id)
    recipients = addresses(candidate)
    if not recipients:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        details = event.details or {}
        why = event.reason
        if event.cause == CertificateCause.PATENT_ENDED:
            why = patents_reason(details.get("patents", []))
        elif event.cause == CertificateCause.UPDATE_MISSED:
            why = update_reason(details.get("update_year", ""))
        url = settings.SITE_URL.rstrip("/") + reverse("certified:verify", args=[candidate.certificate_number])
        subject = _("【专利密集型产品认定】证书 %(no)s 状态变更为“%(status)s”") % {
            "no": candidate.certificate_number,
            "status": CertificateStatus(event.to_status).label,
        }
        body = _("您的产品“%(name)s”的认定证书 %(no)s：%(cause)s。%(why)s\n证书状态：%(url)s") % {
            "name": candidate.version.name,
            "no": candidate.certificate_number,
            "cause": CertificateCause(event.cause).label,
            "why": why,
            "url": url,
        }
        written = outbox.enqueue(
            "evaluation.candidate",
            source=f"{candidate.pk}:certificate:{event.pk}",
            recipients=recipients,
            subject=subject,
            body=body,
            kick=False,
        )
    outbox.kick_after_commit()
    return len(written)


# --- the hooks (connected in EvaluationConfig.ready) ---------------------------------------------------


def on_patent_status(
    sender: Any, patent_ids: list[int], user: User | None = None, source: Any = None, **kwargs: Any
) -> None:
    """`filings.drift.status_changed`: re-check the certificates whose certified product-year links one of
    these patents as core (in the import's transaction: the page shows it as soon as the import commits)."""
    if not patent_ids:
        return
    ids: set[int] = set()
    for start in range(0, len(patent_ids), CHUNK):
        links = PatentLink.objects.filter(right__patent_id__in=patent_ids[start : start + CHUNK], is_core=True)
        ids.update(
            issued()
            .exclude(certificate_status__in=FINAL_STATUSES)
            .filter(version_id__in=links.values("version_id"))
            .values_list("pk", flat=True)
        )
    label = f"patent status import {source.pk}" if getattr(source, "pk", None) else "patent status"
    certificate_recheck(candidate_ids=ids, user=user, source=label)


def on_transition(
    sender: Any, version: ProductVersion, action: str, user: User | None = None, reason: str = "", **kwargs: Any
) -> None:
    """`filings.workflow.transitioned`: a revoked or withdrawn filing ends the certificate of that product-year;
    any transition of a version may file (or unfile) the yearly update the product's certificates wait for."""
    if action in ("revoke", "withdraw"):
        cause = C.FILING_REVOKED if action == "revoke" else C.FILING_WITHDRAWN
        for candidate in issued().filter(version=version, revoked_at__isnull=True).select_for_update(of=("self",)):
            _end(candidate, cause, user=user, reason=reason, source=f"filing {action}")
    ids = list(
        issued()
        .filter(product_id=version.product_id, revoked_at__isnull=True)
        .exclude(certificate_status__in=FINAL_STATUSES)
        .values_list("pk", flat=True)
    )
    if ids:
        certificate_recheck(candidate_ids=ids, user=user, source=f"filing {action}")


def connect() -> None:
    from filings import drift, workflow

    drift.status_changed.connect(on_patent_status, dispatch_uid="evaluation.lifecycle.patent_status")
    workflow.transitioned.connect(on_transition, dispatch_uid="evaluation.lifecycle.transition")


# --- what the public product page shows (filings.marking) ----------------------------------------------


def public_certificates(product_id: int) -> list[dict[str, Any]]:
    """The certificates of a product the public may see (every one issued, with its standing today)."""
    today = china_today()
    rows = []
    candidates = with_standing(issued().filter(product_id=product_id), today).select_related("round__method")
    for candidate in candidates.order_by("-round__data_year", "certificate_number"):
        state = standing(candidate, today)
        rows.append(
            {
                "number": candidate.certificate_number,
                "round": candidate.round.name,
                "data_year": candidate.round.data_year,
                "valid_from": candidate.valid_from,
                "valid_until": candidate.valid_until,
                "status": state.status,
                "status_label": state.label,
                "reasons": state.reasons,
                "since": candidate.status_changed_at,
                "standard": candidate.round.method.standard_designation,
                "method_code": candidate.round.method.code,
            }
        )
    return rows
