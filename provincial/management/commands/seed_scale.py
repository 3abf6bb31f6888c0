"""`manage.py seed_scale --products N [--seed S] [--years 5] [--force]`: a national-size dataset (issue 7).

The filing tables are written with PostgreSQL COPY by `provincial.scale`; then, through the ORM, two
rosters (a national one and 广东's own) and one certification round of the last data year, evaluated
by the set-based engine (its benchmark sets suggested from the seeded sample and fixed).

PostgreSQL only: on SQLite the command refuses (COPY is the point; no slow fallback). It writes into
an empty or demo database and refuses to run a second time (seeded units found) unless --force is
given; --force first empties the filing, certification (rounds, benchmark sets, candidates) and roster
tables — demo filings included — and then seeds afresh. Everything runs in one transaction.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from evaluation import rounds
from evaluation.demo import fix_benchmarks
from evaluation.models import MethodVersion, Round
from filings.identifiers import build_uscc
from filings.models import FilingUnit
from patent_platform.choices import Role
from patent_platform.clock import china_today
from patent_platform.models import Region, User
from provincial import scale
from provincial.choices import RosterCategory
from provincial.dashboards import cells
from provincial.models import ManagementUnit
from provincial.rosters import ParsedEntry, region_of, roster_save

SCALE_NATIONAL = "scale-national@example.cn"


class Command(BaseCommand):
    help = "Seed a national-size dataset with PostgreSQL COPY (products, units, patents, rosters, a round)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--products", type=int, required=True, help="number of products (N)")
        parser.add_argument("--seed", type=int, default=1, help="random seed (same seed, same rows)")
        parser.add_argument("--years", type=int, default=5, help="data years (1–10), ending last year")
        parser.add_argument(
            "--force", action="store_true", help="empty the filing, certification and roster tables first"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError(
                "seed_scale writes with PostgreSQL COPY; set DATABASE_URL=postgres://… (SQLite is not supported)."
            )
        n, years = options["products"], options["years"]
        if n < 2:
            raise CommandError("--products must be at least 2.")
        if not 1 <= years <= 10:
            raise CommandError("--years must be between 1 and 10.")
        if not Region.objects.exists():
            call_command("load_reference", verbosity=0)
        if scale.seeded_units_exist() and not options["force"]:
            raise CommandError(
                "This database already holds seeded data; run with --force to empty the filing, "
                "certification and roster tables and seed again."
            )
        plan = scale.Plan(products=n, seed=options["seed"], years=years)
        with transaction.atomic():
            if options["force"]:
                scale.truncate()
            report = scale.seed_tables(plan)
            started = time.perf_counter()
            national = national_user()
            rosters = seed_rosters(national, plan)
            report.steps["rosters (ORM)"] = time.perf_counter() - started
            started = time.perf_counter()
            counts = seed_round(national, plan)
            report.steps["certification round (benchmarks + set-based evaluation)"] = time.perf_counter() - started
            started = time.perf_counter()
        report.steps["commit (the deferred FK checks of every row)"] = time.perf_counter() - started
        started = time.perf_counter()
        cells.rebuild()
        report.steps["dashboard summary (full rebuild)"] = time.perf_counter() - started
        out = self.stdout.write
        out(f"seed_scale: {n:,} products, seed {plan.seed}, data years {plan.last_year - years + 1}–{plan.last_year}")
        for line in report.lines():
            out(line)
        out(f"rosters: {rosters} entries; round: {counts['candidates']} candidates, {counts['passed']} passed")


def national_user() -> User:
    user = User.objects.filter(role=Role.NATIONAL_ADMIN, is_active=True).order_by("pk").first()
    if user is None:
        user = User.objects.filter(email=SCALE_NATIONAL).first() or User.objects.create_user(
            SCALE_NATIONAL,
            None,
            full_name="国家局管理员（规模测试）",
            role=Role.NATIONAL_ADMIN,
            email_confirmed_at=timezone.now(),  # made by the operator's command, like createsuperuser's
        )
    return user


def seed_rosters(national: User, plan: scale.Plan) -> int:
    """A national roster (2 % of the units, most of them filed, plus enterprises that never filed) and
    the 广东 port's own roster of its units."""
    rng = random.Random(plan.seed + 1)  # noqa: S311 (test data, not security)
    known = set(Region.objects.values_list("code", flat=True))
    units = list(
        FilingUnit.objects.filter(uscc__regex=rf"^.{{8}}{scale.UNIT_MARK}").order_by("pk").values_list("uscc", "name")
    )
    size = max(10, len(units) // 50)
    picked = rng.sample(units, min(size, len(units)))
    counties = list(Region.objects.filter(level="county").values_list("code", flat=True).order_by("code"))
    unfiled = [
        (
            build_uscc(region_code=rng.choice(counties), org_body=scale.UNFILED_MARK + scale.base31(i, 5)),
            f"规模测试未备案企业{i:05d}有限公司",
        )
        for i in range(max(3, size // 4))
    ]
    year = china_today().year
    total = 0
    for owner, category, title, pairs in (
        (None, RosterCategory.NATIONAL_ADVANTAGE, f"{year} 年国家知识产权优势企业名单（规模测试）", picked + unfiled),
        (
            ManagementUnit.objects.filter(code="440000").first(),
            RosterCategory.LOCAL_ADVANTAGE,
            f"{year} 年广东省知识产权优势企业名单（规模测试）",
            [p for p in units if p[0][2:4] == "44"][: max(5, size // 5)],
        ),
    ):
        entries = []
        for row, (uscc, name) in enumerate(pairs, start=2):
            codes = region_of(uscc, known)
            if codes is not None:
                entries.append(ParsedEntry(row, uscc, name, *codes))
        roster_save(
            user=national,
            owner=owner,
            category=category,
            year=year,
            title=title,
            source_name="seed_scale",
            entries=entries,
        )
        total += len(entries)
    return total


def seed_round(national: User, plan: scale.Plan) -> dict[str, int]:
    """Benchmarks of the last data year fixed from the sample, and a round evaluated by the engine."""
    method = MethodVersion.active()
    if method is None:
        raise CommandError("no active method version: run `manage.py load_reference` first")
    fix_benchmarks(national, plan.last_year)
    rnd = Round.objects.create(
        name=f"{plan.last_year} 年度专利密集型产品认定（规模测试）",
        data_year=plan.last_year,
        deadline=china_today() - dt.timedelta(days=1),
        method=method,
        created_by=national,
        evaluation_requested_at=plan.now,
    )
    return rounds.round_evaluate(round_id=rnd.pk)
