"""The yearly calendar of a certification round: its deadlines, what they close, lock exceptions, reminders.

A round is configured with its data year, its filing cut-off (`Round.deadline`) and a deadline per stage:
information (`info_due`), expert scoring (`scoring_due`), the 公示 period in working days
(`publicity_days`, evaluation/workdays.py) and the objections (`objections_due`). The platform enforces:

- the cut-off: once every round of a data year has passed its cut-off, no product-year of that year may
  opt in (filings/candidacy.py asks `opt_in_refusal` on the page, the API, the forms and the import);
- information: a request past its deadline reads as not supplied at once (`Candidate.status_on`) and the
  daily task writes it (`close_overdue_information`); a filer can no longer answer (`rounds.information_submit`);
- stages: a round moves on before the previous stage's deadline only with the office's reason
  (`rounds.early_reason`);
- lock exceptions: the national office lets one product past the cut-off or the information deadline, with
  a reason, audited and shown on the product's result (`lock_exception_grant`);
- reminders: REMIND_DAYS before a deadline each participant who still has something to do gets one e-mail
  through the outbox, once per participant and deadline (the notice's key: kind, source, recipient).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from evaluation.choices import CandidateStatus, LockKind, Stage
from evaluation.models import Assignment, Candidate, Holiday, LockException, Objection, Round
from evaluation.rounds import ROLE_DENIED, RoundError, round_rerun_patent_evaluation
from filings.choices import FilingStatus
from filings.models import ProductVersion
from patent_platform import audit, outbox
from patent_platform.choices import AuditAction, Role
from patent_platform.clock import china_today
from patent_platform.models import Notice, User
from patent_platform.roles import has_role, require_role

C = CandidateStatus
REMIND_DAYS = 3  # reminders go out this many days (or fewer) before a deadline


# --- the deadlines, as every participant sees them -----------------------------------------------


@dataclass(frozen=True)
class Deadline:
    key: str
    label: str
    date: dt.date | None
    days_left: int | None  # calendar days from today to the date (0: today is the last day)
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.days_left is not None and self.days_left < 0

    @property
    def state(self) -> str:
        if self.days_left is None:
            return "unset"
        if self.days_left < 0:
            return "passed"
        if self.days_left <= REMIND_DAYS:
            return "soon"
        return "open"

    @property
    def time_left(self) -> str:
        if self.days_left is None:
            return self.note
        if self.days_left < 0:
            return _("已截止")
        if self.days_left == 0:
            return _("今天截止")
        return _("还剩 %(n)s 天") % {"n": self.days_left}


def _deadline(key: str, label: Any, date: dt.date | None, today: dt.date, note: str = "") -> Deadline:
    return Deadline(key, str(label), date, None if date is None else (date - today).days, note)


def deadlines(rnd: Round, today: dt.date | None = None, candidate: Candidate | None = None) -> list[Deadline]:
    """The round's calendar with the time left (a candidate's own information deadline when given)."""
    today = today or china_today()
    info_due = candidate.info_due if candidate is not None else rnd.info_due
    if rnd.publicity_end is not None:
        publicity = _deadline("publicity", gettext_lazy("公示截止"), rnd.publicity_end, today)
    else:
        publicity = _deadline(
            "publicity",
            gettext_lazy("公示期"),
            None,
            today,
            _("%(n)s 个工作日，自公示开始日起算") % {"n": rnd.publicity_days},
        )
    return [
        _deadline("cutoff", gettext_lazy("申报截止"), rnd.deadline, today),
        _deadline("info", gettext_lazy("补充材料截止"), info_due, today),
        _deadline("scoring", gettext_lazy("专家评分截止"), rnd.scoring_due, today),
        publicity,
        _deadline("objections", gettext_lazy("异议处理截止"), rnd.objections_due, today),
    ]


# --- the cut-off: no new candidacy ---------------------------------------------------------------


def opt_in_refusal(data_year: int, version_id: int | None = None, today: dt.date | None = None) -> str | None:
    """A product-year may opt in while no round of its year exists yet or one is before its cut-off;
    after that only with the national office's lock exception for it."""
    today = today or china_today()
    year_rounds = Round.objects.filter(data_year=data_year)
    closed = year_rounds.filter(deadline__lt=today).order_by("-deadline").first()
    if closed is None or year_rounds.filter(deadline__gte=today).exists():
        return None
    if version_id is not None and LockException.objects.filter(version_id=version_id, kind=LockKind.CUTOFF).exists():
        return None
    return _("%(year)s 年度的认定已于 %(date)s 截止申报（%(round)s），不能再选择参与认定。") % {
        "year": data_year,
        "date": closed.deadline.isoformat(),
        "round": closed.name,
    }


