"""What-if across methods (issue 18, part 2): re-scoring without touching the round.

- Under its own method a round's every stored outcome is reproduced: each indicator's value, benchmark and
  pass, the counts per trait, the patent verdict and, for the demo's finished rounds, the industry verdict.
- Between two method versions that differ in one threshold the report lists exactly the verdicts that
  change, each with the indicator (or the rule) that changed it; an expected set computed independently
  from the stored results.
- Nothing is written to the round, its candidates, results or assignments (the tables compared row by row).
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from evaluation import engine, methods, whatif
from evaluation.choices import BenchmarkStatus, Stage, Trait, WhatIfStatus
from evaluation.models import (
    Assignment,
    Benchmark,
    BenchmarkSet,
    Candidate,
    IndicatorResult,
    MethodVersion,
    Round,
    WhatIfRun,
)
from filings.models import ProductClass
from patent_platform.choices import Role
from patent_platform.models import User
from tests.evaluation.test_engine import make_round
from tests.evaluation.test_engine_set_based import varied_method, varied_set, varied_versions
from tests.evaluation.test_formulas import make_unit
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db]

D = Decimal


def snapshot() -> dict[str, list[tuple]]:
    """Every row of the round's tables, every column."""
    tables = {}
    for model in (Round, Candidate, IndicatorResult, Assignment):
        fields = [f.attname for f in model._meta.concrete_fields]
        tables[model._meta.label] = sorted(model.objects.values_list(*fields), key=repr)
    return tables


@pytest.fixture
def national(make_user: Callable[..., User]) -> User:
    return make_user("whatif-national@example.cn", Role.NATIONAL_ADMIN)


def factory_round(count: int) -> Round:
    """A factory-built, evaluated round: `count` product-years of three classes, 14 indicators, every formula."""
    rng = random.Random(18)
    unit = make_unit()
    classes = list(ProductClass.objects.order_by("code")[:3])
    method = varied_method()
    for cls in classes:
        varied_set(method, cls, rng)
    varied_versions(unit, classes, rng, count)
    rnd = make_round(method)
    engine.evaluate_round(rnd)
    return rnd


@pytest.fixture
def big_round(reference: None) -> Round:
    return factory_round(240)


@pytest.fixture
def small_round(reference: None) -> Round:
    return factory_round(90)


def stored_results(rnd: Round) -> dict[tuple[int, str], tuple]:
    return {
        (cid, code): (value, bench, ok)
        for cid, code, value, bench, ok in IndicatorResult.objects.filter(candidate__round=rnd).values_list(
            "candidate_id", "indicator__code", "value", "benchmark", "passed"
        )
    }


@pytest.mark.embedded
def test_rescoring_a_round_under_its_own_method_reproduces_every_stored_outcome(big_round: Round) -> None:
    before = snapshot()
    report = whatif.compare(Candidate.objects.filter(round=big_round), big_round.method)

    candidates = list(Candidate.objects.filter(round=big_round))
    assert len(candidates) == report.candidates == 240
    assert 0 < sum(c.patent_passed for c in candidates) < 240  # both verdicts occur
    results = stored_results(big_round)
    reproduced = 0
    for c in candidates:
        row = report.rescored[c.pk]
        assert row.benchmark_set is not None and row.benchmark_set.pk == c.benchmark_set_id
        assert {(c.pk, code): outcome for code, outcome in row.results.items()} == {
            key: v for key, v in results.items() if key[0] == c.pk
        }
        assert tuple(row.per_trait[t] for t in Trait.values) == tuple(c.passed_in(t) for t in Trait.values)
        assert (row.total, row.patent_passed) == (c.passed_total, c.patent_passed)
        reproduced += 1
    assert reproduced == 240
    assert report.changes == [] and report.unscored == []
    assert report.total.passing_before == report.total.passing_after == sum(c.patent_passed for c in candidates)
    assert snapshot() == before


def test_rescoring_the_demo_rounds_reproduces_their_verdicts_with_the_expert_scores(
    second_round: Callable[..., Round],
) -> None:
    second = second_round(Stage.FINAL)
    demo_rounds = Round.objects.filter(stage=Stage.FINAL)
    assert demo_rounds.count() == 2
    for rnd in demo_rounds:
        report = whatif.compare(Candidate.objects.filter(round=rnd), rnd.method)
        assert report.candidates == rnd.candidates.count() > 0
        assert report.changes == []
        for c in rnd.candidates.all():
            row = report.rescored[c.pk]
            assert row.verdict == whatif.stored_verdict(c)
            assert row.expert_score == c.expert_score
    assert any(c.expert_score is not None for c in second.candidates.all())


