"""Stage 4 of a certification round: the publicity for objections (公示): the list published, objections
lodged by anyone during the period and decided by the national office.

The stages' shared rules (the round locked, its stage moved, the errors) are `evaluation.rounds`'.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from evaluation import workdays
from evaluation.choices import Stage
from evaluation.industry import combine
from evaluation.models import (
    Assignment,
    Candidate,
    Objection,
    Round,
)
from evaluation.rounds import (
    ROLE_DENIED,
    C,
    RoundConflict,
    RoundError,
    early_reason,
    lock_round,
    round_move,
)
from patent_platform import audit
from patent_platform.choices import AuditAction, Role
from patent_platform.clock import china_today
from patent_platform.concurrency import when
from patent_platform.roles import require_role
from patent_platform.scoping import lock_visible

if TYPE_CHECKING:
    from patent_platform.models import User

# --- 4. publicity and objections -----------------------------------------------------------------


def listed_candidates(rnd: Round, statuses: tuple[str, ...] = (C.EXPERT_REVIEW, C.PROPOSED)) -> list[dict[str, Any]]:
    """The round's candidates in these statuses whose unit is on a credit list now (filings.checks), each with
    its open listings: shown on the round page before publicity, confirmed by `round_publicity_start`."""
    from filings.checks import credit_flag, listings_by_uscc

    candidates = list(
        rnd.candidates.filter(status__in=statuses).select_related("unit", "version", "product").order_by("pk")
    )
    listings = listings_by_uscc(c.unit.uscc for c in candidates)
    return [
        {"candidate": c, "flags": [credit_flag(e) for e in sorted(listings[c.unit.uscc], key=lambda e: e.kind)]}
        for c in candidates
        if c.unit.uscc in listings
    ]


@transaction.atomic
def round_publicity_start(
    *,
    rnd: Round,
    user: User,
    days: int | None = None,
    start: dt.date | None = None,
    reason: str = "",
    today: dt.date | None = None,
    confirm_listed: bool = False,
) -> dict[str, int]:
    """Combine the scores and publish the proposed list for `days` working days (default: the calendar's);
    before the scoring deadline has passed only with the office's reason. A proposed product whose unit is on a
    credit list (经营异常名录 / 严重违法失信名单) needs `confirm_listed`: the list is shown first, the office
    confirms it has seen it (recorded in the audit log); without it nothing is published and nothing saved."""
    require_role(user, Role.NATIONAL_ADMIN, message=ROLE_DENIED)
    rnd = lock_round(rnd, Stage.INDUSTRY)
    days = rnd.publicity_days if days is None else days
    if days < 1 or days > 30:
        raise RoundError({"days": _("公示期须为 1–30 个工作日。")}, code="bad_days")
    early = early_reason(rnd.scoring_due, _("专家评分截止日"), reason, today)
    unscored = Assignment.objects.filter(candidate__round=rnd, scored_at__isnull=True).count()
    if unscored:
        raise RoundError(_("还有 %(n)s 项专家评分未完成，不能进入公示。") % {"n": unscored}, code="unscored")
    proposed = failed = 0
    candidates = rnd.candidates.filter(status=C.EXPERT_REVIEW).prefetch_related("assignments")
    for candidate in candidates:
        # every assignment is scored (above): every total is set
        totals = [cast(Decimal, a.total) for a in candidate.assignments.all()]
        candidate.expert_score = score = combine(totals, rnd.method.score_rule)
        if score >= cast(Decimal, rnd.method.expert_pass_score):  # required of a complete method (methods.gaps)
            candidate.status, proposed = C.PROPOSED, proposed + 1
        else:
            candidate.status, failed = C.EXPERT_FAILED, failed + 1
        candidate.save(update_fields=["expert_score", "status"])
    if not proposed:
        raise RoundError(_("没有产品达到产业性评价通过分数，无可公示名单。"), code="nobody_proposed")
    listed = listed_candidates(rnd, (C.PROPOSED,))
    if listed and not confirm_listed:  # the transaction rolls the combined scores back with the refusal
        message = _("拟公示名单中有 %(n)s 个产品的备案单位在信用名单中（见上），请核实并勾选确认后再公示。") % {
            "n": len(listed)
        }
        raise RoundError({"confirm_listed": ValidationError(message, code="listed_unconfirmed")})
    if listed:
        audit.audit_event(
            action=AuditAction.UPDATE,
            obj=rnd,
            actor=user,
            changes={"listed_candidates": [item["candidate"].pk for item in listed]},
            message=f"publicity confirmed with {len(listed)} candidates on a credit list",
        )
    start = start or china_today()
    round_move(
        rnd=rnd,
        stage=Stage.PUBLICITY,
        user=user,
        message=str(_("拟认定名单公示")),
        early=early,
        publicity_days=days,
        publicity_start=start,
        publicity_end=workdays.period_end(start, days),
    )
    return {"proposed": proposed, "failed": failed}


def publicity_open(rnd: Round, today: dt.date | None = None) -> bool:
    today = today or china_today()
    return (
        rnd.stage == Stage.PUBLICITY
        and rnd.publicity_start is not None
        and rnd.publicity_end is not None
        and rnd.publicity_start <= today <= rnd.publicity_end
    )


@transaction.atomic
def objection_lodge(*, candidate_id: int, name: str, contact: str, reasons: str, ip: str | None = None) -> Objection:
    """Anyone may object to a product on a list under publicity, while the publicity lasts."""
    candidate = (
        Candidate.objects.public().filter(status=C.PROPOSED).select_related("round").filter(pk=candidate_id).first()
    )
    if candidate is None:
        raise Http404
    if not publicity_open(candidate.round):
        raise RoundError(_("公示期已结束，不再受理异议。"), code="publicity_closed")
    errors: dict[str, Any] = {}
    if not name.strip():
        errors["name"] = _("请填写异议人（单位或姓名）。")
    if not contact.strip():
        errors["contact"] = _("请填写联系方式，以便反馈处理结果。")
    if len(reasons.strip()) < 10:
        errors["reasons"] = _("请具体说明异议理由（不少于 10 个字）。")
    if errors:
        raise RoundError(errors, code="invalid_objection")
    objection = Objection.objects.create(
        candidate=candidate, name=name.strip(), contact=contact.strip(), reasons=reasons.strip(), ip=ip
    )
    audit.audit_event(action=AuditAction.CREATE, obj=objection, message=str(_("提出异议")), ip=ip)
    return objection


@transaction.atomic
def objection_decide(*, objection_id: int, user: User, uphold: bool, decision: str) -> Objection:
    require_role(user, Role.NATIONAL_ADMIN, message=ROLE_DENIED)
    objection = lock_visible(Objection.objects.select_related("candidate__round"), user, objection_id)
    if objection.candidate.round.stage != Stage.PUBLICITY:
        raise RoundError(_("只能在公示阶段处理异议。"), code="wrong_stage")
    if objection.status != "pending":  # decided by another request first (two clicks at once)
        raise RoundConflict(
            _("另一操作已先完成：该异议已于 %(at)s 处理（%(result)s）。请刷新页面查看。")
            % {"at": when(objection.decided_at), "result": objection.get_status_display()},
            code="decided",
        )
    if not decision.strip():
        raise RoundError({"decision": _("请填写处理意见。")}, code="decision_required")
    objection.status = "upheld" if uphold else "dismissed"
    objection.decision = decision.strip()
    objection.decided_at = timezone.now()
    objection.decided_by = user
    objection.save()
    if uphold:
        Candidate.objects.filter(pk=objection.candidate_id).update(status=C.OBJECTION_UPHELD)
    audit.audit_event(
        action=AuditAction.UPDATE,
        obj=objection,
        changes={"status": ["pending", objection.status]},
        message=objection.decision,
        actor=user,
    )
    return objection
