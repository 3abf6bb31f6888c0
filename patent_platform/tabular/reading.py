"""Reading a spreadsheet file into rows, and matching its header row to the columns an import expects.

A file is .xlsx (by its content: a zip) or, where the import accepts it, .csv in UTF-8 (with or without a
BOM) or GB18030 (a superset of GBK and GB2312), comma, semicolon or tab separated. Rows are numbered as
the user sees them in Excel (the header is row 1). Problems with the file as a whole raise `FileError`,
whose `error` is the {row, column, message} an import job stores.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from django.utils.translation import gettext as _

from patent_platform.tabular.cells import blank, norm_header

XLSX_MAGIC = b"PK\x03\x04"  # a zip: the only container an .xlsx can be
UTF8_BOM = b"\xef\xbb\xbf"
CSV_ENCODINGS = ("utf-8", "gb18030")
SNIFF_CHARS = 4096  # characters the CSV dialect is guessed from


class FileError(Exception):
    """The file as a whole cannot be imported (not readable, wrong headers, no data)."""

    def __init__(self, message: Any, column: str = "", row: int = 1) -> None:
        super().__init__(str(message))
        self.error = {"row": row, "column": column, "message": str(message)}


@dataclass(frozen=True)
class Column:
    """A column of a file format: its key, its header (the format, in Chinese) and the other names accepted."""

    key: str
    header: str
    required: bool = False
    note: Any = ""
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.header, *self.aliases)


def _unreadable_csv() -> str:
    return _("无法读取该 CSV 文件：请另存为 UTF-8 或 GB18030 编码的 CSV，或上传 .xlsx 文件。")


def decode_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK and GB2312); raises FileError."""
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    if b"\x00" in data[:SNIFF_CHARS]:  # UTF-16 and binary files
        raise FileError(_unreadable_csv())
    for encoding in CSV_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileError(_unreadable_csv())


def csv_rows(data: bytes) -> list[list[str]]:
    """The rows of a CSV file (any of the accepted encodings and separators); raises FileError."""
    decoded = decode_csv(data)
    try:
        dialect: Any = csv.Sniffer().sniff(decoded[:SNIFF_CHARS], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        return list(csv.reader(io.StringIO(decoded), dialect))
    except csv.Error as exc:
        raise FileError(_("CSV 文件格式有误：%(error)s") % {"error": exc}) from exc


def csv_bytes(rows: Sequence[Sequence[Any]]) -> bytes:
    """A CSV file in UTF-8 with a BOM (Excel on Windows then opens it with the right encoding)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


@dataclass
class Table:
    """The rows of one sheet as (row number, cells), the header first (row 1), read as they are iterated."""

    title: str  # the sheet's title ("" for a CSV file)
    rows: Iterator[tuple[int, Sequence[Any]]]


@contextmanager
def open_table(
    data: bytes, *, sheet: str | None = None, csv_allowed: bool = False, unreadable: Any = None
) -> Iterator[Table]:
    """The sheet named `sheet` (else the first) of an .xlsx file, or a CSV file where `csv_allowed`.

    `unreadable`: the message when the file is not a readable workbook (each import words it for its users).
    The workbook is read in read-only mode, row by row, and closed when the block ends."""
    message = unreadable if unreadable is not None else _("无法读取该 Excel 文件，请另存为 .xlsx 后重新上传。")
    if data.startswith(XLSX_MAGIC):
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # any reason the file is not a readable workbook
            raise FileError(message) from exc
        try:
            found = book[sheet] if sheet is not None and sheet in book.sheetnames else book.worksheets[0]
            yield Table(found.title, enumerate(found.iter_rows(values_only=True), start=1))
        finally:
            book.close()
    elif csv_allowed:
        yield Table("", enumerate(csv_rows(data), start=1))
    else:
        raise FileError(message)


@dataclass
class HeaderMatch:
    """Where each column stands in the header row (cell index, None when absent), and what did not match."""

    positions: dict[str, int | None]
    missing: list[str]  # headers of the columns that must be there and are not
    found: dict[str, int] = field(default_factory=dict)  # normalised header -> its cell index
    duplicates: list[str] = field(default_factory=list)  # normalised headers given more than once
    unknown: list[str] = field(default_factory=list)  # headers that are no column's (ignored)

    def has(self, header: str) -> bool:
        return norm_header(header) in self.found

    def project(self, values: Sequence[Any]) -> tuple[Any, ...]:
        """A data row's cells in the order of the columns (None for an absent column or a short row)."""
        return tuple(values[i] if i is not None and i < len(values) else None for i in self.positions.values())

    def error(self, hint: str = "") -> FileError:
        message = _("第 1 行表头不符：缺少列%(cols)s，请使用平台模板。") % {
            "cols": "、".join(f"“{m}”" for m in self.missing)
        }
        return FileError(message + hint, column=self.missing[0] if self.missing else "")


def match_header(
    cells: Sequence[Any],
    columns: Sequence[Column],
    *,
    require: Literal["required", "all"] = "required",
    prefer: Literal["first", "last"] = "last",
) -> HeaderMatch:
    """Match a header row to `columns` by header or alias (NFKC, spaces and a trailing * ignored).

    `require`: which columns must be present ("all": a template whose every column is kept, optional or not).
    `prefer`: which of two cells with the same header is read."""
    found: dict[str, int] = {}
    duplicates: list[str] = []
    for i, value in enumerate(cells):
        if blank(value):
            continue
        name = norm_header(value)
        if name in found:
            duplicates.append(name)
            if prefer == "first":
                continue
        found[name] = i
    positions: dict[str, int | None] = {}
    missing: list[str] = []
    known: set[str] = set()
    for column in columns:
        names = [norm_header(n) for n in column.names]
        known.update(names)
        positions[column.key] = next((found[n] for n in names if n in found), None)
        if positions[column.key] is None and (require == "all" or column.required):
            missing.append(column.header)
    unknown = [name for name in found if name not in known]
    return HeaderMatch(positions, missing, found, duplicates, unknown)


def read_rows(
    table: Table,
    columns: Sequence[Column],
    *,
    max_rows: int,
    empty: Any,
    no_data: Any,
    require: Literal["required", "all"] = "required",
    hint: Callable[[HeaderMatch], str] | None = None,
) -> tuple[HeaderMatch, list[tuple[int, tuple[Any, ...]]]]:
    """The header match and the data rows (row number, cells in column order), blank rows left out.

    Raises FileError: `empty` (no header row), the missing columns (with `hint(match)` added), more than
    `max_rows` data rows, or `no_data` (a header and nothing under it)."""
    header = next(table.rows, (1, ()))[1]
    if header is None or all(blank(v) for v in header):
        raise FileError(empty)
    match = match_header(header, columns, require=require)
    if match.missing:
        raise match.error(hint(match) if hint is not None else "")
    data: list[tuple[int, tuple[Any, ...]]] = []
    for number, values in table.rows:
        if not values or all(blank(v) for v in values):
            continue
        if len(data) >= max_rows:
            raise FileError(_("文件超过 %(n)s 行数据，请拆分为多个文件上传。") % {"n": max_rows})
        data.append((number, match.project(values)))
    if not data:
        raise FileError(no_data, row=2)
    return match, data
