"""The filing-deadline day under a mixed load (issue 21, part 5): locust plays the scenario of
`bench/locust_deadline.py` (the public searching and opening product pages, enterprises signing in,
saving and submitting filings with their CSRF tokens, enterprise systems on the API, ports on their
dashboards, outside offices verifying) against gunicorn + PostgreSQL + Redis + a Celery worker on this
machine, on the bench's dataset.

The baseline is the same locust, the same number of users and the same seconds, every request the bare
Django response (`BareUser`), measured in the same run against the same server. Reported: p50/p95/p99 per
request kind, the error rate, and the mixed throughput as a ratio of the bare one. Goals on the 2-core
machine: 0 errors, p95 ≤ 500 ms for every kind, throughput ≥ 40 % of the bare response.

Unlike the other throughput rows the server runs with the production's password hasher (the login is
part of the day), real Celery workers (the submissions' notices, the summary marks) and Redis (cache,
broker); rate limits are off, as the load comes from one address here and from thousands on the day.
Every run submits some of the dataset's drafts; the next run picks units whose drafts are still open.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import loopback
from bench.runner import Result

PASSWORD = "Deadline-Bench-2026"  # noqa: S105 - the bench accounts' password, on the bench database only
USERS = ("PublicUser", "EnterpriseUser", "ApiUser", "PortUser", "VerifierUser")
P95_GOAL_MS = 500.0
LOCUSTFILE = loopback.ROOT / "bench" / "locust_deadline.py"


def _drafts_by_unit(limit: int, exclude: set[int]) -> dict[int, list[tuple[int, int]]]:
    """Units with open drafts that pass the submission rules (`workflow.check_submittable`: a verified unit,
    contributions within 100 %, patents in force…): unit → (product, version). A seeded draft that breaks a rule
    answers 400 on submission, as it should; the scenario's filers submit drafts they have finished."""
    from django.core.exceptions import ValidationError

    from filings.choices import FilingStatus
    from filings.models import ProductVersion
    from filings.workflow import check_submittable

    found: dict[int, list[tuple[int, int]]] = {}
    drafts = (
        ProductVersion.objects.filter(status=FilingStatus.DRAFT, product__unit__verified_at__isnull=False)
        .exclude(product__unit_id__in=exclude)
        .order_by("product__unit_id", "pk")
        .values_list("product__unit_id", "product_id", "pk")
    )
    for unit, product, version in drafts.iterator(chunk_size=2000):
        if unit not in found and len(found) >= limit:
            break
        try:
            check_submittable(ProductVersion.objects.get(pk=version))
        except ValidationError:
            continue
        found.setdefault(unit, []).append((product, version))
    return found


def _account(email: str, role: str, unit_id: int | None = None) -> Any:
    from django.utils import timezone

    from filings.models import UnitMembership
    from patent_platform.models import User

    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email, PASSWORD, role=role, full_name="截止日压测", email_confirmed_at=timezone.now()
        )
    if unit_id is not None and not UnitMembership.objects.filter(user=user, unit_id=unit_id).exists():
        UnitMembership.objects.create(user=user, unit_id=unit_id, is_manager=True)
    return user


