"""The computing part of the method: indicator values, benchmark suggestion, the pass rule.

The patent evaluation of a round runs in the database, set-based: one SELECT computes every
indicator of every eligible product-year into a temporary table, one INSERT … SELECT writes the
candidates with their passes per trait (one GROUP BY) and the rule applied, and one INSERT … SELECT
writes every value, benchmark and pass/fail. No Python loop runs over the products, no candidate is
updated after its INSERT, and running it again gives the same rows (updated in place).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import (
    BooleanField,
    F,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.expressions import RawSQL
from django.utils import timezone

from evaluation.choices import BenchmarkStatus, CandidateStatus, Direction, LockKind, Trait
from evaluation.formulas import build
from evaluation.models import (
    Benchmark,
    BenchmarkSet,
    Candidate,
    Indicator,
    IndicatorResult,
    LockException,
    MethodVersion,
    Round,
)
from filings.choices import FilingStatus
from filings.models import ProductVersion

FOUR_PLACES = Decimal("0.0001")


# --- indicator values ---------------------------------------------------------------------------


def values_for(
    versions: QuerySet[ProductVersion], indicators: Sequence[Indicator]
) -> dict[int, dict[int, Decimal | None]]:
    """{version id: {indicator id: value}} for a queryset of product versions, in one query. An indicator of a
    draft whose formula is not entered yet has no value (a benchmark set of a draft being completed)."""
    annotations = {f"i{ind.pk}": build(ind.formula) for ind in indicators if ind.formula}
    rows = versions.order_by().annotate(**annotations).values("pk", *annotations)
    return {row["pk"]: {ind.pk: _decimal(row.get(f"i{ind.pk}")) for ind in indicators} for row in rows}


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
    per_trait_min, total_min = method.min_passed_per_trait, method.min_passed_total
    if per_trait_min is None or total_min is None:  # a draft being completed is never enabled, never run
        raise TypeError(f"method version {method.pk} has no pass rule")
    ok = all(count >= per_trait_min for count in per_trait.values()) and total >= total_min
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


def sample_versions(product_class_id: int, data_year: int) -> QuerySet[ProductVersion]:
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


def eligible_versions(rnd: Round) -> QuerySet[ProductVersion]:
    """Opted-in product-years of the round's data year, approved by its cut-off (or admitted after it by a
    lock exception of the national office), not in another round."""
    admitted = LockException.objects.filter(round_id=rnd.pk, kind=LockKind.CUTOFF).values("version_id")
    return ProductVersion.objects.filter(
        Q(decided_at__date__lte=rnd.deadline) | Q(pk__in=admitted),
        data_year=rnd.data_year,
        status=FilingStatus.APPROVED,
        certification_opt_in=True,
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


# the scratch tables of one evaluation (temporary: private to the connection, dropped before it returns)
VALUES_TABLE = "evaluation_scratch_value"
RESULTS_TABLE = "evaluation_scratch_result"
# the candidate columns an evaluation writes, in the order of the INSERT … SELECT below
CANDIDATE_COLUMNS = [
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
]
# what later stages write on a candidate: a re-evaluated candidate starts again without them
RESET_COLUMNS = ["expert_score", "certificate_number", "certified_at"]


def _q(name: str) -> str:
    """A quoted table or column name. The SQL below is built only from model tables, these constants
    and indicator ids (integers); every value goes as a parameter (hence the S608 noqa)."""
    return connection.ops.quote_name(name)


def _values_query(rnd: Round, indicators: Sequence[Indicator]) -> tuple[str, tuple[Any, ...]]:
    """One row per eligible product-year that has a benchmark set: what its candidate copies, the
    set, and one column v<indicator id> per indicator (the formula's expression, as in the self-assessment)."""
    rows = (
        eligible_versions(rnd)
        .annotate(c_bset=_latest_fixed_set(rnd))
        .filter(c_bset__isnull=False)
        .annotate(
            c_version=F("pk"),
            c_product=F("product_id"),
            c_unit=F("product__unit_id"),
            c_class=F("product_class_id"),
            c_province=F("product__province_code"),
            c_city=F("product__city_code"),
            c_county=F("product__county_code"),
            **{f"v{ind.pk}": build(ind.formula) for ind in indicators},
        )
        .order_by()
        .values(
            "c_version",
            "c_product",
            "c_unit",
            "c_class",
            "c_province",
            "c_city",
            "c_county",
            "c_bset",
            *(f"v{ind.pk}" for ind in indicators),
        )
    )
    sql: tuple[str, tuple[Any, ...]] = rows.query.sql_with_params()  # .values() after a dynamic annotate(): Any
    return sql


def _delete_stale(rnd: Round, method: MethodVersion) -> None:
    """What a from-scratch evaluation would not create again: candidates of the round whose product-year
    is no longer eligible (through the ORM, so cascades and receivers run; usually none), whatever later
    stages hung on the round's candidates, and results of indicators outside the round's method."""
    # NOT EXISTS, an anti-join: `NOT IN (SELECT …)` is planned as a hashed subplan only while the scratch
    # table's versions fit in work_mem; past that (1.5M products) it is one scan of the table per candidate
    # (the bench ran 30 minutes in this statement before it was stopped).
    candidate = f"{_q(Candidate._meta.db_table)}.{_q('version_id')}"
    fresh = RawSQL(  # noqa: S611  (our own table and column names, no parameter)
        f"EXISTS (SELECT 1 FROM {_q(VALUES_TABLE)} s WHERE s.c_version = {candidate})",  # noqa: S608
        (),
        output_field=BooleanField(),
    )
    stale = Candidate.objects.filter(round=rnd).alias(fresh=fresh).filter(fresh=False)
    if stale.exists():
        stale.delete()
    for relation in Candidate._meta.related_objects:
        if relation.related_model is not IndicatorResult:
            relation.related_model._default_manager.filter(**{f"{relation.field.name}__round": rnd}).delete()
    others = Indicator.objects.exclude(method=method)  # through the indicator index: usually no row at all
    IndicatorResult.objects.filter(indicator__in=others, candidate__round=rnd).delete()


def _upsert(
    model: type[Model], conflict: Sequence[str], columns: Sequence[str], nulls: Sequence[str] = (), where: str = ""
) -> str:
    """ON CONFLICT … DO UPDATE: a row of an earlier run is updated in place, and only if something in it
    changed (an unchanged row is not rewritten: no new row version, no index entries, no WAL)."""
    updates = ", ".join([*(f"{_q(c)} = excluded.{_q(c)}" for c in columns), *(f"{_q(c)} = NULL" for c in nulls)])
    # NULL-safe "differs": IS DISTINCT FROM on PostgreSQL, IS NOT on SQLite
    differs = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    table = _q(model._meta.db_table)
    changed = " OR ".join(
        [
            *(f"{table}.{_q(c)} {differs} excluded.{_q(c)}" for c in columns),
            *(f"{table}.{_q(c)} IS NOT NULL" for c in nulls),
        ]
    )
    condition = f"({where}) AND ({changed})" if where else changed
    return f"ON CONFLICT ({', '.join(_q(c) for c in conflict)}) DO UPDATE SET {updates} WHERE {condition}"


def _fk_constraints(cursor: Any) -> list[str]:
    """PostgreSQL: the deferrable FKs of candidates and results, and those that reference candidates."""
    candidate, result = Candidate._meta.db_table, IndicatorResult._meta.db_table
    cursor.execute(
        "SELECT conname FROM pg_constraint WHERE contype = 'f' AND condeferrable"
        " AND (conrelid IN (%s::regclass, %s::regclass) OR confrelid IN (%s::regclass, %s::regclass))"
        " ORDER BY conname",
        [candidate, result, candidate, result],
    )
    return [name for (name,) in cursor.fetchall()]


def _set_constraints(cursor: Any, names: Sequence[str], state: str) -> None:
    """SET CONSTRAINTS … IMMEDIATE: checked at the end of each statement (index look-ups while the pages
    are hot), not queued as one trigger event per row for the commit; DEFERRED: Django's
    INITIALLY DEFERRED again for the rest of the caller's transaction."""
    if names:
        cursor.execute(f"SET CONSTRAINTS {', '.join(_q(n) for n in names)} {state}")


@transaction.atomic
def evaluate_round(rnd: Round) -> dict[str, int]:
    """Compute the patent evaluation of a round from scratch. Returns counts for the note and the page.

    1. on PostgreSQL, the FKs of candidates and results are checked per statement, not at commit;
    2. one SELECT computes every indicator of every eligible product-year into a temporary table;
    3. from it, a temporary table of (product-year, indicator, value, benchmark, met) rows;
    4. what a fresh evaluation would not write again goes (`_delete_stale`);
    5. one INSERT … SELECT writes the candidates with their passed counts per trait (one GROUP BY) and
       the rule already applied; a candidate of an earlier run is updated in place (ON CONFLICT), keeps
       its id and loses what later stages wrote on it;
    6. one INSERT … SELECT writes (or updates in place) every candidate's indicator results.

    The stored rows are those of a fresh evaluation (tests/evaluation/test_engine_set_based.py).
    """
    rnd = Round.objects.select_for_update().get(pk=rnd.pk)
    method = rnd.method
    indicators = list(method.indicators.all())
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        constraints = _fk_constraints(cursor) if postgres else []
        _set_constraints(cursor, constraints, "IMMEDIATE")

    values_sql, values_params = _values_query(rnd, indicators)
    with connection.cursor() as cursor:
        for table in (VALUES_TABLE, RESULTS_TABLE):
            cursor.execute(f"DROP TABLE IF EXISTS {_q(table)}")
        # 2. every indicator of every eligible product-year (one row each)
        cursor.execute(f"CREATE TEMPORARY TABLE {_q(VALUES_TABLE)} AS {values_sql}", values_params)
        # 3. one row per product-year and indicator: the value, the class benchmark, met or not
        value_case = " ".join(f"WHEN {ind.pk} THEN t.{_q(f'v{ind.pk}')}" for ind in indicators) or "WHEN 0 THEN NULL"
        cursor.execute(
            f"""CREATE TEMPORARY TABLE {_q(RESULTS_TABLE)} AS
            SELECT s.version_id, s.indicator_id, s.trait, s.value, s.benchmark,
                CASE WHEN s.direction = %s AND s.value <= s.benchmark THEN %s
                     WHEN s.direction <> %s AND s.value >= s.benchmark THEN %s
                     ELSE %s END AS passed
            FROM (
                SELECT t.c_version AS version_id, i.id AS indicator_id, i.trait AS trait, i.direction AS direction,
                    CASE i.id {value_case} END AS value, b.value AS benchmark
                FROM {_q(VALUES_TABLE)} t
                CROSS JOIN {_q(Indicator._meta.db_table)} i
                LEFT JOIN {_q(Benchmark._meta.db_table)} b ON b.set_id = t.c_bset AND b.indicator_id = i.id
                WHERE i.method_id = %s
            ) s""",  # noqa: S608
            [Direction.LOWER, True, Direction.LOWER, True, False, method.pk],
        )
        if postgres:  # the planner's row counts for the joins below
            cursor.execute(f"ANALYZE {_q(VALUES_TABLE)}, {_q(RESULTS_TABLE)}")
        cursor.execute(f"SELECT COUNT(*) FROM {_q(VALUES_TABLE)}")  # noqa: S608 (our scratch table)
        expected = cursor.fetchone()[0]
        _delete_stale(rnd, method)  # 4.
        # an existing row of another round (taken meanwhile) is left alone: the count below notices it
        same_round = f"{_q(Candidate._meta.db_table)}.{_q('round_id')} = excluded.{_q('round_id')}"
        # 5. the candidates, counted per trait in one GROUP BY and judged by the rule
        traits = list(Trait.values)
        k, n = method.min_passed_per_trait, method.min_passed_total
        sums = ", ".join(
            f"SUM(CASE WHEN r.passed AND r.trait = %s THEN 1 ELSE 0 END) AS p_{i}" for i, _t in enumerate(traits)
        )
        counts = ", ".join(f"COALESCE(n.p_{i}, 0) AS p_{i}" for i in range(len(traits)))
        rule = " AND ".join([*(f"s.p_{i} >= %s" for i in range(len(traits))), "s.total >= %s"])
        cursor.execute(
            f"""INSERT INTO {_q(Candidate._meta.db_table)} ({", ".join(_q(c) for c in CANDIDATE_COLUMNS)})
            SELECT %s, s.c_version, s.c_product, s.c_unit, s.c_class, s.c_province, s.c_city, s.c_county, s.c_bset,
                CASE WHEN {rule} THEN %s ELSE %s END,
                {", ".join(f"s.p_{i}" for i in range(len(traits)))}, s.total,
                CASE WHEN {rule} THEN %s ELSE %s END
            FROM (
                SELECT t.*, {counts}, {" + ".join(f"COALESCE(n.p_{i}, 0)" for i in range(len(traits)))} AS total
                FROM {_q(VALUES_TABLE)} t
                LEFT JOIN (
                    SELECT r.version_id, {sums} FROM {_q(RESULTS_TABLE)} r GROUP BY r.version_id
                ) n ON n.version_id = t.c_version
            ) s
            WHERE 1 = 1
            ORDER BY s.c_version
            {_upsert(Candidate, ["version_id"], CANDIDATE_COLUMNS[2:], RESET_COLUMNS, same_round)}""",  # noqa: S608
            [
                rnd.pk,
                *([k] * len(traits)),
                n,
                CandidateStatus.PATENT_PASSED,
                CandidateStatus.PATENT_FAILED,
                *([k] * len(traits)),
                n,
                True,
                False,
                *traits,
            ],
        )
        created = Candidate.objects.filter(round=rnd).count()
        if created != expected:  # a product-year taken by another round meanwhile: never moved over
            raise IntegrityError(f"round {rnd.pk}: {created} candidates written of {expected}")
        # 6. the results of every candidate
        cursor.execute(
            f"""INSERT INTO {_q(IndicatorResult._meta.db_table)}
                ({_q("candidate_id")}, {_q("indicator_id")}, {_q("value")}, {_q("benchmark")}, {_q("passed")})
            SELECT c.id, r.indicator_id, r.value, r.benchmark, r.passed
            FROM {_q(RESULTS_TABLE)} r
            JOIN {_q(Candidate._meta.db_table)} c ON c.version_id = r.version_id
            WHERE c.round_id = %s
            ORDER BY c.id, r.indicator_id
            {_upsert(IndicatorResult, ["candidate_id", "indicator_id"], ["value", "benchmark", "passed"])}""",  # noqa: S608
            [rnd.pk],
        )
        for table in (VALUES_TABLE, RESULTS_TABLE):
            cursor.execute(f"DROP TABLE {_q(table)}")
        _set_constraints(cursor, constraints, "DEFERRED")
    passed = Candidate.objects.filter(round=rnd, patent_passed=True).count()

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
