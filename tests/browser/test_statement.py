"""A filing statement in the browser: the enterprise generates and downloads its statement; the address
printed under the QR code opens, on a bureau's phone and without login, the verification page that says
有效 and lists the products; the province port finds the unit by its USCC and sees the same statement."""

import io
import re
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from filings.models import FilingUnit, Product
from provincial.models import FilingStatement
from tests.browser.nav import nav_go
from tests.browser.test_filing_journey import alerts, fits_the_screen, log_in, log_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Demo-2026!"
UNIT = "广州云帆智能装备有限公司"


@pytest.fixture
def demo_data(reference: None, settings, live_server) -> None:  # type: ignore[no-untyped-def]
    settings.SITE_URL = live_server.url  # the address printed on the PDF and in its QR code
    call_command("load_demo", verbosity=0, stdout=io.StringIO())


def test_an_enterprise_downloads_its_statement_and_a_bureau_verifies_it(
    page, live_server, demo_data, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    unit = FilingUnit.objects.get(name=UNIT)
    filing_numbers = sorted(
        Product.objects.filter(unit=unit, versions__status="approved")
        .values_list("filing_number", flat=True)
        .distinct()
    )
    assert len(filing_numbers) == 2

    # --- the enterprise: from its navigation to the empty list, generates one, downloads the PDF
    log_in(page, "ent-gz@example.cn", PASSWORD, "/enterprise/")
    nav_go(page, "备案情况证明")
    expect(page.locator("[data-testid=statements-empty]")).to_be_visible()
    page.click("[data-testid=statement-issue]")
    expect(page.locator("main .alert-success")).to_contain_text("已生成备案情况证明")
    statement = FilingStatement.objects.get(unit=unit)
    row = page.locator("[data-testid=statement-row]", has_text=statement.number)
    with page.expect_download() as download:
        row.locator("[data-testid=statement-download]").click()
    pdf = tmp_path / "statement.pdf"
    download.value.save_as(pdf)
    assert download.value.suggested_filename.endswith(".pdf")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert statement.number in text and UNIT in text
    for number in filing_numbers:
        assert number in text
    url = re.search(r"https?://\S+/verify/statement/[0-9a-f]{32}/", text)
    assert url, text
    log_out(page)

    # --- a bureau checking an award application: a fresh phone, no login, opens the printed address
    bureau = page.context.browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    phone = bureau.new_page()
    phone.goto(url.group(0))
    expect(phone.locator("[data-testid=verify-status]")).to_contain_text("有效")
    data = phone.locator("[data-testid=verify-data]")
    expect(data).to_contain_text(statement.number)
    expect(data).to_contain_text(UNIT)
    for name in ("工业协作机器人", "智能巡检机器人"):
        expect(data).to_contain_text(name)
    for number in filing_numbers:
        expect(data).to_contain_text(number)
    expect(phone.locator("[data-testid=verify-unchanged]")).to_be_visible()
    assert fits_the_screen(phone, 390)
    phone.goto(f"{live_server.url}/verify/statement/{'0' * 32}/")
    expect(phone.locator("[data-testid=verify-missing]")).to_contain_text("未找到")
    bureau.close()

    # --- the province port: a wrong USCC first, then the unit's, and the statement is there
    log_in(page, "guangdong@example.cn", PASSWORD, "/port/")
    nav_go(page, "备案情况证明")
    wrong = unit.uscc[:17] + ("1" if unit.uscc.endswith("0") else "0")
    page.fill("#id_uscc", wrong)
    page.click("[data-testid=uscc-form] button[type=submit]")
    expect(page.locator("[data-testid=uscc-error]")).to_contain_text("校验码")
    expect(page.locator("#id_uscc")).to_have_value(wrong)
    page.fill("#id_uscc", unit.uscc)
    page.click("[data-testid=uscc-form] button[type=submit]")
    expect(page.locator("[data-testid=page-title]")).to_have_text(UNIT)
    expect(page.locator("[data-testid=statement-row]", has_text=statement.number)).to_be_visible()
    assert not alerts(page).count("服务器错误")
