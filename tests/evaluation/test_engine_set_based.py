"""The set-based patent evaluation against the rule applied per candidate in Python, on a varied dataset.

The engine counts what passed per trait in one GROUP BY over a scratch table and applies the rule in
the INSERT of the candidates; a round evaluated again is updated in place (candidates keep their ids).
Here every stored figure is compared with an independent computation: each product-year's values
through `engine.values_for` (the self-assessment's path), `engine.meets` per indicator and
`engine.apply_rule` per candidate. A re-evaluation after the data changed must store exactly what a
from-scratch evaluation stores.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from evaluation import engine, formulas
from evaluation.choices import BenchmarkStatus, CandidateStatus, Direction, Trait
from evaluation.models import Benchmark, BenchmarkSet, Candidate, IndicatorResult, MethodVersion, Round
from filings.choices import LegalStatus, PatentKind
from filings.models import FilingUnit, ProductClass, ProductVersion
from tests.evaluation.test_engine import candidate_rows, make_round, result_rows
from tests.evaluation.test_formulas import Link, make_right, make_unit, make_version

# embedded (CI runs it on SQLite too): the engine's set-based SQL differs on SQLite
pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

D = Decimal
YEAR = 2024
# uneven traits: several indicators in some, one in another (the per-trait counts must not mix them up)
TRAITS = [Trait.PROTECTION] * 5 + [Trait.VALUE] * 4 + [Trait.DEPENDENCE] * 3 + [Trait.BENEFIT] * 2
KINDS = [PatentKind.INVENTION, PatentKind.UTILITY_MODEL, PatentKind.DESIGN]


def varied_method() -> MethodVersion:
    """14 indicators: every formula at least once, both directions, traits of unequal size."""
    method = MethodVersion.objects.create(
        code="T-VARIED", name="多样测试方法", statement="测试", min_passed_per_trait=1, min_passed_total=6
    )
    keys = list(formulas.FORMULAS)
    for i, trait in enumerate(TRAITS):
        method.indicators.create(
            code=f"X{i:02d}",
            name=f"指标 {i}",
            trait=trait,
            formula=keys[i % len(keys)],
            direction=Direction.LOWER if i % 3 == 2 else Direction.HIGHER,
            order=i,
        )
    return method


def varied_set(method: MethodVersion, cls: ProductClass, rng: random.Random, number: int = 1) -> BenchmarkSet:
    """A fixed set; some indicators have no benchmark row, some a NULL value (neither can be met)."""
    bset = BenchmarkSet.objects.create(
        method=method, product_class=cls, data_year=YEAR, number=number, status=BenchmarkStatus.FIXED
    )
    for ind in method.indicators.all():
        roll = rng.random()
        if roll < 0.08:
            continue
        value = None if roll < 0.15 else D(rng.choice([0, 1, 2, 5, 20, 50, 100, 300, 1000])) + D(rng.randint(0, 9)) / 10
        Benchmark.objects.create(set=bset, indicator=ind, value=value)
    return bset


def varied_versions(unit: FilingUnit, classes: list[ProductClass], rng: random.Random, count: int) -> None:
    for _ in range(count):
        links = [
            Link(
                make_right(
                    unit,
                    rng.choice(KINDS),
                    applied=rng.choice([None, dt.date(2010, 3, 1), dt.date(2019, 5, 5), dt.date(2021, 7, 1)]),
                    status=rng.choice([LegalStatus.VALID, LegalStatus.VALID, LegalStatus.LAPSED, LegalStatus.PENDING]),
                ),
                rng.random() < 0.4,
                D(rng.randint(0, 60)),
            )
            for _ in range(rng.randint(0, 4))
        ]
        cls = rng.choice(classes)
        previous = None
        if rng.random() < 0.5:  # half have an approved previous year (growth can be computed)
            previous = make_version(unit, cls, year=YEAR - 1, sales=D(rng.choice([0, 100, 800]))).product
        make_version(unit, cls, year=YEAR, sales=D(rng.choice([0, 50, 500, 1500, 4000])), links=links, product=previous)


def expected(rnd: Round) -> tuple[dict[int, tuple], dict[tuple[int, int], tuple]]:
    """Per eligible version: (counts per trait, total, passed, status, set); per (version, indicator):
    (value, benchmark, passed) — computed object by object, without the engine's SQL."""
    method = rnd.method
    indicators = list(method.indicators.all())
    versions = list(engine.eligible_versions(rnd))
    values = engine.values_for(ProductVersion.objects.filter(pk__in=[v.pk for v in versions]), indicators)
    candidates: dict[int, tuple] = {}
    results: dict[tuple[int, int], tuple] = {}
    for version in versions:
        bset = engine.current_set(method, version.product_class_id, version.data_year)
        if bset is None or bset.data_year != rnd.data_year:
            continue
        bench = {b.indicator_id: b.value for b in bset.values.all()}
        per_trait: dict[str, int] = {}
        for ind in indicators:
            ok = engine.meets(values[version.pk][ind.pk], bench.get(ind.pk), ind.direction)
            results[(version.pk, ind.pk)] = (values[version.pk][ind.pk], bench.get(ind.pk), ok)
            per_trait[ind.trait] = per_trait.get(ind.trait, 0) + int(ok)
        outcome = engine.apply_rule(method, per_trait)
        status = CandidateStatus.PATENT_PASSED if outcome.passed else CandidateStatus.PATENT_FAILED
        candidates[version.pk] = (
            tuple(outcome.per_trait[t] for t in Trait.values),
            outcome.total,
            outcome.passed,
            status,
            bset.pk,
        )
    return candidates, results


