"""A taken USCC claimed back, in the browser (issue 19, build 1; docs/UNITS.md).

Somebody registers the USCC of a demo enterprise of the national roster (佛山禅城示例精密机械有限公司, not on the
platform yet), confirms its e-mail and prepares a draft, but cannot submit it: the unit is not verified. The
real company then tries to register, is refused, follows the claim link from the refusal, opens a claim with
its own account and the sealed authorisation letter and business licence, and confirms its e-mail. The demo
reviewer finds the claim in the queue, opens the proofs and accepts. The registrant's account is suspended (it
cannot sign in) and told why by mail; its draft is kept; the claimant signs in as the unit's manager.
"""

import re
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core import mail
from PIL import Image
from playwright.sync_api import expect

from filings.identifiers import build_uscc
from filings.models import FilingUnit, IdentityRequest, ProductVersion
from tests.browser.nav import nav_go
from tests.factories import ProductVersionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_PASSWORD = "Demo-2026!"
USCC = build_uscc(region_code="440604", org_body="MA5DM001")  # provincial/rosters/demo.py DEMO_UNFILED
REAL_NAME = "佛山禅城示例精密机械有限公司"
IMPOSTOR = "taker@impostor-test.cn"
IMPOSTOR_PASSWORD = "Taker#Filing-2026"
OWNER = "legal@chancheng-precision.cn"
OWNER_PASSWORD = "Owner#Claim-2026"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = str(tmp_path / "media")


def scans(tmp_path: Path) -> tuple[str, str]:
    letter = tmp_path / "授权委托书.pdf"
    letter.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")
    licence = tmp_path / "营业执照.png"
    buffer = BytesIO()
    Image.new("RGB", (320, 220), (200, 40, 40)).save(buffer, format="PNG")
    licence.write_bytes(buffer.getvalue())
    return str(letter), str(licence)


def alerts(page) -> str:  # type: ignore[no-untyped-def]
    return " ".join(page.locator("main .alert").all_text_contents())


def mails_to(address: str) -> list:  # type: ignore[type-arg]
    return [m for m in mail.outbox if address in m.to]


def link_in(message) -> str:  # type: ignore[no-untyped-def]
    return urlsplit(re.search(r"https?://\S+", message.body).group(0)).path