def write_plan(path: Path, enterprises: int = 60, api: int = 20) -> dict[str, Any]:
    """The accounts, drafts, tokens and queries of the scenario, committed so that gunicorn sees them."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.test import override_settings
    from django.utils import timezone

    from bench.cases import port_admin
    from bench.verify import client_and_token
    from filings.models import Product
    from patent_platform.api.auth import issue_token
    from patent_platform.choices import Role
    from patent_platform.models import User

    # the production hasher (Django's default list): the bench settings' MD5 would make the login free
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
        hashed = make_password(PASSWORD)
    with transaction.atomic():
        # a unit of an earlier run comes back while it has open drafts (its account is found again)
        units = _drafts_by_unit(enterprises + api, set())
        if not units:
            raise RuntimeError(f"the dataset has too few units with open drafts ({len(units)}): seed it again")
        chosen = list(units.items())
        plan: dict[str, Any] = {"password": PASSWORD, "enterprises": [], "api": [], "ports": []}
        accounts = []
        for n, (unit, rows) in enumerate(chosen):
            if n % 4 == 3 and len(plan["api"]) < api:
                user = _account(f"api-{unit}@deadline.bench", Role.ENTERPRISE, unit)
                accounts.append(user.pk)
                products = list(Product.objects.filter(unit_id=unit).values_list("pk", flat=True)[:20])
                plan["api"].append(
                    {"token": issue_token(user).key, "products": products, "drafts": [p for p, _v in rows]}
                )
            else:
                user = _account(f"ent-{unit}@deadline.bench", Role.ENTERPRISE, unit)
                accounts.append(user.pk)
                plan["enterprises"].append({"email": user.email, "drafts": [v for _p, v in rows]})
        if not plan["api"]:  # a small dataset: one unit's system reads on the API (its drafts stay the page's)
            unit = chosen[0][0]
            user = _account(f"api-{unit}@deadline.bench", Role.ENTERPRISE, unit)
            accounts.append(user.pk)
            products = list(Product.objects.filter(unit_id=unit).values_list("pk", flat=True)[:20])
            plan["api"].append({"token": issue_token(user).key, "products": products, "drafts": []})
        port = port_admin()
        plan["ports"].append({"email": port.email})
        User.objects.filter(pk__in=[*accounts, port.pk]).update(password=hashed)
    public = Product.objects.public()
    names = list(public.order_by("-pk").values_list("published_version__name", "unit__name", "filing_number")[:3000])
    words = [w for w, _n in Counter(name[:2] for name, _u, _f in names if name).most_common(10)]
    plan.update(
        words=words,
        unit_names=sorted({unit[:4] for _n, unit, _f in names[:200]}),
        filing_numbers=[f for _n, _u, f in names[:1000] if f],
        verify_token=client_and_token()[1],
        yesterday=(timezone.now() - dt.timedelta(days=1)).isoformat(timespec="seconds"),
    )
    path.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    return plan


def read_stats(prefix: str) -> list[dict[str, Any]]:
    """locust's `<prefix>_stats.csv`: one row per request kind and the "Aggregated" row."""
    with open(f"{prefix}_stats.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with open(f"{prefix}_failures.csv", encoding="utf-8") as handle:
        failures = {row["Name"]: row["Error"] for row in csv.DictReader(handle)}
    out = []
    for row in rows:
        out.append(
            {
                "name": row["Name"],
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "rps": float(row["Requests/s"]),
                "p50": float(row["50%"] or 0),
                "p95": float(row["95%"] or 0),
                "p99": float(row["99%"] or 0),
                "error": failures.get(row["Name"], ""),
            }
        )
    return out


def run_locust(
    base: str, plan: Path, classes: tuple[str, ...], users: int, seconds: int, prefix: str, wait: float = 0.0
) -> list[dict[str, Any]]:
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        base,
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--run-time",
        f"{seconds}s",
        "--stop-timeout",
        "30",
        "--csv",
        prefix,
        "--only-summary",
        "--loglevel",
        "WARNING",
        *classes,
    ]
    env = {**os.environ, "DEADLINE_PLAN": str(plan), "DEADLINE_WAIT": str(wait)}
    done = subprocess.run(  # noqa: S603 - our own argv
        command, cwd=loopback.ROOT, env=env, capture_output=True, text=True, timeout=seconds + 300, check=False
    )
    if not Path(f"{prefix}_stats.csv").exists():
        raise RuntimeError(f"locust printed no statistics ({done.returncode}):\n{done.stderr[-3000:]}")
    return read_stats(prefix)


