"""`manage.py seed_scale` and `python -m bench` (issue 7) on a small dataset.

The seed writes with PostgreSQL COPY, so these tests need PostgreSQL (except the SQLite refusal). The
seed's FK constraints are deferred; `SET CONSTRAINTS ALL IMMEDIATE` checks them inside the test's
transaction, as the commit would.
"""

import io
import os
import re
import shutil
from collections import Counter
from urllib.parse import quote

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Max
from django.test import Client
from django.utils import timezone

from evaluation.models import Candidate, IndicatorResult, Round
from filings import workflow
from filings.choices import FilingStatus, RightKind
from filings.identifiers import parse_patent_number, validate_uscc
from filings.models import (
    FilingNumberSequence,
    FilingUnit,
    Patent,
    PatentLink,
    PatentRight,
    Product,
    ProductClass,
    ProductVersion,
)
from patent_platform.choices import Role
from patent_platform.models import User
from provincial import scale
from provincial.models import ManagementUnit, Publication, Roster
from provincial.services import port_add_admin

N = 300
BIG_SIX = {"440000", "320000", "330000", "370000", "110000", "310000"}
FILING_NUMBER = re.compile(r"^BA(?P<year>20[0-9]{2})(?P<province>[0-9]{2})(?P<serial>[0-9]{6})$")


def seed(**options: object) -> str:
    out = io.StringIO()
    call_command("seed_scale", products=N, stdout=out, **options)
    return out.getvalue()


