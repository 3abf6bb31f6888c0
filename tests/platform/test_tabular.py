"""patent_platform.tabular: the spreadsheet reading every import shares (files, headers, cells, reports, templates).

No database: the package reads bytes and values. Property-based where a rule holds for every value (hypothesis).
"""

import contextlib
import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import models
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from patent_platform import tabular
from patent_platform.tabular import CellError, Column, FileError

COLUMNS = (
    Column("number", "申请号", required=True, aliases=("专利申请号", "专利号")),
    Column("status", "法律状态", required=True),
    Column("date", "生效日期"),
)
TWENTY_DIGITS = "12345678901234567890"


@pytest.fixture(autouse=True)
def chinese() -> Iterator[None]:
    with translation.override("zh-hans"):
        yield


def xlsx(rows: list[list[Any]], *, title: str = "Sheet", first: str | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    if first is not None:  # another sheet in front of the one asked for
        sheet.title = first
        sheet.append(["别的表"])
        sheet = book.create_sheet(title)
    else:
        sheet.title = title
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def table_rows(data: bytes, **options: Any) -> list[tuple[int, list[Any]]]:
    with tabular.open_table(data, **options) as table:
        return [(n, list(v)) for n, v in table.rows]


# ---------------------------------------------------------------------------------------------
# Files and encodings

CSV_TEXT = "申请号,法律状态,生效日期\r\n201710601862.3,失效,2025-03-01\r\n"
CSV_ROWS = [(1, ["申请号", "法律状态", "生效日期"]), (2, ["201710601862.3", "失效", "2025-03-01"])]


@pytest.mark.parametrize(
    "data",
    [
        CSV_TEXT.encode("utf-8"),
        b"\xef\xbb\xbf" + CSV_TEXT.encode("utf-8"),
        CSV_TEXT.encode("gb18030"),
        CSV_TEXT.encode("gbk"),
        CSV_TEXT.replace(",", ";").encode("utf-8"),
        CSV_TEXT.replace(",", "\t").encode("gb18030"),
    ],
    ids=["utf-8", "utf-8-bom", "gb18030", "gbk", "semicolons", "tabs-gb18030"],
)
def test_every_accepted_csv_encoding_and_separator_reads_the_same(data: bytes) -> None:
    assert table_rows(data, csv_allowed=True) == CSV_ROWS


@given(
    st.lists(
        st.lists(st.text(alphabet=st.characters(categories=["Lo", "Nd", "Lu"]), max_size=8), min_size=3, max_size=3),
        min_size=1,
        max_size=5,
    )
)
def test_a_csv_written_with_a_bom_reads_back_cell_for_cell(rows: list[list[str]]) -> None:
    data = tabular.csv_bytes(rows)
    assert data.startswith(b"\xef\xbb\xbf")
    assert tabular.csv_rows(data) == rows


@given(st.text(alphabet=st.characters(categories=["Lo", "Lu", "Ll", "Nd"], codec="gb18030"), min_size=1, max_size=40))
def test_gb18030_and_utf8_decode_to_the_same_text(text: str) -> None:
    assert (
        tabular.decode_csv(text.encode("utf-8")) == tabular.decode_csv(b"\xef\xbb\xbf" + text.encode("utf-8")) == text
    )
    gb = text.encode("gb18030")
    try:  # UTF-8 is tried first: a short GB18030 text can be valid UTF-8 too ("莳" is DD AA, "ݪ" in UTF-8)
        as_utf8: str | None = gb.decode("utf-8")
    except UnicodeDecodeError:
        as_utf8 = None
    assert tabular.decode_csv(gb) == (as_utf8 if as_utf8 is not None else text)


def test_a_chinese_csv_in_gb18030_is_not_mistaken_for_utf8() -> None:
    text = "申请号,法律状态\r\n201710601862.3,未缴年费专利权终止\r\n"
    assert tabular.decode_csv(text.encode("gb18030")) == text


@pytest.mark.parametrize("data", ["申请号".encode("utf-16"), b"\xff\xfe\xfd\xfc", b"abc\x00def"])
def test_a_file_in_no_accepted_encoding_is_refused_as_a_whole(data: bytes) -> None:
    with pytest.raises(FileError) as refused:
        tabular.decode_csv(data)
    assert "UTF-8 或 GB18030" in refused.value.error["message"] and refused.value.error["row"] == 1


def test_xlsx_reads_the_named_sheet_else_the_first() -> None:
    data = xlsx([["申请号"], ["1"]], title="法律状态", first="封面")
    assert table_rows(data, sheet="法律状态") == [(1, ["申请号"]), (2, ["1"])]
    assert table_rows(data, sheet="不存在") == [(1, ["别的表"])]


def test_an_unreadable_workbook_or_a_csv_where_none_is_accepted_says_the_importers_message() -> None:
    for data in (b"PK\x03\x04 not a zip", CSV_TEXT.encode()):
        with pytest.raises(FileError) as refused:
            table_rows(data, unreadable="坏文件")
        assert refused.value.error == {"row": 1, "column": "", "message": "坏文件"}
    with pytest.raises(FileError) as refused:
        table_rows(b"PK\x03\x04 not a zip")
    assert refused.value.error["message"] == "无法读取该 Excel 文件，请另存为 .xlsx 后重新上传。"


def read(data: bytes, *, max_rows: int = 10, **options: Any) -> list[tuple[int, tuple[Any, ...]]]:
    with tabular.open_table(data, csv_allowed=True) as table:
        _match, rows = tabular.read_rows(table, COLUMNS, max_rows=max_rows, empty="空", no_data="无数据", **options)
    return rows


def test_rows_come_in_column_order_blank_rows_left_out_with_the_files_row_numbers() -> None:
    data = xlsx(
        [
            ["生效日期", "备注", "法律状态", "申请号"],
            [None, "x", "有效", "1"],
            [None, None, None, None],
            ["", "", "", "2"],
        ]
    )
    assert read(data) == [(2, ("1", "有效", None)), (4, ("2", None, None))]  # openpyxl stores "" as an empty cell


def test_the_file_limits_and_their_messages() -> None:
    with pytest.raises(FileError) as refused:
        read(xlsx([]))
    assert refused.value.error == {"row": 1, "column": "", "message": "空"}
    with pytest.raises(FileError) as refused:
        read(xlsx([["申请号", "法律状态"], [None, None]]))
    assert refused.value.error == {"row": 2, "column": "", "message": "无数据"}
    rows = [["申请号", "法律状态"]] + [[str(i), "有效"] for i in range(3)]
    assert len(read(xlsx(rows), max_rows=3)) == 3
    with pytest.raises(FileError) as refused:
        read(xlsx(rows), max_rows=2)
    assert refused.value.error["message"] == "文件超过 2 行数据，请拆分为多个文件上传。"


def test_missing_columns_are_named_with_the_hint_and_all_can_be_required() -> None:
    with pytest.raises(FileError) as refused:
        read(xlsx([["生效日期"], ["x"]]), hint=lambda match: "（提示）")
    assert refused.value.error == {
        "row": 1,
        "column": "申请号",
        "message": "第 1 行表头不符：缺少列“申请号”、“法律状态”，请使用平台模板。（提示）",
    }
    with pytest.raises(FileError) as refused:
        read(xlsx([["申请号", "法律状态"], ["1", "有效"]]), require="all")
    assert refused.value.error["column"] == "生效日期"


# ---------------------------------------------------------------------------------------------
# Headers


def test_headers_match_by_alias_full_width_spaces_and_a_trailing_star() -> None:
    match = tabular.match_header(["专利号", " 法律 状态 * ", "生效日期＊", "备注"], COLUMNS)
    assert match.positions == {"number": 0, "status": 1, "date": 2}
    assert match.missing == [] and match.unknown == ["备注"] and match.duplicates == []
    assert match.has("法律状态") and not match.has("申请号")


def test_duplicate_headers_are_reported_and_read_from_the_cell_asked_for() -> None:
    header = ["申请号", "法律状态", "申请号"]
    assert tabular.match_header(header, COLUMNS).positions["number"] == 2  # the last, as the imports read
    first = tabular.match_header(header, COLUMNS, prefer="first")
    assert first.positions["number"] == 0 and first.duplicates == ["申请号"]
    assert first.project(["a", "b", "c"]) == ("a", "b", None)


@given(st.permutations(["申请号", "法律状态", "生效日期", "甲", "乙"]))
def test_the_order_of_the_columns_does_not_matter(header: list[str]) -> None:
    match = tabular.match_header(header, COLUMNS)
    assert match.project(header) == ("申请号", "法律状态", "生效日期")


# ---------------------------------------------------------------------------------------------
# Cells


def test_text_and_plain() -> None:
    assert tabular.text(None) == "" and tabular.text("  名称 ") == "名称"
    assert tabular.text(3.0) == "3" and tabular.text(dt.datetime(2024, 5, 18, 9)) == "2024-05-18"  # noqa: DTZ001 (openpyxl's are naive)
    assert tabular.text(12345678901234567890) == TWENTY_DIGITS
    assert tabular.plain("ＡＢ１２。５") == "AB12.5"
    assert tabular.number_text(201710601862.3) == "201710601862.3" and tabular.number_text(95115608) == "95115608"
    assert tabular.blank(None) and tabular.blank(" \u3000") and not tabular.blank(0)


def test_bounded_text() -> None:
    assert tabular.bounded_text(3)(" 一二三 ") == "一二三"
    assert tabular.bounded_text(None)("长" * 5000) == "长" * 5000
    with pytest.raises(CellError, match="不能超过 3 个字（现有 4 个）"):
        tabular.bounded_text(3)("一二三四")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3, 3), (3.0, 3), ("3", 3), ("３", 3), (" 42 ", 42), ("٣", 3), (TWENTY_DIGITS, int(TWENTY_DIGITS)), (0, 0)],
)
def test_integer_accepts(value: Any, expected: int) -> None:
    assert tabular.integer(value) == expected


