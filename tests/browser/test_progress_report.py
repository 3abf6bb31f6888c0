"""A progress report (工作报送) in the browser: the 广东 port administrator opens the new-report form, sends
it empty (refused, with a message per field), then fills it in with a PDF attachment and submits; the
national administrator gets the e-mail, finds the report unread in the list, opens it (it becomes read),
comments and marks it a typical case after the confirmation page; back on the port, the report shows the
mark and the comment, and the attachment downloads. The port pages also fit a phone's width."""

from pathlib import Path

import pytest
from django.core import mail

from provincial.models import ProgressReport
from tests.browser.nav import nav_go

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Demo-2026!"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
TITLE = "广东省专利产品备案工作季度进展"
COMMENT = "进展清楚。请在下次报送中补充各地市的备案数量。"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = str(tmp_path / "media")


def log_in(page, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/accounts/login/" not in page.url


def log_out(page) -> None:  # type: ignore[no-untyped-def]
    if not page.is_visible("[data-testid=user-menu]"):
        page.click(".navbar-toggler")
    page.click("[data-testid=user-menu]")
    page.click("text=退出登录")
    page.wait_for_url("**/accounts/login/")


def test_a_port_reports_and_the_national_office_marks_a_typical_case(page, demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    attachment = tmp_path / "季度进展.pdf"
    attachment.write_bytes(PDF)

    # the port: the empty form first
    log_in(page, "guangdong@example.cn")
    nav_go(page, "工作报送")
    page.wait_for_url("**/port/reports/")
    page.click("[data-testid=report-new-link]")
    page.wait_for_url("**/port/reports/new/")
    page.click("[data-testid=report-submit]")
    page.wait_for_selector("[data-testid=form-invalid]")
    assert "请选择报送类别。" in page.inner_text("[data-testid=error-category]")
    assert "请填写标题。" in page.inner_text("[data-testid=error-title]")
    assert "请填写正文。" in page.inner_text("[data-testid=error-body]")
    assert not ProgressReport.objects.filter(title=TITLE).exists()

    # then the report with an attachment
    page.select_option("#id_category", "progress")
    page.fill("#id_title", TITLE)
    page.fill("#id_body", "一、本季度新增备案企业 12 家。\n二、举办备案培训 3 场。")
    page.set_input_files("#id_attachments", str(attachment))
    mail.outbox.clear()
    page.click("[data-testid=report-submit]")
    page.wait_for_selector("[data-testid=report-card]")
    report = ProgressReport.objects.get(title=TITLE)
    assert page.url.endswith(f"/port/reports/{report.pk}/")
    assert page.is_visible("[data-testid=unread-badge]")
    assert "季度进展.pdf" in page.inner_text("[data-testid=attachments]")
    assert [m.to for m in mail.outbox] == [["national@example.cn"]] and TITLE in mail.outbox[0].subject
    log_out(page)

    # the national office: unread in the list, opened, commented, marked typical
    log_in(page, "national@example.cn")
    page.goto("/national/reports/")
    row = page.locator(f"[data-testid=report-row][data-report='{report.pk}']")
    assert row.locator("[data-testid=row-unread]").count() == 1
    row.locator("[data-testid=report-link]").click()
    page.wait_for_url(f"**/national/reports/{report.pk}/")
    assert page.is_visible("[data-testid=read-badge]")
    report.refresh_from_db()
    assert report.read_at is not None

    page.click("[data-testid=comment-submit]")  # empty: refused
    page.wait_for_selector("[data-testid=error-body]")
    page.fill("#id_body", COMMENT)
    page.click("[data-testid=comment-submit]")
    page.wait_for_selector("[data-testid=comment]")
    assert COMMENT in page.inner_text("[data-testid=comments]")

    page.click("[data-testid=typical-toggle]")
    page.wait_for_url(f"**/national/reports/{report.pk}/typical/")
    assert TITLE in page.inner_text("[data-testid=typical-question]")
    report.refresh_from_db()
    assert not report.is_typical  # not before the confirmation
    page.click("[data-testid=typical-confirm]")
    page.wait_for_url(f"**/national/reports/{report.pk}/")
    assert page.is_visible("[data-testid=typical-badge]")
    page.goto("/national/reports/typical/")
    assert TITLE in page.inner_text("[data-testid=reports-table]")
    log_out(page)

    # the port sees the mark and the comment
    log_in(page, "guangdong@example.cn")
    page.goto("/port/reports/")
    page.locator(f"[data-testid=report-row][data-report='{report.pk}'] [data-testid=report-link]").click()
    page.wait_for_url(f"**/port/reports/{report.pk}/")
    assert page.is_visible("[data-testid=typical-badge]")
    assert COMMENT in page.inner_text("[data-testid=comments]")
    with page.expect_download() as download_info:
        page.click("[data-testid=attachment-link]")
    assert Path(download_info.value.path()).read_bytes() == PDF

    # on a phone the list and the form fit the screen
    page.set_viewport_size({"width": 390, "height": 800})
    for url in ("/port/reports/", "/port/reports/new/", f"/port/reports/{report.pk}/"):
        page.goto(url)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, url
