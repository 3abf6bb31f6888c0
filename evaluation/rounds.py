"""Certification rounds, stage by stage. The only way a round or a candidate changes state.

patent evaluation (computed) → additional information (filers of passing products) → industry
evaluation (expert panels, ≥3 experts per product, none from the product's unit or province, no two
from one organisation) → publicity for objections (公示) → final list with certificates.

Every action checks the actor's role and the round's stage inside a transaction with the row locked,
writes an audit record and sends its e-mails after commit.

This module holds the stages' shared rules (`lock_round`, `round_move`, `RoundError`), the start and the patent
evaluation, the additional information and the final list; the industry evaluation by experts is
`evaluation.industry`, the publicity and its objections `evaluation.publicity`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from evaluation import engine, lifecycle, methods
from evaluation.choices import STAGE_ORDER, CandidateStatus, MethodStatus, Stage
from evaluation.models import (
    AdditionalInfo,
    Candidate,
    MethodVersion,
    Objection,
    Round,
)
from filings import webhooks
from patent_platform import audit
from patent_platform.choices import AuditAction, Role
from patent_platform.clock import china_today
from patent_platform.concurrency import Conflict
from patent_platform.roles import require_role
from patent_platform.scoping import lock_visible

if TYPE_CHECKING:
    from patent_platform.models import User

C = CandidateStatus
TWO_PLACES = Decimal("0.01")


class RoundError(ValidationError):
    """An action the round's stage or data does not allow."""


ROLE_DENIED = _("您的角色不能执行该操作。")


class RoundConflict(Conflict, RoundError):
    """The action lost a race: another action moved the round (or decided the objection) first."""


def lock_round(rnd: Round | int, stage: str) -> Round:
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


def round_move(*, rnd: Round, stage: str, user: User, message: str, early: str = "", **changes: Any) -> None:
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
def round_start(
    *,
    user: User,
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
    evaluation; the office may start it earlier with a reason, `round_rerun_patent_evaluation`)."""
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
def round_rerun_patent_evaluation(*, rnd: Round, user: User, reason: str = "", today: dt.date | None = None) -> Round:
    """Compute the patent evaluation (again, e.g. after a correction; the same data gives the same rows).
    The first evaluation before the filing cut-off has passed needs the office's reason."""
    require_role(user, Role.NATIONAL_ADMIN, message=ROLE_DENIED)
    rnd = lock_round(rnd, Stage.PATENT)
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


def round_evaluate(*, round_id: int) -> dict[str, int]:
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
def round_request_information(*, rnd: Round, user: User, due: dt.date | None = None) -> Round:
    """Ask the filers of the passing products for their information, by `due` (default: the calendar's)."""
    require_role(user, Role.NATIONAL_ADMIN, message=ROLE_DENIED)
    rnd = lock_round(rnd, Stage.PATENT)
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
    round_move(rnd=rnd, stage=Stage.INFO, user=user, message=str(_("通知通过专利性评价的企业补充材料")), info_due=due)
    _notify(ids, "info_requested")
    return rnd


INFO_FIELDS = ("market_position", "technology", "patent_use")


@transaction.atomic
def information_submit(
    *, candidate_id: int, user: User, data: Mapping[str, Any], attachment: Any = None
) -> AdditionalInfo:
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


# --- 5. final list -------------------------------------------------------------------------------


def _next_serial(year: int) -> int:
    prefix = f"RD{year}"
    last = Candidate.objects.filter(certificate_number__startswith=prefix).aggregate(m=Max("certificate_number"))["m"]
    return int(last[len(prefix) :]) + 1 if last else 1


@transaction.atomic
def round_finalize(*, rnd: Round, user: User, today: dt.date | None = None) -> dict[str, int]:
    """Publish the final list: certificates for every proposed product whose objections were dismissed."""
    require_role(user, Role.NATIONAL_ADMIN, message=ROLE_DENIED)
    rnd = lock_round(rnd, Stage.PUBLICITY)
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
        lifecycle.certificate_issue(
            candidate=candidate, user=user, at=now
        )  # its validity period and the first row of its history
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
    round_move(rnd=rnd, stage=Stage.FINAL, user=user, message=str(_("公布认定结果")), finalized_at=now)
    _notify(certified, "certified")
    webhooks.emit_certified(events)  # the units' webhook events commit with the final list, or neither does
    return {"certified": len(certified)}