@pytest.mark.parametrize("value", ["3.5", 3.5, "-1", "1e3", "三", "፩", "", "9" * 5000, True])
def test_integer_refuses(value: Any) -> None:
    with pytest.raises(CellError):
        tabular.integer(value)


@given(st.integers(min_value=0, max_value=10**40))
def test_integer_reads_any_whole_number_typed_as_text_exactly(n: int) -> None:
    assert tabular.integer(str(n)) == n


@given(st.one_of(st.text(), st.floats(), st.integers(), st.booleans(), st.none()))
def test_the_readers_refuse_only_with_a_cell_error(value: Any) -> None:
    for reader in (tabular.integer, tabular.decimal, tabular.date, tabular.boolean):
        with contextlib.suppress(CellError):
            reader(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1,234.50", Decimal("1234.50")),
        (0.1, Decimal("0.1")),
        (12, Decimal(12)),
        ("１２．５", Decimal("12.5")),
        ("0", Decimal(0)),
        (Decimal("999999999999.99"), Decimal("999999999999.99")),
    ],
)
def test_decimal_accepts(value: Any, expected: Decimal) -> None:
    assert tabular.decimal(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "不能为负数"),
        ("1000000000000", "数值过大"),
        (TWENTY_DIGITS, "数值过大"),
        (float(TWENTY_DIGITS), "数值过大"),
        ("0.001", "最多保留两位小数"),
        ("abc", "不是数字"),
        ("NaN", "不是数字"),
        (float("inf"), "不是数字"),
        (True, "须为数字"),
    ],
)
def test_decimal_refuses(value: Any, message: str) -> None:
    with pytest.raises(CellError, match=message):
        tabular.decimal(value)


