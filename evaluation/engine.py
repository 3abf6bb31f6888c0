"""The computing part of the method: indicator values, benchmark suggestion, the pass rule.

The patent evaluation of a round runs in the database, set-based: one INSERT … SELECT creates the
candidates of the round, one INSERT … SELECT per indicator writes every candidate's value, benchmark
and pass/fail, and two UPDATEs count what passed per trait and apply the pass rule. No Python loop
runs over the products, and running it again gives the same rows.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from evaluation.choices import BenchmarkStatus, CandidateStatus, Direction, Trait
from evaluation.formulas import build
from evaluation.models import (
    Benchmark,
    BenchmarkSet,
    Candidate,
    Indicator,
    IndicatorResult,
    MethodVersion,
    Round,
)
from filings.choices import FilingStatus
from filings.models import ProductVersion

FOUR_PLACES = Decimal("0.0001")


# --- indicator values ---------------------------------------------------------------------------


def values_for(versions: QuerySet, indicators: Sequence[Indicator]) -> dict[int, dict[int, Decimal | None]]:
    """{version id: {indicator id: value}} for a queryset of product versions, in one query."""
    annotations = {f"i{ind.pk}": build(ind.formula) for ind in indicators}
    rows = versions.order_by().annotate(**annotations).values("pk", *annotations)
    return {row["pk"]: {ind.pk: _decimal(row[f"i{ind.pk}"]) for ind in indicators} for row in rows}


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)


def meets(value: Decimal | None, benchmark: Decimal | None, direction: str) -> bool:
    """Whether a value reaches its benchmark. A value or benchmark that cannot be computed does not."""
    if value is None or benchmark is None:
        return False
    return value <= benchmark if direction == Direction.LOWER else value >= benchmark


@dataclass(frozen=True)
class RuleOutcome:
    per_trait: dict[str, int]
    total: int
    passed: bool


def apply_rule(method: MethodVersion, passed_by_trait: Mapping[str, int]) -> RuleOutcome:
    """The pass rule of a method version: at least k indicators met in every trait and n in all."""
    per_trait = {trait: int(passed_by_trait.get(trait, 0)) for trait in Trait.values}
    total = sum(per_trait.values())
    ok = all(count >= method.min_passed_per_trait for count in per_trait.values()) and (
        total >= method.min_passed_total
    )
    return RuleOutcome(per_trait=per_trait, total=total, passed=ok)


# --- benchmark suggestion ----------------------------------------------------------------------


def percentile(values: Iterable[Decimal], p: int) -> Decimal | None:
    """The p-th percentile with linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(v for v in values if v is not None)
    if not ordered:
        return None
    if len(ordered) == 1:
        return ordered[0].quantize(FOUR_PLACES)
    rank = Decimal(p) / Decimal(100) * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    fraction = rank - low
    value = ordered[low] + (ordered[high] - ordered[low]) * fraction
    return value.quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)


def sample_versions(product_class_id: int, data_year: int) -> QuerySet:
    """The distribution a benchmark is suggested from: approved filings of the class and year."""
    return ProductVersion.objects.filter(
        product_class_id=product_class_id, data_year=data_year, status=FilingStatus.APPROVED
    )


def distributions(benchmark_set: BenchmarkSet) -> dict[int, list[Decimal]]:
    """{indicator id: the sorted values of the sample} (values that cannot be computed left out)."""
    indicators = list(benchmark_set.method.indicators.all())
    rows = values_for(sample_versions(benchmark_set.product_class_id, benchmark_set.data_year), indicators)
    result: dict[int, list[Decimal]] = {ind.pk: [] for ind in indicators}
    for values in rows.values():
        for ind_id, value in values.items():
            if value is not None:
                result[ind_id].append(value)
    return {k: sorted(v) for k, v in result.items()}


