"""Method versions and benchmark sets through their services: drafts change, fixed or used ones never do,
a change makes a new version, every change is audited, only the national office may make one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from evaluation import methods
from evaluation.choices import BenchmarkStatus, Direction, MethodStatus, Trait
from evaluation.methods import INDICATOR_FIELDS, MethodError
from evaluation.models import BenchmarkSet, Indicator, MethodVersion, Round
from filings.choices import PatentKind
from filings.models import FilingUnit, ProductClass
from patent_platform.choices import AuditAction, Role
from patent_platform.models import AuditEvent, User
from tests.evaluation.test_formulas import Link, default_method, make_right, make_unit, make_version

pytestmark = pytest.mark.django_db

D = Decimal
YEAR = 2024


@pytest.fixture
def national(make_user: Callable[..., User]) -> User:
    return make_user("national-t@example.cn", Role.NATIONAL_ADMIN)


@pytest.fixture
def reviewer(make_user: Callable[..., User]) -> User:
    return make_user("reviewer-t@example.cn", Role.REVIEWER)


@pytest.fixture
def cls(reference: None) -> ProductClass:
    return ProductClass.objects.get(code="03")


@pytest.fixture
def unit(reference: None) -> FilingUnit:
    return make_unit()


def events(obj: object, action: str) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(object_type=obj._meta.label, object_id=str(obj.pk), action=action).order_by("pk")  # type: ignore[attr-defined]
    )


def indicator_rows(method: MethodVersion) -> list[tuple]:
    return list(method.indicators.order_by("order", "code").values_list(*INDICATOR_FIELDS))


def code_of(exc: pytest.ExceptionInfo[ValidationError]) -> str | None:
    return exc.value.error_list[0].code if not hasattr(exc.value, "error_dict") else None


# --- method versions ----------------------------------------------------------------------------


def test_copy_method_keeps_indicators_and_rule(national: User) -> None:
    source = default_method()
    copy = methods.method_copy(method=source, user=national, code=" PPAC402-平台解读-2 ", name="第 2 版")
    assert (copy.code, copy.name, copy.status, copy.based_on) == ("PPAC402-平台解读-2", "第 2 版", "draft", source)
    assert indicator_rows(copy) == indicator_rows(source) and len(indicator_rows(copy)) == 10
    for field in ("statement", "min_passed_per_trait", "min_passed_total", "default_percentile", "score_rule"):
        assert getattr(copy, field) == getattr(source, field)
    assert copy.expert_pass_score == source.expert_pass_score
    assert len(events(copy, AuditAction.CREATE)) == 1
    source.refresh_from_db()
    assert source.status == MethodStatus.ACTIVE  # copying changes nothing of the source


def test_copy_method_field_errors(national: User, reviewer: User) -> None:
    source = default_method()
    with pytest.raises(MethodError) as empty:
        methods.method_copy(method=source, user=national, code="  ", name="x")
    assert "code" in empty.value.message_dict
    with pytest.raises(MethodError) as taken:
        methods.method_copy(method=source, user=national, code=source.code, name="x")
    assert "code" in taken.value.message_dict
    with pytest.raises(PermissionDenied):
        methods.method_copy(method=source, user=reviewer, code="R-1", name="x")
    assert MethodVersion.objects.count() == 2  # the default T/PPAC 402-2022 version and the GB/T 46961 skeleton


def test_only_an_unused_draft_changes(national: User) -> None:
    active = default_method()
    indicator = active.indicators.first()
    # the active version: not a draft
    with pytest.raises(MethodError) as exc:
        methods.method_update(method=active, user=national, data={"min_passed_total": 3})
    assert code_of(exc) == "frozen"
    with pytest.raises(MethodError):
        methods.indicator_save(method=active, user=national, data={"name": "改名"}, indicator=indicator)
    with pytest.raises(MethodError):
        methods.indicator_delete(indicator=indicator, user=national)
    # a draft used by a round: frozen as well
    draft = methods.method_copy(method=active, user=national, code="D-1", name="草稿")
    Round.objects.create(name="用过的批次", data_year=YEAR, method=draft, deadline=timezone.localdate())
    assert draft.is_frozen
    with pytest.raises(MethodError) as used:
        methods.indicator_save(
            method=draft, user=national, data={"code": "N1", "name": "新", "trait": Trait.VALUE, "formula": "sales"}
        )
    assert code_of(used) == "frozen"
    with pytest.raises(MethodError):
        methods.method_update(method=draft, user=national, data={"name": "改"})
    active.refresh_from_db()
    assert active.min_passed_total == 5 and active.indicators.count() == 10 and draft.indicators.count() == 10


def test_a_draft_is_changed_and_audited(national: User, reviewer: User) -> None:
    draft = methods.method_copy(method=default_method(), user=national, code="D-2", name="草稿")
    methods.method_update(method=draft, user=national, data={"min_passed_total": 6, "expert_pass_score": D(75)})
    draft.refresh_from_db()
    assert (draft.min_passed_total, draft.expert_pass_score) == (6, D(75))
    [update] = events(draft, AuditAction.UPDATE)
    assert update.changes["min_passed_total"] == [5, 6]

    e1 = draft.indicators.get(code="E1")
    methods.indicator_save(method=draft, user=national, data={"direction": Direction.LOWER}, indicator=e1)
    assert Indicator.objects.get(pk=e1.pk).direction == Direction.LOWER
    new = methods.indicator_save(
        method=draft,
        user=national,
        data={"code": "E4", "name": "出口", "trait": Trait.BENEFIT, "formula": "exports", "order": 11},
    )
    assert new.method_id == draft.pk
    with pytest.raises(MethodError) as duplicate:
        methods.indicator_save(
            method=draft, user=national, data={"code": "E4", "name": "重复", "trait": Trait.BENEFIT, "formula": "sales"}
        )
    assert "code" in duplicate.value.message_dict
    with pytest.raises(ValidationError):
        methods.indicator_save(
            method=draft, user=national, data={"code": "E5", "name": "坏", "trait": Trait.BENEFIT, "formula": "nope"}
        )
    with pytest.raises(PermissionDenied):
        methods.method_update(method=draft, user=reviewer, data={"min_passed_total": 1})
    methods.indicator_delete(indicator=new, user=national)
    assert draft.indicators.count() == 10


def test_activate_retires_the_previous_version(national: User) -> None:
    old = default_method()
    new = methods.method_copy(method=old, user=national, code="A-1", name="新版")
    assert methods.method_activate(method=new, user=national).status == MethodStatus.ACTIVE
    old.refresh_from_db()
    assert old.status == MethodStatus.RETIRED
    assert MethodVersion.active() == new
    assert events(new, AuditAction.TRANSITION)[0].changes["status"] == ["draft", "active"]
    assert methods.method_activate(method=new, user=national).status == MethodStatus.ACTIVE  # again: nothing changes


def test_activate_needs_every_trait_and_a_reachable_total(national: User) -> None:
    draft = methods.method_copy(method=default_method(), user=national, code="A-2", name="缺特征")
    for indicator in draft.indicators.filter(trait=Trait.BENEFIT):
        methods.indicator_delete(indicator=indicator, user=national)
    with pytest.raises(MethodError) as missing:
        methods.method_activate(method=draft, user=national)
    assert code_of(missing) == "incomplete"
    assert any(str(Trait.BENEFIT.label) in m for m in missing.value.messages)

    draft = methods.method_copy(method=default_method(), user=national, code="A-3", name="总数过大")
    methods.method_update(method=draft, user=national, data={"min_passed_total": 11})  # 10 indicators
    with pytest.raises(MethodError) as too_many:
        methods.method_activate(method=draft, user=national)
    assert code_of(too_many) == "incomplete"
    assert "合计至少达标指标数（11）不能超过指标总数（10）。" in too_many.value.messages
    assert MethodVersion.active() == default_method() and default_method().code == "PPAC402-平台解读-1"


# --- benchmark sets -----------------------------------------------------------------------------


@pytest.fixture
def sample(unit: FilingUnit, cls: ProductClass) -> None:
    """Three approved filings of class 03, 2024: sales 100, 200, 300; one core invention (50 %) each."""
    for sales in (100, 200, 300):
        right = make_right(unit, PatentKind.INVENTION, applied=dt.date(2020, 1, 1))
        make_version(unit, cls, year=YEAR, sales=D(sales), links=[Link(right, True, D(50))])


def values_by_code(bset: BenchmarkSet) -> dict[str, tuple[Decimal | None, Decimal | None]]:
    return {b.indicator.code: (b.value, b.suggested) for b in bset.values.select_related("indicator")}


def test_create_fix_and_revise(national: User, cls: ProductClass, sample: None) -> None:
    method = default_method()
    first = methods.benchmark_set_create(method=method, product_class=cls, data_year=YEAR, user=national)
    got = values_by_code(first)
    assert (first.number, first.status, first.percentile, first.sample_size) == (1, "draft", 50, 3)
    assert got["E1"] == (D(200), D(200))  # the median of 100, 200, 300
    assert got["V2"] == (D(100), D(100))  # patent sales 50, 100, 150
    assert got["E3"] == (None, None)  # no previous year in the sample
    assert len(events(first, AuditAction.CREATE)) == 1
    with pytest.raises(MethodError) as draft_exists:
        methods.benchmark_set_create(method=method, product_class=cls, data_year=YEAR, user=national)
    assert code_of(draft_exists) == "draft_exists"

    with pytest.raises(MethodError) as empty:
        methods.benchmark_set_fix(bset=first, user=national)
    assert code_of(empty) == "empty_values"
    assert BenchmarkSet.objects.get(pk=first.pk).status == BenchmarkStatus.DRAFT
    growth = first.values.get(indicator__code="E3").indicator_id
    e1 = first.values.get(indicator__code="E1").indicator_id
    methods.benchmark_set_update_values(
        bset=first, user=national, values={growth: D(5), e1: D(180)}, note="增长率手工填写"
    )
    [update] = events(first, AuditAction.UPDATE)
    assert update.changes[str(e1)] == ["200.0000", "180.0000"]
    methods.benchmark_set_fix(bset=first, user=national)
    first.refresh_from_db()
    assert first.is_fixed and first.fixed_by == national and first.note == "增长率手工填写"
    [transition] = events(first, AuditAction.TRANSITION)
    assert transition.changes["values"]["E1"] == "180.0000"

    # a revision: number 2, starting from the values fixed before, the new suggestion beside them
    second = methods.benchmark_set_create(
        method=method, product_class=cls, data_year=YEAR, user=national, percentile=25
    )
    got = values_by_code(second)
    assert (second.number, second.percentile) == (2, 25)
    assert got["E1"] == (D(180), D(150))  # 25th percentile of 100, 200, 300
    assert got["E3"] == (D(5), None)


def test_a_fixed_set_never_changes(national: User, cls: ProductClass, sample: None) -> None:
    bset = methods.benchmark_set_create(method=default_method(), product_class=cls, data_year=YEAR, user=national)
    growth = bset.values.get(indicator__code="E3").indicator_id
    methods.benchmark_set_update_values(bset=bset, user=national, values={growth: D(0)})
    methods.benchmark_set_fix(bset=bset, user=national)
    before = values_by_code(bset)
    for attempt in (
        lambda: methods.benchmark_set_update_values(bset=bset, user=national, values={growth: D(99)}),
        lambda: methods.benchmark_set_resuggest(bset=bset, user=national, percentile=10),
        lambda: methods.benchmark_set_delete(bset=bset, user=national),
        lambda: methods.benchmark_set_fix(bset=bset, user=national),
    ):
        with pytest.raises(MethodError) as exc:
            attempt()
        assert code_of(exc) == "fixed"
    assert values_by_code(BenchmarkSet.objects.get(pk=bset.pk)) == before


def test_resuggest_and_delete_a_draft(national: User, reviewer: User, cls: ProductClass, sample: None) -> None:
    bset = methods.benchmark_set_create(method=default_method(), product_class=cls, data_year=YEAR, user=national)
    e1 = bset.values.get(indicator__code="E1").indicator_id
    methods.benchmark_set_update_values(bset=bset, user=national, values={e1: D(1)})
    methods.benchmark_set_resuggest(bset=bset, user=national, percentile=75)
    assert values_by_code(bset)["E1"] == (D(250), D(250))  # the hand value gives way to the 75th percentile
    with pytest.raises(MethodError) as bad:
        methods.benchmark_set_resuggest(bset=bset, user=national, percentile=100)
    assert "percentile" in bad.value.message_dict
    with pytest.raises(PermissionDenied):
        methods.benchmark_set_delete(bset=bset, user=reviewer)
    with pytest.raises(PermissionDenied):
        methods.benchmark_set_create(method=default_method(), product_class=cls, data_year=YEAR + 1, user=reviewer)
    methods.benchmark_set_delete(bset=bset, user=national)
    assert not BenchmarkSet.objects.filter(pk=bset.pk).exists()
    assert AuditEvent.objects.filter(object_type="evaluation.BenchmarkSet", action=AuditAction.DELETE).count() == 1


def test_parse_values(national: User, cls: ProductClass, sample: None) -> None:
    bset = methods.benchmark_set_create(method=default_method(), product_class=cls, data_year=YEAR, user=national)
    ids = {b.indicator.code: b.indicator_id for b in bset.values.select_related("indicator")}
    raw = {f"value_{ids['E1']}": " 12.345678 ", f"value_{ids['E2']}": "abc", f"value_{ids['P1']}": "1e30"}
    values, errors = methods.parse_values(raw, bset)
    assert values[ids["E1"]] == D("12.3457")
    assert values[ids["E3"]] is None  # left empty
    assert set(errors) == {f"value_{ids['E2']}", f"value_{ids['P1']}"}
