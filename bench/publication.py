"""The monthly publication of every port and the national office vs COPY of its rows + WeasyPrint of its HTML.

Platform: what the Celery tasks do, in-process — `provincial.tasks.monthly_publications` calls
`services.run_period`, which ensures the rows (`services.ensure_publications`) and sends one
`build_publication` task per row, i.e. `build.build_publication(pk)`: claim, figures through the
port's Area, XLSX, PDF (WeasyPrint), files moved into place, the row marked ready, the notice e-mail
(local-memory mail backend) after commit. Every province-level port is opened first, so "all ports" are
built whatever the database had open.

Baseline: the same month's rows COPY'd to STDOUT — for each publication, the new approvals of the month
in its area with the columns the documents list (filing number, product, unit, class, region, date of
first approval) — plus WeasyPrint alone on the very HTML the platform rendered (captured during the
platform's run).

Both sides run inside one transaction that is rolled back (the deferred FK checks forced with SET
CONSTRAINTS ALL IMMEDIATE inside the timing, the on-commit callbacks run inside it), and files go to a
temporary MEDIA_ROOT that is removed afterwards, so the database and media are unchanged.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import time
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.test import TestCase, override_settings

from bench.runner import Result, measured

NEW_ROWS_SQL = """
COPY (
    SELECT p.filing_number, v.name, u.name, c.code || ' ' || c.name,
           concat_ws('', r3.name, r2.name, r1.name),
           (f.first AT TIME ZONE 'Asia/Shanghai')::date
      FROM filings_product p
      JOIN filings_productversion v ON v.id = p.published_version_id
      JOIN filings_productclass c ON c.id = v.product_class_id
      JOIN filings_filingunit u ON u.id = p.unit_id
      JOIN patent_platform_region r1 ON r1.code = u.region_id
      LEFT JOIN patent_platform_region r2 ON r2.code = r1.parent_id
      LEFT JOIN patent_platform_region r3 ON r3.code = r2.parent_id
      JOIN LATERAL (SELECT min(a.decided_at) AS first FROM filings_productversion a
                     WHERE a.product_id = p.id AND a.status = 'approved') f ON true
     WHERE f.first >= {start} AND f.first < {end} AND ({area})
     ORDER BY f.first, p.filing_number, p.id
) TO STDOUT
"""


def _month(args: Any) -> dt.date:
    from patent_platform import clock

    if args.month:
        year, month = (int(part) for part in args.month.split("-"))
        return dt.date(year, month, 1)
    return clock.previous_month()


def _area_sql(unit: Any) -> Any:
    """The SQL condition on filings_product p for a port's regions (TRUE for the national office)."""
    from psycopg import sql

    from provincial.dashboards import unit_scope

    if unit is None:
        return sql.SQL("true")
    scope = unit_scope(unit)
    parts = [
        sql.SQL("p.{} = ANY({})").format(sql.Identifier(column), sql.Literal(sorted(codes)))
        for column, codes in (
            ("province_code", scope.province_codes),
            ("city_code", scope.city_codes),
            ("county_code", scope.county_codes),
        )
        if codes
    ]
    return sql.SQL(" OR ").join(parts) if parts else sql.SQL("false")


def copy_rows(units: list[Any], start: dt.datetime, end: dt.datetime) -> tuple[int, int]:
    """COPY TO STDOUT of every publication's rows; (rows, bytes) read."""
    from psycopg import sql

    rows = size = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor
        for unit in units:
            statement = sql.SQL(NEW_ROWS_SQL).format(
                start=sql.Literal(start), end=sql.Literal(end), area=_area_sql(unit)
            )
            with raw.copy(statement) as copy:
                for block in copy:
                    size += len(block)
                    rows += bytes(block).count(b"\n")
    return rows, size


