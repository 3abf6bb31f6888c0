"""What-if across methods: re-score product-years of finished evaluations under another method version.

`compare(candidates, method)` computes, for the candidates given (a round's, or any set of product-years
that went through a patent evaluation), what the method version would have decided, and compares it with
the verdict stored on each candidate under its round's method. Nothing is written: the values are the
formulas' expressions run on the filing data (`engine.values_for`, the very expressions of the round's
evaluation), the benchmarks are read, the rule is applied in Python (`engine.apply_rule`).

- Benchmarks: under the round's own method, the benchmark set the candidate was evaluated against (what
  the round stored); under another version, that version's newest fixed set of the candidate's class and
  data year, else its newest draft (a what-if may try values not yet fixed; the report says which set it
  used). A candidate whose class has no set of that version cannot be re-scored and is listed as such.
- Industry evaluation: a candidate whose experts' scores were combined (it reached publicity) is judged
  again by combining the same scores under the other version's score rule against its pass score. A
  candidate that passes the patent evaluation only under the other version was never scored by experts:
  its verdict is "passes the patent evaluation, not evaluated by experts".
- A verdict changes when the patent verdict or the industry verdict differs; the report says why: every
  indicator (matched by code) whose pass differs, the rule's thresholds, the expert pass score.

Re-scoring a round under its own method reproduces its stored outcomes, as long as the filing data it was
computed from has not changed since (a legal status imported later changes, e.g., valid patents): the
report shows such a difference as a change with the indicator that moved.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from evaluation import engine, methods
from evaluation.choices import BenchmarkStatus, Trait, WhatIfStatus
from evaluation.industry import combine
from evaluation.models import (
    Assignment,
    BenchmarkSet,
    Candidate,
    Indicator,
    IndicatorResult,
    MethodVersion,
    Round,
    WhatIfRun,
)
from filings.models import ProductVersion
from patent_platform.choices import RegionLevel, Role
from patent_platform.models import Region, User
from patent_platform.roles import require_role

CHUNK = 2000
# up to this many product-years the page computes at once (under a second: 1.2 s per 600 measured on
# the factory round of tests/evaluation/test_whatif.py); more run as a background job with progress
SYNC_LIMIT = 300
NATIONAL_ONLY = _("只有国家局管理员可以进行方法对比测算。")

# (value, benchmark, met) of one indicator of one product-year
Outcome = tuple[Decimal | None, Decimal | None, bool]


class Verdict:
    """The verdict labels of the comparison (the deepest stage a method's rule decides)."""

    PATENT_FAILED = "patent_failed"
    PATENT_PASSED = "patent_passed"  # not (yet) evaluated by experts
    INDUSTRY_FAILED = "industry_failed"
    INDUSTRY_PASSED = "industry_passed"
    UNSCORED = "unscored"

    LABELS: dict[str, Any] = {  # noqa: RUF012 (labels, read only)
        PATENT_FAILED: _("未通过专利性评价"),
        PATENT_PASSED: _("通过专利性评价（未经产业性评价）"),
        INDUSTRY_FAILED: _("通过专利性评价，未通过产业性评价"),
        INDUSTRY_PASSED: _("通过专利性评价和产业性评价"),
        UNSCORED: _("无法测算（缺少基准值）"),
    }
    PASSING = frozenset({PATENT_PASSED, INDUSTRY_PASSED})


def verdict_of(patent_passed: bool, industry_passed: bool | None) -> str:
    if not patent_passed:
        return Verdict.PATENT_FAILED
    if industry_passed is None:
        return Verdict.PATENT_PASSED
    return Verdict.INDUSTRY_PASSED if industry_passed else Verdict.INDUSTRY_FAILED


@dataclass
class Rescored:
    """One product-year under the other method version."""

    candidate: Candidate
    benchmark_set: BenchmarkSet | None
    results: dict[str, Outcome] = field(default_factory=dict)  # by indicator code
    per_trait: dict[str, int] = field(default_factory=dict)
    total: int = 0
    patent_passed: bool = False
    expert_score: Decimal | None = None
    industry_passed: bool | None = None

    @property
    def verdict(self) -> str:
        if self.benchmark_set is None:
            return Verdict.UNSCORED
        return verdict_of(self.patent_passed, self.industry_passed)


@dataclass(frozen=True)
class IndicatorChange:
    code: str
    name: str
    before: Outcome | None  # None: the round's method has no indicator of that code
    after: Outcome | None  # None: the other method has none

    @property
    def text(self) -> str:
        def side(outcome: Outcome | None) -> str:
            if outcome is None:
                return str(_("（无此指标）"))
            value, bench, met = outcome
            state = _("达标") if met else _("未达标")
            return f"{_fmt(value)} / {_fmt(bench)} {state}"

        return f"{self.code} {self.name}：{side(self.before)} → {side(self.after)}"


@dataclass(frozen=True)
class Change:
    candidate: Candidate
    before: str
    after: str
    indicators: tuple[IndicatorChange, ...]
    notes: tuple[str, ...]

    @property
    def before_label(self) -> str:
        return str(Verdict.LABELS[self.before])

    @property
    def after_label(self) -> str:
        return str(Verdict.LABELS[self.after])

    @property
    def reasons(self) -> list[str]:
        return [*(i.text for i in self.indicators), *self.notes]


@dataclass
class Totals:
    key: str
    label: str
    candidates: int = 0
    passing_before: int = 0
    passing_after: int = 0
    gained: int = 0  # passes only under the other method
    lost: int = 0  # passes only under the round's
    changed: int = 0
    unscored: int = 0


@dataclass
class Report:
    method: MethodVersion
    candidates: int
    changes: list[Change]
    unscored: list[Candidate]
    by_class: list[Totals]
    by_province: list[Totals]
    total: Totals
    sets: list[BenchmarkSet]  # the benchmark sets the other method was applied with
    rescored: dict[int, Rescored]  # by candidate id (the tests compare it with the stored rows)
    source_methods: list[MethodVersion]


def _fmt(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return format(value.normalize(), "f")


def stored_verdict(candidate: Candidate) -> str:
    """The verdict the round stored, under the round's method."""
    method = candidate.round.method
    industry = None
    if candidate.patent_passed and candidate.expert_score is not None and method.expert_pass_score is not None:
        industry = candidate.expert_score >= method.expert_pass_score
    return verdict_of(candidate.patent_passed, industry)


def _benchmarks_for(method: MethodVersion, candidates: Sequence[Candidate]) -> dict[int, BenchmarkSet | None]:
    """{candidate id: the benchmark set the method is applied with} (see the module's note)."""
    chosen: dict[int, BenchmarkSet | None] = {}
    wanted: set[tuple[int, int]] = set()
    for c in candidates:
        if c.round.method_id != method.pk:
            wanted.add((c.product_class_id, c.round.data_year))
    newest: dict[tuple[int, int], BenchmarkSet] = {}
    if wanted:
        sets = BenchmarkSet.objects.filter(
            method=method,
            product_class_id__in={cls for cls, _y in wanted},
            data_year__in={y for _c, y in wanted},
        ).select_related("product_class")
        # fixed before draft, then the highest number
        for bset in sorted(sets, key=lambda s: (s.status == BenchmarkStatus.FIXED, s.number)):
            newest[(bset.product_class_id, bset.data_year)] = bset
    own_ids = {c.benchmark_set_id for c in candidates if c.round.method_id == method.pk}
    own = {s.pk: s for s in BenchmarkSet.objects.filter(pk__in=own_ids).select_related("product_class")}
    for c in candidates:
        if c.round.method_id == method.pk:
            chosen[c.pk] = own.get(c.benchmark_set_id)
        else:
            chosen[c.pk] = newest.get((c.product_class_id, c.round.data_year))
    return chosen


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def rescore(
    candidates: Sequence[Candidate], method: MethodVersion, progress: Callable[[int], None] | None = None
) -> dict[int, Rescored]:
    """Every candidate under `method` (nothing written). The method must be complete."""
    methods.ensure_complete(method)
    indicators: list[Indicator] = list(method.indicators.all())
    sets = _benchmarks_for(method, candidates)
    benchmark_values: dict[int, dict[int, Decimal | None]] = {}
    for used in {s for s in sets.values() if s is not None}:
        benchmark_values[used.pk] = dict(used.values.values_list("indicator_id", "value"))
    scored = [c.pk for c in candidates if c.expert_score is not None]
    totals: dict[int, list[Decimal]] = {}
    for chunk in _chunks(scored, CHUNK):
        for cid, total in Assignment.objects.filter(candidate_id__in=chunk, total__isnull=False).values_list(
            "candidate_id", "total"
        ):
            totals.setdefault(cid, []).append(cast(Decimal, total))  # total__isnull=False
    out: dict[int, Rescored] = {}
    for chunk in _chunks(list(candidates), CHUNK):
        values = engine.values_for(ProductVersion.objects.filter(pk__in=[c.version_id for c in chunk]), indicators)
        for c in chunk:
            bset = sets.get(c.pk)
            row = Rescored(candidate=c, benchmark_set=bset)
            out[c.pk] = row
            if bset is None:
                continue
            bench = benchmark_values[bset.pk]
            per_trait = dict.fromkeys(Trait.values, 0)
            for ind in indicators:
                value = values.get(c.version_id, {}).get(ind.pk)
                ok = engine.meets(value, bench.get(ind.pk), ind.direction)
                row.results[ind.code] = (value, bench.get(ind.pk), ok)
                per_trait[ind.trait] += int(ok)
            outcome = engine.apply_rule(method, per_trait)
            row.per_trait, row.total, row.patent_passed = outcome.per_trait, outcome.total, outcome.passed
            if outcome.passed and totals.get(c.pk):
                row.expert_score = combine(totals[c.pk], method.score_rule)
                row.industry_passed = row.expert_score >= cast(Decimal, method.expert_pass_score)  # methods.gaps
        if progress is not None:
            progress(len(out))
    return out


def _stored_results(candidate_ids: Sequence[int]) -> dict[int, dict[str, tuple[str, Outcome]]]:
    """{candidate id: {indicator code: (name, (value, benchmark, met))}} as the round stored them."""
    stored: dict[int, dict[str, tuple[str, Outcome]]] = {}
    for chunk in _chunks(list(candidate_ids), CHUNK):
        rows = IndicatorResult.objects.filter(candidate_id__in=chunk).values_list(
            "candidate_id", "indicator__code", "indicator__name", "value", "benchmark", "passed"
        )
        for cid, code, name, value, bench, ok in rows:
            stored.setdefault(cid, {})[code] = (name, (value, bench, ok))
    return stored


def _why(
    c: Candidate, row: Rescored, before: dict[str, tuple[str, Outcome]], method: MethodVersion, names: dict[str, str]
) -> Change:
    changed: list[IndicatorChange] = []
    for code in sorted(set(before) | set(row.results)):
        old = before.get(code)
        new = row.results.get(code)
        old_met = old[1][2] if old else None
        new_met = new[2] if new else None
        if old_met != new_met:
            changed.append(
                IndicatorChange(
                    code=code, name=old[0] if old else names.get(code, ""), before=old and old[1], after=new
                )
            )
    notes: list[str] = []
    own = c.round.method
    if (own.min_passed_per_trait, own.min_passed_total) != (method.min_passed_per_trait, method.min_passed_total):
        notes.append(
            str(
                _("达标规则：每个特征至少 %(k1)s 项、合计至少 %(n1)s 项 → 每个特征至少 %(k2)s 项、合计至少 %(n2)s 项")
                % {
                    "k1": own.min_passed_per_trait,
                    "n1": own.min_passed_total,
                    "k2": method.min_passed_per_trait,
                    "n2": method.min_passed_total,
                }
            )
        )
    notes.append(str(_("达标指标数：%(before)s → %(after)s") % {"before": c.passed_total, "after": row.total}))
    if c.expert_score is not None and (row.expert_score is not None or row.patent_passed):
        notes.append(
            str(
                _("产业性评价得分 %(s1)s（通过分数 %(p1)s）→ %(s2)s（通过分数 %(p2)s）")
                % {
                    "s1": c.expert_score,
                    "p1": own.expert_pass_score,
                    "s2": row.expert_score if row.expert_score is not None else "—",
                    "p2": method.expert_pass_score,
                }
            )
        )
    before_verdict, after_verdict = stored_verdict(c), row.verdict
    return Change(
        candidate=c, before=before_verdict, after=after_verdict, indicators=tuple(changed), notes=tuple(notes)
    )


def compare(
    candidates: QuerySet[Candidate],
    method: MethodVersion,
    province_names: dict[str, str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """The comparison report of `candidates` (their stored verdicts) with `method` (nothing written)."""
    rows = list(
        candidates.select_related("round__method", "version", "product", "unit", "product_class").order_by(
            "product_class__code", "province_code", "pk"
        )
    )
    indicator_names = {ind.code: ind.name for ind in method.indicators.all()}
    rescored = rescore(rows, method, progress)
    stored = _stored_results([c.pk for c in rows])
    changes: list[Change] = []
    unscored: list[Candidate] = []
    by_class: dict[int, Totals] = {}
    by_province: dict[str, Totals] = {}
    total = Totals(key="", label=str(_("合计")))
    names = province_names or {}
    for c in rows:
        row = rescored[c.pk]
        before, after = stored_verdict(c), row.verdict
        class_totals = by_class.setdefault(
            c.product_class_id, Totals(key=c.product_class.code, label=str(c.product_class))
        )
        province_totals = by_province.setdefault(
            c.province_code, Totals(key=c.province_code, label=names.get(c.province_code, c.province_code))
        )
        for t in (class_totals, province_totals, total):
            t.candidates += 1
            t.passing_before += before in Verdict.PASSING
            if after == Verdict.UNSCORED:
                t.unscored += 1
                continue
            t.passing_after += after in Verdict.PASSING
            t.changed += before != after
            t.gained += before not in Verdict.PASSING and after in Verdict.PASSING
            t.lost += before in Verdict.PASSING and after not in Verdict.PASSING
        if after == Verdict.UNSCORED:
            unscored.append(c)
        elif before != after:
            changes.append(_why(c, row, stored.get(c.pk, {}), method, indicator_names))
    sets = sorted(
        {r.benchmark_set for r in rescored.values() if r.benchmark_set is not None},
        key=lambda s: (s.product_class.code, s.data_year, s.number),
    )
    source_methods = sorted({c.round.method for c in rows}, key=lambda m: m.pk)
    return Report(
        method=method,
        candidates=len(rows),
        changes=changes,
        unscored=unscored,
        by_class=sorted(by_class.values(), key=lambda t: t.key),
        by_province=sorted(by_province.values(), key=lambda t: t.key),
        total=total,
        sets=sets,
        rescored=rescored,
        source_methods=source_methods,
    )


# --- the report as plain data (the page, the Excel report and a background run's stored result) ----------


def _totals_data(t: Totals) -> dict[str, Any]:
    return {
        "key": t.key,
        "label": t.label,
        "candidates": t.candidates,
        "passing_before": t.passing_before,
        "passing_after": t.passing_after,
        "gained": t.gained,
        "lost": t.lost,
        "changed": t.changed,
        "unscored": t.unscored,
    }


def to_data(report: Report, province_names: dict[str, str] | None = None) -> dict[str, Any]:
    names = province_names or {}
    return {
        "method": {"id": report.method.pk, "code": report.method.code, "rule": report.method.rule_label},
        "source_methods": [m.rule_label for m in report.source_methods],
        "candidates": report.candidates,
        "changes": [
            {
                "candidate": ch.candidate.pk,
                "product": ch.candidate.version.name,
                "filing_number": ch.candidate.product.filing_number or "",
                "unit": ch.candidate.unit.name,
                "province": names.get(ch.candidate.province_code, ch.candidate.province_code),
                "product_class": str(ch.candidate.product_class),
                "round": ch.candidate.round.name,
                "source_rule": ch.candidate.round.method.rule_label,
                "before": ch.before_label,
                "after": ch.after_label,
                "reasons": ch.reasons,
            }
            for ch in report.changes
        ],
        "unscored": [
            {"candidate": c.pk, "product": c.version.name, "product_class": str(c.product_class)}
            for c in report.unscored
        ],
        "by_class": [_totals_data(t) for t in report.by_class],
        "by_province": [_totals_data(t) for t in report.by_province],
        "total": _totals_data(report.total),
        "sets": [f"{s} · {s.get_status_display()}" for s in report.sets],
    }


def province_names() -> dict[str, str]:
    return dict(Region.objects.filter(level=RegionLevel.PROVINCE).names())


def scope(*, round_id: int | None, data_year: int | None, product_class_id: int | None) -> QuerySet[Candidate]:
    """The product-years of a what-if: a round's candidates, or a data year's (every round whose patent
    evaluation ran), narrowed to a class."""
    qs = Candidate.objects.filter(round__evaluated_at__isnull=False)
    if round_id:
        qs = qs.filter(round_id=round_id)
    if data_year:
        qs = qs.filter(round__data_year=data_year)
    if product_class_id:
        qs = qs.filter(product_class_id=product_class_id)
    return qs


@transaction.atomic
def whatif_run_start(
    *, user: User, method: MethodVersion, rnd: Round | None, data_year: int | None, product_class: Any
) -> WhatIfRun:
    """Queue a background run (after the commit); the method must be complete."""
    require_role(user, Role.NATIONAL_ADMIN, message=NATIONAL_ONLY)
    methods.ensure_complete(method)
    run = WhatIfRun.objects.create(
        method=method,
        round=rnd,
        data_year=data_year,
        product_class=product_class,
        created_by=user,
        total=scope(
            round_id=rnd.pk if rnd else None,
            data_year=data_year,
            product_class_id=product_class.pk if product_class else None,
        ).count(),
    )
    from evaluation.tasks import run_whatif

    transaction.on_commit(lambda: run_whatif.delay(run.pk))
    return run


def run(run_id: int, province_names: dict[str, str] | None = None) -> str:
    """The task's body: compute the report, recording progress per chunk; the run's row is the only write."""
    claimed = WhatIfRun.objects.filter(pk=run_id, status=WhatIfStatus.QUEUED).update(status=WhatIfStatus.RUNNING)
    if not claimed:
        return "not queued"
    job = WhatIfRun.objects.select_related("method").get(pk=run_id)
    candidates = scope(round_id=job.round_id, data_year=job.data_year, product_class_id=job.product_class_id)

    def progress(done: int) -> None:
        WhatIfRun.objects.filter(pk=run_id).update(done=done)

    try:
        report = compare(candidates, job.method, province_names, progress)
    except Exception as exc:  # the run says it failed (a method made incomplete meanwhile, a bug): never stuck
        WhatIfRun.objects.filter(pk=run_id).update(
            status=WhatIfStatus.ERROR,
            message=" ".join(getattr(exc, "messages", [str(exc)])),
            finished_at=timezone.now(),
        )
        raise
    WhatIfRun.objects.filter(pk=run_id).update(
        status=WhatIfStatus.DONE,
        report=to_data(report, province_names),
        total=report.candidates,
        done=report.candidates,
        finished_at=timezone.now(),
    )
    return "done"
