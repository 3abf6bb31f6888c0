"""Certification rounds, stage by stage. The only way a round or a candidate changes state.

patent evaluation (computed) → additional information (filers of passing products) → industry
evaluation (expert panels, ≥3 experts per product, none from the product's unit or province, no two
from one organisation) → publicity for objections (公示) → final list with certificates.

Every action checks the actor's role and the round's stage inside a transaction with the row locked,
writes an audit record and sends its e-mails after commit.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from evaluation import engine, lifecycle, methods, workdays
from evaluation.choices import STAGE_ORDER, CandidateStatus, MethodStatus, ScoreRule, Stage
from evaluation.models import (
    CRITERIA,
    AdditionalInfo,
    Assignment,
    Candidate,
    MethodVersion,
    Objection,
    Round,
)
from filings import webhooks
from patent_platform import audit
from patent_platform.choices import AuditAction, Role
from patent_platform.clock import china_today
from patent_platform.concurrency import Conflict, when
from patent_platform.models import User
from patent_platform.roles import require_role
from patent_platform.scoping import lock_visible

C = CandidateStatus
TWO_PLACES = Decimal("0.01")


class RoundError(ValidationError):
    """An action the round's stage or data does not allow."""


ROLE_DENIED = _("您的角色不能执行该操作。")


class RoundConflict(Conflict, RoundError):
    """The action lost a race: another action moved the round (or decided the objection) first."""


def _lock_round(rnd: Round | int, stage: str) -> Round:
    """The round under its row lock, at `stage`. A round already past it (the action, or a later one, was
    taken: two clicks at once) or changed since the request read it is a lost race (`RoundConflict`)."""
    pk = rnd.pk if isinstance(rnd, Round) else rnd
    seen = rnd.stage if isinstance(rnd, Round) else None  # as the request read it, before the lock
    locked = Round.objects.select_for_update().filter(pk=pk).first()
    if locked is None:
        raise Http404
    if locked.stage != stage and (
        STAGE_ORDER.index(locked.stage) > STAGE_ORDER.index(stage) or (seen is not None and seen != locked.stage)
    ):
        raise RoundConflict(
            _("另一操作已先完成：本批次已进入“%(now)s”阶段，不能执行该操作（须在“%(need)s”阶段）。请刷新页面查看。")
            % {"now": locked.get_stage_display(), "need": Stage(stage).label},
            code="wrong_stage",
        )
    if locked.stage != stage:
        raise RoundError(
            _("本批次当前处于“%(now)s”阶段，不能执行该操作（须在“%(need)s”阶段）。")
            % {"now": locked.get_stage_display(), "need": Stage(stage).label},
            code="wrong_stage",
        )
    return locked


def _move(rnd: Round, stage: str, user: Any, message: str, early: str = "", **changes: Any) -> None:
    """Move the round to `stage`; `early`: the office's reason for moving before the deadline (audited)."""
    before = rnd.stage
    rnd.stage = stage
    for name, value in changes.items():
        setattr(rnd, name, value)
    rnd.save()
    recorded = {"stage": [before, stage], **{k: [None, str(v)] for k, v in changes.items()}}
    if early:
        recorded["early_reason"] = [None, early]
        message += str(_("（截止日前提前进入：%(reason)s）")) % {"reason": early}
    audit.audit_event(action=AuditAction.TRANSITION, obj=rnd, changes=recorded, message=message, actor=user)


def _notify(candidate_ids: list[int], kind: str) -> None:
    """The candidates' notices, written to the outbox in the step's transaction."""
    from evaluation.notifications import queue_candidate_notices

    if candidate_ids:
        queue_candidate_notices(candidate_ids, kind)


# --- 1. start and patent evaluation --------------------------------------------------------------


