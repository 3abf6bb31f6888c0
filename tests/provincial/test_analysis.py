"""The analysis page (issue 20): the pivot engine against the dashboards' figures, the page and its export,
scope per role, saved analyses, bad input."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser
from io import BytesIO
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from filings.models import FilingUnit
from patent_platform.clock import CHINA_TZ
from provincial import analysis, dashboards, periods
from provincial.analysis import result as analysis_result
from provincial.models import SavedAnalysis
from tests.analysis_history import build_history, on_record, quarter_end

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

URL = "/port/analysis/"
Q4_2025 = dt.datetime(2026, 1, 1, tzinfo=CHINA_TZ)
Q4_2024 = dt.datetime(2025, 1, 1, tzinfo=CHINA_TZ)


class TableParser(HTMLParser):
    """The cells of the page's analysis table, as text (header row first)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.inside = False
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and ("data-testid", "analysis-table") in attrs:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def page_table(html: str) -> list[list[str]]:
    parser = TableParser()
    parser.feed(html)
    return parser.rows


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def xlsx_rows(content: bytes) -> list[list[Any]]:
    sheet = load_workbook(BytesIO(content), read_only=True).worksheets[0]
    return [same(list(row)) for row in sheet.iter_rows(values_only=True)]


def same(cells: list[Any]) -> list[Any]:
    """Cells compared by value: numbers as numbers (the page writes 4500.00, the sheet holds 4500), text as text."""
    out: list[Any] = []
    for cell in cells:
        text = "" if cell is None else str(cell)
        try:
            out.append(round(float(text), 2))
        except ValueError:
            out.append(text)
    return out


# ---------------------------------------------------------------------------------------------
# The figures


def test_class_by_city_for_2025q4_against_2024q4_counts_the_history(demo_users: dict[str, Any]) -> None:
    demo_now, demo_before = on_record(quarter_end(2025, 4)), on_record(quarter_end(2024, 4))  # the demo's own
    build_history()
    response = client_for(demo_users["guangdong"]).get(
        URL, {"rows": "class", "cols": "city", "measures": "products", "period": "2025Q4", "compare": "1"}
    )
    assert response.status_code == 200
    rows = page_table(response.content.decode())
    header, body = rows[0], rows[1:]
    assert header[0] == "产品分类"
    assert "广州市 · 通过备案产品 · 本期" in header and "深圳市 · 通过备案产品 · 上年同期" in header
    by_label = {r[0]: dict(zip(header, r, strict=True)) for r in body}
    ict, equipment = by_label["01 信息通信技术制造业"], by_label["03 新装备制造业"]
    # 深圳 01: 2024-12-20, 2025-11-03, 2025-12-01 → 3 at the end of 2025 Q4, 1 at the end of 2024 Q4 (beside
    # the demo's own)
    now, before = 3 + demo_now["440300", "01"], 1 + demo_before["440300", "01"]
    assert ict["深圳市 · 通过备案产品 · 本期"] == str(now)
    assert ict["深圳市 · 通过备案产品 · 上年同期"] == str(before)
    assert ict["深圳市 · 通过备案产品 · 增减"] == str(now - before)
    assert ict["深圳市 · 通过备案产品 · 增幅（%）"] == f"{(now - before) / before * 100:.1f}"
    assert equipment["广州市 · 通过备案产品 · 本期"] == str(3 + demo_now["440100", "03"])
    assert equipment["广州市 · 通过备案产品 · 上年同期"] == str(2 + demo_before["440100", "03"])
    assert "杭州市 · 通过备案产品 · 本期" not in header
    total = by_label["合计"]
    assert total["合计 · 通过备案产品 · 本期"] == str(7 + demo_now.total())
    assert total["合计 · 通过备案产品 · 上年同期"] == str(3 + demo_before.total())