@given(st.decimals(min_value=0, max_value=Decimal("999999999999.99"), places=2))
def test_decimal_reads_every_amount_back(amount: Decimal) -> None:
    assert tabular.decimal(str(amount)) == amount
    assert tabular.decimal(f"{amount:,}") == amount


def test_decimal_or_zero() -> None:
    assert tabular.decimal_or_zero(None) == tabular.decimal_or_zero("") == Decimal(0)
    assert tabular.decimal_or_zero(12.5) == Decimal("12.5") and tabular.decimal_or_zero(TWENTY_DIGITS) == int(
        TWENTY_DIGITS
    )


@pytest.mark.parametrize(
    "value",
    [
        dt.date(2024, 5, 18),
        dt.datetime(2024, 5, 18, 23, 59),  # noqa: DTZ001 (openpyxl's are naive)
        45430,
        45430.0,
        "2024-05-18",
        "2024/5/18",
        "2024.05.18",
        "2024年5月18日",
        "２０２４－０５－１８",
    ],
)
def test_date_accepts(value: Any) -> None:
    assert tabular.date(value) == dt.date(2024, 5, 18)


@pytest.mark.parametrize("value", ["2024-02-30", "18/05/2024", "昨天", TWENTY_DIGITS, 20000, 80000, True, "2024-05"])
def test_date_refuses(value: Any) -> None:
    with pytest.raises(CellError, match="不是有效日期"):
        tabular.date(value)


@given(st.dates(min_value=dt.date(1000, 1, 1)))
def test_date_reads_every_iso_date_back(day: dt.date) -> None:
    assert tabular.date(day.isoformat()) == day


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("是", True),
        ("y", True),
        ("√", True),
        (1, True),
        (True, True),
        ("否", False),
        ("no", False),
        (0, False),
        (False, False),
    ],
)
def test_boolean_accepts(value: Any, expected: bool) -> None:
    assert tabular.boolean(value) is expected


