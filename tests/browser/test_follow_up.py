"""Following up who has not filed, in the browser (issue 20 part 4): the 广东 port opens its not-filed list,
which shows the roster contacts of the demo, ticks two enterprises that are not registered, invites them
(the confirm step shows the masked addresses), and the list then says when they were invited; a second
invitation the same day is skipped. One enterprise opens the link of its mail: the registration form is
filled in with its USCC and name, it registers; the port's list and history then say "registered since"."""

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from playwright.sync_api import expect

from filings.identifiers import build_uscc
from filings.models import FilingUnit
from patent_platform.models import AuditEvent
from provincial.models import FollowUp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FOSHAN = build_uscc(region_code="440604", org_body="MA5DM001")  # the demo roster's 佛山禅城示例精密机械有限公司
YUEXIU = build_uscc(region_code="440104", org_body="MA5DM002")  # 广州越秀示例智能科技有限公司
YUEXIU_MAIL = "yueshili@yuexiu-demo.example.cn"
FILER_EMAIL = "li.yuexiu@yuexiu-demo.example.cn"
PASSWORD = "Yuexiu#Filer-2026"


def log_in(page, email: str, password: str, lands_on: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{lands_on}")


def log_out(page) -> None:  # type: ignore[no-untyped-def]
    page.click("[data-testid=user-menu]")
    page.click("text=退出登录")
    page.wait_for_url("**/accounts/login/")


def row(page, uscc: str):  # type: ignore[no-untyped-def]
    return page.locator(f"[data-testid=missing-row][data-uscc='{uscc}']")


def test_a_port_invites_two_enterprises_and_one_registers_through_the_link(page, demo) -> None:  # type: ignore[no-untyped-def]
    log_in(page, "guangdong@example.cn", "Demo-2026!", "/port/")

    # 1. the not-filed list shows the roster contacts; select two and invite them
    page.goto("/rosters/missing/")
    expect(row(page, YUEXIU).locator("[data-testid=roster-contact]")).to_contain_text(YUEXIU_MAIL)
    expect(row(page, YUEXIU).locator("[data-testid=follow-up-status]")).to_contain_text("未督促")
    # "select all" ticks every row, then two are kept
    page.check("[data-testid=check-all]")
    assert page.locator("[data-testid=pick]:checked").count() == page.locator("[data-testid=pick]").count() == 3
    page.uncheck("[data-testid=check-all]")
    assert page.locator("[data-testid=pick]:checked").count() == 0
    row(page, FOSHAN).locator("[data-testid=pick]").check()
    row(page, YUEXIU).locator("[data-testid=pick]").check()
    page.click("[data-testid=send-invitation]")

    # 2. the confirm step: both, their addresses masked; nothing sent yet
    page.wait_for_selector("[data-testid=follow-up-confirm]")
    assert page.locator("[data-testid=send-row]").count() == 2
    expect(page.locator("[data-testid=will-send]")).to_contain_text("y***@yuexiu-demo.example.cn")
    assert YUEXIU_MAIL not in page.content()
    assert not FollowUp.objects.exists() and not mail.outbox
    page.click("[data-testid=confirm-send]")
    page.wait_for_url("**/rosters/missing/")
    expect(page.locator("main .alert-success")).to_contain_text("2 家企业")
    expect(row(page, YUEXIU).locator("[data-testid=last-reminded]")).to_contain_text("最近邀请注册备案")
    expect(row(page, FOSHAN).locator("[data-testid=last-reminded]")).to_be_visible()
    assert sorted(m.to[0] for m in mail.outbox) == ["fengshili@foshan-demo.example.cn", YUEXIU_MAIL]
    assert FollowUp.objects.filter(port__code="440000").count() == 2

    # a second invitation the same day is skipped, and the page says why
    row(page, YUEXIU).locator("[data-testid=pick]").check()
    page.click("[data-testid=send-invitation]")
    page.wait_for_selector("[data-testid=follow-up-confirm]")
    expect(page.locator("[data-testid=will-skip]")).to_contain_text("每家企业每天最多一封")
    expect(page.locator("[data-testid=confirm-send]")).to_have_count(0)
    page.click("[data-testid=cancel-send]")
    page.wait_for_url("**/rosters/missing/")
    log_out(page)

    # 3. 广州越秀 opens the link of its mail: the form is filled in with its code and name; it registers
    [invitation] = [m for m in mail.outbox if m.to == [YUEXIU_MAIL]]
    link = re.search(r"https?://\S+/enterprise/register/\?invite=\S+", invitation.body).group(0)
    parts = urlsplit(link)
    page.goto(f"{parts.path}?{parts.query}")
    expect(page.locator("[data-testid=invitation-note]")).to_contain_text("广州越秀示例智能科技有限公司")
    assert page.input_value("#id_uscc") == YUEXIU
    assert page.input_value("#id_name") == "广州越秀示例智能科技有限公司"
    page.select_option("#id_province", label="广东省")
    expect(page.locator("#id_city option", has_text="广州市")).to_have_count(1)
    page.select_option("#id_city", label="广州市")
    expect(page.locator("#id_county option", has_text="越秀区")).to_have_count(1)
    page.select_option("#id_county", label="越秀区")
    page.fill("#id_contact_name", "李越")
    page.fill("#id_contact_phone", "020-80000102")
    page.fill("#id_email", FILER_EMAIL)
    page.fill("#id_full_name", "李越")
    page.fill("#id_phone", "13800000102")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("[data-testid=register-submit]")
    page.wait_for_url("**/accounts/email/")
    unit = FilingUnit.objects.get(uscc=YUEXIU)
    assert unit.name == "广州越秀示例智能科技有限公司"
    assert AuditEvent.objects.filter(object_id=str(unit.pk), message="registration through an invitation link")
    log_out(page)

    # 4. the port sees it: registered since the invitation, on the list and in the history
    log_in(page, "guangdong@example.cn", "Demo-2026!", "/port/")
    page.goto("/rosters/missing/")
    expect(row(page, YUEXIU).locator("[data-testid=missing-state]")).to_contain_text("已注册")
    expect(row(page, YUEXIU).locator("[data-testid=registered-since]")).to_contain_text("提醒后已注册")
    expect(row(page, YUEXIU).locator("[data-testid=unit-contact]")).to_contain_text("李越")
    expect(row(page, FOSHAN).locator("[data-testid=registered-since]")).to_have_count(0)
    page.click("[data-testid=roster-tabs] >> text=督促记录")
    page.wait_for_url("**/rosters/follow-ups/")
    history = page.locator(f"[data-testid=follow-up-row][data-uscc='{YUEXIU}']")
    expect(history.locator("[data-testid=registered-after]")).not_to_have_text("—")
    expect(
        page.locator(f"[data-testid=follow-up-row][data-uscc='{FOSHAN}'] [data-testid=registered-after]")
    ).to_have_text("—")
