"""Stage 3 of a certification round: the industry evaluation by expert panels (≥3 experts per product, none
from the product's unit or province, no two from one organisation), their scores and how they combine.

The stages' shared rules (the round locked, its stage moved, the errors) are `evaluation.rounds`'.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from evaluation.choices import ScoreRule, Stage
from evaluation.models import (
    CRITERIA,
    Assignment,
    Candidate,
    Round,
)
from evaluation.rounds import (
    ROLE_DENIED,
    TWO_PLACES,
    C,
    RoundError,
    early_reason,
    lock_round,
    round_move,
)
from patent_platform import audit
from patent_platform.choices import AuditAction, Role
from patent_platform.models import User
from patent_platform.roles import require_role
from patent_platform.scoping import lock_visible

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
def industry_evaluation_start(
    *, rnd: Round, user: User, reason: str = "", today: dt.date | None = None
) -> dict[str, int]:
    """Close the information stage and assign every product with information to its expert panel
    (before the information deadline has passed only with the office's reason)."""
    require_role(user, Role.NATIONAL_ADMIN, message=ROLE_DENIED)
    rnd = lock_round(rnd, Stage.INFO)
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
    round_move(rnd=rnd, stage=Stage.INDUSTRY, user=user, message=str(_("开始产业性评价")), early=early)
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
def score_submit(*, assignment_id: int, user: User, scores: Mapping[str, Any], comments: str) -> Assignment:
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
    points = {name: Decimal(str(scores[name]).strip()) for name, _label, _points in CRITERIA}
    values: dict[str, Decimal | str] = {**points, "comments": comments.strip()}
    if assignment.scored_at is not None and all(getattr(assignment, k) == v for k, v in values.items()):
        return assignment  # the same scores again (two clicks at once): nothing changes, nothing is written
    before = audit.snapshot(assignment, ["technology", "market", "patent", "benefit", "total", "comments"])
    for name, value in values.items():
        setattr(assignment, name, value)
    assignment.total = sum(points.values(), Decimal(0))
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