def suggest(benchmark_set: BenchmarkSet, percentile_value: int | None = None) -> dict[int, Decimal | None]:
    """Fill the draft set's suggested values (and empty values) from the sample's percentile."""
    if benchmark_set.is_fixed:
        raise ValueError("a fixed benchmark set is never changed")
    p = percentile_value or benchmark_set.percentile
    dists = distributions(benchmark_set)
    indicators = {ind.pk: ind for ind in benchmark_set.method.indicators.all()}
    suggestions: dict[int, Decimal | None] = {}
    with transaction.atomic():
        for ind_id, values in dists.items():
            # "lower is better" indicators take the mirrored percentile
            q = 100 - p if indicators[ind_id].direction == Direction.LOWER else p
            suggestions[ind_id] = percentile(values, q)
            row, _created = Benchmark.objects.get_or_create(set=benchmark_set, indicator_id=ind_id)
            row.suggested = suggestions[ind_id]
            if row.value is None:
                row.value = suggestions[ind_id]
            row.save(update_fields=["suggested", "value"])
        benchmark_set.percentile = p
        benchmark_set.sample_size = sample_versions(benchmark_set.product_class_id, benchmark_set.data_year).count()
        benchmark_set.save(update_fields=["percentile", "sample_size"])
    return suggestions


def current_set(method: MethodVersion, product_class_id: int, data_year: int) -> BenchmarkSet | None:
    """The newest fixed set of a class for a year (for the self-assessment, the year before if none)."""
    sets = BenchmarkSet.objects.filter(
        method=method, product_class_id=product_class_id, status=BenchmarkStatus.FIXED
    ).order_by("-data_year", "-number")
    return sets.filter(data_year=data_year).first() or sets.filter(data_year__lt=data_year).first()


# --- the patent evaluation of a round ------------------------------------------------------------


def eligible_versions(rnd: Round) -> QuerySet:
    """Opted-in product-years of the round's data year, approved by its deadline, not in another round."""
    return ProductVersion.objects.filter(
        data_year=rnd.data_year,
        status=FilingStatus.APPROVED,
        certification_opt_in=True,
        decided_at__date__lte=rnd.deadline,
    ).exclude(pk__in=Candidate.objects.exclude(round_id=rnd.pk).values("version_id"))


def missing_benchmarks(rnd: Round) -> list[str]:
    """Product classes of eligible filings without a fixed benchmark set for the round's method and year."""
    fixed = BenchmarkSet.objects.filter(
        method=rnd.method, data_year=rnd.data_year, status=BenchmarkStatus.FIXED
    ).values("product_class_id")
    classes = (
        eligible_versions(rnd)
        .exclude(product_class_id__in=fixed)
        .values_list("product_class__code", "product_class__name")
        .distinct()
        .order_by("product_class__code")
    )
    return [f"{code} {name}" for code, name in classes]