@transaction.atomic
def start_round(
    *,
    user: Any,
    name: str,
    data_year: int,
    deadline: dt.date,
    method: MethodVersion | None = None,
    experts_per_product: int = 3,
    info_due: dt.date | None = None,
    scoring_due: dt.date | None = None,
    publicity_days: int = 5,
    objections_due: dt.date | None = None,
    today: dt.date | None = None,
    certificate_validity_months: int | None = None,
) -> Round:
    """Create a round for a data year with its calendar. A round whose filing cut-off (`deadline`) has come
    is evaluated at once; one whose cut-off lies ahead waits for it (the daily task then starts the patent
    evaluation; the office may start it earlier with a reason, `rerun_patent_evaluation`)."""
    require_role(user, Role.NATIONAL_ADMIN, message=ROLE_DENIED)
    today = today or china_today()
    calendar_errors = calendar_order_errors(
        deadline=deadline,
        info_due=info_due,
        scoring_due=scoring_due,
        objections_due=objections_due,
        publicity_days=publicity_days,
    )
    if calendar_errors:
        raise RoundError(calendar_errors, code="bad_calendar")
    method = method or MethodVersion.active()
    if method is None or method.status != MethodStatus.ACTIVE:
        raise RoundError(_("请先启用一个评价方法版本。"), code="no_method")
    missing = methods.gaps(method)  # the one completeness rule: an incomplete version runs no round
    if missing:
        head = _("评价方法版本 %(m)s 不完整，不能用于认定批次：") % {"m": method.code}
        raise RoundError([ValidationError(m, code="incomplete_method") for m in [str(head), *missing]])
    if experts_per_product < 3:
        raise RoundError({"experts_per_product": _("每个产品至少由 3 位专家评审。")}, code="too_few_experts")
    rnd = Round(
        name=name,
        data_year=data_year,
        deadline=deadline,
        method=method,
        experts_per_product=experts_per_product,
        info_due=info_due,
        scoring_due=scoring_due,
        publicity_days=publicity_days,
        objections_due=objections_due,
        created_by=user,
    )
    if certificate_validity_months is not None:
        if not 1 <= certificate_validity_months <= 120:
            raise RoundError(
                {"certificate_validity_months": _("证书有效期应在 1 至 120 个月之间。")}, code="validity_range"
            )
        rnd.certificate_validity_months = certificate_validity_months
    if deadline > today:  # the cut-off lies ahead: filers may still opt in; the evaluation waits for it
        rnd.save()
        audit.audit_event(action=AuditAction.CREATE, obj=rnd, message=str(_("发起认定批次")), actor=user)
        return rnd
    rnd.evaluation_requested_at = timezone.now()
    _check_evaluable(rnd)
    rnd.save()
    audit.audit_event(action=AuditAction.CREATE, obj=rnd, message=str(_("发起认定批次")), actor=user)
    _queue_evaluation(rnd)
    return rnd


def calendar_order_errors(
    *,
    deadline: dt.date,
    info_due: dt.date | None,
    scoring_due: dt.date | None,
    objections_due: dt.date | None,
    publicity_days: int,
) -> dict[str, str]:
    """The calendar's dates in the order of the stages: cut-off < information < scoring < objections."""
    errors: dict[str, str] = {}
    if info_due is not None and info_due <= deadline:
        errors["info_due"] = str(_("补充材料截止日须晚于申报截止日。"))
    if scoring_due is not None and scoring_due <= (info_due or deadline):
        errors["scoring_due"] = str(_("专家评分截止日须晚于补充材料截止日。"))
    if objections_due is not None and objections_due <= (scoring_due or info_due or deadline):
        errors["objections_due"] = str(_("异议处理截止日须晚于专家评分截止日。"))
    if not 1 <= publicity_days <= 30:
        errors["publicity_days"] = str(_("公示期须为 1–30 个工作日。"))
    return errors


def _check_evaluable(rnd: Round) -> None:
    missing = engine.missing_benchmarks(rnd)
    if missing:
        raise RoundError(
            _("以下产品分类尚无已确定的 %(year)s 年度基准值，请先确定：%(classes)s")
            % {"year": rnd.data_year, "classes": "、".join(missing)},
            code="missing_benchmarks",
        )
    if not engine.eligible_versions(rnd).exists():
        raise RoundError(
            _("没有符合条件的产品：%(year)s 年度、截至 %(deadline)s 已通过备案且选择参与认定。")
            % {"year": rnd.data_year, "deadline": rnd.deadline.isoformat()},
            code="nothing_eligible",
        )


def _queue_evaluation(rnd: Round) -> None:
    from evaluation.tasks import run_patent_evaluation

    transaction.on_commit(lambda: run_patent_evaluation.delay(rnd.pk))