def test_the_export_equals_the_page(demo_users: dict[str, Any]) -> None:
    build_history()
    client = client_for(demo_users["guangdong"])
    params = {"rows": "class", "cols": "city", "measures": ["products", "sales"], "period": "2025Q4", "compare": "1"}
    shown = page_table(client.get(URL, params).content.decode())
    response = client.get(URL + "export/", params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert xlsx_rows(response.content) == [same(row) for row in shown]
    assert len(shown) > 3 and isinstance(load_workbook(BytesIO(response.content)).active["B2"].value, int)


def test_a_city_port_sees_only_its_city_in_the_same_analysis(demo_users: dict[str, Any]) -> None:
    demo = on_record(quarter_end(2025, 4), "4403")
    build_history()
    params = {"rows": "class", "cols": "city", "period": "2025Q4", "compare": "1"}
    rows = page_table(client_for(demo_users["shenzhen"]).get(URL, params).content.decode())
    cities = {h.split(" · ")[0] for h in rows[0][1:]}
    assert cities == {"深圳市", "合计"}
    total = dict(zip(rows[0], rows[-1], strict=True))
    assert total["合计 · 通过备案产品 · 本期"] == str(
        4 + demo.total()
    )  # 深圳's four of 2025 Q4's seven, and the demo's


@pytest.mark.parametrize("port", ["", "440000"])
def test_the_current_state_is_read_from_the_cells_and_equals_the_live_dashboard(
    demo_users: dict[str, Any], port: str
) -> None:
    build_history()
    user = demo_users["guangdong"] if port else demo_users["national"]
    area = dashboards.area_for(user, port)
    definition = analysis.Definition(rows=("city",), cols=("class",), measures=("products",))
    assert analysis.covered_by_cells(definition)
    result = analysis.run(area, definition)
    assert result.from_cells and result.as_of is not None
    live = dashboards.live_dashboard(area)
    assert result.body[-1][-1] == live["totals"]["approved"]
    by_class = {r["label"]: r["count"] for r in live["by_class"]}
    class_columns = {h.split(" · ")[0]: i for i, h in enumerate(result.header) if i}
    for label, count in by_class.items():
        assert result.body[-1][class_columns[label]] == count
    # the same pivot from the base tables (output is not in the cells) agrees
    base = analysis.run(area, analysis.Definition(rows=("city",), cols=("class",), measures=("products", "output")))
    assert not base.from_cells
    assert [r[0] for r in base.body] == [r[0] for r in result.body]


def test_a_time_dimension_holds_each_bucket_as_of_its_end_and_totals_the_last(demo_users: dict[str, Any]) -> None:
    demo = [on_record(quarter_end(2025, quarter)).total() for quarter in (1, 2, 3, 4)]
    build_history()
    area = dashboards.area_for(demo_users["guangdong"])
    result = analysis.run(area, analysis.Definition(rows=("quarter",), measures=("products",), period="2025"))
    quarters = {r[0]: r[1] for r in result.body}
    assert quarters == {  # HISTORY's approvals in 广东 by each quarter's end, beside the demo's own
        "2025年第1季度": 3 + demo[0],
        "2025年第2季度": 3 + demo[1],
        "2025年第3季度": 3 + demo[2],
        "2025年第4季度": 7 + demo[3],
        "合计": 7 + demo[3],
    }
    assert result.time_note


def test_the_patent_type_counts_each_product_once_in_its_total(demo_users: dict[str, Any]) -> None:
    area = dashboards.area_for(demo_users["guangdong"])
    result = analysis.run(area, analysis.Definition(rows=("patent",), measures=("products", "patents")))
    total = result.body[-1]
    assert total[1] == dashboards.live_dashboard(area)["totals"]["approved"]
    assert total[2] == sum(r[2] for r in result.body[:-1])  # patents add up; products need not


# ---------------------------------------------------------------------------------------------
# Property: a pivot's cells add up to the dashboard's total


PARTITIONS = ["province", "city", "county", "class", "section", "scale", "kind", "certified", "status"]
UNIT_FRIENDLY = ["province", "city", "county", "section", "scale", "kind"]


@st.composite
def pivots(draw: Any) -> tuple[analysis.Definition, str]:
    dims = draw(st.lists(st.sampled_from(PARTITIONS), min_size=1, max_size=3, unique=True))
    split = draw(st.integers(min_value=0, max_value=len(dims)))
    allowed = ["products", "sales", "exports", "certified"]
    if set(dims) <= set(UNIT_FRIENDLY):
        allowed.append("units")
    measures = draw(st.lists(st.sampled_from(allowed), min_size=1, max_size=3, unique=True))
    period = draw(st.sampled_from(["", "2024Q4", "2025Q4", "2025-03", "2025"]))
    who = draw(st.sampled_from(["guangdong", "shenzhen", "national"]))
    return analysis.Definition(
        rows=tuple(dims[:split]), cols=tuple(dims[split:]), measures=tuple(measures), period=period
    ), who


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pivots())
def test_the_cells_of_any_pivot_add_up_to_the_dashboard_total(demo_users: dict[str, Any], pivot: Any) -> None:
    if not FilingUnit.objects.filter(created_at__lt=Q4_2024).exists():  # once per test, not per example
        build_history()
    definition, who = pivot
    area = dashboards.area_for(demo_users[who])
    result = analysis.run(area, definition)
    if definition.period:
        totals = dashboards.state_at(area, periods.parse(definition.period).end)["totals"]
    else:
        totals = dashboards.live_dashboard(area)["totals"]
    status = "status" in definition.dims
    expected = {
        "products": totals["filed"] if status else totals["approved"],
        "sales": totals["sales"],
        "exports": totals["exports"],
        "certified": totals["certified"],
        "units": totals["units"],
    }
    n_label = result.label_columns
    grand = result.body[-1] if result.body else None
    for index, header in enumerate(result.header[n_label:]):
        measure = next(m for m in definition.measures if header.endswith(analysis.measure_label(definition, m)))
        is_total_column = not definition.cols or header.startswith("合计")
        cells = [row[n_label + index] for row in result.body if not (definition.rows and row[0] == "合计")]
        if is_total_column:
            assert sum(cells) == expected[measure], (definition, header)
            assert grand is not None or expected[measure] == 0
    if grand is None:
        assert all(not v for k, v in expected.items() if k in definition.measures)