def _insert_select(model: type, columns: Sequence[str], queryset: QuerySet) -> int:
    """INSERT INTO model (columns) SELECT … — the queryset's values_list must match `columns`."""
    sql, params = queryset.query.sql_with_params()
    table = connection.ops.quote_name(model._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({cols}) {sql}", params)
        return cursor.rowcount


def _latest_fixed_set(rnd: Round) -> Subquery:
    return Subquery(
        BenchmarkSet.objects.filter(
            method_id=rnd.method_id,
            data_year=rnd.data_year,
            status=BenchmarkStatus.FIXED,
            product_class_id=OuterRef("product_class_id"),
        )
        .order_by("-number")
        .values("pk")[:1]
    )


@transaction.atomic
def evaluate_round(rnd: Round) -> dict[str, int]:
    """Compute the patent evaluation of a round from scratch. Returns counts for the note and the page."""
    rnd = Round.objects.select_for_update().get(pk=rnd.pk)
    IndicatorResult.objects.filter(candidate__round=rnd).delete()
    Candidate.objects.filter(round=rnd).delete()

    # 1. the candidates: eligible product-years with the benchmark set of their class
    eligible = (
        eligible_versions(rnd)
        .annotate(bset=_latest_fixed_set(rnd))
        .filter(bset__isnull=False)
        .order_by("pk")
        .values_list(
            Value(rnd.pk, output_field=IntegerField()),
            "pk",
            "product_id",
            "product__unit_id",
            "product_class_id",
            "product__province_code",
            "product__city_code",
            "product__county_code",
            "bset",
            Value(CandidateStatus.PATENT_FAILED),
            Value(0),
            Value(0),
            Value(0),
            Value(0),
            Value(0),
            Value(False, output_field=BooleanField()),
        )
    )
    created = _insert_select(
        Candidate,
        [
            "round_id",
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
        ],
        eligible,
    )

    # 2. one INSERT … SELECT per indicator: value, the class benchmark, met or not
    candidates = Candidate.objects.filter(round=rnd)
    for ind in rnd.method.indicators.all():
        value = build(ind.formula, "version__")
        bench = Subquery(
            Benchmark.objects.filter(set_id=OuterRef("benchmark_set_id"), indicator_id=ind.pk).values("value")[:1]
        )
        meets_q = Q(v__lte=F("b")) if ind.direction == Direction.LOWER else Q(v__gte=F("b"))
        rows = (
            candidates.annotate(v=value, b=bench)
            .annotate(ok=Case(When(meets_q, then=Value(True)), default=Value(False), output_field=BooleanField()))
            .order_by("pk")
            .values_list("pk", Value(ind.pk, output_field=IntegerField()), "v", "b", "ok")
        )
        _insert_select(IndicatorResult, ["candidate_id", "indicator_id", "value", "benchmark", "passed"], rows)

    # 3. count what passed per trait, then apply the rule
    def met(trait: str | None) -> Coalesce:
        results = IndicatorResult.objects.filter(candidate_id=OuterRef("pk"), passed=True)
        if trait:
            results = results.filter(indicator__trait=trait)
        count = results.order_by().values("candidate_id").annotate(n=Count("pk")).values("n")[:1]
        return Coalesce(Subquery(count, output_field=IntegerField()), Value(0))

    candidates.update(
        passed_protection=met(Trait.PROTECTION),
        passed_value=met(Trait.VALUE),
        passed_dependence=met(Trait.DEPENDENCE),
        passed_benefit=met(Trait.BENEFIT),
        passed_total=met(None),
    )
    k, n = rnd.method.min_passed_per_trait, rnd.method.min_passed_total
    rule = Q(
        passed_protection__gte=k,
        passed_value__gte=k,
        passed_dependence__gte=k,
        passed_benefit__gte=k,
        passed_total__gte=n,
    )
    passed = candidates.filter(rule).update(patent_passed=True, status=CandidateStatus.PATENT_PASSED)

    rnd.evaluated_at = timezone.now()
    rnd.evaluation_runs = F("evaluation_runs") + 1
    rnd.save(update_fields=["evaluated_at", "evaluation_runs"])
    return {"candidates": created, "passed": passed, "failed": created - passed}


def self_assessment(version: ProductVersion, method: MethodVersion | None = None) -> dict[str, Any]:
    """A draft's indicators against the current benchmarks of its class (the same expressions)."""
    method = method or MethodVersion.active()
    if method is None:
        return {"method": None, "benchmark_set": None, "rows": [], "outcome": None}
    indicators = list(method.indicators.all())
    values = values_for(ProductVersion.objects.filter(pk=version.pk), indicators).get(version.pk, {})
    bset = current_set(method, version.product_class_id, version.data_year)
    benchmarks = {b.indicator_id: b.value for b in bset.values.all()} if bset else {}
    rows = []
    per_trait: dict[str, int] = {}
    for ind in indicators:
        value, bench = values.get(ind.pk), benchmarks.get(ind.pk)
        ok = meets(value, bench, ind.direction)
        per_trait[ind.trait] = per_trait.get(ind.trait, 0) + int(ok)
        rows.append({"indicator": ind, "value": value, "benchmark": bench, "passed": ok})
    outcome = apply_rule(method, per_trait) if bset else None
    return {"method": method, "benchmark_set": bset, "rows": rows, "outcome": outcome}