def stored(rnd: Round) -> tuple[dict[int, tuple], dict[tuple[int, int], tuple]]:
    candidates = {
        c.version_id: (
            tuple(c.passed_in(t) for t in Trait.values),
            c.passed_total,
            c.patent_passed,
            c.status,
            c.benchmark_set_id,
        )
        for c in Candidate.objects.filter(round=rnd)
    }
    results = {
        (version, indicator): (value, benchmark, passed)
        for version, indicator, value, benchmark, passed in IndicatorResult.objects.filter(
            candidate__round=rnd
        ).values_list("candidate__version_id", "indicator_id", "value", "benchmark", "passed")
    }
    return candidates, results


@pytest.fixture
def varied(reference: None) -> Round:
    rng = random.Random(20241201)
    unit = make_unit()
    classes = list(ProductClass.objects.order_by("code")[:3])
    method = varied_method()
    for cls in classes[:2]:  # the third class has no set: its product-years are not candidates
        varied_set(method, cls, rng)
    varied_versions(unit, classes, rng, 45)
    return make_round(method)


def test_counts_per_trait_and_rule_match_the_per_candidate_computation(varied: Round) -> None:
    counts = engine.evaluate_round(varied)

    want_candidates, want_results = expected(varied)
    got_candidates, got_results = stored(varied)
    assert got_candidates == want_candidates
    assert got_results == want_results
    passed = sum(1 for c in want_candidates.values() if c[2])
    assert counts == {"candidates": len(want_candidates), "passed": passed, "failed": len(want_candidates) - passed}
    # the dataset is varied enough to mean something: both outcomes, several counts in every trait,
    # and candidates that fail on one trait alone
    assert 0 < passed < len(want_candidates) > 20
    for i in range(len(Trait.values)):
        assert len({c[0][i] for c in want_candidates.values()}) >= 2
    assert any(not c[2] and c[1] >= 6 and 0 in c[0] for c in want_candidates.values())


def test_evaluating_again_after_changes_equals_a_fresh_evaluation(varied: Round) -> None:
    engine.evaluate_round(varied)
    before = dict(Candidate.objects.filter(round=varied).values_list("version_id", "pk"))
    rng = random.Random(7)
    # what changed since: a product-year opted out, a new one, a newer fixed set of one class, and
    # a candidate carrying what later stages write
    gone = ProductVersion.objects.filter(pk__in=before).order_by("pk").first()
    ProductVersion.objects.filter(pk=gone.pk).update(certification_opt_in=False)
    unit = FilingUnit.objects.get()
    varied_versions(unit, list(ProductClass.objects.order_by("code")[:2]), rng, 3)
    newer = varied_set(varied.method, ProductClass.objects.order_by("code").first(), rng, number=2)
    kept = Candidate.objects.filter(round=varied).exclude(version=gone).order_by("pk").first()
    Candidate.objects.filter(pk=kept.pk).update(
        expert_score=D(81), certificate_number="TEST-0001", certified_at=timezone.now()
    )

    engine.evaluate_round(varied)

    again = stored(varied)
    assert again == expected(varied)
    after = dict(Candidate.objects.filter(round=varied).values_list("version_id", "pk"))
    assert gone.pk not in after
    assert {v: after[v] for v in before if v != gone.pk} == {v: p for v, p in before.items() if v != gone.pk}
    assert len(after) == len(before) - 1 + 3  # the three new product-years (classes with a set)
    assert Candidate.objects.filter(round=varied, benchmark_set=newer).exists()
    assert Candidate.objects.filter(
        round=varied, expert_score__isnull=True, certificate_number__isnull=True, certified_at__isnull=True
    ).count() == len(after)
    rows = (candidate_rows(varied), result_rows(varied))

    Candidate.objects.filter(round=varied).delete()
    engine.evaluate_round(varied)

    assert (candidate_rows(varied), result_rows(varied)) == rows
    assert stored(varied) == again


def test_foreign_keys_are_deferred_again_afterwards(varied: Round) -> None:
    """On PostgreSQL the engine checks its rows' FKs at each statement; the caller's transaction gets
    Django's INITIALLY DEFERRED back (a row may reference one written later in the transaction)."""
    with transaction.atomic():
        engine.evaluate_round(varied)
        candidate = Candidate.objects.filter(round=varied).first()
        missing = Candidate.objects.order_by("-pk").first().pk + 1000
        with connection.cursor() as cursor:
            table = connection.ops.quote_name(IndicatorResult._meta.db_table)
            cursor.execute(
                f"UPDATE {table} SET candidate_id = %s WHERE candidate_id = %s",  # noqa: S608 (model table)
                [missing, candidate.pk],
            )  # dangling until the next statement puts it back
            cursor.execute(
                f"UPDATE {table} SET candidate_id = %s WHERE candidate_id = %s",  # noqa: S608 (model table)
                [candidate.pk, missing],
            )
    assert candidate.results.count() == varied.method.indicators.count()
