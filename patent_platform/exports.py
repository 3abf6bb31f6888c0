"""Excel exports of what a table shows: one function, used by every export view.

Rows are written in openpyxl's write-only mode (memory stays flat for long lists) and every export
writes an EXPORT record to the audit log with the number of rows (等保: exports are security events).
"""

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from io import BytesIO
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

from patent_platform import audit
from patent_platform.choices import AuditAction
from patent_platform.uploads import CONTENT_TYPES


def local_time(value: Any) -> str:
    """A timestamp as the user reads it in a spreadsheet (Asia/Shanghai, to the minute)."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def xlsx_cell(value: Any) -> Any:
    """A value as an export writes it into a cell (the subscriptions' PDF prints the same)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return local_time(value)
    if isinstance(value, int | float | str | Decimal | dt.date):
        return value
    return str(value)  # lazy translations, model instances


def xlsx_bytes(
    *,
    title: Any,
    headers: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    more_sheets: Sequence[tuple[Any, Sequence[Any], Iterable[Sequence[Any]]]] = (),
) -> tuple[bytes, int]:
    """The .xlsx file holding `headers` and `rows` (and further sheets of (title, headers, rows)), and the
    number of rows of the first sheet (no audit record: the caller writes it, as `xlsx_response` does)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(str(title)[:31])
    sheet.append([str(h) for h in headers])
    count = 0
    for row in rows:
        sheet.append([xlsx_cell(v) for v in row])
        count += 1
    for more_title, more_headers, more_rows in more_sheets:
        extra = workbook.create_sheet(str(more_title)[:31])
        extra.append([str(h) for h in more_headers])
        for row in more_rows:
            extra.append([xlsx_cell(v) for v in row])
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), count


def xlsx_response(
    *,
    filename: str,
    title: Any,
    headers: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    object_type: str,
    changes: Mapping[str, Any] | None = None,
    message: str = "",
    actor: Any = None,
    more_sheets: Sequence[tuple[Any, Sequence[Any], Iterable[Sequence[Any]]]] = (),
) -> HttpResponse:
    """An .xlsx attachment holding `headers` and `rows` (and further sheets of (title, headers, rows)), and the
    audit record of the export (the rows of the first sheet counted)."""
    data, count = xlsx_bytes(title=title, headers=headers, rows=rows, more_sheets=more_sheets)
    audit.audit_event(
        action=AuditAction.EXPORT,
        object_type=object_type,
        object_repr=f"{count} × {title}",
        changes={**(changes or {}), "rows": count},
        message=message or filename,
        actor=actor,
    )
    response = HttpResponse(data, content_type=CONTENT_TYPES["xlsx"])
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
