"""A port signs off a month and the national office sees it (issue 20): the 深圳 port administrator opens last
month from its publications list, sends an empty problem note (refused, with the message), then signs off the
edition shown (after the confirmation); the national office finds 深圳 signed on its months page, with the
number of ports that have not signed, reminds them after the confirmation page and releases the national
publication; the pages fit a phone's width."""

from pathlib import Path

import pytest

from patent_platform.clock import previous_month
from provincial.choices import SignoffState
from provincial.models import NATIONAL_SCOPE, MonthSignoff, Publication
from tests.browser.test_progress_report import log_in, log_out
from tests.provincial.test_publication_views import make_publication

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MONTH = previous_month()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = str(tmp_path / "media")


def test_a_port_signs_off_a_month_and_the_national_office_sees_it(page, demo) -> None:  # type: ignore[no-untyped-def]
    for code in ("440000", "440300", "330000", NATIONAL_SCOPE):
        make_publication(code)
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations (data-confirm)

    # the port: from its publications to the month
    log_in(page, "shenzhen@example.cn")
    page.goto("/port/publications/")
    row = page.locator("[data-testid=publication-row][data-scope='440300'][data-kind='monthly']")
    assert row.locator("[data-testid=signoff-state]").get_attribute("data-state") == "open"
    row.locator("[data-testid=month-link]").click()
    page.wait_for_url(f"**/port/months/{MONTH:%Y-%m}/**")
    assert "第 1 版" in page.inner_text("[data-testid=month-edition]")

    page.click("[data-testid=problem-submit]")  # no description: refused
    page.wait_for_selector("[data-testid=problem-note-error]")
    assert "请说明发现的问题。" in page.inner_text("[data-testid=problem-note-error]")

    page.fill("#id_sign_note", "已与本市统计核对一致。")
    page.click("[data-testid=sign-submit]")
    page.wait_for_selector("[data-testid=signoff-state][data-state=signed]")
    assert "已确认" in page.inner_text("[data-testid=month-state]")
    assert not page.is_visible("[data-testid=sign-form]")
    assert MonthSignoff.objects.get(unit__code="440300", period=MONTH).state == SignoffState.SIGNED
    page.set_viewport_size({"width": 390, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 800})
    log_out(page)

    # the national office
    log_in(page, "national@example.cn")
    page.goto(f"/national/publications/?period={MONTH:%Y-%m}")
    page.click("[data-testid=months-link]")
    page.wait_for_url("**/national/months/**")
    shenzhen = page.locator("[data-testid=month-row][data-code='440300']")
    assert shenzhen.get_attribute("data-state") == "signed"
    assert "已与本市统计核对一致。" in shenzhen.inner_text()
    assert page.locator("[data-testid=month-row][data-code='440000']").get_attribute("data-state") == "open"
    assert "尚有 2 个端口未确认" in page.inner_text("[data-testid=release-unsigned]")

    page.click("[data-testid=remind-link]")
    page.wait_for_selector("[data-testid=remind-ports]")
    assert "广东" in page.inner_text("[data-testid=remind-ports]")
    assert "深圳" not in page.inner_text("[data-testid=remind-ports]")
    page.click("[data-testid=remind-confirm]")
    page.wait_for_url("**/national/months/?period=*")
    assert page.locator("[data-testid=month-row][data-code='440000'] [data-testid=reminded-on]").count() == 1

    page.click("[data-testid=release-submit]")
    page.wait_for_selector("[data-testid=released]")
    assert Publication.objects.get(scope_key=NATIONAL_SCOPE, period=MONTH, kind="monthly").is_released
    page.set_viewport_size({"width": 390, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