@pytest.mark.postgres
@pytest.mark.django_db
def test_seed_scale_writes_a_valid_skewed_dataset(reference: None) -> None:
    output = seed(seed=7)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # every deferred FK of the COPY checked now

    # proportions
    assert Product.objects.count() == N
    assert FilingUnit.objects.count() == N * 3 // 10
    pairs = PatentLink.objects.values("version__product_id", "right_id").distinct().count()
    assert pairs == 3 * N
    assert 0.6 * pairs <= PatentRight.objects.count() <= pairs
    assert Patent.objects.count() == PatentRight.objects.count()
    assert not Patent.objects.filter(rights__isnull=True).exists()
    assert not Product.objects.filter(versions__isnull=True).exists()
    last = workflow.default_data_year()
    data_years = set(ProductVersion.objects.values_list("data_year", flat=True))
    assert data_years == set(range(last - 4, last + 1))
    versions_of = Counter(ProductVersion.objects.values_list("product_id", flat=True))
    assert max(versions_of.values()) == 5 and min(versions_of.values()) == 1, "not every product has five years"

    # statuses: all of them, approved dominant; what the public sees is consistent
    statuses = Counter(ProductVersion.objects.values_list("status", flat=True))
    assert set(statuses) == set(FilingStatus.values)
    assert statuses[FilingStatus.APPROVED] > 0.5 * sum(statuses.values())
    for product in Product.objects.exclude(published_version=None).select_related("published_version")[:100]:
        assert product.published_version.product_id == product.pk
        assert product.published_version.status == FilingStatus.APPROVED
        assert product.filing_number
    assert not Product.objects.filter(published_version=None, versions__status=FilingStatus.APPROVED).exists()
    assert set(PatentRight.objects.values_list("kind", flat=True)) == set(RightKind.values)
    assert ProductVersion.objects.filter(exports__gt=0).exists()

    # identifiers with their check characters, filing numbers in the real format and in step with the sequences
    for uscc in FilingUnit.objects.values_list("uscc", flat=True):
        assert validate_uscc(uscc) == uscc
    for number in Patent.objects.values_list("number", flat=True):
        assert parse_patent_number(number).normalized == number
    serials: dict[tuple[int, str], int] = {}
    for number, province in Product.objects.exclude(filing_number=None).values_list("filing_number", "province_code"):
        match = FILING_NUMBER.match(number)
        assert match, number
        assert match["province"] == province[:2]
        key = (int(match["year"]), match["province"])
        serials[key] = max(serials.get(key, 0), int(match["serial"]))
    for key, serial in serials.items():
        assert FilingNumberSequence.objects.get(year=key[0], province_code=key[1]).last >= serial

    # skew: the six provinces hold most units and products, and a long tail has the rest
    provinces = Counter(FilingUnit.objects.values_list("province_code", flat=True))
    assert sum(provinces[p] for p in BIG_SIX) >= 0.6 * sum(provinces.values())
    assert len(provinces) >= 10
    assert Product.objects.filter(province_code__in=BIG_SIX).count() >= 0.55 * N

    # the ORM reads and validates what COPY wrote
    for model in (FilingUnit, Patent, PatentRight, Product, ProductVersion, PatentLink):
        for obj in model.objects.order_by("pk")[:40]:
            obj.full_clean(validate_unique=False)

    # rosters and a certification round with candidates and their indicator results
    assert Roster.objects.filter(title__contains="规模测试").count() == 2
    assert Roster.objects.get(owner__code="440000").entries.exists()
    rnd = Round.objects.get(name__contains="规模测试")
    assert Candidate.objects.filter(round=rnd).count() > 0
    assert IndicatorResult.objects.filter(candidate__round=rnd).exists()

    # the rate report
    assert "rows/s" in output and "filings_patentlink" in output and "total" in output

    # sequences reset: new rows through the ORM get fresh ids; a new approval gets a fresh filing number
    unit = FilingUnit.objects.first()
    product = Product.objects.create(unit=unit)
    assert product.pk > N
    version = ProductVersion.objects.create(
        product=product, data_year=last, name="新产品", product_class=ProductClass.objects.first()
    )
    assert version.pk == ProductVersion.objects.aggregate(m=Max("pk"))["m"]
    new_number = workflow.allocate_filing_number(unit.province_code)
    assert not Product.objects.filter(filing_number=new_number).exists()

    # a second run needs --force
    with pytest.raises(CommandError, match="--force"):
        seed(seed=7)

    # the dashboards and the product list API render on the seeded data
    port_admin = User.objects.create_user(
        "seed-port@example.cn", "Demo-2026!", role=Role.PORT_ADMIN, email_confirmed_at=timezone.now()
    )
    port_add_admin(unit=ManagementUnit.objects.get(code="440000"), user=port_admin)
    client = Client()
    client.force_login(port_admin)
    page = client.get("/port/")
    assert page.status_code == 200
    assert FilingUnit.objects.filter(province_code="440000").exists()
    listed = client.get("/api/v1/products/")
    assert listed.status_code == 200
    assert listed.json()["results"]
    assert all(row["filing_number"] is None or row["filing_number"][6:8] == "44" for row in listed.json()["results"])
    # the public search reads each product's search text: seeded in step with its names, as the platform writes it
    from django.db.models import F

    from filings.models.search_text import text_expression

    assert Product.objects.exclude(search_text="").exists()
    assert not Product.objects.annotate(now=text_expression()).exclude(search_text=F("now")).exists()


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_same_seed_gives_the_same_rows(reference: None) -> None:
    first = scale.generate_all(scale.Plan(products=120, seed=3))
    again = scale.generate_all(scale.Plan(products=120, seed=3))
    other = scale.generate_all(scale.Plan(products=120, seed=4))
    assert [(spec.name, lines) for spec, lines in first] == [(spec.name, lines) for spec, lines in again]
    assert [lines for _s, lines in first] != [lines for _s, lines in other]


@pytest.mark.django_db
def test_seed_scale_refuses_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connection, "vendor", "sqlite")
    with pytest.raises(CommandError, match="PostgreSQL COPY"):
        seed()