@pytest.mark.parametrize("value", ["也许", "2", "对"])
def test_boolean_refuses(value: Any) -> None:
    with pytest.raises(CellError, match="请填写“是”或“否”"):
        tabular.boolean(value)


class Colour(models.TextChoices):
    RED = "red", "红色"
    DARK_BLUE = "dark_blue", "深 蓝"


def test_choice_reads_a_code_or_a_label() -> None:
    read = tabular.choice(Colour)
    assert [read(v) for v in ("红色", "red", "深蓝", " dark_blue ", "深  蓝")] == [
        "red",
        "red",
        "dark_blue",
        "dark_blue",
        "dark_blue",
    ]
    assert tabular.choice_labels(Colour) == ["红色", "深 蓝"]
    with pytest.raises(CellError, match="“绿色”不是可选值，可选：红色、深 蓝。"):
        read("绿色")


def test_validated_turns_a_validation_error_into_a_cell_error() -> None:
    from django.core.exceptions import ValidationError

    def parse(value: str) -> str:
        if not value.isdigit():
            raise ValidationError(["不对", "真不对"])
        return value

    read = tabular.validated(parse)
    assert read("１２") == "12" and tabular.validated(parse, source=tabular.number_text)(95115608) == "95115608"
    with pytest.raises(CellError, match=r"^不对 真不对$"):
        read("x")


# ---------------------------------------------------------------------------------------------
# Problems and the error report


def test_problems_are_sorted_by_row_then_column_with_their_headers() -> None:
    problems = tabular.Problems(COLUMNS)
    assert not problems
    problems.add(3, "date", "c")
    problems.add(2, "status", "b")
    problems.add(2, "number", "a")
    problems.add(2, "", "whole row")
    assert len(problems) == 4
    assert problems.sorted() == [
        {"row": 2, "column": "", "message": "whole row"},
        {"row": 2, "column": "申请号", "message": "a"},
        {"row": 2, "column": "法律状态", "message": "b"},
        {"row": 3, "column": "生效日期", "message": "c"},
    ]


def test_the_error_report_lists_each_error_then_the_message() -> None:
    errors = [{"row": 2, "column": "申请号", "message": "无效"}, {"row": 5, "column": "", "message": "重复"}]
    assert tabular.error_report_headers() == ["行号", "列名", "错误原因"]
    assert tabular.error_report_rows(errors, "发现 2 处错误") == [
        [2, "申请号", "无效"],
        [5, "", "重复"],
        [],
        ["", "", "发现 2 处错误"],
    ]
    assert tabular.error_report_rows(errors) == [[2, "申请号", "无效"], [5, "", "重复"]]


# ---------------------------------------------------------------------------------------------
# Templates


def test_a_template_has_its_header_formats_drop_downs_and_more_sheets() -> None:
    template = tabular.TemplateBook("数据")
    guide = template.sheet("说明", widths={"A": 30}, heading="导入说明")
    template.header(COLUMNS, comments=True)
    template.column(1, width=22, number_format=tabular.TEXT_FORMAT)
    template.options(2, "法律状态", ["有效", "失效"], rows=100)
    template.text_cells(template.data, [["201710601862.3", "有效"]], first_columns=1)
    guide.append(["列名", "说明"])
    template.style_last_row(guide, emphasised=True)
    book = load_workbook(io.BytesIO(template.to_bytes()))
    assert book.sheetnames == ["数据", "说明", "选项"] and book["选项"].sheet_state == "hidden"
    data = book["数据"]
    assert [c.value for c in data[1]] == ["申请号", "法律状态", "生效日期"]
    assert data["A1"].font.color.rgb.endswith("C00000") and data["C1"].font.b
    assert data["A1"].comment.text.startswith("必填。") and data["C1"].comment.text.startswith("选填。")
    assert data.column_dimensions["A"].width == 22 and data["A2"].number_format == "@"
    (validation,) = data.data_validations.dataValidation
    assert validation.formula1 == "'选项'!$A$2:$A$3" and str(validation.sqref) == "B2:B100"
    assert [c.value for c in book["选项"]["A"]] == ["法律状态", "有效", "失效"]
    assert book["说明"]["A1"].value == "导入说明" and book["说明"]["A1"].font.b and book["说明"]["A2"].font.b
