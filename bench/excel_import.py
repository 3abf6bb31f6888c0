"""The Excel product import with full validation vs bulk_create of the same rows.

The file: the platform's own product template (`filings.import_template.build_template`) filled with
`--import-rows` rows (one row per product–patent link; 1–5 rows per product, 3 on average) for one
filing unit — a job imports one unit's file, up to `imports.MAX_ROWS` rows — the seeded unit with the
most patent rights, so the products link rights the unit holds, as the template requires.

Platform: `filings.imports.run_import_job` (what the `run_import` task calls) on a queued `ImportJob`
uploaded by one of the unit's users: read the workbook, parse and check every cell and product, then
save every product through `services.product_create` in one transaction.

Baseline: `bulk_create` of the same Product, ProductVersion and PatentLink rows (what the import
creates), built from the same values without any check.

Both inside one transaction, rolled back: the deferred FK checks are forced (SET CONSTRAINTS ALL
IMMEDIATE) inside each timing, as a commit would do, and the database is unchanged afterwards.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from decimal import Decimal
from io import BytesIO
from typing import Any

from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Count
from django.test import TestCase, override_settings

from bench.runner import Result, measured

SIZES = (3, 1, 4, 2, 5)  # rows (linked patents) per product, in turn: 3 on average


def _force_constraints() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def plan_products(rights: list[tuple[int, str]], classes: list[Any], rows: int, year: int) -> list[dict[str, Any]]:
    """Products with their links, `rows` links in all, each linking distinct rights of the unit."""
    from filings import candidacy

    # a third of the products opt in to certification while the year's cut-off has not passed (after it the
    # import refuses an opt-in, as every path does: evaluation/schedule.py)
    may_opt_in = candidacy.opt_in_refusal(year, None) is None
    products: list[dict[str, Any]] = []
    done = 0
    i = 0
    while done < rows:
        size = min(SIZES[i % len(SIZES)], len(rights), rows - done)
        first = (i * 7) % len(rights)
        chosen = [rights[(first + k) % len(rights)] for k in range(size)]
        sales = Decimal(100 + (i * 37) % 9000) + Decimal("0.50")
        products.append(
            {
                "seq": i + 1,
                "name": f"基准导入产品{i + 1:05d}",
                "model": f"BX-{i + 1:05d}",
                "product_class": classes[i % len(classes)],
                "description": "批量导入基准测试产品",
                "data_year": year,
                "sales": sales,
                "exports": (sales / 4).quantize(Decimal("0.01")),
                "output_value": sales + 10,
                "certification_opt_in": may_opt_in and i % 3 == 0,
                "links": [
                    {
                        "right": right_id,
                        "number": number,
                        "is_core": k == 0,
                        "contribution": Decimal(60 // size),
                        "embodiment": "主体结构" if k == 0 else "",
                    }
                    for k, (right_id, number) in enumerate(chosen)
                ],
            }
        )
        done += size
        i += 1
    return products


def workbook(products: list[dict[str, Any]]) -> bytes:
    """The platform's product template with the products filled in (product columns on every row)."""
    from openpyxl import load_workbook

    from filings.choices import ImportKind
    from filings.import_template import PRODUCT_COLUMNS, build_template

    book = load_workbook(BytesIO(build_template(ImportKind.PRODUCTS)))
    sheet = book.worksheets[0]
    keys = [c.key for c in PRODUCT_COLUMNS]
    r = 2
    for product in products:
        for link in product["links"]:
            values = {
                **{k: v for k, v in product.items() if k != "links"},
                "product_class": product["product_class"].code,
                "sales": float(product["sales"]),
                "exports": float(product["exports"]),
                "output_value": float(product["output_value"]),
                "certification_opt_in": "是" if product["certification_opt_in"] else "否",
                "patent": link["number"],
                "is_core": "是" if link["is_core"] else "否",
                "contribution": int(link["contribution"]),
                "embodiment": link["embodiment"],
            }
            for c, key in enumerate(keys, start=1):
                sheet.cell(row=r, column=c, value=values.get(key))
            r += 1
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def bulk_rows(unit: Any, user: Any, products: list[dict[str, Any]]) -> int:
    """bulk_create of the rows the import creates; returns how many rows were written."""
    from filings.models import PatentLink, Product, ProductVersion

    made = Product.objects.bulk_create(
        Product(
            unit=unit,
            created_by=user,
            province_code=unit.province_code,
            city_code=unit.city_code,
            county_code=unit.county_code,
        )
        for _ in products
    )
    versions = ProductVersion.objects.bulk_create(
        ProductVersion(
            product=product,
            data_year=data["data_year"],
            name=data["name"],
            model=data["model"],
            product_class=data["product_class"],
            description=data["description"],
            sales=data["sales"],
            exports=data["exports"],
            output_value=data["output_value"],
            certification_opt_in=data["certification_opt_in"],
        )
        for product, data in zip(made, products, strict=True)
    )
    links = PatentLink.objects.bulk_create(
        PatentLink(
            version=version,
            right_id=link["right"],
            is_core=link["is_core"],
            contribution=link["contribution"],
            embodiment=link["embodiment"],
        )
        for version, data in zip(versions, products, strict=True)
        for link in data["links"]
    )
    return len(made) + len(versions) + len(links)


