"""Method versions and benchmark sets: drafts are edited, fixed ones are frozen, changes make new versions.

A method version names the standard it implements (T/PPAC 402-2022, GB/T 46961-2025 or another), its edition
and, per indicator, the clause. `gaps` says what a version still lacks before it may be used (activated, used
by a round, used for a what-if): the one completeness rule, asked by every path.

Every change writes an audit record with the values before and after.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Field, Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from evaluation import engine
from evaluation.choices import BenchmarkStatus, MethodStatus, Standard, Trait
from evaluation.models import Benchmark, BenchmarkSet, Indicator, MethodVersion
from patent_platform import audit
from patent_platform.choices import AuditAction, Role
from patent_platform.models import User
from patent_platform.roles import require_role

METHOD_FIELDS = (
    "name",
    "standard",
    "standard_other",
    "edition",
    "clauses_required",
    "statement",
    "min_passed_per_trait",
    "min_passed_total",
    "default_percentile",
    "score_rule",
    "expert_pass_score",
)
INDICATOR_FIELDS = ("code", "name", "trait", "unit", "formula", "clause", "direction", "order")


class MethodError(ValidationError):
    pass


NATIONAL_ONLY = _("只有国家局管理员可以维护评价方法和基准值。")


# --- completeness ---------------------------------------------------------------------------------


def gaps(method: MethodVersion) -> list[str]:
    """What the version lacks before it may be used, one sentence each (empty: complete).

    Complete: the standard is named (another standard's number, title and edition entered); there is
    at least one indicator, each with a formula and, when the version requires it, the clause it implements;
    every trait has an indicator if the rule asks for one per trait; the pass rule, the score rule and the
    expert pass score are entered, and the total asked for is not more than the indicators."""
    missing: list[str] = []
    if method.standard == Standard.OTHER:  # the two named standards carry their year in the designation
        if not method.standard_other.strip():
            missing.append(str(_("未填写所依据的其他标准的编号与名称。")))
        if not method.edition.strip():
            missing.append(str(_("未填写标准版次。")))
    indicators = list(method.indicators.all())
    if not indicators:
        missing.append(str(_("还没有任何指标：请依据标准原文逐项录入指标。")))
    for ind in indicators:
        if not ind.formula:
            missing.append(str(_("指标 %(code)s %(name)s：未选择计算公式。") % {"code": ind.code, "name": ind.name}))
        if method.clauses_required and not ind.clause.strip():
            missing.append(
                str(_("指标 %(code)s %(name)s：未填写所依据的标准条款。") % {"code": ind.code, "name": ind.name})
            )
    for field in ("min_passed_per_trait", "min_passed_total", "expert_pass_score"):
        if getattr(method, field) is None:
            model_field = MethodVersion._meta.get_field(field)
            label = model_field.verbose_name if isinstance(model_field, Field) else field  # always a Field
            missing.append(str(_("未填写达标规则：%(field)s。") % {"field": label}))
    if not method.score_rule:
        missing.append(str(_("未选择专家评分合成规则。")))
    if indicators and method.min_passed_per_trait:
        traits = {ind.trait for ind in indicators}
        absent = [str(Trait(t).label) for t in Trait.values if t not in traits]
        if absent:
            missing.append(str(_("每个特征至少需要一项指标，缺少：%(t)s") % {"t": "、".join(absent)}))
    if indicators and method.min_passed_total is not None and method.min_passed_total > len(indicators):
        missing.append(
            str(
                _("合计至少达标指标数（%(n)s）不能超过指标总数（%(c)s）。")
                % {"n": method.min_passed_total, "c": len(indicators)}
            )
        )
    return missing


def ensure_complete(method: MethodVersion) -> None:
    """Refuse an incomplete version, naming everything it lacks."""
    missing = gaps(method)
    if missing:
        head = _("评价方法版本 %(code)s 不完整，补全前不能使用：") % {"code": method.code}
        raise MethodError([ValidationError(m, code="incomplete") for m in [str(head), *missing]])


# --- method versions ----------------------------------------------------------------------------


@transaction.atomic
def method_copy(*, method: MethodVersion, user: User, code: str, name: str) -> MethodVersion:
    """A new draft version with the same indicators and rule, to be changed and then activated."""
    require_role(user, Role.NATIONAL_ADMIN, message=NATIONAL_ONLY)
    code = code.strip()
    if not code:
        raise MethodError({"code": _("请填写版本号。")})
    if MethodVersion.objects.filter(code=code).exists():
        raise MethodError({"code": _("版本号 %(code)s 已存在。") % {"code": code}})
    new = MethodVersion.objects.create(
        code=code,
        name=name.strip() or method.name,
        status=MethodStatus.DRAFT,
        based_on=method,
        created_by=user,
        **{f: getattr(method, f) for f in METHOD_FIELDS if f != "name"},
    )
    Indicator.objects.bulk_create(
        Indicator(method=new, **{f: getattr(ind, f) for f in INDICATOR_FIELDS}) for ind in method.indicators.all()
    )
    audit.audit_event(
        action=AuditAction.CREATE, obj=new, message=str(_("由 %(m)s 复制") % {"m": method.code}), actor=user
    )
    return new


def _editable(method: MethodVersion) -> MethodVersion:
    locked = MethodVersion.objects.select_for_update().get(pk=method.pk)
    if locked.status != MethodStatus.DRAFT or locked.is_frozen:
        raise MethodError(_("只能修改草稿状态、且未被任何批次使用的方法版本；请复制为新版本后修改。"), code="frozen")
    return locked


@transaction.atomic
def method_update(*, method: MethodVersion, user: User, data: Mapping[str, Any]) -> MethodVersion:
    require_role(user, Role.NATIONAL_ADMIN, message=NATIONAL_ONLY)
    method = _editable(method)
    before = audit.snapshot(method)
    for f in METHOD_FIELDS:
        if f in data:
            setattr(method, f, data[f])
    method.full_clean(exclude=["based_on", "created_by", "code", "status"])
    method.save()
    audit.audit_change(obj=method, before=before, actor=user)
    return method


@transaction.atomic
def indicator_save(
    *, method: MethodVersion, user: User, data: Mapping[str, Any], indicator: Indicator | None = None
) -> Indicator:
    require_role(user, Role.NATIONAL_ADMIN, message=NATIONAL_ONLY)
    method = _editable(method)
    ind = indicator or Indicator(method=method)
    before = audit.snapshot(ind) if indicator else None
    for f in INDICATOR_FIELDS:
        if f in data:
            setattr(ind, f, data[f])
    ind.full_clean(exclude=["method"])
    if Indicator.objects.filter(method=method, code=ind.code).exclude(pk=ind.pk).exists():
        raise MethodError({"code": _("指标代码 %(code)s 已存在。") % {"code": ind.code}})
    ind.save()
    audit.audit_change(obj=ind, before=before, actor=user)
    return ind


@transaction.atomic
def indicator_delete(*, indicator: Indicator, user: User) -> None:
    require_role(user, Role.NATIONAL_ADMIN, message=NATIONAL_ONLY)
    _editable(indicator.method)
    audit.audit_event(action=AuditAction.DELETE, obj=indicator, actor=user)
    indicator.delete()


@transaction.atomic
def method_activate(*, method: MethodVersion, user: User) -> MethodVersion:
    """Make a draft the current version (the previous one is retired; its results keep it)."""
    require_role(user, Role.NATIONAL_ADMIN, message=NATIONAL_ONLY)
    method = MethodVersion.objects.select_for_update().get(pk=method.pk)
    if method.status == MethodStatus.ACTIVE:
        return method
    ensure_complete(method)
    MethodVersion.objects.filter(status=MethodStatus.ACTIVE).update(status=MethodStatus.RETIRED)
    method.status = MethodStatus.ACTIVE
    method.save(update_fields=["status"])
    audit.audit_event(
        action=AuditAction.TRANSITION,
        obj=method,
        changes={"status": ["draft", "active"]},
        message=str(_("启用")),
        actor=user,
    )
    return method


# --- benchmark sets -----------------------------------------------------------------------------


@transaction.atomic
def benchmark_set_create(
    *, method: MethodVersion, product_class: Any, data_year: int, user: User, percentile: int | None = None
) -> BenchmarkSet:
    """A new draft set, numbered after the existing ones, filled with the suggestion."""
    require_role(user, Role.NATIONAL_ADMIN, message=NATIONAL_ONLY)
    existing = BenchmarkSet.objects.select_for_update().filter(
        method=method, product_class=product_class, data_year=data_year
    )
    if existing.filter(status=BenchmarkStatus.DRAFT).exists():
        raise MethodError(_("该分类该年度已有一个草稿，请直接编辑它。"), code="draft_exists")
    number = (existing.aggregate(n=Max("number"))["n"] or 0) + 1
    bset = BenchmarkSet.objects.create(
        method=method,
        product_class=product_class,
        data_year=data_year,
        number=number,
        percentile=percentile or method.default_percentile,
        created_by=user,
    )
    previous = existing.filter(status=BenchmarkStatus.FIXED).order_by("-number").first()
    if previous is not None:
        # a revision starts from the values fixed before, the suggestion shown beside them
        Benchmark.objects.bulk_create(
            Benchmark(set=bset, indicator_id=b.indicator_id, value=b.value) for b in previous.values.all()
        )
    engine.suggest(bset)
    audit.audit_event(action=AuditAction.CREATE, obj=bset, message=str(_("新建基准值（草稿）")), actor=user)
    return bset


def _draft(bset: BenchmarkSet) -> BenchmarkSet:
    locked = BenchmarkSet.objects.select_for_update().get(pk=bset.pk)
    if locked.is_fixed:
        raise MethodError(_("已确定的基准值不能修改；请新建一个版本。"), code="fixed")
    return locked


@transaction.atomic
def benchmark_set_resuggest(*, bset: BenchmarkSet, user: User, percentile: int) -> BenchmarkSet:
    """Suggest again at another percentile and take the suggestion as the values."""
    require_role(user, Role.NATIONAL_ADMIN, message=NATIONAL_ONLY)
    bset = _draft(bset)
    if not 1 <= int(percentile) <= 99:
        raise MethodError({"percentile": _("分位数须在 1–99 之间。")})
    before = {str(b.indicator_id): str(b.value) for b in bset.values.all()}
    bset.values.update(value=None)
    engine.suggest(bset, int(percentile))
    after = {str(b.indicator_id): str(b.value) for b in bset.values.all()}
    audit.audit_event(action=AuditAction.UPDATE, obj=bset, changes=audit.diff(before, after), actor=user)
    return bset


def parse_values(raw: Mapping[str, Any], bset: BenchmarkSet) -> tuple[dict[int, Decimal | None], dict[str, str]]:
    """Form input `value_<indicator id>` → {indicator id: value}, with field errors."""
    values: dict[int, Decimal | None] = {}
    errors: dict[str, str] = {}
    for b in bset.values.select_related("indicator"):
        key = f"value_{b.indicator_id}"
        text = str(raw.get(key, "")).strip()
        if not text:
            values[b.indicator_id] = None
            continue
        try:
            value = Decimal(text)
        except InvalidOperation:
            errors[key] = str(_("%(name)s：请填写数字。") % {"name": b.indicator.name})
            continue
        if not value.is_finite() or abs(value) >= Decimal("1e19"):
            errors[key] = str(_("%(name)s：数值超出范围。") % {"name": b.indicator.name})
            continue
        values[b.indicator_id] = value.quantize(Decimal("0.0001"))
    return values, errors


@transaction.atomic
def benchmark_set_update_values(
    *, bset: BenchmarkSet, user: User, values: Mapping[int, Decimal | None], note: str | None = None
) -> BenchmarkSet:
    require_role(user, Role.NATIONAL_ADMIN, message=NATIONAL_ONLY)
    bset = _draft(bset)
    rows = {b.indicator_id: b for b in bset.values.all()}
    before = {str(k): str(b.value) for k, b in rows.items()}
    for ind_id, value in values.items():
        row = rows.get(int(ind_id))
        if row is not None:
            # stored with 4 places: the audit record shows what is stored, not what was typed
            row.value = None if value is None else Decimal(str(value)).quantize(Decimal("0.0001"))
            row.save(update_fields=["value"])
    if note is not None:
        bset.note = note[:500]
        bset.save(update_fields=["note"])
    after = {str(k): str(b.value) for k, b in rows.items()}
    audit.audit_event(action=AuditAction.UPDATE, obj=bset, changes=audit.diff(before, after), actor=user)
    return bset


@transaction.atomic
def benchmark_set_fix(*, bset: BenchmarkSet, user: User) -> BenchmarkSet:
    """Fix a draft: from now on it is frozen and rounds may use it."""
    require_role(user, Role.NATIONAL_ADMIN, message=NATIONAL_ONLY)
    bset = _draft(bset)
    empty = [b.indicator.name for b in bset.values.select_related("indicator") if b.value is None]
    if empty:
        raise MethodError(
            _("以下指标还没有基准值（样本不足时请手工填写）：%(list)s") % {"list": "、".join(empty)},
            code="empty_values",
        )
    bset.status = BenchmarkStatus.FIXED
    bset.fixed_at = timezone.now()
    bset.fixed_by = user
    bset.save(update_fields=["status", "fixed_at", "fixed_by"])
    audit.audit_event(
        action=AuditAction.TRANSITION,
        obj=bset,
        changes={
            "status": ["draft", "fixed"],
            "values": {str(b.indicator.code): str(b.value) for b in bset.values.select_related("indicator")},
        },
        message=str(_("确定基准值")),
        actor=user,
    )
    return bset


@transaction.atomic
def benchmark_set_delete(*, bset: BenchmarkSet, user: User) -> None:
    require_role(user, Role.NATIONAL_ADMIN, message=NATIONAL_ONLY)
    bset = _draft(bset)
    audit.audit_event(action=AuditAction.DELETE, obj=bset, actor=user)
    bset.delete()
