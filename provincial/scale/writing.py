"""Writing a seeded dataset: COPY of the generated chunks (produced in a thread while the previous one is
written), the id sequences moved past the new ids, the search text, ANALYZE, and emptying it again (--force)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from queue import Queue
from typing import Any

from django.db import connection
from django.db.models import Model

from filings.models import (
    FilingNumberSequence,
    FilingUnit,
)
from provincial.scale.generator import Generator
from provincial.scale.profile import TABLES, UNIT_MARK, Plan, TableSpec


@dataclass
class Report:
    rows: dict[str, int] = field(default_factory=dict)
    copy_seconds: dict[str, float] = field(default_factory=dict)
    total_seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def lines(self) -> list[str]:
        out = [f"{'table':<32}{'rows':>12}{'COPY s':>10}{'rows/s':>12}"]
        for table, rows in self.rows.items():
            seconds = self.copy_seconds.get(table, 0.0)
            rate = rows / seconds if seconds else 0
            out.append(f"{table:<32}{rows:>12,}{seconds:>10.2f}{rate:>12,.0f}")
        rate = self.total_rows / self.total_seconds if self.total_seconds else 0
        out.append(
            f"{'total (generation + COPY + setval)':<32}{self.total_rows:>12,}{self.total_seconds:>10.2f}{rate:>12,.0f}"
        )
        out += [f"  {step}: {seconds:.2f} s" for step, seconds in self.steps.items()]
        return out


def copy_lines(cursor: Any, spec: TableSpec, lines: list[str]) -> None:
    """COPY text-format lines (tab-separated, \\N for NULL) into a table."""
    columns = ", ".join(spec.columns)
    with cursor.copy(f"COPY {spec.name} ({columns}) FROM STDIN") as copy:
        copy.write("\n".join(lines) + "\n")


def write(chunks: Iterator[tuple[TableSpec, list[str]]], report: Report) -> None:
    """COPY every chunk, timing each table's statements."""
    with connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # psycopg 3's own cursor, for copy()
        for spec, lines in chunks:
            started = time.perf_counter()
            copy_lines(cursor, spec, lines)
            report.copy_seconds[spec.name] = report.copy_seconds.get(spec.name, 0.0) + time.perf_counter() - started
            report.rows[spec.name] = report.rows.get(spec.name, 0) + len(lines)


def produced(chunks: Iterator[tuple[TableSpec, list[str]]]) -> Iterator[tuple[TableSpec, list[str]]]:
    """The chunks, generated in a second thread while this one waits on COPY (libpq releases the GIL
    while the server works), so generation and writing overlap. The producer never touches the database."""
    queue: Queue[Any] = Queue(maxsize=8)
    done = object()

    def produce() -> None:
        try:
            for chunk in chunks:
                queue.put(chunk)
        except BaseException as exc:  # handed to the consumer, which raises it
            queue.put(exc)
            return
        queue.put(done)

    thread = threading.Thread(target=produce, name="seed_scale-generator", daemon=True)
    thread.start()
    while (item := queue.get()) is not done:
        if isinstance(item, BaseException):
            raise item
        yield item
    thread.join()


def reset_sequences(models: list[type[Model]] | None = None) -> None:
    """Move every id sequence past the largest id (the COPY wrote ids of its own)."""
    with connection.cursor() as cursor:
        for model in models or [spec.model for spec in TABLES.values()]:
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)",  # noqa: S608,E501
                [table],
            )


def save_sequences(sequences: dict[tuple[int, str], int]) -> None:
    """FilingNumberSequence rows past the serials used, so later approvals never collide."""
    table = FilingNumberSequence._meta.db_table
    with connection.cursor() as cursor:
        for (year, province), last in sorted(sequences.items()):
            cursor.execute(
                f"INSERT INTO {table} (year, province_code, last) VALUES (%s, %s, %s) "  # noqa: S608
                "ON CONFLICT (year, province_code) DO UPDATE SET last = GREATEST("
                f"{table}.last, EXCLUDED.last)",
                [year, province, last],
            )


def fill_search_text() -> None:
    """The products' search text (filings/search.py `Product.search_text`) in one set-based UPDATE: the COPY
    rows leave it empty, and the per-row `refresh_text` of the platform would take minutes at 1.5M."""
    from filings.search import TEXT_SEPARATOR

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE filings_product p SET search_text = v.name || %s || u.name "
            "FROM filings_filingunit u, filings_productversion v "
            "WHERE u.id = p.unit_id AND v.id = p.published_version_id",
            [TEXT_SEPARATOR],
        )


def analyze() -> None:
    with connection.cursor() as cursor:
        for spec in TABLES.values():
            cursor.execute(f"ANALYZE {spec.name}")


def seed_tables(plan: Plan, *, analyze_tables: bool = True) -> Report:
    """Generate and COPY the filing tables, then sequences and statistics. Call inside a transaction."""
    if connection.vendor != "postgresql":
        raise ValueError("seed_scale writes with PostgreSQL COPY; SQLite is not supported")
    report = Report()
    started = time.perf_counter()
    generator = Generator(plan)  # reads the database here, in this thread
    write(produced(generator.chunks()), report)
    save_sequences(generator.sequences)
    reset_sequences()
    report.total_seconds = time.perf_counter() - started
    step = time.perf_counter()
    fill_search_text()
    report.steps["search text (one UPDATE)"] = time.perf_counter() - step
    if analyze_tables:
        step = time.perf_counter()
        analyze()
        report.steps["ANALYZE"] = time.perf_counter() - step
    return report


def generate_all(plan: Plan) -> list[tuple[TableSpec, list[str]]]:
    """Every chunk in memory (the benchmark's raw-COPY baseline writes exactly these rows)."""
    return list(Generator(plan).chunks())


def seeded_units_exist() -> bool:
    return FilingUnit.objects.filter(uscc__regex=rf"^.{{8}}{UNIT_MARK}").exists()


# Tables emptied by --force, children first (TRUNCATE … CASCADE also empties what points at them).
FORCE_TRUNCATE = (
    "evaluation_indicatorresult",
    "evaluation_candidate",
    "evaluation_round",
    "evaluation_benchmark",
    "evaluation_benchmarkset",
    "filings_patentlink",
    "filings_productversion",
    "filings_product",
    "filings_patentright",
    "filings_patent",
    "filings_filingunit",
    "filings_filingnumbersequence",
    "provincial_rosterentry",
    "provincial_roster",
    # the dashboard summary: emptied, so it is rebuilt from the new rows (seed_scale does at the end)
    "provincial_summarycell",
    "provincial_summarydirty",
    "provincial_summarystate",
)


def truncate() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(FORCE_TRUNCATE)} CASCADE")