# --- lock exceptions -----------------------------------------------------------------------------


@transaction.atomic
def lock_exception_grant(
    *,
    rnd: Round,
    user: User,
    kind: str,
    reason: str,
    filing_number: str = "",
    candidate_id: int | None = None,
    until: dt.date | None = None,
    today: dt.date | None = None,
) -> LockException:
    """Let one product past a deadline: `cutoff` (by its filing number, while the patent evaluation has
    not moved on) or `info` (a candidate asked for information may add it until `until`)."""
    require_role(user, Role.NATIONAL_ADMIN, message=ROLE_DENIED)
    today = today or china_today()
    rnd = Round.objects.select_for_update().get(pk=rnd.pk)
    reason = (reason or "").strip()
    errors: dict[str, Any] = {}
    if not reason:
        errors["reason"] = gettext_lazy("请填写准予的理由。")
    if kind == LockKind.CUTOFF:
        if rnd.stage != Stage.PATENT:
            raise RoundError(_("本批次已过专利性评价阶段，不能再准予产品参评。"), code="wrong_stage")
        if today <= rnd.deadline:
            raise RoundError(_("申报尚未截止，产品可直接选择参与认定。"), code="not_past_deadline")
        version = (
            ProductVersion.objects.filter(
                product__filing_number=(filing_number or "").strip().upper(),
                data_year=rnd.data_year,
                status=FilingStatus.APPROVED,
            )
            .select_related("product")
            .first()
        )
        if version is None:
            errors["filing_number"] = gettext_lazy("没有该备案号的 %(year)s 年度已通过备案。") % {"year": rnd.data_year}
        elif Candidate.objects.filter(version=version).exists():
            errors["filing_number"] = gettext_lazy("该产品已参加认定批次。")
        if errors or version is None:  # no version: errors has its filing_number
            raise RoundError(errors, code="invalid_exception")
        exception = LockException.objects.create(round=rnd, kind=kind, version=version, reason=reason, granted_by=user)
    elif kind == LockKind.INFO:
        if rnd.stage != Stage.INFO:
            raise RoundError(_("只能在补充材料阶段准予逾期补充。"), code="wrong_stage")
        candidate = (
            Candidate.objects.select_for_update().filter(round=rnd, pk=candidate_id).select_related("round").first()
            if candidate_id is not None
            else None
        )
        if candidate is None or candidate.status not in (C.INFO_REQUESTED, C.INFO_MISSING):
            raise RoundError(_("该产品现在不需要补充材料。"), code="not_due")
        if until is None or until < today:
            errors["until"] = gettext_lazy("请填写不早于今天的准予补充截止日。")
        if errors:
            raise RoundError(errors, code="invalid_exception")
        candidate.status = C.INFO_REQUESTED
        candidate.info_extended_to = until
        candidate.save(update_fields=["status", "info_extended_to"])
        exception = LockException.objects.create(
            round=rnd,
            kind=kind,
            version_id=candidate.version_id,
            candidate=candidate,
            until=until,
            reason=reason,
            granted_by=user,
        )
    else:
        raise RoundError({"kind": gettext_lazy("请选择例外类型。")}, code="invalid_exception")
    audit.audit_event(
        action=AuditAction.CREATE,
        obj=exception,
        changes={"kind": [None, kind], "until": [None, until.isoformat() if until else None]},
        message=str(
            _("锁定例外：%(kind)s。理由：%(reason)s") % {"kind": exception.get_kind_display(), "reason": reason}
        ),
        actor=user,
    )
    return exception