@transaction.atomic
def rerun_patent_evaluation(rnd: Round, user: Any, reason: str = "", today: dt.date | None = None) -> Round:
    """Compute the patent evaluation (again, e.g. after a correction; the same data gives the same rows).
    The first evaluation before the filing cut-off has passed needs the office's reason."""
    require_role(user, Role.NATIONAL_ADMIN, message=ROLE_DENIED)
    rnd = _lock_round(rnd, Stage.PATENT)
    first = rnd.evaluation_requested_at is None
    early = early_reason(rnd.deadline, _("申报截止日"), reason, today) if first else ""
    _check_evaluable(rnd)
    rnd.evaluation_requested_at = timezone.now()
    rnd.save(update_fields=["evaluation_requested_at"])
    message = _("进行专利性评价") if first else _("重新进行专利性评价")
    audit.audit_event(
        action=AuditAction.UPDATE,
        obj=rnd,
        changes={"early_reason": [None, early]} if early else None,
        message=str(message) + (str(_("（截止日前提前进行：%(reason)s）")) % {"reason": early} if early else ""),
        actor=user,
    )
    _queue_evaluation(rnd)
    return rnd


def early_reason(deadline: dt.date | None, label: Any, reason: str, today: dt.date | None = None) -> str:
    """A stage may start before the previous stage's deadline has passed only with the office's reason
    (the confirmation): returns the reason to record ("" when the deadline has passed or there is none)."""
    today = today or china_today()
    if deadline is None or today > deadline:
        return ""
    reason = (reason or "").strip()
    if not reason:
        raise RoundError(
            {
                "reason": _("%(label)s（%(date)s）尚未届满。如确需提前进入下一阶段，请确认并填写理由。")
                % {"label": label, "date": deadline.isoformat()}
            },
            code="before_deadline",
        )
    return reason


def evaluate(round_id: int) -> dict[str, int]:
    """The task's body: the set-based evaluation, only while the round is in its first stage."""
    with transaction.atomic():
        rnd = Round.objects.select_for_update().get(pk=round_id)
        if rnd.stage != Stage.PATENT:
            return {"candidates": rnd.candidates.count(), "passed": 0, "failed": 0}
        counts = engine.evaluate_round(rnd)
        audit.audit_event(
            action=AuditAction.UPDATE,
            obj=rnd,
            changes=counts,
            message=str(_("专利性评价完成")),
        )
    return counts


# --- 2. additional information -------------------------------------------------------------------


@transaction.atomic
def request_information(rnd: Round, user: Any, due: dt.date | None = None) -> Round:
    """Ask the filers of the passing products for their information, by `due` (default: the calendar's)."""
    require_role(user, Role.NATIONAL_ADMIN, message=ROLE_DENIED)
    rnd = _lock_round(rnd, Stage.PATENT)
    due = due or rnd.info_due
    if due is None:
        raise RoundError({"info_due": _("请填写补充材料截止日。")}, code="due_required")
    if rnd.evaluated_at is None:
        raise RoundError(_("专利性评价尚未完成。"), code="not_evaluated")
    if due < china_today():
        raise RoundError({"info_due": _("补充材料截止日不能早于今天。")}, code="due_in_past")
    passing = rnd.candidates.filter(status=C.PATENT_PASSED)
    if not passing.exists():
        raise RoundError(_("没有通过专利性评价的产品。"), code="nobody_passed")
    ids = list(passing.values_list("pk", flat=True))
    passing.update(status=C.INFO_REQUESTED)
    _move(rnd, Stage.INFO, user, str(_("通知通过专利性评价的企业补充材料")), info_due=due)
    _notify(ids, "info_requested")
    return rnd


INFO_FIELDS = ("market_position", "technology", "patent_use")


