"""Excel bulk filing: the two templates (patents, products) and the import job that reads them.

A job reads the whole sheet first and checks every row and cell without writing anything; the errors
are collected as {row, column, message} (row = the Excel row number, column = the header). Only a file
without a single error is saved, in one transaction, acting as the user who uploaded it: patents
through the service a user's form calls (`services.add_patent_right`); products, whose rules
(those of `services.create_product`) are checked for the whole file against the unit's rights read
once, set-based with bulk_create (see `_save_products`). So a file is imported completely or not at all.

The column headers are the file format and stay in Chinese whatever the user's language; the notes,
the instruction sheet and the error messages are translated.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from io import BytesIO
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from filings import services
from filings.choices import ImportKind, ImportStatus, LegalStatus, LicenceKind, RightKind
from filings.identifiers import parse_patent_number
from filings.models import (
    FilingPolicy,
    ImportJob,
    Patent,
    PatentLink,
    PatentRight,
    Product,
    ProductClass,
    ProductVersion,
)
from filings.workflow import china_today, default_data_year
from patent_platform import audit, claims
from patent_platform.choices import AuditAction
from patent_platform.signals import figures_changed

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 50  # rows between two progress updates a browser can watch
MAX_ROWS = 20000  # data rows per file
MAX_ERRORS = 5000  # errors kept on the job (the count in the message is always complete)
TEMPLATE_ROWS = 2000  # rows of the template that carry the drop-downs and text formats
SOURCE_LANGUAGE = "zh-hans"  # the file format (headers, drop-down values) is in Chinese
YES, NO = "是", "否"
DATA_SHEETS = {ImportKind.PATENTS: "专利", ImportKind.PRODUCTS: "产品"}
INSTRUCTION_SHEET = "说明"
LIST_SHEET = "选项"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str  # text, int, decimal, date, bool, patent, class, or a choices class name via `choices`
    required: bool = False
    note: Any = ""
    max_length: int | None = None
    choices: Any = None  # a TextChoices class
    product_level: bool = False  # products: the same for every row of one product
    aliases: tuple[str, ...] = ()


PATENT_COLUMNS = (
    Column(
        "number",
        "申请号",
        "patent",
        required=True,
        note=gettext_lazy(
            "12 位数字加校验位，如 201710601862.3；2003 年以前为 8 位加校验位，如 95115608.X。可带 CN 或 ZL 前缀。"
        ),
    ),
    Column(
        "title",
        "专利名称",
        "text",
        max_length=300,
        note=gettext_lazy("平台尚无该专利记录时必填；平台已有的专利以平台记录为准。"),
    ),
    Column("application_date", "申请日", "date", note=gettext_lazy("日期，如 2020-05-18。")),
    Column("grant_date", "授权公告日", "date", note=gettext_lazy("日期，如 2021-03-02；尚未授权的留空。")),
    Column(
        "legal_status", "法律状态", "choice", choices=LegalStatus, note=gettext_lazy("从下拉列表选择；留空为“有效”。")
    ),
    Column("kind", "权利类型", "choice", choices=RightKind, note=gettext_lazy("从下拉列表选择；留空为“专利权人”。")),
    Column(
        "licence_kind",
        "许可类型",
        "choice",
        choices=LicenceKind,
        note=gettext_lazy("权利类型为“被许可人”时必填，其他情况留空。"),
    ),
    Column(
        "recordal_number",
        "许可备案号",
        "text",
        max_length=50,
        note=gettext_lazy("被许可人填写许可合同备案号（平台要求许可须经备案时必填）；其他情况留空。"),
    ),
    Column("valid_until", "权利期限至", "date", note=gettext_lazy("许可或权利的截止日期，如 2030-12-31；可留空。")),
)

PRODUCT_COLUMNS = (
    Column(
        "seq",
        "产品序号",
        "int",
        required=True,
        note=gettext_lazy("本文件内的产品编号（1、2、3…）；序号相同的各行属于同一产品，每行填写一项关联专利。"),
    ),
    Column("name", "产品名称", "text", required=True, max_length=200, product_level=True),
    Column("model", "型号规格", "text", max_length=200, product_level=True),
    Column(
        "product_class",
        "产品分类代码",
        "class",
        required=True,
        product_level=True,
        note=gettext_lazy("从下拉列表选择，或只填代码，如 03。"),
    ),
    Column("description", "产品简介", "text", max_length=4000, product_level=True),
    Column("first_sale_date", "首次销售日期", "date", product_level=True, note=gettext_lazy("日期，如 2019-06-01。")),
    Column(
        "data_year",
        "数据年度",
        "int",
        product_level=True,
        note=gettext_lazy("销售额等数据所属年度，如 2024；留空为上一年度。"),
    ),
    Column(
        "sales",
        "上年度销售额（万元）",
        "decimal",
        required=True,
        product_level=True,
        note=gettext_lazy("单位万元，不小于 0，最多两位小数。"),
    ),
    Column(
        "exports",
        "年度出口额（万元）",
        "decimal",
        product_level=True,
        note=gettext_lazy("单位万元，不小于 0，不能大于上年度销售额；留空为 0。"),
    ),
    Column(
        "output_value",
        "产值（万元）",
        "decimal",
        required=True,
        product_level=True,
        note=gettext_lazy("单位万元，不小于 0，最多两位小数。"),
    ),
    Column(
        "certification_opt_in",
        "参与认定（是/否）",
        "bool",
        product_level=True,
        aliases=("参与认定",),
        note=gettext_lazy("是否参与专利密集型产品认定：是 或 否；留空为否。"),
    ),
    Column(
        "patent",
        "专利申请号",
        "patent",
        required=True,
        note=gettext_lazy("该专利须已登记到本单位（在“专利管理”中登记，或先用专利模板导入）。"),
    ),
    Column(
        "is_core",
        "核心专利（是/否）",
        "bool",
        aliases=("核心专利",),
        note=gettext_lazy("是 或 否；提交审核前每个产品须至少一项核心专利。"),
    ),
    Column(
        "contribution",
        "贡献度（%）",
        "decimal",
        required=True,
        note=gettext_lazy("该专利对产品的贡献，0–100；同一产品各专利之和不超过 100。"),
    ),
    Column(
        "embodiment", "专利体现方式", "text", max_length=500, note=gettext_lazy("专利在产品中的体现，如“主体结构”。")
    ),
)

COLUMNS = {ImportKind.PATENTS: PATENT_COLUMNS, ImportKind.PRODUCTS: PRODUCT_COLUMNS}
PRODUCT_FIELDS = tuple(c for c in PRODUCT_COLUMNS if c.product_level)


def _norm_header(text: Any) -> str:
    text = unicodedata.normalize("NFKC", str(text or ""))
    return "".join(text.split()).rstrip("*")


# ---------------------------------------------------------------------------------------------
# Templates


def _choice_labels(choices: Any) -> list[str]:
    with translation.override(SOURCE_LANGUAGE):
        return [str(label) for label in choices.labels]


def _class_options() -> list[str]:
    return [f"{c.code} {c.name}" for c in ProductClass.objects.filter(is_active=True).order_by("code")]


def _options(column: Column) -> list[str] | None:
    if column.choices is not None:
        return _choice_labels(column.choices)
    if column.kind == "bool":
        return [YES, NO]
    if column.kind == "class":
        return _class_options()
    return None


def build_template(kind: str) -> bytes:
    """The Excel template for `kind`: the data sheet, the instruction sheet (说明), hidden option lists."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    columns = COLUMNS[kind]
    book = Workbook()
    data = book.active
    data.title = DATA_SHEETS[kind]
    guide = book.create_sheet(INSTRUCTION_SHEET)
    lists = book.create_sheet(LIST_SHEET)
    lists.sheet_state = "hidden"
    bold, red = Font(bold=True), Font(bold=True, color="C00000")
    fill = PatternFill("solid", fgColor="DDEBF7")
    list_col = 0
    for i, column in enumerate(columns, start=1):
        letter = get_column_letter(i)
        cell = data.cell(row=1, column=i, value=column.header)
        cell.font, cell.fill = (red if column.required else bold), fill
        note = _("必填。") if column.required else _("选填。")
        cell.comment = Comment(f"{note}{column.note}", str(_("平台")), width=260, height=120)
        data.column_dimensions[letter].width = max(12, min(40, 2 * len(column.header) + 4))
        if column.kind in ("text", "patent", "class"):
            data.column_dimensions[letter].number_format = "@"  # keep 201710601862.3 and 03 as text
        elif column.kind == "date":
            data.column_dimensions[letter].number_format = "yyyy-mm-dd"
        options = _options(column)
        if options:
            list_col += 1
            list_letter = get_column_letter(list_col)
            lists.cell(row=1, column=list_col, value=column.header)
            for r, option in enumerate(options, start=2):
                lists.cell(row=r, column=list_col, value=option)
            end = max(2, len(options) + 1)
            validation = DataValidation(
                type="list",
                formula1=f"'{LIST_SHEET}'!${list_letter}$2:${list_letter}${end}",
                allow_blank=True,
                showErrorMessage=True,
                errorStyle="warning",
                errorTitle=str(_("请从下拉列表选择")),
                error=str(_("“%(col)s”的值不在可选范围内，导入时会报错。") % {"col": column.header}),
            )
            validation.add(f"{letter}2:{letter}{TEMPLATE_ROWS}")
            data.add_data_validation(validation)
    data.freeze_panes = "A2"

    guide.column_dimensions["A"].width = 22
    guide.column_dimensions["B"].width = 10
    guide.column_dimensions["C"].width = 70
    guide.column_dimensions["D"].width = 50
    wrap = Alignment(wrap_text=True, vertical="top")
    title = _("专利批量导入说明") if kind == ImportKind.PATENTS else _("产品批量导入说明")
    guide.append([title])
    guide["A1"].font = Font(bold=True, size=14)
    for line in _general_rules(kind):
        guide.append([str(line)])
    guide.append([])
    guide.append([_("列名"), _("是否必填"), _("格式与说明"), _("可选值")])
    for cell in guide[guide.max_row]:
        cell.font, cell.fill = bold, fill
    for column in columns:
        options = _options(column) or []
        required = _("必填") if column.required else _("选填")
        if column.product_level:
            required = f"{required}（{_('产品信息')}）"
        guide.append([column.header, required, str(column.note) or _("文字。"), "、".join(options)])
        for cell in guide[guide.max_row]:
            cell.alignment = wrap
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _general_rules(kind: str) -> list[Any]:
    rules = [
        _("1. 在“%(sheet)s”工作表第 2 行起逐行填写，不要修改或删除第 1 行表头，也不要增删列。")
        % {"sheet": DATA_SHEETS[kind]},
        _("2. 红色表头为必填列。日期写成 2024-05-18 或设为日期格式；金额单位为万元，最多两位小数。"),
        _(
            "3. 上传后平台逐行逐格校验：只要有一处错误，整个文件都不会导入，"
            "并列出每处错误的行号、列名和原因，修改后重新上传即可。"
        ),
        _("4. 导入的数据保存为草稿，核对无误后再在平台上提交审核。"),
    ]
    if kind == ImportKind.PATENTS:
        rules.append(_("5. 一行登记一项专利；本单位已登记的专利、同一文件中重复的申请号都会报错。"))
    else:
        rules += [
            _("5. 一行是一个产品与一项专利的关联：同一产品有几项专利就填几行，这些行的“产品序号”相同。"),
            _(
                "6. 产品名称、型号规格、分类、简介、日期、数据年度、金额和“参与认定”是产品信息："
                "同一产品的各行须完全一致，第 2 行起也可以留空。"
            ),
            _(
                "7. 关联的专利必须已登记到本单位：请先在“专利管理”中登记，或先用专利模板导入专利，"
                "再导入产品。每个产品至少一项核心专利，各专利贡献度之和不超过 100。"
            ),
            _("8. 数据年度不能晚于上一年度（%(year)s 年）；留空即为 %(year)s 年。") % {"year": default_data_year()},
        ]
    return rules


