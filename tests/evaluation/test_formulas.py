"""Every indicator formula on hand-computed product-years, and the same values in a round's stored results.

Rows are written directly with the ORM (a unit, patents, rights, product versions, links), so the
examples can hold any patent kind, legal status and application date. The expected values are worked
out by hand in each test (or, for the hypothesis test, by an independent Python computation).
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluation import engine, formulas
from evaluation.choices import BenchmarkStatus, MethodStatus
from evaluation.models import Benchmark, BenchmarkSet, Indicator, IndicatorResult, MethodVersion, Round
from filings.choices import FilingStatus, LegalStatus, PatentKind, RightKind
from filings.identifiers import build_patent_number, build_uscc, compute_patent_check
from filings.models import FilingUnit, Patent, PatentLink, PatentRight, Product, ProductClass, ProductVersion

pytestmark = pytest.mark.django_db

D = Decimal
ZERO = Decimal(0)
TYPE_DIGIT = {PatentKind.INVENTION: "1", PatentKind.UTILITY_MODEL: "2", PatentKind.DESIGN: "3"}
_serials = itertools.count(1)
_orgs = itertools.count(1)


# --- builders (shared by the other evaluation test files) ----------------------------------------


def make_unit(name: str = "广州公式测试有限公司", county: str = "440106") -> FilingUnit:
    unit = FilingUnit(uscc=build_uscc(region_code=county, org_body=f"MA{next(_orgs):06d}"), name=name, region_id=county)
    unit.save()
    return unit


def number_12(year: int, kind: str) -> str:
    return build_patent_number(year=year, type_digit=TYPE_DIGIT[kind], serial=next(_serials))


def number_8(yy: int, kind: str) -> str:
    """An application number of before 2003: two year digits, the type digit, five serial digits."""
    digits = f"{yy:02d}{TYPE_DIGIT[kind]}{next(_serials) % 100000:05d}"
    return f"{digits}.{compute_patent_check(digits)}"


def make_right(
    unit: FilingUnit,
    kind: str = PatentKind.INVENTION,
    *,
    number: str | None = None,
    applied: dt.date | None = None,
    status: str = LegalStatus.VALID,
) -> PatentRight:
    patent = Patent.objects.create(
        number=number or number_12(2019, kind),
        kind=kind,
        title="测试专利",
        application_date=applied,
        legal_status=status,
    )
    return PatentRight.objects.create(unit=unit, patent=patent, kind=RightKind.OWNER)


@dataclass(frozen=True)
class Link:
    right: PatentRight
    core: bool
    contribution: Decimal


def make_version(
    unit: FilingUnit,
    product_class: ProductClass,
    *,
    year: int,
    sales: Decimal,
    exports: Decimal = ZERO,
    links: list[Link] | None = None,
    status: str = FilingStatus.APPROVED,
    product: Product | None = None,
    decided_at: dt.datetime | None = None,
    opt_in: bool = True,
) -> ProductVersion:
    if product is None:
        product = Product(unit=unit)
        product.save()
    version = ProductVersion.objects.create(
        product=product,
        data_year=year,
        status=status,
        name=f"产品 {product.pk}",
        product_class=product_class,
        sales=sales,
        exports=exports,
        certification_opt_in=opt_in,
        decided_at=decided_at or (timezone.now() if status == FilingStatus.APPROVED else None),
    )
    PatentLink.objects.bulk_create(
        PatentLink(version=version, right=link.right, is_core=link.core, contribution=link.contribution)
        for link in links or []
    )
    return version


def default_method() -> MethodVersion:
    return MethodVersion.objects.get(status=MethodStatus.ACTIVE)


def value(version: ProductVersion, formula: str) -> Decimal | None:
    """One formula's value for one version, through engine.values_for (the self-assessment's path)."""
    indicator = Indicator(pk=1, formula=formula)
    return engine.values_for(ProductVersion.objects.filter(pk=version.pk), [indicator])[version.pk][1]


def fixed_set(
    method: MethodVersion, product_class: ProductClass, year: int, values: dict[str, Decimal], number: int = 1
) -> BenchmarkSet:
    """A fixed benchmark set with a value per indicator code (missing codes: 0)."""
    bset = BenchmarkSet.objects.create(
        method=method, product_class=product_class, data_year=year, number=number, status=BenchmarkStatus.FIXED
    )
    Benchmark.objects.bulk_create(
        Benchmark(set=bset, indicator=ind, value=values.get(ind.code, D(0))) for ind in method.indicators.all()
    )
    return bset


@pytest.fixture
def unit(reference: None) -> FilingUnit:
    return make_unit()


@pytest.fixture
def cls(reference: None) -> ProductClass:
    return ProductClass.objects.get(code="03")


# --- one product-year, every formula --------------------------------------------------------------

YEAR = 2024


@pytest.fixture
def example(unit: FilingUnit, cls: ProductClass) -> ProductVersion:
    """sales 2500, exports 300; links:
    A invention, valid, applied 2019-03-15, core, 30 %   → remaining 2019 + 20 − 2024 = 15
    B invention, lapsed, no date, number of 2016, core, 20.5 % → remaining 2016 + 20 − 2024 = 12
    C utility model, valid, applied 2020, not core, 10 %
    The previous data year (2023) was approved with sales 2000."""
    a = make_right(unit, PatentKind.INVENTION, applied=dt.date(2019, 3, 15))
    b = make_right(unit, PatentKind.INVENTION, number=number_12(2016, PatentKind.INVENTION), status=LegalStatus.LAPSED)
    c = make_right(unit, PatentKind.UTILITY_MODEL, applied=dt.date(2020, 7, 1))
    previous = make_version(unit, cls, year=YEAR - 1, sales=D(2000), links=[Link(a, True, D(50))])
    return make_version(
        unit,
        cls,
        year=YEAR,
        sales=D(2500),
        exports=D(300),
        product=previous.product,
        links=[Link(a, True, D(30)), Link(b, True, D("20.5")), Link(c, False, D(10))],
    )


EXPECTED = {
    "valid_invention_patents": D(1),  # A only: B has lapsed, C is a utility model
    "core_patents": D(1),  # A only: B is core but has lapsed (counted as P1 counts, valid patents only)
    "core_remaining_years": D("13.5"),  # (15 + 12) / 2
    "total_contribution": D("60.5"),  # 30 + 20.5 + 10
    "patent_sales": D("1512.5"),  # 2500 × 60.5 / 100
    "invention_share": D("66.6667"),  # 2 of 3 × 100, rounded to 4 places
    "patents_per_100m": D(12),  # 3 ÷ (2500 / 10000)
    "sales": D(2500),
    "exports": D(300),
    "growth": D(25),  # (2500 − 2000) × 100 / 2000
}


def test_the_hand_computed_example_covers_every_formula() -> None:
    assert set(EXPECTED) == set(formulas.FORMULAS)


@pytest.mark.parametrize("formula", sorted(EXPECTED))
def test_each_formula_on_the_example(example: ProductVersion, formula: str) -> None:
    assert value(example, formula) == EXPECTED[formula]


def test_no_links(unit: FilingUnit, cls: ProductClass) -> None:
    version = make_version(unit, cls, year=YEAR, sales=D(800), exports=D(80))
    got = {key: value(version, key) for key in formulas.FORMULAS}
    assert got == {
        "valid_invention_patents": D(0),
        "core_patents": D(0),
        "core_remaining_years": None,  # no core patent: nothing to average
        "total_contribution": D(0),
        "patent_sales": D(0),
        "invention_share": None,  # 0 of 0
        "patents_per_100m": D(0),  # 0 patents per 0.08 亿元
        "sales": D(800),
        "exports": D(80),
        "growth": None,  # no previous year
    }


def test_sales_zero(unit: FilingUnit, cls: ProductClass) -> None:
    right = make_right(unit)
    previous = make_version(unit, cls, year=YEAR - 1, sales=D(0), links=[Link(right, True, D(40))])
    version = make_version(unit, cls, year=YEAR, sales=D(0), product=previous.product, links=[Link(right, True, D(40))])
    assert value(version, "patents_per_100m") is None  # 1 patent per 0 亿元
    assert value(version, "growth") is None  # previous year's sales are 0
    assert value(version, "patent_sales") == D(0)
    assert value(version, "sales") == D(0)


def test_growth_needs_an_approved_previous_year(unit: FilingUnit, cls: ProductClass) -> None:
    right = make_right(unit)
    links = [Link(right, True, D(40))]
    # previous year only submitted, not approved: no growth
    pending = make_version(unit, cls, year=YEAR - 1, sales=D(1000), links=links, status=FilingStatus.SUBMITTED)
    version = make_version(unit, cls, year=YEAR, sales=D(1500), product=pending.product, links=links)
    assert value(version, "growth") is None
    # two years back does not count either
    older = make_version(unit, cls, year=YEAR - 2, sales=D(1000), links=links)
    later = make_version(unit, cls, year=YEAR, sales=D(1500), product=older.product, links=links)
    assert value(later, "growth") is None
    # an approved previous year: (1200 − 1600) × 100 / 1600 = −25
    approved = make_version(unit, cls, year=YEAR - 1, sales=D(1600), links=links)
    falling = make_version(unit, cls, year=YEAR, sales=D(1200), product=approved.product, links=links)
    assert value(falling, "growth") == D(-25)
    # another product's previous year is not this product's
    other = make_version(unit, cls, year=YEAR, sales=D(1200), links=links)
    assert value(other, "growth") is None


def test_rounding_to_four_places(unit: FilingUnit, cls: ProductClass) -> None:
    invention = make_right(unit, PatentKind.INVENTION, applied=dt.date(2019, 1, 1))
    design = make_right(unit, PatentKind.DESIGN, applied=dt.date(2020, 1, 1))
    utility = make_right(unit, PatentKind.UTILITY_MODEL, applied=dt.date(2021, 1, 1))
    previous = make_version(unit, cls, year=YEAR - 1, sales=D(3), links=[Link(invention, True, D(1))])
    version = make_version(
        unit,
        cls,
        year=YEAR,
        sales=D("1234.57"),
        product=previous.product,
        links=[Link(invention, True, D("33.33")), Link(design, True, D(0)), Link(utility, True, D(0))],
    )
    assert value(version, "patent_sales") == D("411.4822")  # 1234.57 × 33.33 / 100 = 411.482181
    assert value(version, "invention_share") == D("33.3333")  # 1 / 3 × 100
    assert value(version, "patents_per_100m") == D("24.3000")  # 3 × 10000 / 1234.57 = 24.29995… → 24.3000
    # (2019 + 20 − 2024) + (2020 + 10 − 2024) + (2021 + 10 − 2024) = 15 + 6 + 7 = 28; 28 / 3
    assert value(version, "core_remaining_years") == D("9.3333")
    assert value(version, "growth") == D("41052.3333")  # (1234.57 − 3) × 100 / 3 = 41052.33333…


@pytest.mark.parametrize(
    ("kind", "applied", "number", "data_year", "expected"),
    [
        # with an application date: its year
        (PatentKind.INVENTION, dt.date(2010, 12, 31), None, 2024, D(6)),  # 2010 + 20 − 2024
        (PatentKind.UTILITY_MODEL, dt.date(2020, 1, 1), None, 2024, D(6)),  # 2020 + 10 − 2024
        # only the 12-digit number: its first four digits
        ("invention_12", None, 2012, 2024, D(8)),  # 2012 + 20 − 2024
        # only an 8-digit number (before 2003): 19xx for 85–99, 20xx for 00–02
        ("invention_8", None, 98, 2015, D(3)),  # 1998 + 20 − 2015
        ("invention_8", None, 1, 2015, D(6)),  # 2001 + 20 − 2015
        ("utility_8", None, 99, 2005, D(4)),  # 1999 + 10 − 2005
        # designs: 15 years when applied from 2021-06-01, 10 before
        (PatentKind.DESIGN, dt.date(2021, 6, 1), None, 2024, D(12)),  # 2021 + 15 − 2024
        (PatentKind.DESIGN, dt.date(2021, 5, 31), None, 2024, D(7)),  # 2021 + 10 − 2024
        ("design_12", None, 2023, 2024, D(14)),  # no date, applied 2023: certainly after 2021-06-01
        ("design_12", None, 2020, 2024, D(6)),  # no date, applied 2020: 10 years
    ],
)
def test_core_remaining_years(
    unit: FilingUnit,
    cls: ProductClass,
    kind: str,
    applied: dt.date | None,
    number: int | None,
    data_year: int,
    expected: Decimal,
) -> None:
    if kind.endswith("_12"):
        real = {"invention": PatentKind.INVENTION, "design": PatentKind.DESIGN}[kind[:-3]]
        right = make_right(unit, real, number=number_12(number, real))
    elif kind.endswith("_8"):
        real = {"invention": PatentKind.INVENTION, "utility": PatentKind.UTILITY_MODEL}[kind[:-2]]
        right = make_right(unit, real, number=number_8(number, real))
    else:
        right = make_right(unit, kind, applied=applied)
    other = make_right(unit, PatentKind.INVENTION, applied=dt.date(2000, 1, 1))  # not core: left out
    version = make_version(
        unit, cls, year=data_year, sales=D(100), links=[Link(right, True, D(50)), Link(other, False, D(10))]
    )
    assert value(version, "core_remaining_years") == expected


# --- the same expressions in the round's stored results -------------------------------------------


def evaluate(versions: list[ProductVersion], benchmarks: dict[str, Decimal] | None = None) -> Round:
    """A round over `versions` (their class and year) evaluated by the engine itself."""
    method = default_method()
    first = versions[0]
    if not BenchmarkSet.objects.filter(product_class=first.product_class, data_year=first.data_year).exists():
        fixed_set(method, first.product_class, first.data_year, benchmarks or {})
    rnd = Round.objects.create(
        name="公式测试批次", data_year=first.data_year, method=method, deadline=timezone.localdate()
    )
    engine.evaluate_round(rnd)
    return rnd


def stored(rnd: Round, version: ProductVersion) -> dict[str, Decimal | None]:
    return {
        r.indicator.formula: r.value
        for r in IndicatorResult.objects.filter(candidate__round=rnd, candidate__version=version).select_related(
            "indicator"
        )
    }


def test_values_for_equals_what_the_round_stores(example: ProductVersion) -> None:
    rnd = evaluate([example])
    indicators = list(rnd.method.indicators.all())
    computed = engine.values_for(ProductVersion.objects.filter(pk=example.pk), indicators)[example.pk]
    assert stored(rnd, example) == {ind.formula: computed[ind.pk] for ind in indicators} == EXPECTED


# --- random product-years against an independent computation --------------------------------------

KINDS = [PatentKind.INVENTION, PatentKind.UTILITY_MODEL, PatentKind.DESIGN]
TERMS = {PatentKind.INVENTION: 20, PatentKind.UTILITY_MODEL: 10}
link_strategy = st.tuples(
    st.sampled_from(KINDS),
    st.sampled_from([LegalStatus.VALID, LegalStatus.LAPSED, LegalStatus.EXPIRED]),
    st.booleans(),  # core
    st.integers(min_value=0, max_value=25),  # contribution %
    st.one_of(st.none(), st.dates(min_value=dt.date(2004, 1, 1), max_value=dt.date(2024, 12, 31))),
    st.integers(min_value=2004, max_value=2024),  # year in the number (used when no date)
)
version_strategy = st.tuples(
    st.lists(link_strategy, max_size=4),
    st.integers(min_value=0, max_value=900),  # sales
    st.one_of(st.none(), st.integers(min_value=0, max_value=900)),  # approved previous year's sales
)


def term(kind: str, applied: dt.date | None, year: int) -> int:
    if kind != PatentKind.DESIGN:
        return TERMS[kind]
    if applied is not None:
        return 15 if applied >= dt.date(2021, 6, 1) else 10
    return 15 if year >= 2022 else 10  # only the year known: 15 years only when surely from 2021-06-01


def oracle(links: list[tuple], sales: int, previous: int | None) -> dict[str, Decimal | None]:
    """Each formula computed exactly in Python (not rounded)."""
    core = [(kind, applied, year) for kind, _status, is_core, _c, applied, year in links if is_core]
    total = sum((D(c) for *_x, c, _a, _y in links), D(0))
    n = len(links)
    remaining = [(applied.year if applied else year) + term(kind, applied, year) - YEAR for kind, applied, year in core]
    return {
        "valid_invention_patents": D(sum(1 for k, s, *_r in links if k == PatentKind.INVENTION and s == "valid")),
        "core_patents": D(sum(1 for _k, s, is_core, *_r in links if is_core and s == "valid")),
        "core_remaining_years": D(sum(remaining)) / D(len(remaining)) if remaining else None,
        "total_contribution": total,
        "patent_sales": D(sales) * total / 100,
        "invention_share": D(sum(1 for k, *_r in links if k == PatentKind.INVENTION)) * 100 / n if n else None,
        "patents_per_100m": D(n) * 10000 / D(sales) if sales else None,
        "sales": D(sales),
        "exports": D(0),
        "growth": (D(sales) - previous) * 100 / D(previous) if previous else None,
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.lists(version_strategy, min_size=1, max_size=4))
def test_random_product_years_match_an_independent_computation(
    unit: FilingUnit, cls: ProductClass, data: list[tuple[list[tuple], int, int | None]]
) -> None:
    with transaction.atomic():
        versions = []
        for links, sales, previous in data:
            rows = []
            for kind, status, core, contribution, applied, year in links:
                number = number_12(year, kind) if applied is None else None
                right = make_right(unit, kind, number=number, applied=applied, status=status)
                rows.append(Link(right, core, D(contribution)))
            product = None
            if previous is not None:
                product = make_version(unit, cls, year=YEAR - 1, sales=D(previous)).product
            versions.append(make_version(unit, cls, year=YEAR, sales=D(sales), links=rows, product=product))
        rnd = evaluate(versions)
        indicators = list(rnd.method.indicators.all())
        computed = engine.values_for(ProductVersion.objects.filter(pk__in=[v.pk for v in versions]), indicators)
        for version, (links, sales, previous) in zip(versions, data, strict=True):
            expected = oracle(links, sales, previous)
            got = {ind.formula: computed[version.pk][ind.pk] for ind in indicators}
            assert stored(rnd, version) == got
            for key, exact in expected.items():
                if exact is None:
                    assert got[key] is None, key
                else:
                    assert got[key] is not None, key
                    assert got[key] == got[key].quantize(D("0.0001")), key
                    assert abs(got[key] - exact) <= D("0.00005"), (key, got[key], exact)
        transaction.set_rollback(True)