@transaction.atomic
def submit_information(candidate_id: int, user: Any, data: Mapping[str, Any], attachment: Any = None) -> AdditionalInfo:
    """The filer answers (and may answer again until the due date)."""
    require_role(user, Role.ENTERPRISE, message=ROLE_DENIED)
    candidate = lock_visible(Candidate.objects.select_related("round"), user, candidate_id)
    rnd = candidate.round
    if rnd.stage != Stage.INFO:
        raise RoundError(_("本批次现在不在补充材料阶段，不能补充材料。"), code="wrong_stage")
    if candidate.status not in (C.INFO_REQUESTED, C.INFO_SUBMITTED):
        raise RoundError(_("现在不能为该产品补充材料。"), code="info_closed")
    due = candidate.info_due  # the round's, or the one a lock exception granted this product
    if due and china_today() > due:
        raise RoundError(_("补充材料已于 %(due)s 截止。") % {"due": due.isoformat()}, code="info_overdue")
    errors = {f: _("请填写此项。") for f in INFO_FIELDS if not str(data.get(f) or "").strip()}
    if errors:
        raise RoundError(errors, code="required")
    info, created = AdditionalInfo.objects.get_or_create(
        candidate=candidate, defaults={f: data[f] for f in INFO_FIELDS} | {"submitted_by": user}
    )
    unchanged = all(getattr(info, f) == data[f] for f in INFO_FIELDS) and attachment is None
    if not created and unchanged and candidate.status == C.INFO_SUBMITTED:
        return info  # the same answer again (two clicks at once): nothing changes, nothing is written
    if not created:
        for f in INFO_FIELDS:
            setattr(info, f, data[f])
        info.submitted_by = user
    if attachment is not None:
        info.attachment = attachment
    info.save()
    candidate.status = C.INFO_SUBMITTED
    candidate.save(update_fields=["status"])
    audit.audit_event(
        action=AuditAction.CREATE if created else AuditAction.UPDATE,
        obj=info,
        message=str(_("补充认定材料")),
        actor=user,
    )
    return info


# --- 3. industry evaluation by experts -----------------------------------------------------------


def organisation_key(name: str) -> str:
    """An organisation's name for comparison: full-width forms folded (NFKC), every space dropped."""
    return "".join(unicodedata.normalize("NFKC", name or "").split())


def conflicting(candidate: Candidate, expert: User) -> str | None:
    """Why an expert may not score a candidate (None when they may)."""
    profile = getattr(expert, "expert_profile", None)
    if profile is None or not profile.is_active or not expert.is_active or expert.role != Role.EXPERT:
        return str(_("不在专家库中"))
    if profile.province_code == candidate.province_code:
        return str(_("与企业同省"))
    if organisation_key(profile.organisation) == organisation_key(candidate.unit.name):
        return str(_("与企业同单位"))
    return None


def panel(candidate: Candidate) -> list[User]:
    """Experts of the candidate's product class without a conflict, least loaded first."""
    experts = (
        User.objects.filter(
            role=Role.EXPERT,
            is_active=True,
            expert_profile__is_active=True,
            expert_profile__classes=candidate.product_class_id,
        )
        .exclude(expert_profile__province_code=candidate.province_code)
        .select_related("expert_profile")
        .annotate(load=Count("assignments", filter=Q(assignments__candidate__round_id=candidate.round_id)))
        .order_by("load", "pk")
    )
    # the same test as `conflicting` (names compared with spaces and full-width forms folded)
    return [expert for expert in experts if conflicting(candidate, expert) is None]


def _choose(candidate: Candidate, size: int, load: dict[int, int]) -> list[User]:
    chosen: list[User] = []
    organisations: set[str] = set()
    for expert in sorted(panel(candidate), key=lambda e: (load.get(e.pk, 0), e.pk)):
        org = organisation_key(expert.expert_profile.organisation)
        if org in organisations:
            continue  # no two experts of one organisation on a product
        chosen.append(expert)
        organisations.add(org)
        if len(chosen) == size:
            break
    return chosen


def information_deadline(rnd: Round) -> dt.date | None:
    """The information stage's last day: the round's, or a later one granted to a product (which may answer,
    or correct its answer, until then)."""
    granted = rnd.candidates.filter(status__in=[C.INFO_REQUESTED, C.INFO_SUBMITTED], info_extended_to__isnull=False)
    extended = granted.aggregate(m=Max("info_extended_to"))["m"]
    dates = [d for d in (rnd.info_due, extended) if d is not None]
    return max(dates) if dates else None