def copy_with_sets(rnd: Round, national: User, code: str) -> MethodVersion:
    """A copy of the round's method, with fixed benchmark sets equal to the round's."""
    copy = methods.method_copy(method=rnd.method, user=national, code=code, name="对比版本")
    new_ids = dict(copy.indicators.values_list("code", "pk"))
    for old in BenchmarkSet.objects.filter(method=rnd.method, data_year=rnd.data_year):
        new = BenchmarkSet.objects.create(
            method=copy,
            product_class_id=old.product_class_id,
            data_year=old.data_year,
            number=1,
            status=BenchmarkStatus.FIXED,
        )
        Benchmark.objects.bulk_create(
            Benchmark(set=new, indicator_id=new_ids[b.indicator.code], value=b.value)
            for b in old.values.select_related("indicator")
        )
    return copy


def expected_changes(rnd: Round, cls: ProductClass, code: str, bench: Decimal) -> set[int]:
    """Candidates whose patent verdict flips when `code`'s benchmark of `cls` is `bench`: from the stored rows."""
    method = rnd.method
    direction = method.indicators.get(code=code).direction
    flips = set()
    for c in Candidate.objects.filter(round=rnd, product_class=cls):
        per_trait = {t: c.passed_in(t) for t in Trait.values}
        r = IndicatorResult.objects.select_related("indicator").get(candidate=c, indicator__code=code)
        per_trait[r.indicator.trait] += int(engine.meets(r.value, bench, direction)) - int(r.passed)
        if engine.apply_rule(method, per_trait).passed != c.patent_passed:
            flips.add(c.pk)
    return flips


@pytest.mark.embedded
def test_one_benchmark_changed_lists_exactly_the_verdicts_it_changes(small_round: Round, national: User) -> None:
    cls = ProductClass.objects.order_by("code").first()
    # the indicator whose benchmark flips the most verdicts of the class when raised to the top
    chosen = None
    for ind in small_round.method.indicators.filter(trait=Trait.BENEFIT).order_by("code"):
        for bench in (D(0), D(10**9)):
            flips = expected_changes(small_round, cls, ind.code, bench)
            if flips and (chosen is None or len(flips) > len(chosen[2])):
                chosen = (ind.code, bench, flips)
    assert chosen is not None
    code, bench, flips = chosen
    other = copy_with_sets(small_round, national, "WHATIF-1")
    Benchmark.objects.filter(set__method=other, set__product_class=cls, indicator__code=code).update(value=bench)
    before = snapshot()

    report = whatif.compare(Candidate.objects.filter(round=small_round), other)

    assert {ch.candidate.pk for ch in report.changes} == flips
    for ch in report.changes:
        assert [i.code for i in ch.indicators] == [code]
        assert ch.before != ch.after
    assert report.total.changed == len(flips)
    by_class = {t.key: t for t in report.by_class}
    assert by_class[cls.code].changed == len(flips)
    assert sum(t.changed for t in report.by_class) == sum(t.changed for t in report.by_province) == len(flips)
    assert report.total.passing_after - report.total.passing_before == report.total.gained - report.total.lost
    assert snapshot() == before


@pytest.mark.embedded
def test_one_rule_threshold_changed_lists_the_candidates_at_the_edge(small_round: Round, national: User) -> None:
    other = copy_with_sets(small_round, national, "WHATIF-2")
    n = small_round.method.min_passed_total
    other = methods.method_update(method=other, user=national, data={"min_passed_total": n + 1})
    edge = {c.pk for c in Candidate.objects.filter(round=small_round, patent_passed=True, passed_total=n)}
    assert edge

    report = whatif.compare(Candidate.objects.filter(round=small_round), other)

    assert {ch.candidate.pk for ch in report.changes} == edge
    for ch in report.changes:
        assert ch.indicators == ()  # no indicator moved: the rule did
        assert any(f"合计至少 {n} 项" in note and f"合计至少 {n + 1} 项" in note for note in ch.notes)
        assert (ch.before, ch.after) == (whatif.Verdict.PATENT_PASSED, whatif.Verdict.PATENT_FAILED)


@pytest.mark.embedded
def test_a_class_without_a_benchmark_set_of_the_other_method_is_listed_as_not_scored(
    small_round: Round, national: User
) -> None:
    other = copy_with_sets(small_round, national, "WHATIF-3")
    cls = ProductClass.objects.order_by("code").first()
    BenchmarkSet.objects.filter(method=other, product_class=cls).delete()
    report = whatif.compare(Candidate.objects.filter(round=small_round), other)
    assert {c.pk for c in report.unscored} == set(
        Candidate.objects.filter(round=small_round, product_class=cls).values_list("pk", flat=True)
    )
    assert report.changes == []