def _force_constraints() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def bench_publication(args: Any, log: Callable[[str], Any]) -> list[Result]:
    import weasyprint

    from patent_platform import clock
    from provincial.choices import PublicationKind, PublicationStatus
    from provincial.models import ManagementUnit
    from provincial.publications import build, documents, services

    period = _month(args)
    start = clock.month_start(period.year, period.month)
    end = clock.next_month(start)
    media = tempfile.mkdtemp(prefix="bench-media-")
    captured: list[str] = []
    original_pdf = documents.html_to_pdf

    def capturing_pdf(html: str) -> bytes:
        captured.append(html)
        return original_pdf(html)

    box: dict[str, Any] = {}
    try:
        with override_settings(MEDIA_ROOT=media), transaction.atomic():
            wanted = [code.strip() for code in args.ports.split(",") if code.strip()]
            provinces = ManagementUnit.objects.filter(regions__level="province").values("pk")
            ports = ManagementUnit.objects.filter(pk__in=provinces)
            if wanted:  # only these ports are open for this run (rolled back with the rest)
                ManagementUnit.objects.exclude(code__in=wanted).update(is_open=False)
                ports = ManagementUnit.objects.filter(code__in=wanted)
            box["opened"] = ports.filter(is_open=False).update(is_open=True)

            def platform() -> list[Any]:
                with TestCase.captureOnCommitCallbacks(execute=True):
                    rows = services.ensure_publications(PublicationKind.MONTHLY, period)
                    built = [build.build_publication(row.pk) for row in rows]
                _force_constraints()
                return built

            documents.html_to_pdf = capturing_pdf
            try:
                plat_s, plat_mb, built = measured(platform)
            finally:
                documents.html_to_pdf = original_pdf
            failed = [b.scope_key for b in built if b.status != PublicationStatus.READY]
            if failed:
                raise RuntimeError(f"publications not ready: {failed}")
            units = [b.unit if b.unit_id else None for b in built]
            box["publications"] = len(built)
            box["new"] = sum(len(b.figures["new"]["rows"]) for b in built)
            box["pdf_bytes"] = sum(b.pdf_size or 0 for b in built)
            box["xlsx_bytes"] = sum(b.xlsx_size or 0 for b in built)
            fetcher = weasyprint.URLFetcher(allowed_protocols={"data"})

            def baseline() -> tuple[int, int]:
                copied = copy_rows(units, start, end)
                for html in captured:
                    weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf()
                return copied

            base_s, base_mb, (copied, _copied_bytes) = measured(baseline)
            # the split of the baseline, for the note (not part of the ratio)
            started = time.perf_counter()
            copy_rows(units, start, end)
            copy_s = time.perf_counter() - started
            transaction.set_rollback(True)
    finally:
        shutil.rmtree(media, ignore_errors=True)
    if copied != box["new"]:
        log(f"… publication: COPY read {copied} rows, the publications list {box['new']}")
    ratio = plat_s / base_s
    n = box["publications"]
    return [
        Result(
            name=f"monthly publication {period:%Y-%m}, "
            + (f"{n - 1} port(s) + national (--ports)" if args.ports else "all ports + national"),
            platform=f"{n} publications (XLSX + PDF, {box['new']:,} new-approval rows) in {plat_s:.2f} s",
            baseline=f"COPY of the same rows ({copied:,} rows, {copy_s:.2f} s) + WeasyPrint of the same "
            f"{len(captured)} HTML: {base_s:.2f} s",
            ratio=ratio,
            ratio_text=f"{ratio:.2f}× the baseline's time",
            goal=1.5,
            goal_text="≤ 1.5×",
            platform_mb=plat_mb,
            baseline_mb=base_mb,
            lower_is_better=True,
            note=f"build.build_publication for each row of services.ensure_publications (what the monthly task "
            f"runs), {box['opened']} closed ports opened first; PDFs {box['pdf_bytes'] / 1024:.0f} KiB, "
            f"XLSX {box['xlsx_bytes'] / 1024:.0f} KiB in all; the COPY holds the new-approval rows each "
            "publication lists (its aggregates are counted by the platform's queries only); one transaction, "
            "rolled back",
        )
    ]