def _table_rows(out: str) -> dict[str, list[str]]:
    rows = [line for line in out.splitlines() if line.startswith("| ") and "benchmark" not in line]
    return {cells[0]: cells for cells in ([c.strip() for c in row.strip("|").split("|")] for row in rows)}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_bench_prints_the_table_with_ratios(
    reference: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from django.conf import settings
    from django.urls import clear_url_caches

    from bench.runner import main

    db = connection.settings_dict
    url = f"postgres://{quote(db['USER'] or 'postgres')}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    # the bench sets these for its own process; give them back afterwards
    for name in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "DEADLINE_REDIS_URL"):
        monkeypatch.setenv(name, os.environ.get(name, ""))
    monkeypatch.setenv("BENCH_DATABASE_URL", url)
    saved = settings.ROOT_URLCONF, settings.ALLOWED_HOSTS
    quick = ["--products", "200", "--seconds", "0.2", "--repeat", "1", "--sample", "20"]
    try:
        # the publication for one port + national only, a small import file: the test stays fast
        assert main([*quick, "--ports", "440000", "--import-rows", "120"]) == 0
        first = capsys.readouterr().out
        versions = set(ProductVersion.objects.values_list("pk", "status", "name"))
        # a second run on the same dataset: nothing seeded again
        assert main([*quick, "--reuse", "--only", "evaluation"]) == 0
        second = capsys.readouterr().out
    finally:
        settings.ROOT_URLCONF, settings.ALLOWED_HOSTS = saved
        clear_url_caches()
    header = "| benchmark | platform | baseline | ratio | goal | met | peak RSS MiB (platform / baseline) |"
    assert header in first
    table = _table_rows(first)
    names = list(table)
    assert names[:3] == [
        "seed_scale",
        "certification patent evaluation, first run",
        "certification patent evaluation, re-run",
    ]
    assert any(name.startswith("port dashboard, throughput") for name in names)
    assert any(name.startswith("product list API") for name in names)
    publication = next(cells for name, cells in table.items() if name.startswith("monthly publication"))
    assert "1 port(s) + national" in publication[0]
    assert "2 publications" in publication[1] and "WeasyPrint" in publication[2]
    assert publication[4] == "≤ 1.5×"
    excel = table["Excel import, 120 product rows with full validation"]
    assert "run_import_job: 120 rows" in excel[1] and "bulk_create" in excel[2]
    for cells in table.values():
        assert re.search(r"[0-9]", cells[3]), cells  # the ratio column holds a figure
        assert cells[5] in {"yes", "no"}
    # met follows the goal's direction: a time ratio is met at or below its ceiling
    ratio = float(re.match(r"([0-9.]+)×", publication[3]).group(1))
    assert publication[5] == ("yes" if ratio <= 1.5 else "no")
    if shutil.which("wrk"):
        throughput = next(cells for name, cells in table.items() if name.startswith("port dashboard, throughput"))
        assert "gunicorn" in first and "wrk -t1 -c4" in first
        assert re.search(r"GET /port/: [0-9.]+ req/s \([1-9][0-9,]* requests", throughput[1]), throughput
        api = next(cells for name, cells in table.items() if name.startswith("product list API"))
        assert re.search(r"GET /api/v1/products/: [0-9.]+ req/s \([1-9][0-9,]* requests", api[1]), api
    # the import and the publication were rolled back: the seeded data is as it was
    assert Product.objects.count() == 200
    assert not ProductVersion.objects.filter(name__startswith="基准导入产品").exists()
    assert not Publication.objects.exists()

    reused = _table_rows(second)
    assert list(reused) == [
        "seed_scale",
        "certification patent evaluation, first run",
        "certification patent evaluation, re-run",
    ]
    assert reused["seed_scale"][1].startswith("reused: 200 products, seed 1")
    assert reused["seed_scale"][3] == "reused" and reused["seed_scale"][5] == "—"
    assert set(ProductVersion.objects.values_list("pk", "status", "name")) == versions


def test_the_deadline_row_refuses_a_guessed_redis_before_seeding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its worker takes whatever waits on its Redis database: on a guessed one (another process's broker)
    it ran that process's tasks in the bench's database. Without REDIS_URL it refuses, before the seed."""
    from bench import cases

    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("DEADLINE_REDIS_URL", raising=False)
    seeded: list[object] = []
    monkeypatch.setattr(cases, "bench_seed", lambda args, log: seeded.append(args))
    with pytest.raises(SystemExit, match="REDIS_URL"):
        cases.run_all(object(), {"deadline"}, print)
    assert seeded == []
    monkeypatch.setenv("DEADLINE_REDIS_URL", "redis://127.0.0.1:6379/13")
    from bench.deadline import redis_for_worker

    assert redis_for_worker() == "redis://127.0.0.1:6379/13"
