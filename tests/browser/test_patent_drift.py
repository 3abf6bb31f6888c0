"""Patent status drift in the browser: the demo reviewer downloads the CSV template, uploads a status file
(GB18030, as Excel on Chinese Windows saves it) that lapses a patent of an approved demo filing of 杭州西溪,
follows the import to its result; the filer logs in, sees the count on its home page and the flag on the
filing, with what to do. Both were told by e-mail."""

import io
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from playwright.sync_api import expect

from filings.models import FilingFlag, ProductVersion
from tests.browser.nav import nav_go
from tests.browser.test_filing_journey import log_in, log_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Demo-2026!"
PRODUCT = "高阻隔包装膜"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def version(reference: None) -> ProductVersion:
    call_command("load_demo", verbosity=0, stdout=io.StringIO())
    return ProductVersion.objects.get(name=PRODUCT, status="approved")


def test_a_status_import_lapses_a_patent_and_the_filer_sees_the_flag(page, live_server, version, tmp_path) -> None:  # type: ignore[no-untyped-def]
    patent = version.links.get().right.patent
    log_in(page, "reviewer@example.cn", PASSWORD, "/review/")
    nav_go(page, "专利状态提示")
    expect(page.locator("[data-testid=flags-empty]")).to_be_visible()
    page.click("main a[href='/review/patent-status/']")
    expect(page.locator("[data-testid=imports-empty]")).to_be_visible()
    with page.expect_download() as download:
        page.click("[data-testid=template-csv]")
    assert download.value.suggested_filename.endswith(".csv")

    # first a file with a typo: nothing is applied, the row is named
    bad = tmp_path / "状态-错误.csv"
    bad.write_bytes(f"申请号,法律状态,生效日期\nZL{patent.number},失效了,2025-03-01\n".encode("gb18030"))
    page.set_input_files("[data-testid=upload-file]", str(bad))
    page.click("[data-testid=upload-submit]")
    expect(page.locator("[data-testid=import-status]")).to_have_attribute("data-status", "failed")
    expect(page.locator("[data-testid=error-row]")).to_have_count(1)
    expect(page.locator("[data-testid=error-row]")).to_contain_text("失效了")
    assert not FilingFlag.objects.exists()

    page.click("main a:text-is('修改后重新上传')")
    good = tmp_path / "状态.csv"
    good.write_bytes(f"申请号,法律状态,生效日期\nZL{patent.number},未缴年费终止,2025-03-01\n".encode("gb18030"))
    page.set_input_files("[data-testid=upload-file]", str(good))
    page.click("[data-testid=upload-submit]")
    expect(page.locator("[data-testid=import-result]")).to_be_visible()  # the panel follows the task to its end
    expect(page.locator("[data-testid=import-bar]")).to_have_text("100%")
    expect(page.locator("[data-testid=flagged-count]")).to_have_text("1")
    page.click("[data-testid=flags-link]")
    row = page.locator("[data-testid=flag-row]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(patent.number)
    expect(row).to_contain_text(PRODUCT)
    recipients = {address for message in mail.outbox if patent.number in message.subject for address in message.to}
    assert {"ent-hz@example.cn", "reviewer@example.cn"} <= recipients
    log_out(page)

    # the filer: a count on the home page, the banner on the filing
    log_in(page, "ent-hz@example.cn", PASSWORD, "/enterprise/")
    summary = page.locator("[data-testid=flags-summary]")
    expect(summary).to_contain_text(patent.number)
    summary.locator("a", has_text=PRODUCT).click()
    banner = page.locator("[data-testid=flag-banner]")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(patent.number)
    expect(banner).to_contain_text("失效")
    expect(banner).to_contain_text("2025-03-01")
    expect(page.locator("[data-testid=flag-advice]")).to_contain_text("撤回")
    # on a phone the banner fits the screen
    page.set_viewport_size({"width": 390, "height": 800})
    expect(banner).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