def bench_import(args: Any, log: Callable[[str], Any]) -> list[Result]:
    from filings.choices import ImportKind, ImportStatus
    from filings.imports import MAX_ROWS, run_import_job
    from filings.models import FilingUnit, ImportJob, PatentRight, ProductClass, UnitMembership
    from filings.workflow import default_data_year
    from patent_platform.choices import Role
    from patent_platform.models import User

    rows = min(args.import_rows, MAX_ROWS)
    top = (
        PatentRight.objects.values("unit_id").annotate(n=Count("pk")).order_by("-n", "unit_id").first()
    )  # the unit with the most rights
    if top is None:
        raise RuntimeError("no patent rights in the database: the seed did not run")
    unit = FilingUnit.objects.get(pk=top["unit_id"])
    rights = list(PatentRight.objects.filter(unit=unit).order_by("pk").values_list("pk", "patent__number"))
    classes = list(ProductClass.objects.filter(is_active=True).order_by("code"))
    products = plan_products(rights, classes, rows, default_data_year())
    log(f"… import: writing {rows:,} rows ({len(products):,} products, unit with {len(rights)} rights) to XLSX")
    content = workbook(products)
    media = tempfile.mkdtemp(prefix="bench-media-")
    box: dict[str, Any] = {}
    try:
        with override_settings(MEDIA_ROOT=media), transaction.atomic():
            user = User.objects.create_user("bench-import@example.cn", None, role=Role.ENTERPRISE, full_name="bench")
            UnitMembership.objects.create(user=user, unit=unit, is_manager=True)
            job = ImportJob.objects.create(
                unit=unit,
                kind=ImportKind.PRODUCTS,
                original_name="bench-products.xlsx",
                created_by=user,
                file=ContentFile(content, "bench-products.xlsx"),
            )
            saved = transaction.savepoint()

            def platform() -> str:
                with TestCase.captureOnCommitCallbacks(execute=True):
                    status = run_import_job(job.pk)
                _force_constraints()
                return status

            plat_s, plat_mb, status = measured(platform)
            job.refresh_from_db()
            if status != ImportStatus.DONE:
                raise RuntimeError(f"import job {status}: {job.message} {job.errors[:5]}")
            box["created"] = job.created_count
            transaction.savepoint_rollback(saved)

            def baseline() -> int:
                written = bulk_rows(unit, user, products)
                _force_constraints()
                return written

            base_s, base_mb, written = measured(baseline)
            transaction.set_rollback(True)
    finally:
        shutil.rmtree(media, ignore_errors=True)
    ratio = base_s / plat_s
    return [
        Result(
            name=f"Excel import, {rows:,} product rows with full validation",
            platform=f"run_import_job: {rows:,} rows ({box['created']:,} products) in {plat_s:.2f} s "
            f"({rows / plat_s:,.0f} rows/s)",
            baseline=f"bulk_create of the same {written:,} rows: {base_s:.2f} s ({rows / base_s:,.0f} file rows/s)",
            ratio=ratio,
            ratio_text=f"{ratio * 100:.1f} % of its speed",
            goal=0.25,
            goal_text="≥ 25 % of its speed",
            platform_mb=plat_mb,
            baseline_mb=base_mb,
            note=f"one job for one unit (the seeded unit with the most rights: {len(rights)}); the platform reads and "
            "checks the XLSX, then saves products, versions and links in batches (filings.imports); bulk_create writes "
            "Product, ProductVersion and PatentLink rows; deferred FK checks forced in both timings; rolled back",
        )
    ]