@transaction.atomic
def start_industry_evaluation(rnd: Round, user: Any, reason: str = "", today: dt.date | None = None) -> dict[str, int]:
    """Close the information stage and assign every product with information to its expert panel
    (before the information deadline has passed only with the office's reason)."""
    require_role(user, Role.NATIONAL_ADMIN, message=ROLE_DENIED)
    rnd = _lock_round(rnd, Stage.INFO)
    early = early_reason(information_deadline(rnd), _("补充材料截止日"), reason, today)
    missing = rnd.candidates.filter(status=C.INFO_REQUESTED).update(status=C.INFO_MISSING)
    candidates = list(rnd.candidates.filter(status=C.INFO_SUBMITTED).select_related("unit", "product_class", "version"))
    if not candidates:
        raise RoundError(_("没有企业提交补充材料，无法进行产业性评价。"), code="no_info")
    load: dict[int, int] = {}
    short: list[str] = []
    rows: list[Assignment] = []
    for candidate in candidates:
        chosen = _choose(candidate, rnd.experts_per_product, load)
        if len(chosen) < rnd.experts_per_product:
            short.append(
                _("%(product)s（%(cls)s，可用专家 %(n)s 位，需要 %(need)s 位）")
                % {
                    "product": candidate.version.name,
                    "cls": candidate.product_class.name,
                    "n": len(chosen),
                    "need": rnd.experts_per_product,
                }
            )
            continue
        for expert in chosen:
            load[expert.pk] = load.get(expert.pk, 0) + 1
            rows.append(Assignment(candidate=candidate, expert=expert))
    if short:
        raise RoundError(
            _("以下产品没有足够的无利益冲突专家（不同省、不同单位），请先补充专家库：%(list)s")
            % {"list": "；".join(str(s) for s in short)},
            code="not_enough_experts",
        )
    Assignment.objects.bulk_create(rows)
    audit.audit_bulk(
        action=AuditAction.CREATE,
        model=Assignment,
        ids=[a.pk for a in rows if a.pk],
        message=str(_("分配专家评审任务")),
    )
    Candidate.objects.filter(pk__in=[c.pk for c in candidates]).update(status=C.EXPERT_REVIEW)
    _move(rnd, Stage.INDUSTRY, user, str(_("开始产业性评价")), early=early)
    return {"assigned": len(rows), "products": len(candidates), "missing_info": missing}