# ---------------------------------------------------------------------------------------------
# Scope per role


def test_scope_per_role(demo_users: dict[str, Any], client: Client) -> None:
    params = {"rows": "city", "f_city": "440300"}
    assert client_for(demo_users["guangdong"]).get(URL, params).status_code == 200
    assert client_for(demo_users["shenzhen"]).get(URL, params).status_code == 200
    # a region of another province, a port of another province: 404 as elsewhere
    assert client_for(demo_users["zhejiang"]).get(URL, params).status_code == 404
    assert client_for(demo_users["zhejiang"]).get(URL, {"rows": "city", "port": "440300"}).status_code == 404
    assert client_for(demo_users["zhejiang"]).get(URL + "export/", params).status_code == 404
    assert client_for(demo_users["shenzhen"]).get(URL, {"rows": "county", "f_city": "440100"}).status_code == 404
    # enterprise users and reviewers: no access; anonymous: the login page
    for name in ("ent-sz", "reviewer"):
        assert client_for(demo_users[name]).get(URL).status_code == 404
        assert client_for(demo_users[name]).get(URL + "export/", {"rows": "city"}).status_code == 404
    response = client.get(URL)
    assert response.status_code == 302 and "login" in response["Location"]
    # the national office may look at one port
    rows = page_table(client_for(demo_users["national"]).get(URL, {"rows": "city", "port": "440300"}).content.decode())
    assert [r[0] for r in rows[1:]] == ["深圳市", "合计"]


