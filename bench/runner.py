"""Command line, database set-up, measuring helpers and the table."""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/pp_bench"


@dataclass
class Result:
    name: str
    platform: str  # what the platform did, with its figure
    baseline: str
    ratio: float
    ratio_text: str  # how to read the ratio ("× faster", "% of the baseline's speed")
    goal: float
    goal_text: str
    platform_mb: float
    baseline_mb: float
    note: str = ""
    lower_is_better: bool = False  # the goal is a ceiling (e.g. ≤ 1.5× the baseline's time)
    compared: bool = True  # False: nothing measured against the goal (a reused dataset)

    @property
    def met(self) -> bool:
        return self.ratio <= self.goal if self.lower_is_better else self.ratio >= self.goal

    @property
    def met_text(self) -> str:
        if not self.compared:
            return "—"
        return "yes" if self.met else "no"


# --- memory -----------------------------------------------------------------------------------


def reset_peak() -> bool:
    """Reset the process's peak RSS (Linux: writing 5 to clear_refs resets VmHWM to the current RSS)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


def peak_mb() -> float:
    """Peak resident memory of this process since the last reset_peak(), in MiB."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measured(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(seconds, peak MiB, result) of one call."""
    reset_peak()
    started = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - started
    return seconds, peak_mb(), value


def median_time(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """(median seconds, peak MiB) over `repeat` calls after one warm-up call."""
    fn()
    reset_peak()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), peak_mb()


def throughput(fn: Callable[[], Any], seconds: float) -> tuple[float, float, int]:
    """(calls per second, peak MiB, calls) of `fn` called in a loop for about `seconds` (at least 5 calls)."""
    fn()
    reset_peak()
    calls = 0
    started = time.perf_counter()
    while calls < 5 or time.perf_counter() - started < seconds:
        fn()
        calls += 1
    return calls / (time.perf_counter() - started), peak_mb(), calls


# --- set-up -----------------------------------------------------------------------------------


def ensure_database(url: str) -> None:
    """Create the benchmark database if it does not exist (connecting to the server's `postgres` db)."""
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


SETTINGS = "bench.settings"  # the test settings with the bench's URLs; gunicorn is started with them too


def setup_django(url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS  # DEBUG off, in-process tasks
    os.environ["DATABASE_URL"] = url
    # The deadline row alone runs a Celery worker: it keeps the Redis the bench was given (never a shared
    # default, where a worker on this database would take another process's tasks: CI's stop 31).
    if os.environ.get("REDIS_URL") and not os.environ.get("DEADLINE_REDIS_URL"):
        os.environ["DEADLINE_REDIS_URL"] = os.environ["REDIS_URL"]
    os.environ["REDIS_URL"] = ""  # local-memory cache, no broker: the other rows send no task anywhere
    import django
    from django.conf import settings

    django.setup()
    # already configured (the test suite calls main()): the same two differences as bench.settings
    settings.ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
    settings.ROOT_URLCONF = "bench.urls"
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("load_reference", verbosity=0)


def machine() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    try:
        with open("/proc/meminfo") as fh:
            mem = int(fh.readline().split()[1]) / 1024 / 1024
    except OSError:
        mem = 0
    return (
        f"{os.cpu_count()} CPU, {mem:.1f} GiB RAM, PostgreSQL {pg}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


# --- the table --------------------------------------------------------------------------------


def table(results: list[Result]) -> str:
    head = "| benchmark | platform | baseline | ratio | goal | met | peak RSS MiB (platform / baseline) |"
    rows = [head, "|---|---|---|---|---|---|---|"]
    for r in results:
        rows.append(
            f"| {r.name} | {r.platform} | {r.baseline} | {r.ratio_text} | {r.goal_text} | "
            f"{r.met_text} | {r.platform_mb:.0f} / {r.baseline_mb:.0f} |"
        )
    notes = [f"- {r.name}: {r.note}" for r in results if r.note]
    return "\n".join(rows + (["", *notes] if notes else []))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Run every benchmark and print the table.")
    parser.add_argument("--products", type=int, default=10_000, help="dataset size (default 10000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each throughput loop")
    parser.add_argument("--repeat", type=int, default=5, help="timed repeats of each server-time measurement")
    parser.add_argument("--sample", type=int, default=200, help="product-years timed in the per-object loop")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated benchmark names: evaluation, dashboard, api, verify, search, pivot, publication, import, "
        "encryption, deadline "
        "(the seed always runs first; --only seed runs nothing else)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="skip seeding when the database already holds the dataset of this --products and --seed",
    )
    parser.add_argument("--import-rows", type=int, default=10_000, help="product rows of the Excel import file")
    parser.add_argument("--month", default="", help="month of the monthly publications, YYYY-MM (default: last month)")
    parser.add_argument(
        "--ports",
        default="",
        help="comma-separated port codes the monthly publication builds (default: every province port)",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of the throughput benchmarks")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections (one wrk thread)")
    args = parser.parse_args(argv)
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE)
    args.database_url = url
    if not url.startswith(("postgres://", "postgresql://")):
        parser.error("BENCH_DATABASE_URL must be a PostgreSQL URL (the seed writes with COPY)")
    ensure_database(url)
    setup_django(url)
    from bench import cases

    out = sys.stdout
    out.write(f"bench: {args.products:,} products, seed {args.seed}, database {urlparse(url).path.lstrip('/')}\n")
    out.write(f"machine: {machine()}\n")
    out.flush()
    wanted = {name.strip() for name in args.only.split(",") if name.strip()}
    results = cases.run_all(args, wanted, log=lambda text: (out.write(text + "\n"), out.flush()))
    out.write("\n" + table(results) + "\n")
    return 0