def score_errors(scores: Mapping[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name, label, points in CRITERIA:
        raw = scores.get(name)
        try:
            value = Decimal(str(raw).strip())
        except (ArithmeticError, ValueError):
            errors[name] = str(_("%(label)s：请填写 0–%(max)s 之间的分数。") % {"label": label, "max": points})
            continue
        if not value.is_finite() or value < 0 or value > points:
            errors[name] = str(_("%(label)s：分数须在 0–%(max)s 之间。") % {"label": label, "max": points})
        elif value != value.quantize(TWO_PLACES):
            errors[name] = str(_("%(label)s：最多两位小数。") % {"label": label})
    return errors


@transaction.atomic
def submit_score(assignment_id: int, user: Any, scores: Mapping[str, Any], comments: str) -> Assignment:
    require_role(user, Role.EXPERT, message=ROLE_DENIED)
    assignment = lock_visible(Assignment.objects.select_related("candidate__round"), user, assignment_id)
    if assignment.candidate.round.stage != Stage.INDUSTRY:
        # assignments exist from the industry evaluation on: outside it, the scoring is over
        raise RoundError(_("产业性评价已结束，评分不能再修改。"), code="wrong_stage")
    errors = score_errors(scores)
    if not (comments or "").strip():
        errors["comments"] = str(_("请填写评审意见。"))
    if errors:
        raise RoundError(errors, code="invalid_score")
    values = {name: Decimal(str(scores[name]).strip()) for name, _label, _points in CRITERIA}
    values["comments"] = comments.strip()
    if assignment.scored_at is not None and all(getattr(assignment, k) == v for k, v in values.items()):
        return assignment  # the same scores again (two clicks at once): nothing changes, nothing is written
    before = audit.snapshot(assignment, ["technology", "market", "patent", "benefit", "total", "comments"])
    for name, value in values.items():
        setattr(assignment, name, value)
    assignment.total = sum(values[name] for name, _l, _p in CRITERIA)
    assignment.scored_at = timezone.now()
    assignment.save()
    after = audit.snapshot(assignment, ["technology", "market", "patent", "benefit", "total", "comments"])
    audit.audit_event(
        action=AuditAction.SCORE,
        obj=assignment,
        changes=audit.diff(before, after),
        message=str(_("专家评分")),
        actor=user,
    )
    return assignment


def combine(totals: list[Decimal], rule: str) -> Decimal:
    """Combine expert totals: the mean, or without the highest and lowest when there are ≥5."""
    if not totals:
        raise ValueError("no scores")
    values = sorted(totals)
    if rule == ScoreRule.TRIMMED_MEAN and len(values) >= 5:
        values = values[1:-1]
    return (sum(values, Decimal(0)) / Decimal(len(values))).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


# --- 4. publicity and objections -----------------------------------------------------------------


def listed_candidates(rnd: Round, statuses: tuple[str, ...] = (C.EXPERT_REVIEW, C.PROPOSED)) -> list[dict[str, Any]]:
    """The round's candidates in these statuses whose unit is on a credit list now (filings.checks), each with
    its open listings: shown on the round page before publicity, confirmed by `start_publicity`."""
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
def start_publicity(
    rnd: Round,
    user: Any,
    days: int | None = None,
    start: dt.date | None = None,
    reason: str = "",
    today: dt.date | None = None,
    *,
    confirm_listed: bool = False,
) -> dict[str, int]:
    """Combine the scores and publish the proposed list for `days` working days (default: the calendar's);
    before the scoring deadline has passed only with the office's reason. A proposed product whose unit is on a
    credit list (经营异常名录 / 严重违法失信名单) needs `confirm_listed`: the list is shown first, the office
    confirms it has seen it (recorded in the audit log); without it nothing is published and nothing saved."""
    require_role(user, Role.NATIONAL_ADMIN, message=ROLE_DENIED)
    rnd = _lock_round(rnd, Stage.INDUSTRY)
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
        candidate.expert_score = combine([a.total for a in candidate.assignments.all()], rnd.method.score_rule)
        if candidate.expert_score >= rnd.method.expert_pass_score:
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
    _move(
        rnd,
        Stage.PUBLICITY,
        user,
        str(_("拟认定名单公示")),
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
def lodge_objection(candidate_id: int, *, name: str, contact: str, reasons: str, ip: str | None = None) -> Objection:
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
def decide_objection(objection_id: int, user: Any, *, uphold: bool, decision: str) -> Objection:
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


# --- 5. final list -------------------------------------------------------------------------------


def _next_serial(year: int) -> int:
    prefix = f"RD{year}"
    last = Candidate.objects.filter(certificate_number__startswith=prefix).aggregate(m=Max("certificate_number"))["m"]
    return int(last[len(prefix) :]) + 1 if last else 1


@transaction.atomic
def finalize(rnd: Round, user: Any, today: dt.date | None = None) -> dict[str, int]:
    """Publish the final list: certificates for every proposed product whose objections were dismissed."""
    require_role(user, Role.NATIONAL_ADMIN, message=ROLE_DENIED)
    rnd = _lock_round(rnd, Stage.PUBLICITY)
    today = today or china_today()
    if rnd.publicity_end and today <= rnd.publicity_end:
        raise RoundError(
            _("公示期至 %(end)s 结束，之后才能公布认定结果。") % {"end": rnd.publicity_end.isoformat()},
            code="publicity_running",
        )
    pending = Objection.objects.filter(candidate__round=rnd, status="pending").count()
    if pending:
        raise RoundError(_("还有 %(n)s 项异议未处理。") % {"n": pending}, code="objections_pending")
    # one certificate series per data year; rounds of a year are finalised one at a time (lock on the year)
    list(Round.objects.select_for_update().filter(data_year=rnd.data_year))
    serial = _next_serial(rnd.data_year)
    now = timezone.now()
    certified = []
    events = []
    proposed = rnd.candidates.filter(status=C.PROPOSED).select_related("version__product")
    for candidate in proposed.order_by("product_class__code", "pk"):
        candidate.status = C.CERTIFIED
        candidate.certificate_number = f"RD{rnd.data_year}{serial:05d}"
        candidate.certified_at = now
        candidate.save(update_fields=["status", "certificate_number", "certified_at"])
        candidate.round = rnd
        lifecycle.issue(candidate, user=user, at=now)  # its validity period and the first row of its history
        certified.append(candidate.pk)
        events.append(
            webhooks.Certified(
                candidate_id=candidate.pk,
                round_id=rnd.pk,
                version=candidate.version,
                certificate_number=candidate.certificate_number,
                certified_at=now,
            )
        )
        serial += 1
    _move(rnd, Stage.FINAL, user, str(_("公布认定结果")), finalized_at=now)
    _notify(certified, "certified")
    webhooks.emit_certified(events)  # the units' webhook events commit with the final list, or neither does
    return {"certified": len(certified)}
