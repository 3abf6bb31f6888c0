"""The problems found in a file, as {row, column, message}, and the error report a user downloads."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from django.utils.translation import gettext as _

from patent_platform.tabular.reading import Column


@dataclass(frozen=True)
class Problem:
    row: int  # the file's row number (0: the file as a whole)
    column: str  # the column's header ("" for a whole row)
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Problems:
    """The problems of one file, every one of them (an import reports all, not the first)."""

    def __init__(self, columns: Sequence[Column] = ()) -> None:
        self.items: list[Problem] = []
        self.headers = {c.key: c.header for c in columns}
        self.order = {c.header: i for i, c in enumerate(columns)}

    def add(self, row: int, key: str, message: Any) -> None:
        """A problem of the cell of `row` in the column `key` (its header is reported; an unknown key as is)."""
        self.items.append(Problem(row, self.headers.get(key, key), str(message)))

    def sorted(self) -> list[dict[str, Any]]:
        """As stored on a job: by row, then in the order of the columns (the whole-row ones first)."""
        ordered = sorted(self.items, key=lambda p: (p.row, self.order.get(p.column, -1)))
        return [p.as_dict() for p in ordered]

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)


def error_report_headers() -> list[str]:
    return [_("行号"), _("列名"), _("错误原因")]


def error_report_rows(errors: Iterable[Mapping[str, Any]], message: str = "") -> list[list[Any]]:
    """The rows of an error report: one per stored error, then the job's message after a blank row."""
    rows: list[list[Any]] = [[e.get("row"), e.get("column", ""), e.get("message", "")] for e in errors]
    if message:
        rows += [[], ["", "", message]]
    return rows