@pytest.mark.embedded
def test_an_incomplete_method_is_refused(small_round: Round) -> None:
    skeleton = MethodVersion.objects.get(standard="GB/T 46961-2025")
    with pytest.raises(ValidationError) as refused:
        whatif.compare(Candidate.objects.filter(round=small_round), skeleton)
    assert "还没有任何指标：请依据标准原文逐项录入指标。" in refused.value.messages


# --- the page and the Excel report ---------------------------------------------------------------


def test_the_report_page_and_excel_list_the_changes_for_national_administrators_only(
    small_round: Round, national: User, make_user: Callable[..., User]
) -> None:
    import io

    from openpyxl import load_workbook

    other = copy_with_sets(small_round, national, "WHATIF-4")
    n = small_round.method.min_passed_total
    methods.method_update(method=other, user=national, data={"min_passed_total": n + 1})
    edge = Candidate.objects.filter(round=small_round, patent_passed=True, passed_total=n).select_related("version")
    before = snapshot()
    client = Client()
    client.force_login(national)
    url = reverse("certification:whatif")
    query = {"round": small_round.pk, "method": other.pk}
    page = client.get(url, query)
    assert page.status_code == 200
    text = page.content.decode()
    assert f'data-testid="changes-count">{edge.count()}<' in text
    for c in edge:
        assert f'data-testid="change-{c.pk}"' in text

    export = client.get(reverse("certification:whatif_export"), query)
    assert export.status_code == 200
    book = load_workbook(io.BytesIO(export.content))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    names = [r[0] for r in rows[1:]]
    assert sorted(names) == sorted(c.version.name for c in edge)
    assert snapshot() == before

    # an incomplete method: the page says what is missing, nothing computed
    skeleton = MethodVersion.objects.get(standard="GB/T 46961-2025")
    page = client.get(url, {"round": small_round.pk, "method": skeleton.pk})
    assert page.status_code == 400 and "还没有任何指标" in page.content.decode()

    reviewer = make_user("whatif-reviewer@example.cn", Role.REVIEWER)
    client.force_login(reviewer)
    assert client.get(url, query).status_code == 404
    assert client.get(reverse("certification:whatif_export"), query).status_code == 404


def test_a_large_comparison_runs_as_a_job_with_progress_and_the_same_report(
    small_round: Round,
    national: User,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    other = copy_with_sets(small_round, national, "WHATIF-5")
    n = small_round.method.min_passed_total
    methods.method_update(method=other, user=national, data={"min_passed_total": n + 1})
    edge = set(
        Candidate.objects.filter(round=small_round, patent_passed=True, passed_total=n).values_list("pk", flat=True)
    )
    monkeypatch.setattr(whatif, "SYNC_LIMIT", 10)  # 90 product-years: "large"
    before = snapshot()
    client = Client()
    client.force_login(national)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.get(reverse("certification:whatif"), {"round": small_round.pk, "method": other.pk})
    run = WhatIfRun.objects.get()
    assert answer.status_code == 302 and answer.url == reverse("certification:whatif_run", args=[run.pk])
    assert (run.status, run.total, run.done, run.percent) == (WhatIfStatus.DONE, 90, 90, 100)
    assert {ch["candidate"] for ch in run.report["changes"]} == edge
    page = client.get(answer.url).content.decode()
    assert f'data-testid="changes-count">{len(edge)}<' in page and 'data-testid="whatif-progress"' not in page
    export = client.get(reverse("certification:whatif_run_export", args=[run.pk]))
    assert export.status_code == 200
    sheets = load_workbook(io.BytesIO(export.content)).worksheets
    assert len(list(sheets[0].iter_rows(values_only=True))) == 1 + len(edge)
    assert [s.title for s in sheets] == ["结论变化", "按产品分类合计", "按省份合计"]
    assert snapshot() == before

    # a queued run shows its progress and polls; others than national administrators get 404
    queued = WhatIfRun.objects.create(method=other, round=small_round, total=90, done=30, created_by=national)
    page = client.get(reverse("certification:whatif_run", args=[queued.pk])).content.decode()
    assert 'data-testid="whatif-progress"' in page and "30 / 90（33%）" in page
    client.force_login(UserFactory(role=Role.REVIEWER))
    assert client.get(reverse("certification:whatif_run", args=[run.pk])).status_code == 404