# ---------------------------------------------------------------------------------------------
# Reading cells


class CellError(Exception):
    """A cell that cannot be read; the message says why."""


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _plain(value: Any) -> str:
    """The cell as text with full-width forms made ASCII (for numbers, codes and options, not for names)."""
    return unicodedata.normalize("NFKC", _text(value)).replace("。", ".")


_DATE_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and 20000 < value < 80000:
        # an Excel serial date in a cell formatted as a number
        return dt.date(1899, 12, 30) + dt.timedelta(days=int(value))
    match = _DATE_RE.fullmatch(_plain(value))
    if match:
        try:
            return dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            pass
    raise CellError(_("“%(value)s”不是有效日期，请写成 2024-05-18 这样的格式。") % {"value": _text(value)})


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise CellError(_("须为数字。"))
    if isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, int | Decimal):
        number = Decimal(value)
    else:
        try:
            number = Decimal(_plain(value).replace(",", ""))
        except InvalidOperation:
            raise CellError(_("“%(value)s”不是数字。") % {"value": _text(value)}) from None
    if not number.is_finite():
        raise CellError(_("“%(value)s”不是数字。") % {"value": _text(value)})
    if number < 0:
        raise CellError(_("不能为负数。"))
    if number >= Decimal(10) ** 12:
        raise CellError(_("数值过大。"))
    if number != number.quantize(Decimal("0.01")):
        raise CellError(_("最多保留两位小数。"))
    return number


