"""The Excel product import is set-based: its number of queries does not grow with the rows.

Only the progress updates a browser watches (one per `PROGRESS_EVERY` rows) and the INSERT batches
(one per `BATCH_SIZE` products) depend on the size of the file.
"""

from collections.abc import Callable
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from filings.choices import FilingStatus, ImportKind, ImportStatus
from filings.import_template import PRODUCT_COLUMNS, build_template
from filings.imports import BATCH_SIZE, PROGRESS_EVERY, run_import_job
from filings.models import FilingUnit, ImportJob, PatentLink, PatentRight, Product, ProductVersion
from patent_platform.choices import AuditAction
from patent_platform.models import AuditEvent, User
from provincial.models import SummaryDirty

# embedded (CI runs it on SQLite too): SQLite's limit on the parameters of one statement
pytestmark = pytest.mark.embedded

LINKS_PER_PRODUCT = 2


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def rights(add_right: Callable[..., PatentRight], unit_a: FilingUnit, filer_a: User) -> list[PatentRight]:
    return [add_right(unit_a, filer_a) for _ in range(6)]


def product_file(rights: list[PatentRight], rows: int, tag: str) -> bytes:
    """The platform's product template with `rows` rows: products of LINKS_PER_PRODUCT patents each."""
    book = load_workbook(BytesIO(build_template(ImportKind.PRODUCTS)))
    sheet = book.worksheets[0]
    keys = [c.key for c in PRODUCT_COLUMNS]
    for i in range(rows):
        seq, k = divmod(i, LINKS_PER_PRODUCT)
        right = rights[(seq + k) % len(rights)]
        values = {
            "seq": seq + 1,
            "name": f"查询计数产品{tag}-{seq + 1:04d}",
            "model": "QC-1",
            "product_class": "03",
            "sales": 1000.5,
            "exports": 100,
            "output_value": 1200,
            "certification_opt_in": "是" if seq % 2 else "否",
            "patent": right.patent.number,
            "is_core": "是" if k == 0 else "否",
            "contribution": 40,
            "embodiment": "主体结构" if k == 0 else "",
        }
        for c, key in enumerate(keys, start=1):
            sheet.cell(row=i + 2, column=c, value=values.get(key))
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def new_job(unit: FilingUnit, user: User, content: bytes) -> ImportJob:
    return ImportJob.objects.create(
        unit=unit,
        kind=ImportKind.PRODUCTS,
        original_name="q.xlsx",
        created_by=user,
        file=ContentFile(content, "q.xlsx"),
    )


def queries_of_import(
    capture: Callable, unit: FilingUnit, user: User, rights: list[PatentRight], rows: int, tag: str
) -> int:
    job = new_job(unit, user, product_file(rights, rows, tag))
    with CaptureQueriesContext(connection) as queries, capture(execute=True):
        status = run_import_job(job.pk)
    job.refresh_from_db()
    assert status == ImportStatus.DONE, (job.message, job.errors[:5])
    assert job.created_count == rows // LINKS_PER_PRODUCT
    return len(queries)


@pytest.mark.django_db
def test_queries_do_not_grow_with_the_rows(
    django_capture_on_commit_callbacks: Callable, unit_a: FilingUnit, filer_a: User, rights: list[PatentRight]
) -> None:
    small, double = 20, 40  # both below PROGRESS_EVERY and BATCH_SIZE
    assert double < PROGRESS_EVERY and double < BATCH_SIZE
    n = queries_of_import(django_capture_on_commit_callbacks, unit_a, filer_a, rights, small, "a")
    n2 = queries_of_import(django_capture_on_commit_callbacks, unit_a, filer_a, rights, double, "b")
    assert n2 == n, f"{small} rows: {n} queries, {double} rows: {n2} queries"

    # larger files: only one progress update more per PROGRESS_EVERY rows
    small, double = 2 * PROGRESS_EVERY, 4 * PROGRESS_EVERY
    m = queries_of_import(django_capture_on_commit_callbacks, unit_a, filer_a, rights, small, "c")
    m2 = queries_of_import(django_capture_on_commit_callbacks, unit_a, filer_a, rights, double, "d")
    extra = double // PROGRESS_EVERY - small // PROGRESS_EVERY
    extra += insert_batches(double // LINKS_PER_PRODUCT) - insert_batches(small // LINKS_PER_PRODUCT)
    assert m2 - m == extra, (m, m2)
    assert m - n == small // PROGRESS_EVERY + insert_batches(small // LINKS_PER_PRODUCT) - 3, (n, m)


def insert_batches(products: int) -> int:
    """INSERT statements for `products` products (SQLite limits the parameters of one statement)."""
    total = 0
    for model, count in ((Product, products), (ProductVersion, products), (PatentLink, products * LINKS_PER_PRODUCT)):
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        size = min(BATCH_SIZE, max(connection.ops.bulk_batch_size(fields, [None] * count), 1))
        total += -(-count // size)
    return total


@pytest.mark.django_db
def test_bulk_saved_products_are_complete_audited_and_mark_the_summary(
    django_capture_on_commit_callbacks: Callable, unit_a: FilingUnit, filer_a: User, rights: list[PatentRight]
) -> None:
    SummaryDirty.objects.all().delete()
    job = new_job(unit_a, filer_a, product_file(rights, 6, "e"))
    with django_capture_on_commit_callbacks(execute=True):
        assert run_import_job(job.pk) == ImportStatus.DONE
    versions = list(ProductVersion.objects.filter(product__unit=unit_a).select_related("product").order_by("pk"))
    assert [v.name for v in versions] == [f"查询计数产品e-{i:04d}" for i in (1, 2, 3)]
    for version in versions:
        product = version.product
        assert (product.province_code, product.city_code, product.county_code) == (
            unit_a.province_code,
            unit_a.city_code,
            unit_a.county_code,
        )
        assert product.created_by == filer_a and product.filing_number is None and product.created_at
        assert version.status == FilingStatus.DRAFT and version.created_at and version.updated_at
        assert (version.sales, version.exports, version.output_value) == (
            Decimal("1000.50"),
            Decimal(100),
            Decimal(1200),
        )
        links = list(version.links.order_by("-is_core"))
        assert [(link.is_core, link.contribution) for link in links] == [(True, 40), (False, 40)]
        assert links[0].embodiment == "主体结构" and links[1].embodiment == ""
    assert PatentLink.objects.filter(version__product__unit=unit_a).count() == 6
    event = AuditEvent.objects.get(action=AuditAction.IMPORT, object_type="filings.ProductVersion")
    assert event.changes["ids"] == [str(v.pk) for v in versions] and event.actor_id == filer_a.pk
    # no post_save signal: the import itself marks the unit's region for the dashboards' summary
    assert SummaryDirty.objects.filter(
        province_code=unit_a.province_code, city_code=unit_a.city_code, county_code=unit_a.county_code
    ).exists()


@pytest.mark.django_db
def test_uploader_who_lost_access_imports_no_product(
    unit_a: FilingUnit, filer_a: User, rights: list[PatentRight]
) -> None:
    job = new_job(unit_a, filer_a, product_file(rights, 4, "f"))
    filer_a.unit_membership.delete()  # removed from the unit after uploading, before the job ran
    assert run_import_job(job.pk) == ImportStatus.ERROR
    job.refresh_from_db()
    assert "已无权" in job.message and job.created_count == 0
    assert not Product.objects.exists() and not ProductVersion.objects.exists() and not PatentLink.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.IMPORT, object_type="filings.ProductVersion").exists()