def exceptions_of(candidate: Candidate) -> list[LockException]:
    """The lock exceptions shown on a product's result (cut-off ones are granted before it is a candidate)."""
    return list(
        LockException.objects.filter(
            Q(candidate=candidate)
            | Q(round_id=candidate.round_id, kind=LockKind.CUTOFF, version_id=candidate.version_id)
        )
        .select_related("granted_by")
        .order_by("granted_at", "pk")
    )


# --- holidays ------------------------------------------------------------------------------------


@transaction.atomic
def holiday_set(*, user: User, date: dt.date, name: str, is_workday: bool = False) -> Holiday:
    require_role(user, Role.NATIONAL_ADMIN, message=ROLE_DENIED)
    if not (name or "").strip():
        raise RoundError({"name": gettext_lazy("请填写名称。")}, code="required")
    holiday, created = Holiday.objects.select_for_update().update_or_create(
        date=date, defaults={"name": name.strip(), "is_workday": is_workday}
    )
    audit.audit_event(
        action=AuditAction.CREATE if created else AuditAction.UPDATE,
        obj=holiday,
        changes={"is_workday": [None, is_workday]},
        message=str(_("登记节假日")),
        actor=user,
    )
    return holiday


@transaction.atomic
def holiday_delete(*, user: User, holiday: Holiday) -> None:
    require_role(user, Role.NATIONAL_ADMIN, message=ROLE_DENIED)
    audit.audit_event(action=AuditAction.DELETE, obj=holiday, message=str(_("删除节假日")), actor=user)
    Holiday.objects.filter(pk=holiday.pk).delete()


# --- the daily task ------------------------------------------------------------------------------


def close_overdue_information(today: dt.date | None = None) -> int:
    """Requests for information past their deadline close as not supplied (conditional UPDATE: a filer's
    answer committed first keeps its status)."""
    today = today or china_today()
    overdue = Candidate.objects.filter(status=C.INFO_REQUESTED, round__stage=Stage.INFO).annotate(
        due=Coalesce("info_extended_to", "round__info_due")
    )
    ids = list(overdue.filter(due__lt=today).values_list("pk", flat=True))
    if not ids:
        return 0
    with transaction.atomic():
        closed = Candidate.objects.filter(pk__in=ids, status=C.INFO_REQUESTED).update(status=C.INFO_MISSING)
        audit.audit_bulk(
            action=AuditAction.UPDATE,
            model=Candidate,
            ids=ids,
            message=str(_("补充材料逾期，按未补充处理")),
        )
    return closed


def start_due_evaluations(today: dt.date | None = None) -> int:
    """Rounds whose cut-off has passed and whose patent evaluation has not been asked for: ask for it (as
    their creator; a round that cannot be evaluated yet, e.g. missing benchmarks, waits for the office)."""
    today = today or china_today()
    started = 0
    for rnd in Round.objects.filter(stage=Stage.PATENT, evaluation_requested_at__isnull=True, deadline__lt=today):
        actor = rnd.created_by
        if actor is None or not actor.is_active or not has_role(actor, Role.NATIONAL_ADMIN):
            continue
        try:
            round_rerun_patent_evaluation(rnd=rnd, user=actor, today=today)
        except RoundError:
            continue
        started += 1
    return started


def _unit_addresses(candidate: Candidate) -> list[str]:
    unit = candidate.unit
    emails = {m.user.email for m in unit.memberships.select_related("user") if m.user.is_active}
    if unit.contact_email:
        emails.add(unit.contact_email)
    return sorted(emails)


def _remind(source: str, recipients: list[str], subject: str, body: str) -> int:
    """Write a reminder to each recipient who has not had this one; returns how many were written."""
    kind = "evaluation.reminder"
    keys = {outbox.notice_key(kind, source, address): address for address in outbox.normalise(recipients)}
    had = set(Notice.objects.filter(key__in=keys).values_list("key", flat=True))
    fresh = [address for key, address in keys.items() if key not in had]
    if not fresh:
        return 0
    return len(outbox.enqueue(kind, source=source, recipients=fresh, subject=subject, body=body, kick=False))