def _int(value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = _plain(value)
    if text.isdigit():
        return int(text)
    raise CellError(_("“%(value)s”不是整数。") % {"value": text})


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _plain(value).upper()
    if text in {YES, "Y", "YES", "TRUE", "1", "√"}:
        return True
    if text in {NO, "N", "NO", "FALSE", "0"}:
        return False
    raise CellError(_("请填写“是”或“否”。"))


def _choice_reader(choices: Any) -> Callable[[Any], str]:
    lookup: dict[str, str] = {}
    for value, label in zip(choices.values, _choice_labels(choices), strict=True):
        lookup[_norm_header(value)] = value
        lookup[_norm_header(label)] = value
        lookup[_norm_header(str(choices(value).label))] = value  # the current language's label
    options = "、".join(_choice_labels(choices))

    def read(value: Any) -> str:
        found = lookup.get(_norm_header(_text(value)))
        if found is None:
            raise CellError(
                _("“%(value)s”不是可选值，可选：%(options)s。") % {"value": _text(value), "options": options}
            )
        return found

    return read


def _class_reader() -> Callable[[Any], ProductClass]:
    active = {c.code: c for c in ProductClass.objects.filter(is_active=True)}
    by_number = {}
    for code, pc in active.items():
        if code.isdigit():
            by_number.setdefault(int(code), []).append(pc)

    def read(value: Any) -> ProductClass:
        text = _plain(value).split(" ")[0].strip()
        if text in active:
            return active[text]
        if text.isdigit() and len(by_number.get(int(text), [])) == 1:
            return by_number[int(text)][0]
        raise CellError(_("产品分类代码“%(value)s”不存在或已停用，请从下拉列表选择。") % {"value": _text(value)})

    return read


def _patent(value: Any) -> str:
    text = repr(value) if isinstance(value, float) else _plain(value)
    try:
        return parse_patent_number(text).normalized
    except ValidationError as exc:
        raise CellError(" ".join(exc.messages)) from None


def _reader(column: Column, class_reader: Callable[[Any], Any]) -> Callable[[Any], Any]:
    if column.kind == "text":

        def read_text(value: Any) -> str:
            text = _text(value)
            if column.max_length and len(text) > column.max_length:
                raise CellError(
                    _("不能超过 %(n)s 个字（现有 %(len)s 个）。") % {"n": column.max_length, "len": len(text)}
                )
            return text

        return read_text
    if column.kind == "choice":
        return _choice_reader(column.choices)
    if column.kind == "class":
        return class_reader
    return {"int": _int, "decimal": _decimal, "date": _date, "bool": _bool, "patent": _patent}[column.kind]


# ---------------------------------------------------------------------------------------------
# The job


@dataclass
class Row:
    number: int  # Excel row number
    values: dict[str, Any] = field(default_factory=dict)  # key -> parsed value (absent: blank or invalid)
    bad: set[str] = field(default_factory=set)  # keys whose cell could not be read


class Problems:
    def __init__(self, columns: Sequence[Column]) -> None:
        self.items: list[dict[str, Any]] = []
        self.headers = {c.key: c.header for c in columns}
        self.order = {c.header: i for i, c in enumerate(columns)}

    def add(self, row: int, key: str, message: Any) -> None:
        self.items.append({"row": row, "column": self.headers.get(key, key), "message": str(message)})

    def sorted(self) -> list[dict[str, Any]]:
        return sorted(self.items, key=lambda e: (e["row"], self.order.get(e["column"], -1)))

    def __bool__(self) -> bool:
        return bool(self.items)


class _FileError(Exception):
    """The file as a whole cannot be imported (not readable, wrong headers, no data)."""

    def __init__(self, message: Any, column: str = "", row: int = 1) -> None:
        super().__init__(str(message))
        self.error = {"row": row, "column": column, "message": str(message)}


class _SaveFailed(Exception):
    def __init__(self, row: int, message: str) -> None:
        super().__init__(message)
        self.row, self.message = row, message


def _progress(job: ImportJob, **fields: Any) -> None:
    # A queryset update outside any transaction: visible at once to the page that polls the job.
    ImportJob.objects.filter(pk=job.pk).update(**fields)


def _read_rows(job: ImportJob, columns: Sequence[Column]) -> list[tuple[int, tuple[Any, ...]]]:
    """The data rows (Excel row number, values in template column order); raises _FileError."""
    from openpyxl import load_workbook

    try:
        with job.file.open("rb") as handle:
            book = load_workbook(BytesIO(handle.read()), read_only=True, data_only=True)
    except Exception as exc:  # any reason the file is not a readable workbook
        raise _FileError(_("无法读取该 Excel 文件，请使用平台模板另存为 .xlsx 后重新上传。")) from exc
    try:
        kind = job.kind
        sheet = book[DATA_SHEETS[kind]] if DATA_SHEETS[kind] in book.sheetnames else book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None or all(_blank(v) for v in header):
            raise _FileError(_("工作表“%(sheet)s”是空的：第 1 行应为表头，请使用平台模板。") % {"sheet": sheet.title})
        position = _match_header(kind, header)
        data: list[tuple[int, tuple[Any, ...]]] = []
        for number, values in enumerate(rows, start=2):
            if values is None or all(_blank(v) for v in values):
                continue
            if len(data) >= MAX_ROWS:
                raise _FileError(_("文件超过 %(n)s 行数据，请拆分为多个文件上传。") % {"n": MAX_ROWS})
            data.append((number, tuple(values[i] if i is not None and i < len(values) else None for i in position)))
    finally:
        book.close()
    if not data:
        raise _FileError(_("文件中没有数据：请从第 2 行起填写，每行一条。"), row=2)
    return data


def _match_header(kind: str, header: Sequence[Any]) -> list[int | None]:
    found = {_norm_header(v): i for i, v in enumerate(header) if not _blank(v)}
    position: list[int | None] = []
    missing: list[str] = []
    for column in COLUMNS[kind]:
        names = [_norm_header(n) for n in (column.header, *column.aliases)]
        index = next((found[n] for n in names if n in found), None)
        position.append(index)
        if index is None:
            missing.append(column.header)
    if missing:
        message = _("第 1 行表头不符：缺少列%(cols)s，请使用平台模板。") % {
            "cols": "、".join(f"“{m}”" for m in missing)
        }
        other = ImportKind.PRODUCTS if kind == ImportKind.PATENTS else ImportKind.PATENTS
        if all(_norm_header(c.header) in found for c in COLUMNS[other] if c.required):
            message += _("这似乎是“%(kind)s”模板，请在上传时选择“%(kind)s”。") % {"kind": other.label}
        raise _FileError(message, column=missing[0])
    return position


def _parse(
    job: ImportJob, columns: Sequence[Column], data: list[tuple[int, tuple[Any, ...]]], problems: Problems
) -> list[Row]:
    readers = {}
    class_reader = _class_reader()
    for column in columns:
        readers[column.key] = _reader(column, class_reader)
    parsed: list[Row] = []
    for done, (number, values) in enumerate(data, start=1):
        row = Row(number)
        for column, raw in zip(columns, values, strict=True):
            if _blank(raw):
                continue
            try:
                row.values[column.key] = readers[column.key](raw)
            except CellError as exc:
                row.bad.add(column.key)
                problems.add(number, column.key, exc)
        parsed.append(row)
        if done % PROGRESS_EVERY == 0:
            _progress(job, processed_rows=done)
    return parsed


def _required(rows: Iterable[Row], columns: Sequence[Column], problems: Problems) -> None:
    for row in rows:
        for column in columns:
            if column.required and column.key not in row.values and column.key not in row.bad:
                problems.add(row.number, column.key, _("必填，请填写。"))


def _chunks(items: list[str], size: int = 500) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _check_patents(job: ImportJob, rows: list[Row], problems: Problems) -> None:
    _required(rows, PATENT_COLUMNS, problems)
    numbers = sorted({r.values["number"] for r in rows if "number" in r.values})
    known: set[str] = set()
    registered: set[str] = set()
    for chunk in _chunks(numbers):
        known.update(Patent.objects.filter(number__in=chunk).values_list("number", flat=True))
        registered.update(
            PatentRight.objects.filter(unit=job.unit, patent__number__in=chunk).values_list("patent__number", flat=True)
        )
    policy = FilingPolicy.current()
    today = china_today()
    first_row: dict[str, int] = {}
    for row in rows:
        v = row.values
        number = v.get("number")
        if number:
            if number in first_row:
                problems.add(
                    row.number,
                    "number",
                    _("与第 %(row)s 行的申请号 %(n)s 重复。") % {"row": first_row[number], "n": number},
                )
            else:
                first_row[number] = row.number
            if number in registered:
                problems.add(row.number, "number", _("本单位已登记专利 %(n)s，无须重复导入。") % {"n": number})
            if number not in known and not v.get("title") and "title" not in row.bad:
                problems.add(row.number, "title", _("平台尚无专利 %(n)s 的记录，请填写专利名称。") % {"n": number})
        for key in ("application_date", "grant_date"):
            if key in v and v[key] > today:
                problems.add(row.number, key, _("日期不能晚于今天。"))
        if "application_date" in v and "grant_date" in v and v["grant_date"] < v["application_date"]:
            problems.add(row.number, "grant_date", _("授权公告日不能早于申请日。"))
        kind = v.get("kind", RightKind.OWNER)
        if "kind" in row.bad:
            continue
        if kind == RightKind.LICENSEE:
            if "licence_kind" not in v and "licence_kind" not in row.bad:
                problems.add(row.number, "licence_kind", _("被许可人须注明许可类型（独占、排他或普通）。"))
            if policy.require_licence_recordal and not v.get("recordal_number"):
                problems.add(row.number, "recordal_number", _("平台要求许可须经备案，请填写许可备案号。"))
        else:
            for key in ("licence_kind", "recordal_number"):
                if v.get(key):
                    problems.add(row.number, key, _("只有权利类型为“被许可人”时才填写此列，请留空。"))


def _check_products(job: ImportJob, rows: list[Row], problems: Problems) -> list[dict[str, Any]]:
    """Group the rows into products and check them; returns the products to create."""
    _required(rows, [c for c in PRODUCT_COLUMNS if not c.product_level], problems)
    groups: dict[int, list[Row]] = {}
    for row in rows:
        if "seq" in row.values:
            groups.setdefault(row.values["seq"], []).append(row)
    numbers = sorted({r.values["patent"] for r in rows if "patent" in r.values})
    rights: dict[str, int] = {}
    for chunk in _chunks(numbers):
        rights.update(
            PatentRight.objects.filter(unit=job.unit, patent__number__in=chunk).values_list("patent__number", "pk")
        )
    right_numbers = {pk: number for number, pk in rights.items()}  # the unit's rights this file names
    existing = set(ProductVersion.objects.filter(product__unit=job.unit).values_list("name", "model", "data_year"))
    max_year = default_data_year()
    today = china_today()
    seen_names: dict[tuple[str, str, int], int] = {}
    products = []
    for seq, group in groups.items():
        first = group[0].number
        data: dict[str, Any] = {}
        for column in PRODUCT_FIELDS:
            holder: Row | None = None
            for row in group:
                if column.key not in row.values:
                    continue
                if holder is None:
                    holder, data[column.key] = row, row.values[column.key]
                elif row.values[column.key] != data[column.key]:
                    problems.add(
                        row.number,
                        column.key,
                        _("与第 %(row)s 行不一致：产品序号 %(seq)s 的各行产品信息须相同（第 2 行起可留空）。")
                        % {"row": holder.number, "seq": seq},
                    )
            if (
                column.required
                and column.key not in services.FIGURES  # the figures' rule is the services' (below)
                and holder is None
                and not any(column.key in r.bad for r in group)
            ):
                problems.add(first, column.key, _("必填，请填写。"))
        year = data.get("data_year", max_year)
        if message := services.data_year_error(year):
            problems.add(first, "data_year", message)
        if data.get("first_sale_date") and data["first_sale_date"] > today:
            problems.add(first, "first_sale_date", _("日期不能晚于今天。"))
        # the figures' rules are those every path applies (a blank export figure is 0, the others required)
        for key, message in services.figure_errors({k: data.get(k) for k in services.FIGURES}).items():
            if not any(key in r.bad for r in group):  # an unreadable cell has said so already
                problems.add(first, key, message)
        name_key = (data.get("name", ""), data.get("model", ""), year)
        if name_key[0]:
            if name_key in seen_names:
                problems.add(
                    first,
                    "name",
                    _("与产品序号 %(seq)s 的产品名称、型号规格相同：同一产品请使用相同的产品序号。")
                    % {"seq": seen_names[name_key]},
                )
            seen_names.setdefault(name_key, seq)
            if name_key in existing:
                problems.add(
                    first,
                    "name",
                    _("本单位已有 %(year)s 年度的同名同型号产品“%(name)s”，请勿重复导入。")
                    % {"year": year, "name": name_key[0]},
                )
        links = []
        rows_by_right: dict[int, int] = {}
        link_errors = False
        for row in group:
            number = row.values.get("patent")
            if number is None:
                continue
            right = rights.get(number)
            contribution = row.values.get("contribution", Decimal(0))
            usable = True
            if right is None:
                usable = False
                problems.add(
                    row.number,
                    "patent",
                    _("专利 %(n)s 尚未登记到本单位：请先在“专利管理”中登记，或先用专利模板导入。") % {"n": number},
                )
            elif right in rows_by_right:
                usable = False
                problems.add(
                    row.number,
                    "patent",
                    _("专利 %(n)s 已在第 %(row)s 行关联到同一产品。") % {"n": number, "row": rows_by_right[right]},
                )
            if contribution > 100:
                usable = False
                problems.add(row.number, "contribution", _("贡献度须在 0 到 100 之间。"))
            if not usable:
                link_errors = True
                continue
            rows_by_right[right] = row.number
            links.append(
                {
                    "right": right,
                    "is_core": row.values.get("is_core", False),
                    "contribution": contribution,
                    "embodiment": row.values.get("embodiment", ""),
                }
            )
        # no core patent: saved as a draft like a form's or the API's; the check before review refuses it
        if not link_errors:
            # the rules of a patent list the product form also applies (the sum of contributions, ...)
            for message in services.link_shape_errors(job.unit_id, links, rights=right_numbers):
                problems.add(first, "contribution", message)
        products.append({"row": first, "data": data, "links": links, "data_year": year})
    return products


def _save_patents(job: ImportJob, rows: list[Row]) -> list[int]:
    ids = []
    for row in rows:
        data = {"number": row.values["number"], **{k: v for k, v in row.values.items() if k != "number"}}
        try:
            right = services.add_patent_right(unit=job.unit, user=job.created_by, data=data)
        except ValidationError as exc:
            raise _SaveFailed(row.number, " ".join(exc.messages)) from exc
        except DatabaseError as exc:
            if claims.connection_lost(exc):  # not the row's fault: the job is retried
                raise
            raise _SaveFailed(row.number, str(exc)) from exc
        ids.append(right.pk)
    return ids


BATCH_SIZE = 1000  # rows per INSERT when the products are saved


def _save_products(job: ImportJob, products: list[dict[str, Any]]) -> list[int]:
    """Save the checked products set-based (what `services.create_product` writes, product by product).

    `_check_products` has already applied every rule `create_product` applies (figures, the patent
    list against the unit's rights, the names) to the whole file, so each version is only checked
    against its fields' own validators here: the uniqueness of (product, data year) holds for a new
    product, the classes were read from the active ones, and the database's CHECK constraints are the
    figure rules above. Products, versions and links are then written with bulk_create; the import's
    audit record (`audit_bulk`, in `_run`) names every version; the dashboards' summary is told through
    `figures_changed`, as no post_save signal is sent."""
    unit, user = job.unit, job.created_by
    services._require_filer(user, unit)  # 404 (handled by _run) if the uploader lost access meanwhile
    versions: list[ProductVersion] = []
    for product in products:
        version = ProductVersion(data_year=product["data_year"])
        for f in services.VERSION_FIELDS:
            if f in product["data"]:
                if f == "product_class":
                    version.product_class = product["data"][f]
                else:
                    setattr(version, f, product["data"][f])
        try:
            version.full_clean(exclude=["product", "product_class"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            raise _SaveFailed(product["row"], " ".join(exc.messages)) from exc
        versions.append(version)
    for start in range(0, len(products), BATCH_SIZE):
        batch = products[start : start + BATCH_SIZE]
        batch_versions = versions[start : start + BATCH_SIZE]
        try:
            made = Product.objects.bulk_create(
                [
                    Product(
                        unit=unit,
                        created_by=user,
                        province_code=unit.province_code,
                        city_code=unit.city_code,
                        county_code=unit.county_code,
                    )
                    for _ in batch
                ]
            )
            for product, version in zip(made, batch_versions, strict=True):
                version.product = product
            ProductVersion.objects.bulk_create(batch_versions)
            PatentLink.objects.bulk_create(
                [
                    PatentLink(
                        version=version,
                        right_id=int(link["right"]),
                        is_core=bool(link.get("is_core")),
                        contribution=services._decimal(link.get("contribution")),
                        embodiment=(link.get("embodiment") or "").strip(),
                    )
                    for version, product in zip(batch_versions, batch, strict=True)
                    for link in product["links"]
                ],
                batch_size=BATCH_SIZE,
            )
        except DatabaseError as exc:
            if claims.connection_lost(exc):  # not the rows' fault: the job is retried
                raise
            raise _SaveFailed(batch[0]["row"], str(exc)) from exc
        figures_changed.send(sender=Product, products=[p.pk for p in made])
    return [v.pk for v in versions]


def _finish(job: ImportJob, status: str, **fields: Any) -> str:
    _progress(job, status=status, finished_at=timezone.now(), **fields)
    return status


def release_for_retry(model: Any, job: Any, exc: BaseException) -> None:
    """A lost database connection ended the attempt (nothing was saved: all or nothing): the job goes back
    to the queue with the error, written on a new connection, and the task's retry takes it again."""
    logger.warning("%s %s: database connection lost (%s); queued again for the retry", model.__name__, job.pk, exc)
    message = _("数据库连接中断，未导入任何数据，稍后自动重试：%(error)s") % {"error": exc}
    claims.on_fresh_connection(
        lambda: model.objects.filter(pk=job.pk, status=ImportStatus.RUNNING).update(
            status=ImportStatus.QUEUED, message=message[:2000]
        )
    )


def run_import_job(job_id: int, *, will_retry: bool = False) -> str:
    """Validate a queued job's file and, if every row is valid, save it all; returns the final status.
    `will_retry`: the task is retried if this attempt fails, so a lost database connection puts the job
    back in the queue (the error recorded) and is raised; otherwise it ends the job with an error."""
    # Claim the job: a redelivered task (acks_late) finds it finished and does nothing.
    claimed = ImportJob.objects.filter(pk=job_id, status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING]).update(
        status=ImportStatus.RUNNING, processed_rows=0, errors=[], message=""
    )
    job = ImportJob.objects.select_related("unit", "created_by").get(pk=job_id)
    if not claimed:
        return job.status
    token = audit.set_context(actor=job.created_by)
    try:
        return _run(job)
    except Exception as exc:
        if will_retry and claims.connection_lost(exc):
            release_for_retry(ImportJob, job, exc)
            raise
        logger.exception("import job %s failed", job_id)
        message = _("处理时发生意外错误，未导入任何数据：%(error)s") % {"error": exc}
        return claims.on_fresh_connection(lambda: _finish(job, ImportStatus.ERROR, message=message))
    finally:
        audit.reset_context(token)


def _run(job: ImportJob) -> str:
    columns = COLUMNS[job.kind]
    problems = Problems(columns)
    try:
        data = _read_rows(job, columns)
    except _FileError as exc:
        return _finish(job, ImportStatus.FAILED, errors=[exc.error], message=exc.error["message"])
    _progress(job, total_rows=len(data))
    rows = _parse(job, columns, data, problems)
    products: list[dict[str, Any]] = []
    if job.kind == ImportKind.PATENTS:
        _check_patents(job, rows, problems)
    else:
        products = _check_products(job, rows, problems)
    _progress(job, processed_rows=len(rows))
    if problems:
        errors = problems.sorted()
        return _finish(
            job,
            ImportStatus.FAILED,
            errors=errors[:MAX_ERRORS],
            message=_("发现 %(n)s 处错误，未导入任何数据。请按错误报告修改后重新上传。") % {"n": len(errors)},
        )
    if job.created_by is None:
        return _finish(job, ImportStatus.ERROR, message=_("上传该文件的账号已不存在，未导入任何数据。"))
    model = PatentRight if job.kind == ImportKind.PATENTS else ProductVersion
    try:
        # All or nothing: a failure on any row rolls back every row saved before it.
        with transaction.atomic():
            ids = _save_patents(job, rows) if job.kind == ImportKind.PATENTS else _save_products(job, products)
            audit.audit_bulk(
                action=AuditAction.IMPORT, model=model, ids=ids, message=f"import job {job.pk}: {job.original_name}"
            )
            _finish(
                job,
                ImportStatus.DONE,
                created_count=len(ids),
                message=_("已导入 %(n)s 条，均为草稿。") % {"n": len(ids)},
            )
    except _SaveFailed as exc:
        error = {"row": exc.row, "column": "", "message": exc.message}
        return _finish(
            job,
            ImportStatus.FAILED,
            errors=[error],
            message=_("第 %(row)s 行保存失败，已全部撤销，未导入任何数据：%(error)s")
            % {"row": exc.row, "error": exc.message},
        )
    except Http404:
        return _finish(job, ImportStatus.ERROR, message=_("上传该文件的账号已无权为本单位登记数据，未导入任何数据。"))
    return ImportStatus.DONE
