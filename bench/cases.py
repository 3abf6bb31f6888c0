"""The benchmarks. Each returns a `Result` with the platform and its baseline measured in the same run.

1. seed_scale vs a raw COPY of the very same rows (generated beforehand, written as-is); with `--reuse`
   a database that already holds the dataset of this `--products` and `--seed` is not seeded again.
2. The certification patent evaluation (set-based engine) vs a per-object ORM loop, the loop timed on a
   sample of product-years and scaled to the round's size.
3. The port dashboard's server time (in-process, median) vs the same figures by live GROUP BY queries
   (the goal needs summary tables), and its throughput vs a bare Django response.
4. The product list API's throughput vs a bare Django response; the verification API's (an OAuth2 client verifying a
   filing number, bench/verify.py) likewise.
5. The monthly publication of every port + national vs COPY of its rows + WeasyPrint of its HTML
   (bench/publication.py).
6. The Excel product import with full validation vs bulk_create of the same rows (bench/excel_import.py).

Throughput is measured under gunicorn (`--workers` sync workers, the bench settings and database) with
wrk on loopback (`-t1 -c<--connections>`, `--seconds`), a session cookie of a logged-in user in a
Cookie header (bench/loopback.py); the in-process test client's figures are kept in the note. Without
wrk the rows fall back to the in-process client and say so.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.test import Client

from bench import loopback
from bench.runner import Result, measured, median_time, throughput

BARE = "/bench/bare/"
PORT = "440000"  # 广东, the largest port

# The port dashboard's figures for one province, straight from the base tables (no summary tables):
# units; filed and approved products with sales and exports; approved by class, by industry and scale,
# by city; units by city; first approvals per month over the last 12 months; certified products.
LIVE_GROUP_BY = [
    "SELECT count(*) FROM filings_filingunit WHERE province_code = %(p)s",
    """SELECT count(*) FILTER (WHERE p.published_version_id IS NOT NULL),
              count(*) FILTER (WHERE EXISTS (SELECT 1 FROM filings_productversion v
                                              WHERE v.product_id = p.id AND v.submitted_at IS NOT NULL)),
              COALESCE(sum(pv.sales), 0), COALESCE(sum(pv.exports), 0)
         FROM filings_product p LEFT JOIN filings_productversion pv ON pv.id = p.published_version_id
        WHERE p.province_code = %(p)s""",
    """SELECT pv.product_class_id, count(*), sum(pv.sales)
         FROM filings_product p JOIN filings_productversion pv ON pv.id = p.published_version_id
        WHERE p.province_code = %(p)s GROUP BY 1""",
    """SELECT u.industry, u.scale, count(*)
         FROM filings_product p JOIN filings_filingunit u ON u.id = p.unit_id
        WHERE p.province_code = %(p)s AND p.published_version_id IS NOT NULL GROUP BY 1, 2""",
    """SELECT p.city_code, count(*) FILTER (WHERE p.published_version_id IS NOT NULL), count(*),
              COALESCE(sum(pv.sales), 0)
         FROM filings_product p LEFT JOIN filings_productversion pv ON pv.id = p.published_version_id
        WHERE p.province_code = %(p)s GROUP BY 1""",
    "SELECT city_code, count(*) FROM filings_filingunit WHERE province_code = %(p)s GROUP BY 1",
    """SELECT date_trunc('month', f.first AT TIME ZONE 'Asia/Shanghai'), count(*)
         FROM (SELECT p.id, min(v.decided_at) AS first
                 FROM filings_product p JOIN filings_productversion v ON v.product_id = p.id AND v.status = 'approved'
                WHERE p.province_code = %(p)s GROUP BY p.id) f
        WHERE f.first >= now() - interval '12 months' GROUP BY 1""",
    """SELECT count(DISTINCT c.product_id) FROM evaluation_candidate c JOIN evaluation_round r ON r.id = c.round_id
        WHERE c.province_code = %(p)s AND c.status = 'certified' AND r.stage = 'final'""",
]


NAMES = (
    "evaluation",
    "dashboard",
    "api",
    "verify",
    "search",
    "pivot",
    "publication",
    "import",
    "encryption",
    "deadline",
)


class Servers:
    """The gunicorn server of the throughput benchmarks, started once when first needed (None: no wrk)."""

    def __init__(self, args: Any) -> None:
        self.args = args
        self.server: loopback.Loopback | None = None

    def get(self) -> loopback.Loopback | None:
        if loopback.wrk_path() is None:
            return None
        if self.server is None:
            self.server = loopback.Loopback(self.args.database_url, workers=self.args.workers)
            self.server.start()
        return self.server

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


def run_all(args: Any, wanted: set[str], log: Callable[[str], Any]) -> list[Result]:
    from bench.deadline import bench_deadline, redis_for_worker
    from bench.encryption import bench_encryption
    from bench.excel_import import bench_import
    from bench.pivot import bench_pivot
    from bench.publication import bench_publication
    from bench.search import bench_search
    from bench.verify import bench_verify

    unknown = wanted - {"seed", *NAMES}  # "seed" alone: the seed only (it always runs)
    if unknown:
        raise SystemExit(f"unknown benchmarks: {', '.join(sorted(unknown))} (known: {', '.join(NAMES)})")
    if not wanted or "deadline" in wanted:
        redis_for_worker()  # refused before the seed, not after every other row
    results = [bench_seed(args, log)]
    servers = Servers(args)
    args.servers = servers
    try:
        for name, fn in (
            ("evaluation", bench_evaluation),
            ("dashboard", bench_dashboard),
            ("api", bench_api),
            ("verify", bench_verify),
            ("search", bench_search),
            ("pivot", bench_pivot),
            ("publication", bench_publication),
            ("import", bench_import),
            ("encryption", bench_encryption),
            ("deadline", bench_deadline),
        ):
            if not wanted or name in wanted:
                log(f"… {name}")
                results.extend(fn(args, log))
    finally:
        servers.stop()
    return results


# --- 1. seed_scale vs raw COPY --------------------------------------------------------------------


# The bench's own record of the dataset it seeded (bench database only; not a Django model).
MARKER_DDL = """CREATE TABLE IF NOT EXISTS bench_dataset (
    products integer NOT NULL, seed integer NOT NULL, rows bigint NOT NULL, seeded_at timestamptz NOT NULL)"""


def seeded_dataset() -> dict[str, Any] | None:
    """The dataset recorded by the last complete seed, if the database still holds it (its product count
    and its certification round); None otherwise."""
    from evaluation.models import Round
    from filings.models import Product

    with connection.cursor() as cursor:
        cursor.execute(MARKER_DDL)
        cursor.execute("SELECT products, seed, rows, seeded_at FROM bench_dataset ORDER BY seeded_at DESC LIMIT 1")
        row = cursor.fetchone()
    if row is None:
        return None
    found = {"products": row[0], "seed": row[1], "rows": row[2], "seeded_at": row[3]}
    if Product.objects.count() != found["products"] or not Round.objects.filter(name__contains="规模测试").exists():
        return None
    return found


def _record_dataset(products: int, seed: int, rows: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(MARKER_DDL)
        cursor.execute("DELETE FROM bench_dataset")
        cursor.execute(
            "INSERT INTO bench_dataset (products, seed, rows, seeded_at) VALUES (%s, %s, %s, now())",
            [products, seed, rows],
        )


def _forget_dataset() -> None:
    with connection.cursor() as cursor:
        cursor.execute(MARKER_DDL)
        cursor.execute("DELETE FROM bench_dataset")


def bench_seed(args: Any, log: Callable[[str], Any]) -> Result:
    from provincial import scale
    from provincial.management.commands.seed_scale import national_user, seed_rosters, seed_round

    if args.reuse:
        found = seeded_dataset()
        if found and found["products"] == args.products and found["seed"] == args.seed:
            log(f"… seed: reusing the dataset seeded {found['seeded_at']:%Y-%m-%d %H:%M} ({found['rows']:,} rows)")
            return Result(
                name="seed_scale",
                platform=f"reused: {found['products']:,} products, seed {found['seed']}, {found['rows']:,} rows "
                f"seeded {found['seeded_at']:%Y-%m-%d %H:%M}",
                baseline="not run",
                ratio=0.0,
                ratio_text="reused",
                goal=0.5,
                goal_text="≥ 50 % of its speed",
                platform_mb=0.0,
                baseline_mb=0.0,
                compared=False,
                note="--reuse: the database already held this dataset; nothing seeded, nothing compared",
            )
        log("… seed: --reuse, but the database holds no dataset of this size and seed: seeding")
    plan = scale.Plan(products=args.products, seed=args.seed)
    _forget_dataset()
    with transaction.atomic():
        scale.truncate()
    log(f"… seed: generating {args.products:,} products in memory for the raw-COPY baseline")
    held = {"chunks": scale.generate_all(plan)}
    rows = sum(len(lines) for _spec, lines in held["chunks"])

    def raw() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            for spec, lines in held["chunks"]:
                scale.copy_lines(cursor.cursor, spec, lines)

    raw_s, raw_mb, _ = measured(raw)
    log(f"… seed: raw COPY {rows:,} rows in {raw_s:.1f} s")
    held.clear()
    gc.collect()
    with transaction.atomic():
        scale.truncate()

    def seed() -> scale.Report:
        with transaction.atomic():
            return scale.seed_tables(plan, analyze_tables=False)

    seed_s, seed_mb, report = measured(seed)
    log(f"… seed: seed_scale {report.total_rows:,} rows in {seed_s:.1f} s")
    started = time.perf_counter()
    with transaction.atomic():
        scale.analyze()
        national = national_user()
        seed_rosters(national, plan)
        counts = seed_round(national, plan)
    seconds = time.perf_counter() - started
    log(f"… seed: ANALYZE, rosters and the round ({counts['candidates']:,} candidates) in {seconds:.1f} s")
    _record_dataset(args.products, args.seed, report.total_rows)
    ratio = raw_s / seed_s
    return Result(
        name="seed_scale",
        platform=f"{report.total_rows:,} rows in {seed_s:.2f} s ({report.total_rows / seed_s:,.0f} rows/s)",
        baseline=f"raw COPY of the same rows: {raw_s:.2f} s ({rows / raw_s:,.0f} rows/s)",
        ratio=ratio,
        ratio_text=f"{ratio * 100:.0f} % of its speed",
        goal=0.5,
        goal_text="≥ 50 % of its speed",
        platform_mb=seed_mb,
        baseline_mb=raw_mb,
        note="both timings include the commit (deferred FK checks); seed_scale also generates the rows, moves the "
        "id and filing-number sequences; ANALYZE, rosters and the round are not in either figure",
    )


# --- 2. certification patent evaluation -------------------------------------------------------------


def bench_evaluation(args: Any, log: Callable[[str], Any]) -> list[Result]:
    from evaluation import engine
    from evaluation.models import Round

    rnd = Round.objects.filter(name__contains="规模测试").order_by("-pk").first()

    def first_run() -> dict[str, int]:
        """The round evaluated for the first time: its candidates removed first (untimed), rolled back."""
        from evaluation.models import Candidate, IndicatorResult

        box: dict[str, Any] = {}
        with transaction.atomic():
            # Django's fast delete (no signals, no collector) for the benchmark's reset
            IndicatorResult.objects.filter(candidate__round=rnd)._raw_delete(IndicatorResult.objects.db)  # noqa: SLF001
            Candidate.objects.filter(round=rnd)._raw_delete(Candidate.objects.db)  # noqa: SLF001
            seconds, mb, counts = measured(lambda: engine.evaluate_round(rnd))
            box.update(seconds=seconds, mb=mb, counts=counts)
            transaction.set_rollback(True)
        return box

    first = first_run()
    plat_s, plat_mb, counts = measured(lambda: engine.evaluate_round(rnd))
    n = counts["candidates"]
    elapsed, done, base_mb = _per_object_sample(rnd, args.sample)
    scaled = elapsed / max(done, 1) * n
    ratio = scaled / plat_s if plat_s else 0.0
    first_ratio = scaled / first["seconds"] if first["seconds"] else 0.0
    return [
        Result(
            name="certification patent evaluation, first run",
            platform=f"set-based engine: {first['counts']['candidates']:,} product-years in {first['seconds']:.2f} s",
            baseline=f"per-object ORM loop: {done} in {elapsed:.2f} s → {scaled:.1f} s for {n:,}",
            ratio=first_ratio,
            ratio_text=f"{first_ratio:.0f}× faster",
            goal=50,
            goal_text="≥ 50× faster",
            platform_mb=first["mb"],
            baseline_mb=base_mb,
            note="the round's candidates and results removed first (not timed), evaluated, rolled back: what "
            "starting a round costs",
        ),
        Result(
            name="certification patent evaluation, re-run",
            platform=f"set-based engine: {n:,} product-years in {plat_s:.2f} s",
            baseline=f"per-object ORM loop: {done} in {elapsed:.2f} s → {scaled:.1f} s for {n:,}",
            ratio=ratio,
            ratio_text=f"{ratio:.0f}× faster",
            goal=50,
            goal_text="≥ 50× faster",
            platform_mb=plat_mb,
            baseline_mb=base_mb,
            note=f"{n:,} candidate product-years at this size (opted-in approved versions of the last data year); "
            "the round evaluated again (as after a benchmark correction: unchanged rows are not rewritten); "
            "the loop computes each version's indicators with the same expressions and saves row by row, "
            "rolled back",
        ),
    ]


def _per_object_sample(rnd: Any, size: int) -> tuple[float, int, float]:
    """The patent evaluation object by object for `size` product-years (rolled back): seconds, count, MiB."""
    from evaluation import engine
    from evaluation.choices import BenchmarkStatus, CandidateStatus
    from evaluation.models import Benchmark, BenchmarkSet, Candidate, IndicatorResult
    from filings.models import Product, ProductVersion

    method = rnd.method
    indicators = list(method.indicators.all())
    box: dict[str, Any] = {}

    def loop() -> None:
        with transaction.atomic():
            Candidate.objects.filter(round=rnd).delete()
            sample = list(engine.eligible_versions(rnd).order_by("pk")[:size])
            started = time.perf_counter()
            for version in sample:
                product = Product.objects.get(pk=version.product_id)
                bset = (
                    BenchmarkSet.objects.filter(
                        method=method,
                        data_year=rnd.data_year,
                        status=BenchmarkStatus.FIXED,
                        product_class_id=version.product_class_id,
                    )
                    .order_by("-number")
                    .first()
                )
                if bset is None:
                    continue
                bench = {b.indicator_id: b.value for b in Benchmark.objects.filter(set=bset)}
                values = engine.values_for(ProductVersion.objects.filter(pk=version.pk), indicators)[version.pk]
                candidate = Candidate.objects.create(
                    round=rnd,
                    version=version,
                    product=product,
                    unit_id=product.unit_id,
                    product_class_id=version.product_class_id,
                    province_code=product.province_code,
                    city_code=product.city_code,
                    county_code=product.county_code,
                    benchmark_set=bset,
                    status=CandidateStatus.PATENT_FAILED,
                )
                per_trait: dict[str, int] = {}
                for ind in indicators:
                    ok = engine.meets(values[ind.pk], bench.get(ind.pk), ind.direction)
                    IndicatorResult.objects.create(
                        candidate=candidate, indicator=ind, value=values[ind.pk], benchmark=bench.get(ind.pk), passed=ok
                    )
                    per_trait[ind.trait] = per_trait.get(ind.trait, 0) + int(ok)
                outcome = engine.apply_rule(method, per_trait)
                for trait, count in outcome.per_trait.items():
                    setattr(candidate, f"passed_{trait}", count)
                candidate.passed_total = outcome.total
                candidate.patent_passed = outcome.passed
                if outcome.passed:
                    candidate.status = CandidateStatus.PATENT_PASSED
                candidate.save()
            box["elapsed"] = time.perf_counter() - started
            box["done"] = len(sample)
            transaction.set_rollback(True)

    _s, mb, _ = measured(loop)
    return box["elapsed"], box["done"], mb


# --- 3. port dashboard ------------------------------------------------------------------------------


def port_admin() -> Any:
    from django.utils import timezone

    from patent_platform.choices import Role
    from patent_platform.models import User
    from provincial.models import ManagementUnit
    from provincial.services import port_add_admin

    user = User.objects.filter(email="bench-port@example.cn").first()
    if user is None:
        user = User.objects.create_user(
            "bench-port@example.cn", None, role=Role.PORT_ADMIN, full_name="bench", email_confirmed_at=timezone.now()
        )
        port_add_admin(unit=ManagementUnit.objects.get(code=PORT), user=user)
    return user


def getter(client: Client, url: str) -> Callable[[], Any]:
    def get() -> Any:
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")
        return response

    return get


def live_group_by() -> None:
    with connection.cursor() as cursor:
        for sql in LIVE_GROUP_BY:
            cursor.execute(sql, {"p": PORT})
            cursor.fetchall()


def _session_cookie(user: Any) -> str:
    """A Cookie header value for `user`: logged in programmatically, the session stored in the database."""
    from django.conf import settings

    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def throughput_pair(args: Any, client: Client, user: Any, path: str, log: Callable[[str], Any]) -> dict[str, Any]:
    """Requests per second of `path` and of the bare response: under gunicorn with wrk when wrk is installed
    (the in-process client's figures in the note), else with the in-process client."""
    return _throughput_pair(args, client, user, path, log, headers=None)


def throughput_pair_with_headers(
    args: Any, user: Any, path: str, headers: dict[str, str], log: Callable[[str], Any]
) -> dict[str, Any]:
    """`throughput_pair` of an API that authenticates by a header (a bearer token), not a session: every request,
    the bare response's too, carries `headers` instead of the session cookie."""
    client = Client(headers=headers)
    return _throughput_pair(args, client, user, path, log, headers=headers)


def _throughput_pair(
    args: Any, client: Client, user: Any, path: str, log: Callable[[str], Any], headers: dict[str, str] | None
) -> dict[str, Any]:
    page_rps, page_mb, _ = throughput(getter(client, path), args.seconds)
    bare_rps, bare_mb, _ = throughput(getter(client, BARE), args.seconds)
    in_process = f"in-process test client: {page_rps:.1f} vs {bare_rps:.0f} req/s ({page_rps / bare_rps * 100:.1f} %)"
    server = args.servers.get()
    if server is None:
        return {
            "platform": f"{page_rps:.1f} req/s (in-process)",
            "baseline": f"bare Django response: {bare_rps:.0f} req/s (in-process)",
            "ratio": page_rps / bare_rps,
            "platform_mb": page_mb,
            "baseline_mb": bare_mb,
            "note": "wrk not found: measured with the in-process test client (one thread, no gunicorn)",
        }
    cookie = _session_cookie(user) if headers is None else ""
    server.wait_ready(cookie, BARE, headers=headers)
    page, page_mb, page_d = server.measure(path, cookie, args.seconds, args.connections, headers=headers)
    bare, bare_mb, bare_d = server.measure(BARE, cookie, args.seconds, args.connections, headers=headers)
    log(f"… {path}: {page.rps:.1f} req/s, bare {bare.rps:.0f} req/s under gunicorn")

    def text(result: loopback.WrkResult) -> str:
        parts = [f"{result.requests:,} requests", f"p50 {result.p50_ms:.0f} ms" if result.p50_ms is not None else ""]
        if result.errors:
            parts.append(f"{result.errors} errors")
        return f"{result.rps:.1f} req/s ({', '.join(p for p in parts if p)})"

    credentials = "session cookie" if headers is None else "bearer token"
    return {
        "platform": f"GET {path}: {text(page)}",
        "baseline": f"bare Django response: {text(bare)}",
        "ratio": page.rps / bare.rps if bare.rps else 0.0,
        "platform_mb": page_mb,
        "baseline_mb": bare_mb,
        "note": f"gunicorn {args.workers} sync workers, wrk -t1 -c{args.connections} on loopback (-d{page_d}s for the "
        f"page, -d{bare_d}s for the bare response), {credentials}; MiB: the largest gunicorn worker; {in_process}",
    }


def bench_dashboard(args: Any, log: Callable[[str], Any]) -> list[Result]:
    user = port_admin()
    client = Client()
    client.force_login(user)
    page = getter(client, "/port/")
    page_s, page_mb = median_time(page, args.repeat)
    live_s, live_mb = median_time(live_group_by, args.repeat)
    ratio = live_s / page_s
    served = throughput_pair(args, client, user, "/port/", log)
    return [
        Result(
            name="port dashboard, server time (广东)",
            platform=f"GET /port/: {page_s * 1000:.0f} ms (median of {args.repeat}, in-process)",
            baseline=f"the same figures by live GROUP BY: {live_s * 1000:.0f} ms",
            ratio=ratio,
            ratio_text=f"{ratio:.2f}× the live query's speed",
            goal=50,
            goal_text="≥ 50× the live query",
            platform_mb=page_mb,
            baseline_mb=live_mb,
            note="the page's server time with the in-process client (no network); the live GROUP BY queries "
            "are the ones in bench/cases.py",
        ),
        Result(
            name="port dashboard, throughput (广东)",
            platform=served["platform"],
            baseline=served["baseline"],
            ratio=served["ratio"],
            ratio_text=f"{served['ratio'] * 100:.1f} % of its throughput",
            goal=0.5,
            goal_text="≥ 50 % of its throughput",
            platform_mb=served["platform_mb"],
            baseline_mb=served["baseline_mb"],
            note=served["note"],
        ),
    ]


# --- 4. product list API ----------------------------------------------------------------------------


def bench_api(args: Any, log: Callable[[str], Any]) -> list[Result]:
    from provincial.management.commands.seed_scale import national_user

    user = national_user()
    client = Client()
    client.force_login(user)
    served = throughput_pair(args, client, user, "/api/v1/products/", log)
    return [
        Result(
            name="product list API (national, first page of 50)",
            platform=served["platform"],
            baseline=served["baseline"],
            ratio=served["ratio"],
            ratio_text=f"{served['ratio'] * 100:.1f} % of its throughput",
            goal=0.3,
            goal_text="≥ 30 % of its throughput",
            platform_mb=served["platform_mb"],
            baseline_mb=served["baseline_mb"],
            note=served["note"],
        )
    ]