def log_in(page, email: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


def log_out(page) -> None:  # type: ignore[no-untyped-def]
    page.click("[data-testid=user-menu]")
    page.click("text=退出登录")
    page.wait_for_url("**/accounts/login/")


def confirm_email(page, address: str) -> None:  # type: ignore[no-untyped-def]
    expect(page.locator("[data-testid=email-unconfirmed]")).to_contain_text(address)
    [message] = [m for m in mails_to(address) if "确认" in m.subject]
    page.goto(link_in(message))
    page.click("[data-testid=confirm-email]")
    page.wait_for_url("**/enterprise/")


def fill_registration(page, name: str, email: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/enterprise/register/")
    page.fill("#id_uscc", USCC)
    page.fill("#id_name", name)
    page.select_option("#id_province", label="广东省")
    expect(page.locator("#id_city option", has_text="佛山市")).to_have_count(1)
    page.select_option("#id_city", label="佛山市")
    expect(page.locator("#id_county option", has_text="禅城区")).to_have_count(1)
    page.select_option("#id_county", label="禅城区")
    page.fill("#id_contact_name", "联系人")
    page.fill("#id_contact_phone", "0757-83330000")
    page.fill("#id_email", email)
    page.fill("#id_full_name", "经办人")
    page.fill("#id_phone", "13900139000")
    page.fill("#id_password1", password)
    page.fill("#id_password2", password)
    page.click("[data-testid=register-submit]")


def test_a_taken_uscc_is_claimed_back_and_the_taker_is_suspended_and_told(  # type: ignore[no-untyped-def]
    page, demo, tmp_path
) -> None:
    dialogs: list[str] = []

    def accept(dialog) -> None:  # type: ignore[no-untyped-def]
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    letter, licence = scans(tmp_path)

    # 1. the taker registers the code, confirms its e-mail and prepares a draft — but cannot submit it
    fill_registration(page, REAL_NAME, IMPOSTOR, IMPOSTOR_PASSWORD)
    page.wait_for_url("**/accounts/email/")
    confirm_email(page, IMPOSTOR)
    expect(page.locator("[data-testid=unit-unverified]")).to_be_visible()
    unit = FilingUnit.objects.get(uscc=USCC)
    taker = unit.memberships.get().user
    draft = ProductVersionFactory(unit=unit, user=taker, name="精密减速机")  # the draft, as the product form makes it
    page.goto(f"/enterprise/versions/{draft.pk}/")
    page.click("[data-testid=submit-button]")
    page.wait_for_url(f"**/enterprise/versions/{draft.pk}/")
    assert "本单位的身份尚未核验，暂不能提交备案" in alerts(page)
    expect(page.locator("[data-testid=status-badge]")).to_have_text("草稿")
    log_out(page)

    # 2. the real company is refused at registration and claims its code from the refusal
    fill_registration(page, REAL_NAME, OWNER, OWNER_PASSWORD)
    expect(page.locator("[data-testid=error-uscc]")).to_contain_text("该统一社会信用代码已注册")
    page.click("[data-testid=claim-link]")
    page.wait_for_url(re.compile(r"/enterprise/claim/\?uscc="))
    assert page.input_value("#id_uscc") == USCC
    page.fill("#id_email", OWNER)
    page.fill("#id_full_name", "禅城法务")
    page.fill("#id_phone", "13700137000")
    page.fill("#id_password1", OWNER_PASSWORD)
    page.fill("#id_password2", OWNER_PASSWORD)
    page.set_input_files("#id_letter", letter)
    page.set_input_files("#id_licence", licence)
    page.fill("#id_note", "本单位从未授权他人注册。")
    page.click("[data-testid=claim-submit]")
    page.wait_for_url("**/accounts/email/")
    confirm_email(page, OWNER)
    expect(page.locator("[data-testid=my-claim]")).to_have_attribute("data-status", "pending")
    log_out(page)

    # 3. the reviewer finds the claim, reads the proofs and accepts
    log_in(page, "reviewer@example.cn", DEMO_PASSWORD)
    page.wait_for_url("**/review/")
    nav_go(page, "身份核验与认领")
    page.wait_for_url("**/review/identity/")
    page.select_option("#id_kind", value="claim")
    page.click("[data-testid=identity-filters] button[type=submit]")
    row = page.locator("[data-testid=identity-row]")
    expect(row).to_have_count(1)
    row.locator("a").click()
    page.wait_for_url(re.compile(r"/review/identity/\d+/$"))
    expect(page.locator("[data-testid=unit-members]")).to_contain_text(IMPOSTOR)
    image = page.locator("[data-testid=proof-licence] img")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth === 320")
    page.click("[data-testid=identity-accept]")
    page.wait_for_url(re.compile(r"/review/identity/\d+/$"))
    assert "已记录审核结果" in alerts(page)
    assert dialogs == ["确认通过认领？原注册账号将被停用。"]
    expect(page.locator("[data-testid=identity-request-status]")).to_have_text("已通过")
    log_out(page)

    # 4. the taker is suspended, told why, its draft kept; the claimant manages the unit
    log_in(page, IMPOSTOR, IMPOSTOR_PASSWORD)
    expect(page.locator("[data-testid=login-error]")).to_be_visible()
    assert "/accounts/login/" in page.url
    [suspended] = [m for m in mails_to(IMPOSTOR) if "停用" in m.subject]
    assert USCC in suspended.body and "认领" in suspended.body and "保留" in suspended.body
    assert ProductVersion.objects.filter(pk=draft.pk, status="draft").exists()
    assert any("认领申请已通过" in m.subject for m in mails_to(OWNER))
    assert IdentityRequest.objects.get(kind="claim").decided_by.email == "reviewer@example.cn"

    log_in(page, OWNER, OWNER_PASSWORD)
    page.wait_for_url("**/enterprise/")
    assert REAL_NAME in page.text_content("[data-testid=unit-card]")
    expect(page.locator("[data-testid=unit-unverified]")).to_have_count(0)