def send_reminders(today: dt.date | None = None) -> int:
    """One e-mail per participant and deadline, REMIND_DAYS (or fewer) before it, to those who still have
    something to do: filers whose information is due, experts with unscored tasks, the national office
    with undecided objections. The outbox's key (kind, source, recipient) makes a second run write nothing."""
    today = today or china_today()
    horizon = today + dt.timedelta(days=REMIND_DAYS)
    site = settings.SITE_URL.rstrip("/")
    sent = 0
    with translation.override(settings.LANGUAGE_CODE), transaction.atomic():
        due_info = (
            Candidate.objects.filter(status=C.INFO_REQUESTED, round__stage=Stage.INFO)
            .annotate(due=Coalesce("info_extended_to", "round__info_due"))
            .filter(due__gte=today, due__lte=horizon)
            .select_related("round", "version", "unit")
        )
        for candidate in due_info:
            due: dt.date = candidate.due  # type: ignore[attr-defined]  # the annotation above
            sent += _remind(
                f"info:{candidate.pk}:{due.isoformat()}",
                _unit_addresses(candidate),
                _("【专利密集型产品认定】%(name)s 补充材料将于 %(due)s 截止")
                % {"name": candidate.version.name, "due": due.isoformat()},
                _("您的产品“%(name)s”（%(round)s）尚未补充材料，截止日为 %(due)s，逾期按未补充处理：%(url)s")
                % {
                    "name": candidate.version.name,
                    "round": candidate.round.name,
                    "due": due.isoformat(),
                    "url": site + reverse("certification:candidate", args=[candidate.pk]),
                },
            )
        for rnd in Round.objects.filter(stage=Stage.INDUSTRY, scoring_due__gte=today, scoring_due__lte=horizon):
            experts = User.objects.filter(
                Exists(Assignment.objects.filter(expert=OuterRef("pk"), candidate__round=rnd, scored_at__isnull=True)),
                is_active=True,
            )
            scoring_due = rnd.scoring_due
            if scoring_due is None:  # never: the filter above
                continue
            for expert in experts:
                sent += _remind(
                    f"scoring:{rnd.pk}:{expert.pk}:{scoring_due.isoformat()}",
                    [expert.email],
                    _("【专利密集型产品认定】专家评分将于 %(due)s 截止") % {"due": scoring_due.isoformat()},
                    _("“%(round)s”尚有分配给您的产品未评分，评分截止日为 %(due)s：%(url)s")
                    % {
                        "round": rnd.name,
                        "due": scoring_due.isoformat(),
                        "url": site + reverse("certification:expert_home"),
                    },
                )
        for rnd in Round.objects.filter(
            stage=Stage.PUBLICITY, objections_due__gte=today, objections_due__lte=horizon
        ).filter(Exists(Objection.objects.filter(candidate__round=OuterRef("pk"), status="pending"))):
            objections_due = rnd.objections_due
            if objections_due is None:  # never: the filter above
                continue
            for admin in User.objects.filter(role=Role.NATIONAL_ADMIN, is_active=True):
                sent += _remind(
                    f"objections:{rnd.pk}:{admin.pk}:{objections_due.isoformat()}",
                    [admin.email],
                    _("【专利密集型产品认定】异议处理将于 %(due)s 截止") % {"due": objections_due.isoformat()},
                    _("“%(round)s”尚有异议待处理，处理截止日为 %(due)s：%(url)s")
                    % {
                        "round": rnd.name,
                        "due": objections_due.isoformat(),
                        "url": site + reverse("certification:round", args=[rnd.pk]),
                    },
                )
    if sent:
        outbox.kick_after_commit()
    return sent


def tick(today: dt.date | None = None) -> dict[str, int]:
    """The daily calendar task's body."""
    today = today or china_today()
    return {
        "information_closed": close_overdue_information(today),
        "evaluations_started": start_due_evaluations(today),
        "reminders": send_reminders(today),
    }