def start_worker(database_url: str, redis_url: str, settings: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings, "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    command = [sys.executable, "-m", "celery", "-A", "patent_platform", "worker", "--pool=solo", "-l", "warning"]
    return subprocess.Popen(command, cwd=loopback.ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        f"{'request kind':<28} {'requests':>8} {'errors':>6} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}"
    ]
    for row in rows:
        lines.append(
            f"{row['name']:<28} {row['requests']:>8} {row['failures']:>6} {row['rps']:>7.1f} "
            f"{row['p50']:>7.0f} {row['p95']:>7.0f} {row['p99']:>7.0f}"
            + (f"  ({row['error'][:80]})" if row.get("error") else "")
        )
    return "\n".join(lines)


def deadline_day(
    database_url: str,
    redis_url: str,
    *,
    users: int,
    seconds: int,
    workers: int,
    log: Callable[[str], Any],
    wait: float = 0.0,
) -> dict[str, Any]:
    """Plan, server, worker, the bare run and the mixed run; the statistics of both (`wait`: the users' think
    time, at most, in seconds; the bench gives none)."""
    settings = "bench.deadline_settings"
    with tempfile.TemporaryDirectory(prefix="deadline-") as tmp:
        plan = Path(tmp) / "plan.json"
        written = write_plan(plan)
        log(
            f"  deadline plan: {len(written['enterprises'])} enterprise accounts, {len(written['api'])} API tokens, "
            f"{sum(len(a['drafts']) for a in written['enterprises'] + written['api'])} open drafts"
        )
        server = loopback.Loopback(database_url, workers=workers, settings=settings, env={"REDIS_URL": redis_url})
        worker = start_worker(database_url, redis_url, settings)
        server.start()
        try:
            server.wait_ready("", "/bench/bare/")
            bare = run_locust(server.base, plan, ("BareUser",), users, seconds, f"{tmp}/bare", wait)
            mixed = run_locust(server.base, plan, USERS, users, seconds, f"{tmp}/mixed", wait)
        finally:
            server.stop()
            worker.terminate()
            worker.wait(timeout=60)
    return {"bare": bare, "mixed": mixed}


def redis_for_worker() -> str:
    """The Redis of the deadline row's worker: the one the bench was given. Never a guessed default: a worker
    on a database another process uses as its broker takes that process's tasks into this database."""
    redis_url = os.environ.get("DEADLINE_REDIS_URL") or os.environ.get("REDIS_URL")
    if not redis_url:
        raise SystemExit("the deadline benchmark runs a Celery worker: set REDIS_URL (or DEADLINE_REDIS_URL)")
    return redis_url


def bench_deadline(args: Any, log: Callable[[str], Any]) -> list[Result]:
    from django.conf import settings

    redis_url = redis_for_worker()
    database = settings.DATABASES["default"]
    database_url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    seconds = max(10, round(args.seconds * 10))
    users = max(4, args.connections)  # as many as wrk's connections in the other rows: 2 per sync worker
    measured = deadline_day(database_url, redis_url, users=users, seconds=seconds, workers=args.workers, log=log)
    bare = next(r for r in measured["bare"] if r["name"] == "Aggregated")
    kinds = [r for r in measured["mixed"] if r["name"] != "Aggregated"]
    mixed = next(r for r in measured["mixed"] if r["name"] == "Aggregated")
    log("  deadline day, mixed load:\n" + table([*kinds, mixed]))
    log("  bare response, the same users:\n" + table([bare]))
    worst = max(kinds, key=lambda r: r["p95"])
    errors = mixed["failures"] / mixed["requests"] if mixed["requests"] else 1.0
    setting = f"locust, {users} users, {seconds} s, gunicorn {args.workers} sync workers + 1 Celery worker + Redis"
    ratio = mixed["rps"] / bare["rps"] if bare["rps"] else 0.0
    return [
        Result(
            name="deadline day, mixed load: throughput",
            platform=f"{mixed['rps']:.1f} req/s over {len(kinds)} request kinds ({mixed['requests']} requests)",
            baseline=f"bare response: {bare['rps']:.1f} req/s",
            ratio=ratio,
            ratio_text=f"{ratio * 100:.1f} % of its throughput",
            goal=0.4,
            goal_text="≥ 40 % of its throughput",
            platform_mb=0.0,
            baseline_mb=0.0,
            note=setting,
        ),
        Result(
            name="deadline day, mixed load: worst p95",
            platform=f"{worst['p95']:.0f} ms ({worst['name']})",
            baseline=f"goal {P95_GOAL_MS:.0f} ms for every kind",
            ratio=worst["p95"] / P95_GOAL_MS,
            ratio_text=f"{worst['p95'] / P95_GOAL_MS:.2f}× the goal",
            goal=1.0,
            goal_text="≤ 1× (500 ms)",
            platform_mb=0.0,
            baseline_mb=0.0,
            lower_is_better=True,
            note=setting,
        ),
        Result(
            name="deadline day, mixed load: errors",
            platform=f"{mixed['failures']} of {mixed['requests']} requests",
            baseline="0 errors",
            ratio=errors,
            ratio_text=f"{errors * 100:.2f} % errors",
            goal=0.0,
            goal_text="0",
            platform_mb=0.0,
            baseline_mb=0.0,
            lower_is_better=True,
            note=setting,
        ),
    ]
