"""Building the template workbook of an import: the data sheet's header, formats and drop-downs, more sheets."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.utils.translation import gettext as _

from patent_platform.tabular.reading import Column

HEADER_FILL = "DDEBF7"
REQUIRED_COLOR = "C00000"  # required columns' headers are red
TEXT_FORMAT = "@"  # keeps 201710601862.3 and 03 as typed
DATE_FORMAT = "yyyy-mm-dd"
OPTION_ROWS = 2000  # rows of the data sheet that carry the drop-downs


class TemplateBook:
    """An .xlsx template: `data` is the first sheet; option lists go to a hidden sheet made on first use."""

    def __init__(self, title: str, *, lists_title: str = "选项") -> None:
        from openpyxl import Workbook

        self.book = Workbook()
        self.data = self.book.active
        self.data.title = title
        self.lists_title = lists_title
        self._lists: Any = None
        self._list_col = 0

    def header(self, columns: Sequence[Column], *, styled: bool = True, comments: bool = False) -> None:
        """Row 1: the headers, bold on a blue fill (red where required); `comments`: each column's note."""
        from openpyxl.comments import Comment
        from openpyxl.styles import Font, PatternFill

        fill = PatternFill("solid", fgColor=HEADER_FILL)
        for i, column in enumerate(columns, start=1):
            cell = self.data.cell(row=1, column=i, value=column.header)
            if styled:
                cell.font = Font(bold=True, color=REQUIRED_COLOR) if column.required else Font(bold=True)
                cell.fill = fill
            if comments:
                note = _("必填。") if column.required else _("选填。")
                cell.comment = Comment(f"{note}{column.note}", str(_("平台")), width=260, height=120)

    def column(self, index: int, *, width: float | None = None, number_format: str | None = None) -> None:
        """The width and cell format (TEXT_FORMAT, DATE_FORMAT) of the data sheet's column `index` (from 1)."""
        from openpyxl.utils import get_column_letter

        dimension = self.data.column_dimensions[get_column_letter(index)]
        if width is not None:
            dimension.width = width
        if number_format is not None:
            dimension.number_format = number_format

    def options(self, index: int, header: str, options: Sequence[str], *, rows: int = OPTION_ROWS) -> None:
        """A drop-down on column `index` of the data sheet (rows 2 to `rows`) listing `options`."""
        from openpyxl.utils import get_column_letter
        from openpyxl.worksheet.datavalidation import DataValidation

        if self._lists is None:
            self._lists = self.book.create_sheet(self.lists_title)
            self._lists.sheet_state = "hidden"
        self._list_col += 1
        list_col = self._list_col
        list_letter = get_column_letter(list_col)
        self._lists.cell(row=1, column=list_col, value=header)
        for r, option in enumerate(options, start=2):
            self._lists.cell(row=r, column=list_col, value=option)
        end = max(2, len(options) + 1)
        validation = DataValidation(
            type="list",
            formula1=f"'{self.lists_title}'!${list_letter}$2:${list_letter}${end}",
            allow_blank=True,
            showErrorMessage=True,
            errorStyle="warning",
            errorTitle=str(_("请从下拉列表选择")),
            error=str(_("“%(col)s”的值不在可选范围内，导入时会报错。") % {"col": header}),
        )
        letter = get_column_letter(index)
        validation.add(f"{letter}2:{letter}{rows}")
        self.data.add_data_validation(validation)

    def sheet(self, title: str, *, widths: Mapping[str, float] | None = None, heading: Any = None) -> Any:
        """Another sheet (an instruction sheet, say), its columns' widths, and a large bold `heading` in A1."""
        from openpyxl.styles import Font

        sheet = self.book.create_sheet(title)
        for letter, width in (widths or {}).items():
            sheet.column_dimensions[letter].width = width
        if heading is not None:
            sheet.append([heading])
            sheet["A1"].font = Font(bold=True, size=14)
        return sheet

    @staticmethod
    def style_last_row(sheet: Any, *, emphasised: bool = False, wrapped: bool = False) -> None:
        """The last row of `sheet` as a table header (bold on the fill) or wrapped text aligned to the top."""
        from openpyxl.styles import Alignment, Font, PatternFill

        for cell in sheet[sheet.max_row]:
            if emphasised:
                cell.font, cell.fill = Font(bold=True), PatternFill("solid", fgColor=HEADER_FILL)
            if wrapped:
                cell.alignment = Alignment(wrap_text=True, vertical="top")

    @staticmethod
    def text_cells(sheet: Any, rows: Iterable[Sequence[Any]], *, first_columns: int) -> None:
        """Append `rows` to `sheet`, their first `first_columns` cells formatted as text."""
        start = sheet.max_row + 1
        for row in rows:
            sheet.append(list(row))
        for row_cells in sheet.iter_rows(min_row=start, max_col=first_columns):
            for cell in row_cells:
                cell.number_format = TEXT_FORMAT

    def to_bytes(self) -> bytes:
        out = io.BytesIO()
        self.book.save(out)
        return out.getvalue()
