"""The computing part of the method: percentiles and benchmark suggestion, the pass rule, the set-based
patent evaluation of a round (its stored counts follow the rule, running it again changes nothing,
only eligible product-years take part)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluation import engine, formulas, rounds
from evaluation.choices import BenchmarkStatus, CandidateStatus, Direction, MethodStatus, Trait
from evaluation.models import Benchmark, BenchmarkSet, Candidate, Indicator, IndicatorResult, MethodVersion, Round
from filings.choices import FilingStatus, PatentKind
from filings.models import FilingUnit, ProductClass
from tests.evaluation.test_formulas import Link, default_method, fixed_set, make_right, make_unit, make_version

# embedded (CI runs it on SQLite too): the engine's SQL differs on SQLite
pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

D = Decimal
CHINA = zoneinfo.ZoneInfo("Asia/Shanghai")
YEAR = 2024
TRAITS = list(Trait.values)


@pytest.fixture
def unit(reference: None) -> FilingUnit:
    return make_unit()


@pytest.fixture
def cls(reference: None) -> ProductClass:
    return ProductClass.objects.get(code="03")


# --- percentile ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([1, 2, 3, 4], 50, "2.5"),  # rank 0.5 × 3 = 1.5: halfway between 2 and 3
        ([1, 2, 3, 4], 10, "1.3"),  # rank 0.3: 1 + 0.3 × (2 − 1)
        ([1, 2, 3, 4], 90, "3.7"),  # rank 2.7: 3 + 0.7 × (4 − 3)
        ([40, 10, 30, 20], 25, "17.5"),  # sorted 10 20 30 40, rank 0.75: 10 + 0.75 × 10
        ([5, 5, 5], 73, "5"),
        ([7], 99, "7"),  # one value: that value
        ([0, 3], 33, "0.99"),  # rank 0.33: 0.33 × 3
        ([0, 1], 1, "0.01"),
        ([100, 200, 300, 400, 500], 20, "180"),  # rank 0.8: 100 + 0.8 × 100
        ([100, 200, 300, 400, 500], 80, "420"),  # rank 3.2: 400 + 0.2 × 100
    ],
)
def test_percentile_by_hand(values: list[int], p: int, expected: str) -> None:
    assert engine.percentile([D(v) for v in values], p) == D(expected)


def test_percentile_of_nothing_and_of_none() -> None:
    assert engine.percentile([], 50) is None
    assert engine.percentile([None, D(4), None, D(2)], 50) == D(3)  # type: ignore[list-item]


def numpy_linear(values: list[Decimal], p: int) -> float:
    """numpy.percentile(values, p) with method="linear", written out: h = (n − 1) p / 100."""
    xs = sorted(float(v) for v in values)
    h = (len(xs) - 1) * p / 100
    lower = int(h // 1)
    upper = min(lower + 1, len(xs) - 1)
    return xs[lower] + (h - lower) * (xs[upper] - xs[lower])


decimals = st.decimals(min_value=-10_000, max_value=10_000, places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(decimals, min_size=1, max_size=30), p=st.integers(1, 99), q=st.integers(1, 99))
def test_percentile_invariants(values: list[Decimal], p: int, q: int) -> None:
    got = engine.percentile(values, p)
    assert got is not None
    assert min(values) <= got <= max(values)
    assert abs(float(got) - numpy_linear(values, p)) <= 0.0001 + 1e-9 * max(abs(float(v)) for v in values)
    low, high = sorted((p, q))
    assert engine.percentile(values, low) <= engine.percentile(values, high)  # type: ignore[operator]
    assert engine.percentile(list(reversed(values)), p) == got  # order of the sample does not matter


# --- suggestion ----------------------------------------------------------------------------------


def sales_method() -> MethodVersion:
    """A draft method with two indicators on sales: "higher is better" and "lower is better"."""
    method = MethodVersion.objects.create(code="T-SALES", name="销售额测试方法", statement="测试")
    Indicator.objects.create(method=method, code="H", name="高", trait=Trait.BENEFIT, formula="sales", order=1)
    Indicator.objects.create(
        method=method, code="L", name="低", trait=Trait.BENEFIT, formula="sales", direction=Direction.LOWER, order=2
    )
    Indicator.objects.create(method=method, code="G", name="增长", trait=Trait.BENEFIT, formula="growth", order=3)
    return method


def test_suggest_takes_the_percentile_of_approved_filings_and_mirrors_lower(
    unit: FilingUnit, cls: ProductClass
) -> None:
    method = sales_method()
    for sales in (300, 100, 500, 200, 400):
        make_version(unit, cls, year=YEAR, sales=D(sales))
    # not in the sample: a draft, a submitted filing, another year, another class
    make_version(unit, cls, year=YEAR, sales=D(10_000), status=FilingStatus.DRAFT)
    make_version(unit, cls, year=YEAR, sales=D(10_000), status=FilingStatus.SUBMITTED)
    make_version(unit, cls, year=YEAR - 1, sales=D(10_000))
    make_version(unit, ProductClass.objects.exclude(pk=cls.pk).first(), year=YEAR, sales=D(10_000))
    bset = BenchmarkSet.objects.create(method=method, product_class=cls, data_year=YEAR)
    high, low, growth = method.indicators.order_by("order")
    Benchmark.objects.create(set=bset, indicator=low, value=D(999))  # entered by hand before

    suggestions = engine.suggest(bset, 20)

    # 20th percentile of 100…500 = 180; "lower is better" takes the 80th = 420; growth has no sample
    assert suggestions == {high.pk: D(180), low.pk: D(420), growth.pk: None}
    rows = {b.indicator_id: (b.suggested, b.value) for b in bset.values.all()}
    assert rows == {high.pk: (D(180), D(180)), low.pk: (D(420), D(999)), growth.pk: (None, None)}
    bset.refresh_from_db()
    assert (bset.percentile, bset.sample_size) == (20, 5)


def test_suggest_never_changes_a_fixed_set(unit: FilingUnit, cls: ProductClass) -> None:
    bset = fixed_set(default_method(), cls, YEAR, {})
    with pytest.raises(ValueError, match="fixed"):
        engine.suggest(bset)


# --- the pass rule -------------------------------------------------------------------------------


def dec(text: str | None) -> Decimal | None:
    return None if text is None else D(text)


@pytest.mark.parametrize(
    ("value", "benchmark", "direction", "expected"),
    [
        ("5", "5", Direction.HIGHER, True),
        ("5.0001", "5", Direction.HIGHER, True),
        ("4.9999", "5", Direction.HIGHER, False),
        ("5", "5", Direction.LOWER, True),
        ("4.9999", "5", Direction.LOWER, True),
        ("5.0001", "5", Direction.LOWER, False),
        (None, "5", Direction.HIGHER, False),
        (None, "5", Direction.LOWER, False),
        ("5", None, Direction.HIGHER, False),
        ("-1", None, Direction.LOWER, False),
        (None, None, Direction.HIGHER, False),
    ],
)
def test_meets(value: str | None, benchmark: str | None, direction: str, expected: bool) -> None:
    assert engine.meets(dec(value), dec(benchmark), direction) is expected


def test_apply_rule() -> None:
    method = MethodVersion(min_passed_per_trait=1, min_passed_total=5)
    ok = engine.apply_rule(method, {"protection": 2, "value": 1, "dependence": 1, "benefit": 1})
    assert (ok.total, ok.passed) == (5, True)
    # five in all, but one trait has none
    assert not engine.apply_rule(method, {"protection": 3, "value": 1, "dependence": 1}).passed
    # every trait, but four in all
    assert not engine.apply_rule(method, {"protection": 1, "value": 1, "dependence": 1, "benefit": 1}).passed
    strict = MethodVersion(min_passed_per_trait=2, min_passed_total=8)
    outcome = engine.apply_rule(strict, {"protection": 2, "value": 2, "dependence": 2, "benefit": 2, "other": 9})
    assert outcome.per_trait == {"protection": 2, "value": 2, "dependence": 2, "benefit": 2}  # unknown keys ignored
    assert (outcome.total, outcome.passed) == (8, True)
    assert engine.apply_rule(MethodVersion(min_passed_per_trait=0, min_passed_total=0), {}).passed


# --- the patent evaluation of a round ------------------------------------------------------------


def make_round(method: MethodVersion, year: int = YEAR, deadline: dt.date | None = None) -> Round:
    return Round.objects.create(
        name="测试批次", data_year=year, method=method, deadline=deadline or timezone.localdate()
    )


def candidate_rows(rnd: Round) -> list[tuple]:
    return sorted(
        Candidate.objects.filter(round=rnd).values_list(
            "version_id",
            "product_id",
            "unit_id",
            "product_class_id",
            "province_code",
            "city_code",
            "county_code",
            "benchmark_set_id",
            "status",
            "passed_protection",
            "passed_value",
            "passed_dependence",
            "passed_benefit",
            "passed_total",
            "patent_passed",
        )
    )


def result_rows(rnd: Round) -> list[tuple]:
    return sorted(
        IndicatorResult.objects.filter(candidate__round=rnd).values_list(
            "candidate__version_id", "indicator_id", "value", "benchmark", "passed"
        )
    )


def check_rule(rnd: Round) -> None:
    """Stored results follow meets(); stored counts and status follow apply_rule() over them."""
    indicators = {ind.pk: ind for ind in rnd.method.indicators.all()}
    for candidate in Candidate.objects.filter(round=rnd).prefetch_related("results"):
        results = list(candidate.results.all())
        assert {r.indicator_id for r in results} == set(indicators)
        per_trait: dict[str, int] = {}
        for r in results:
            ind = indicators[r.indicator_id]
            assert r.passed is engine.meets(r.value, r.benchmark, ind.direction), (ind.code, r.value, r.benchmark)
            per_trait[ind.trait] = per_trait.get(ind.trait, 0) + int(r.passed)
        outcome = engine.apply_rule(rnd.method, per_trait)
        assert {t: candidate.passed_in(t) for t in TRAITS} == outcome.per_trait
        assert candidate.passed_total == outcome.total
        assert candidate.patent_passed is outcome.passed
        assert candidate.status == (CandidateStatus.PATENT_PASSED if outcome.passed else CandidateStatus.PATENT_FAILED)


def test_evaluate_round_by_hand(unit: FilingUnit, cls: ProductClass) -> None:
    """Benchmarks P1 ≥ 1, P3 ≥ 100, V1 ≥ 100, D2 ≥ 100, E1 ≥ 1000, E2 ≥ 1, the others ≥ 0; the rule: one
    indicator in every trait and five in all."""
    right = make_right(unit, PatentKind.INVENTION, applied=dt.date(2020, 1, 1))
    method = default_method()
    fixed_set(method, cls, YEAR, {"P1": D(1), "P3": D(100), "V1": D(100), "D2": D(100), "E1": D(1000), "E2": D(1)})
    # strong: P1 1 ✓, P2 1 ✓, P3 16 ✗ | V1 60 ✗, V2 900 ✓ | D1 100 ✓, D2 6.6667 ✗ | E1 1500 ✓, E2 0 ✗, E3 None ✗
    strong = make_version(unit, cls, year=YEAR, sales=D(1500), links=[Link(right, True, D(60))])
    # weak:   P1 1 ✓, P2 0 ✓, P3 None ✗ | V1 60 ✗, V2 300 ✓ | D1 100 ✓, D2 20 ✗ | E1 500 ✗, E2 0 ✗, E3 None ✗
    weak = make_version(unit, cls, year=YEAR, sales=D(500), links=[Link(right, False, D(60))])
    rnd = make_round(method)

    counts = engine.evaluate_round(rnd)

    assert counts == {"candidates": 2, "passed": 1, "failed": 1}
    got = {
        c.version_id: (
            c.passed_protection,
            c.passed_value,
            c.passed_dependence,
            c.passed_benefit,
            c.passed_total,
            c.status,
        )
        for c in rnd.candidates.all()
    }
    assert got == {
        strong.pk: (2, 1, 1, 1, 5, CandidateStatus.PATENT_PASSED),
        weak.pk: (2, 1, 1, 0, 4, CandidateStatus.PATENT_FAILED),  # no economic-benefit indicator met
    }
    d2 = IndicatorResult.objects.get(candidate__version=strong, indicator__code="D2")
    assert (d2.value, d2.benchmark, d2.passed) == (D("6.6667"), D(100), False)
    check_rule(rnd)
    rnd.refresh_from_db()
    assert rnd.evaluation_runs == 1 and rnd.evaluated_at is not None


def test_eligibility(unit: FilingUnit, cls: ProductClass) -> None:
    method = default_method()
    fixed_set(method, cls, YEAR, {})
    deadline = dt.date(2025, 3, 31)
    late_evening = dt.datetime(2025, 3, 31, 23, 30, tzinfo=CHINA)  # still the deadline day in China (15:30 UTC)
    next_morning = dt.datetime(2025, 4, 1, 0, 30, tzinfo=CHINA)  # the day after in China (still 3-31 in UTC)
    eligible = make_version(unit, cls, year=YEAR, sales=D(1), decided_at=late_evening)
    make_version(unit, cls, year=YEAR, sales=D(1), decided_at=next_morning)  # approved after the deadline
    make_version(unit, cls, year=YEAR, sales=D(1), decided_at=late_evening, opt_in=False)  # not opted in
    make_version(unit, cls, year=YEAR - 1, sales=D(1), decided_at=late_evening)  # another data year
    make_version(unit, cls, year=YEAR, sales=D(1), status=FilingStatus.REVOKED, decided_at=late_evening)
    taken = make_version(unit, cls, year=YEAR, sales=D(1), decided_at=late_evening)
    other = make_round(method, deadline=deadline)
    Candidate.objects.create(
        round=other,
        version=taken,
        product=taken.product,
        unit=unit,
        product_class=cls,
        province_code=unit.province_code,
        benchmark_set=BenchmarkSet.objects.get(),
    )
    rnd = make_round(method, deadline=deadline)

    assert list(engine.eligible_versions(rnd).values_list("pk", flat=True)) == [eligible.pk]
    engine.evaluate_round(rnd)
    assert list(rnd.candidates.values_list("version_id", flat=True)) == [eligible.pk]
    assert list(other.candidates.values_list("version_id", flat=True)) == [taken.pk]  # untouched


def test_missing_benchmarks_names_the_class(unit: FilingUnit, cls: ProductClass) -> None:
    other = ProductClass.objects.exclude(pk=cls.pk).order_by("code").first()
    method = default_method()
    fixed_set(method, cls, YEAR, {})
    BenchmarkSet.objects.create(method=method, product_class=other, data_year=YEAR)  # a draft does not count
    fixed_set(method, other, YEAR - 1, {})  # nor does another year
    make_version(unit, cls, year=YEAR, sales=D(1))
    make_version(unit, other, year=YEAR, sales=D(1))
    assert engine.missing_benchmarks(make_round(method)) == [f"{other.code} {other.name}"]


def test_the_newest_fixed_set_is_used(unit: FilingUnit, cls: ProductClass) -> None:
    method = default_method()
    first = fixed_set(method, cls, YEAR, {"E1": D(10)})
    second = fixed_set(method, cls, YEAR, {"E1": D(20)}, number=2)
    BenchmarkSet.objects.create(method=method, product_class=cls, data_year=YEAR, number=3)  # a draft: not used
    version = make_version(unit, cls, year=YEAR, sales=D(15))
    rnd = make_round(method)
    engine.evaluate_round(rnd)
    candidate = rnd.candidates.get()
    assert candidate.benchmark_set_id == second.pk != first.pk
    e1 = candidate.results.get(indicator__code="E1")
    assert (e1.value, e1.benchmark, e1.passed) == (D(15), D(20), False)
    assert candidate.version_id == version.pk


# --- random data: the stored counts follow the rule, running again changes nothing --------------

link_strategy = st.tuples(
    st.sampled_from([PatentKind.INVENTION, PatentKind.UTILITY_MODEL, PatentKind.DESIGN]),
    st.booleans(),
    st.integers(0, 30),
)
version_strategy = st.tuples(
    st.lists(link_strategy, max_size=3), st.integers(0, 2000), st.one_of(st.none(), st.integers(0, 2000))
)
# per formula: a direction and a benchmark (None: the benchmark is missing in the set)
indicator_strategy = st.tuples(
    st.sampled_from([Direction.HIGHER, Direction.LOWER]),
    st.one_of(st.none(), st.decimals(min_value=-50, max_value=2000, places=1, allow_nan=False)),
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    versions=st.lists(version_strategy, min_size=1, max_size=5),
    indicators=st.lists(indicator_strategy, min_size=len(formulas.FORMULAS), max_size=len(formulas.FORMULAS)),
    k=st.integers(0, 2),
    n=st.integers(0, 10),
)
def test_stored_outcome_follows_the_rule_and_reruns_identically(
    unit: FilingUnit,
    cls: ProductClass,
    versions: list[tuple[list[tuple[str, bool, int]], int, int | None]],
    indicators: list[tuple[str, Decimal | None]],
    k: int,
    n: int,
) -> None:
    with transaction.atomic():
        method = MethodVersion.objects.create(
            code="T-RANDOM", name="随机方法", statement="测试", min_passed_per_trait=k, min_passed_total=n
        )
        traits = TRAITS * 3
        bset = BenchmarkSet.objects.create(
            method=method, product_class=cls, data_year=YEAR, status=BenchmarkStatus.FIXED
        )
        for i, (key, (direction, bench)) in enumerate(zip(formulas.FORMULAS, indicators, strict=True)):
            ind = Indicator.objects.create(
                method=method, code=f"X{i}", name=key, trait=traits[i], formula=key, direction=direction, order=i
            )
            if bench is not None or i % 2:
                Benchmark.objects.create(set=bset, indicator=ind, value=bench)
        for links, sales, previous in versions:
            rights = [Link(make_right(unit, kind), core, D(c)) for kind, core, c in links]
            product = (
                make_version(unit, cls, year=YEAR - 1, sales=D(previous)).product if previous is not None else None
            )
            make_version(unit, cls, year=YEAR, sales=D(sales), links=rights, product=product)
        rnd = make_round(method)

        first = engine.evaluate_round(rnd)
        rnd.refresh_from_db()
        check_rule(rnd)
        candidates, results = candidate_rows(rnd), result_rows(rnd)
        assert len(candidates) == len(versions) == first["candidates"]
        assert first["passed"] == sum(1 for c in candidates if c[-1])

        again = engine.evaluate_round(rnd)
        assert again == first
        assert candidate_rows(rnd) == candidates
        assert result_rows(rnd) == results
        assert rounds.round_evaluate(round_id=rnd.pk) == first  # the task's body, too
        assert (candidate_rows(rnd), result_rows(rnd)) == (candidates, results)
        rnd.refresh_from_db()
        assert rnd.evaluation_runs == 3
        transaction.set_rollback(True)


def test_self_assessment_uses_the_same_values_and_rule(unit: FilingUnit, cls: ProductClass) -> None:
    right = make_right(unit, PatentKind.INVENTION, applied=dt.date(2020, 1, 1))
    method = default_method()
    fixed_set(method, cls, YEAR - 1, {"E1": D(1000)})  # only last year's benchmarks: they are used
    draft = make_version(
        unit, cls, year=YEAR, sales=D(500), links=[Link(right, True, D(60))], status=FilingStatus.DRAFT
    )
    result = engine.self_assessment(draft)
    rows = {row["indicator"].code: (row["value"], row["benchmark"], row["passed"]) for row in result["rows"]}
    assert rows["E1"] == (D(500), D(1000), False)
    assert rows["V2"] == (D(300), D(0), True)  # 500 × 60 / 100
    assert rows["E3"] == (None, D(0), False)  # no previous year: cannot be computed, never passes
    per_trait = {t: sum(1 for r in result["rows"] if r["indicator"].trait == t and r["passed"]) for t in TRAITS}
    assert result["outcome"] == engine.apply_rule(method, per_trait)
    assert result["benchmark_set"].data_year == YEAR - 1
    MethodVersion.objects.filter(status=MethodStatus.ACTIVE).update(status=MethodStatus.RETIRED)
    assert engine.self_assessment(draft)["outcome"] is None