# ---------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"rows": ["city", "class"], "cols": ["scale", "kind"]}, "最多选择 3 个维度"),
        ({"rows": "bogus"}, "没有这个维度"),
        ({"rows": "city", "period": "2099Q1"}, "期间尚未结束"),
        ({"rows": "city", "compare": "1"}, "需要先选择期间"),
        ({"rows": "month"}, "需要先选择期间"),
        ({"rows": "class", "measures": "units"}, "备案单位只能按单位自身的维度"),
        ({"rows": "city", "f_scale": "huge"}, "取值无效"),
        ({"rows": "month", "period": "2020-01..2025-12"}, "时点过多"),
    ],
)
def test_bad_definitions_get_a_message_not_a_500(
    demo_users: dict[str, Any], params: dict[str, Any], message: str
) -> None:
    client = client_for(demo_users["guangdong"])
    response = client.get(URL, params)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert client.get(URL + "export/", params).status_code == 400


def test_too_large_a_result_says_so(demo_users: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analysis_result, "MAX_CELLS", 3)  # read where the size is checked
    response = client_for(demo_users["guangdong"]).get(URL, {"rows": "class", "cols": "city"})
    assert response.status_code == 400
    assert "结果过大" in response.content.decode()


# ---------------------------------------------------------------------------------------------
# Saved analyses


def test_saved_analyses_are_per_user_and_shared_within_the_port(demo_users: dict[str, Any], make_user: Any) -> None:
    from provincial.models import ManagementUnit
    from provincial.services import port_add_admin

    owner = client_for(demo_users["guangdong"])
    params = {"rows": "class", "cols": "city", "period": "2025Q4", "compare": "1"}
    response = owner.post(URL + "saved/", {**params, "name": "分类×城市", "shared": "1"})
    assert response.status_code == 302
    saved = SavedAnalysis.objects.get(name="分类×城市")
    assert saved.definition["rows"] == ["class"] and saved.shared
    opened = owner.get(response["Location"])
    assert opened.status_code == 302 and "period=2025Q4" in opened["Location"]
    private = owner.post(URL + "saved/", {"rows": "city", "name": "私有"})
    assert private.status_code == 302
    # a colleague of the same port sees the shared one, not the private one
    colleague_user = make_user("gd2@example.cn", role="port_admin")
    port_add_admin(unit=ManagementUnit.objects.get(code="440000"), user=colleague_user)
    colleague = client_for(colleague_user)
    page = colleague.get(URL).content.decode()
    assert "分类×城市" in page and "私有" not in page
    assert colleague.get(f"{URL}saved/{saved.pk}/").status_code == 302
    private_pk = SavedAnalysis.objects.get(name="私有").pk
    assert colleague.get(f"{URL}saved/{private_pk}/").status_code == 404
    # only the owner deletes; another port never sees it
    assert colleague.post(f"{URL}saved/{saved.pk}/delete/").status_code == 404
    assert client_for(demo_users["shenzhen"]).get(f"{URL}saved/{saved.pk}/").status_code == 404
    assert client_for(demo_users["national"]).get(f"{URL}saved/{saved.pk}/").status_code == 404
    confirm = owner.get(f"{URL}saved/{saved.pk}/delete/")
    assert confirm.status_code == 200 and "确定删除" in confirm.content.decode()
    assert SavedAnalysis.objects.filter(pk=saved.pk).exists()
    assert owner.post(f"{URL}saved/{saved.pk}/delete/").status_code == 302
    assert not SavedAnalysis.objects.filter(pk=saved.pk).exists()


def test_saving_without_a_name_keeps_the_input(demo_users: dict[str, Any]) -> None:
    response = client_for(demo_users["guangdong"]).post(URL + "saved/", {"rows": "city", "name": " "})
    assert response.status_code == 400
    assert "请填写名称" in response.content.decode()
    assert not SavedAnalysis.objects.exists()


def test_a_saved_definition_is_validated_by_the_engine() -> None:
    with pytest.raises(analysis.DefinitionError):
        analysis.Definition.from_data({"rows": ["city"], "measures": ["nonsense"]})
    definition = analysis.Definition.from_data({"rows": ["city"], "cols": ["class"], "period": "2025Q4"})
    assert analysis.Definition.from_data(definition.to_data()) == definition


def test_the_dashboards_word_current_is_the_current_state() -> None:
    from provincial import analysis

    definition = analysis.Definition.from_data({"rows": ["city"], "measures": ["products"], "period": "current"})
    assert definition.period == ""
