"""The analysis page in a browser (issue 20): 广东 builds a class × city pivot for 2025 Q4 against 2024 Q4,
exports it, and the workbook holds exactly the page's table; the chart is drawn from the local ECharts; 深圳
opens the same analysis and sees only its own city, and not 广东's saved analysis."""

from io import BytesIO

import pytest
from openpyxl import load_workbook

from provincial.models import SavedAnalysis
from tests.analysis_history import build_history, on_record, quarter_end
from tests.browser.test_progress_report import log_in, log_out
from tests.provincial.test_analysis import same

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shown_table(page) -> list[list[str]]:  # type: ignore[no-untyped-def]
    return page.eval_on_selector_all(
        "[data-testid=analysis-table] tr",
        "rows => rows.map(r => Array.from(r.querySelectorAll('th,td')).map(c => c.textContent.trim()))",
    )


def test_a_province_pivots_exports_and_a_city_sees_only_itself(page, demo) -> None:  # type: ignore[no-untyped-def]
    # the demo's own approvals (load_demo approves over the past two years), beside HISTORY's
    demo_now, demo_before = on_record(quarter_end(2025, 4)), on_record(quarter_end(2024, 4))
    build_history()
    log_in(page, "guangdong@example.cn")
    page.goto("/port/analysis/")
    page.select_option("[data-testid=rows-1]", "class")
    page.select_option("[data-testid=cols-1]", "city")
    assert page.is_checked("[data-testid=measure-products]")
    page.fill("[data-testid=period]", "2025Q4")
    page.check("[data-testid=compare]")
    page.click("[data-testid=analysis-run]")
    page.wait_for_selector("[data-testid=analysis-table]")
    table = shown_table(page)
    header = table[0]
    assert header[0] == "产品分类"
    assert {
        "广州市 · 通过备案产品 · 本期",
        "深圳市 · 通过备案产品 · 上年同期",
        "合计 · 通过备案产品 · 增幅（%）",
    } <= set(header)
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in table[1:]}
    assert rows["01 信息通信技术制造业"]["深圳市 · 通过备案产品 · 本期"] == str(3 + demo_now["440300", "01"])
    assert rows["01 信息通信技术制造业"]["深圳市 · 通过备案产品 · 上年同期"] == str(1 + demo_before["440300", "01"])
    assert rows["合计"]["合计 · 通过备案产品 · 本期"] == str(7 + demo_now.total())
    assert "2025年第4季度" in page.text_content("[data-testid=analysis-basis]")
    # the chart: drawn by the locally served ECharts, with the table as its alternative
    page.wait_for_selector("[data-testid=analysis-chart] canvas")

    with page.expect_download() as download_info:
        page.click("[data-testid=analysis-export]")
    path = download_info.value.path()
    sheet = load_workbook(BytesIO(open(path, "rb").read()), read_only=True).worksheets[0]  # noqa: SIM115
    workbook = [same(list(row)) for row in sheet.iter_rows(values_only=True)]
    assert workbook == [same(row) for row in table]

    page.fill("[data-testid=save-name]", "分类×城市 四季度")
    page.check("[data-testid=save-shared]")
    page.click("[data-testid=save-submit]")
    page.wait_for_selector("[data-testid=analysis-table]")
    assert shown_table(page) == table  # the saved analysis opens the same table
    analysis_url = page.url
    saved = SavedAnalysis.objects.get(name="分类×城市 四季度")
    log_out(page)

    log_in(page, "shenzhen@example.cn")
    page.goto(analysis_url)
    city_table = shown_table(page)
    assert {h.split(" · ")[0] for h in city_table[0][1:]} == {"深圳市", "合计"}
    assert dict(zip(city_table[0], city_table[-1], strict=True))["合计 · 通过备案产品 · 本期"] == str(
        4 + sum(n for (city, _class), n in demo_now.items() if city == "440300")
    )
    assert "分类×城市 四季度" not in page.content()  # shared within 广东's port only
    response = page.goto(f"/port/analysis/saved/{saved.pk}/")
    assert response is not None and response.status == 404
