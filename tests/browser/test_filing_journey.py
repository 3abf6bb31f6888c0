"""The whole filing journey in the browser, as a new user walks it.

A visitor registers a filing unit, records two patents typed the messy way, files a product linked to
both with an image, and submits it. A reviewer returns it with a reason on the sales figure; the filer
sees the reason next to that field, corrects it and resubmits; the reviewer approves. The filer downloads
the receipt PDF, whose printed public address opens the product's public page without login, and the
public search finds the product by its filing number and by a ZL patent number. The e-mails the filer
gets on the way (the return, the approval) are checked too.
"""

import re
import subprocess
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core import mail
from PIL import Image
from playwright.sync_api import expect

from filings import identity
from filings.identifiers import build_patent_number, build_uscc
from filings.models import IdentityRequest, Product, ProductClass
from patent_platform.choices import Role

# embedded (CI runs it on SQLite too): one browser journey on the embedded default
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.embedded]

PASSWORD = "Demo-2026!"  # the make_user fixture's password
FILER_PASSWORD = "Yunfan#Filing-2026"
FILER_EMAIL = "wang.fang@yunfan-test.cn"
UNIT_NAME = "广州天河云帆测试装备有限公司"
PRODUCT_NAME = "云帆智能巡检机器人"
REVIEWER_EMAIL = "reviewer-journey@example.cn"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}

# Two valid application numbers (2019 invention, check X; 2020 utility model), typed as people type them.
OWNED = build_patent_number(year=2019, type_digit="1", serial=1236)  # 201910001236.X
LICENSED = build_patent_number(year=2020, type_digit="2", serial=1234)  # 202020001234.9
OWNED_TYPED = f"CN {OWNED[:4]} {OWNED[4]} {OWNED[5:12]} {OWNED[-1]}"  # "CN 2019 1 0001236 X"
LICENSED_TYPED = f"cn{LICENSED[:6]} {LICENSED[6:12]}{LICENSED[-1]}"  # lower-case prefix, no dot


@pytest.fixture(autouse=True)
def _media(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = str(tmp_path / "media")


def tiny_png(path: Path) -> Path:
    buffer = BytesIO()
    Image.new("RGB", (240, 160), (30, 120, 200)).save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())
    return path


def log_in(page, email: str, password: str, lands_on: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{lands_on}")


def log_out(page) -> None:  # type: ignore[no-untyped-def]
    if not page.is_visible("[data-testid=user-menu]"):  # phone width: the menu is behind the toggler
        page.click(".navbar-toggler")
    page.click("[data-testid=user-menu]")
    page.click("text=退出登录")
    page.wait_for_url("**/accounts/login/")


def alerts(page) -> str:  # type: ignore[no-untyped-def]
    return " ".join(page.locator("main .alert").all_text_contents())


def choose_patent(page, select: str, number: str) -> None:  # type: ignore[no-untyped-def]
    value = page.locator(f"{select} option", has_text=number).get_attribute("value")
    page.select_option(select, value=value)


def fits_the_screen(page, width: int) -> bool:  # type: ignore[no-untyped-def]
    return page.evaluate("document.documentElement.scrollWidth") <= width


def image_loaded(locator) -> bool:  # type: ignore[no-untyped-def]
    return locator.evaluate("img => img.complete && img.naturalWidth > 0")


# ---------------------------------------------------------------------------------------------------------------
# The steps


def register(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/")
    page.click("main >> text=注册备案单位")
    page.wait_for_url("**/enterprise/register/")
    page.fill("#id_uscc", build_uscc(region_code="440106", org_body="MA59XY01"))
    page.fill("#id_name", UNIT_NAME)
    # the cascading selects: each choice loads the next level's options
    page.select_option("#id_province", label="广东省")
    expect(page.locator("#id_city option", has_text="广州市")).to_have_count(1)
    page.select_option("#id_city", label="广州市")
    expect(page.locator("#id_county option", has_text="天河区")).to_have_count(1)
    page.select_option("#id_county", label="天河区")
    page.fill("#id_address", "广州市天河区科韵路 16 号")
    page.select_option("#id_industry", value="34")
    page.select_option("#id_scale", value="small")
    page.fill("#id_contact_name", "王芳")
    page.fill("#id_contact_phone", "020-85550000")
    page.fill("#id_email", FILER_EMAIL)
    page.fill("#id_full_name", "王芳")
    page.fill("#id_phone", "13800138000")
    page.fill("#id_password1", FILER_PASSWORD)
    page.fill("#id_password2", FILER_PASSWORD)
    page.click("[data-testid=register-submit]")
    # signed in, but nothing can be done before the address is confirmed (patent_platform/confirmation.py)
    page.wait_for_url("**/accounts/email/")
    assert "注册成功" in alerts(page)
    expect(page.locator("[data-testid=email-unconfirmed]")).to_contain_text(FILER_EMAIL)
    [confirmation] = [m for m in mail.outbox if FILER_EMAIL in m.to and "确认" in m.subject]
    page.goto(urlsplit(re.search(r"https?://\S+", confirmation.body).group(0)).path)
    page.click("[data-testid=confirm-email]")
    page.wait_for_url("**/enterprise/")
    assert "已确认" in alerts(page)
    # the new unit is not verified yet: drafts yes, submissions no (filings/identity.py)
    expect(page.locator("[data-testid=unit-unverified]")).to_be_visible()
    card = page.text_content("[data-testid=unit-card]")
    assert UNIT_NAME in card
    assert "天河区" in card
    assert page.text_content("[data-testid=patent-count]").strip() == "0"
    expect(page.locator("[data-testid=empty-products]")).to_contain_text("专利管理")


def prove_identity(page, tmp_path: Path, reviewer) -> None:  # type: ignore[no-untyped-def]
    """The manager uploads the sealed authorisation letter and the licence; a reviewer accepts them (the
    reviewer's pages are walked in tests/browser/test_unit_claim.py; here through the same service)."""
    letter = tmp_path / "letter.pdf"
    letter.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")
    page.click("[data-testid=identity-link]")
    page.wait_for_url("**/enterprise/identity/")
    page.set_input_files("#id_letter", str(letter))
    page.set_input_files("#id_licence", str(tiny_png(tmp_path / "licence.png")))
    page.click("[data-testid=identity-submit]")
    expect(page.locator("[data-testid=identity-status]")).to_have_attribute("data-status", "pending")
    identity.identity_request_decide(request=IdentityRequest.objects.get(status="pending"), user=reviewer, accept=True)
    page.reload()
    expect(page.locator("[data-testid=identity-status]")).to_have_attribute("data-status", "verified")
    page.goto("/enterprise/")
    expect(page.locator("[data-testid=unit-unverified]")).to_have_count(0)


def add_patent(page, number: str, title: str, **right: str) -> None:  # type: ignore[no-untyped-def]
    page.click("[data-testid=patent-new]")
    page.wait_for_url("**/enterprise/patents/new/")
    page.fill("#id_number", number)
    page.fill("#id_title", title)
    page.fill("#id_application_date", "2019-03-01")
    page.fill("#id_grant_date", "2021-06-15")
    page.select_option("#id_kind", value=right.get("kind", "owner"))
    if "licence_kind" in right:
        page.select_option("#id_licence_kind", value=right["licence_kind"])
        page.fill("#id_recordal_number", right["recordal_number"])
    page.click("[data-testid=patent-form] button[type=submit]")
    page.wait_for_url("**/enterprise/patents/?added=*")


def add_patents(page) -> None:  # type: ignore[no-untyped-def]
    page.click("[data-testid=patents-link]")
    page.wait_for_url("**/enterprise/patents/")
    expect(page.locator("[data-testid=empty-patents]")).to_be_visible()
    add_patent(page, OWNED_TYPED, "一种巡检机器人的路径规划方法")
    assert f"已登记专利 {OWNED}" in alerts(page)
    add_patent(
        page,
        LICENSED_TYPED,
        "巡检机器人的防爆外壳",
        kind="licensee",
        licence_kind="exclusive",
        recordal_number="2021440000123",
    )
    rows = page.locator("[data-testid=patent-row]")
    expect(rows).to_have_count(2)
    assert page.locator("[data-testid=patent-number]").all_text_contents() == [OWNED, LICENSED]
    licensed_row = rows.filter(has_text=LICENSED).text_content()
    assert "被许可人" in licensed_row
    assert "独占许可" in licensed_row
    assert "2021440000123" in licensed_row
    assert "专利权人" in rows.filter(has_text=OWNED).text_content()


def file_product(page, image: Path, product_class: ProductClass) -> int:  # type: ignore[no-untyped-def]
    page.goto("/enterprise/")
    page.click("[data-testid=product-new]")
    page.wait_for_url("**/enterprise/products/new/")
    page.fill("#id_name", PRODUCT_NAME)
    page.fill("#id_model", "YF-X3")
    page.select_option("#id_product_class", value=str(product_class.pk))
    page.fill("#id_description", "用于变电站和管廊的自主巡检。")
    page.fill("#id_sales", "1250")
    page.fill("#id_exports", "300")
    page.fill("#id_output_value", "1400.5")
    rows = page.locator("[data-formset-body] [data-testid=link-row]")
    expect(rows).to_have_count(1)
    choose_patent(page, "#id_links-0-right", OWNED)
    page.check("#id_links-0-is_core")
    page.fill("#id_links-0-contribution", "60")
    page.fill("#id_links-0-embodiment", "路径规划软件")
    page.click("[data-testid=add-link]")
    expect(rows).to_have_count(2)
    choose_patent(page, "#id_links-1-right", LICENSED)
    page.fill("#id_links-1-contribution", "20")
    page.fill("#id_links-1-embodiment", "防爆外壳")
    page.set_input_files("#id_images", str(image))
    page.click("[data-testid=version-save]")
    page.wait_for_url(re.compile(r"/enterprise/versions/\d+/$"))
    version_id = int(page.url.rstrip("/").rsplit("/", 1)[1])

    assert "已保存为草稿" in alerts(page)
    expect(page.locator("[data-testid=status-badge]")).to_have_text("草稿")
    expect(page.locator("[data-testid=checklist-ok]")).to_be_visible()
    assert page.text_content("[data-testid=field-sales]").strip() == "1250.00"
    assert page.text_content("[data-testid=field-first_sale_date]").strip() == "—"  # left empty
    # a draft that was never submitted can be deleted; there is nothing to withdraw yet
    expect(page.locator("[data-testid=delete-button]")).to_be_visible()
    expect(page.locator("[data-testid=withdraw-form]")).to_have_count(0)
    links = page.locator("[data-testid=link-table] [data-testid=link-row]")
    expect(links).to_have_count(2)
    owned_row = links.filter(has_text=OWNED)
    assert "核心" in owned_row.text_content()
    assert "60" in owned_row.text_content()
    assert "核心" not in links.filter(has_text=LICENSED).text_content()
    assert image_loaded(page.locator("[data-testid=image] img"))

    page.click("[data-testid=submit-button]")
    page.wait_for_url(f"**/enterprise/versions/{version_id}/")
    assert "已提交" in alerts(page)
    expect(page.locator("[data-testid=status-badge]")).to_have_text("已提交待审核")
    expect(page.locator("[data-testid=submit-button]")).to_have_count(0)
    expect(page.locator("[data-testid=edit-link]")).to_have_count(0)
    expect(page.locator("[data-testid=delete-button]")).to_have_count(0)
    expect(page.locator("[data-testid=withdraw-form]")).to_be_visible()
    return version_id


def review_and_return(page, version_id: int) -> None:  # type: ignore[no-untyped-def]
    log_in(page, REVIEWER_EMAIL, PASSWORD, "/review/")
    row = page.locator("[data-testid=queue-row]", has_text=PRODUCT_NAME)
    expect(row).to_have_count(1)
    assert UNIT_NAME in row.text_content()
    assert "广东省" in row.text_content()
    row.locator("a", has_text=PRODUCT_NAME).click()
    page.wait_for_url(f"**/review/versions/{version_id}/")
    # the licensed patent has no owner on the platform: an open conflict the reviewer must weigh
    finding = page.locator("[data-testid=rule-warnings] [data-testid=finding]")
    expect(finding).to_have_count(1)
    expect(finding).to_contain_text("权属冲突")
    expect(page.locator("[data-testid=rule-ok]")).to_have_count(0)
    assert page.locator("[data-testid=patents] [data-testid=patent-row]").count() == 2
    assert "2021440000123" in page.text_content("[data-testid=patents]")
    assert image_loaded(page.locator("[data-testid=images] img"))
    page.fill("#id_reason_sales", "请核对上年度销售额")
    page.fill("#id_reason_general", "请补充销售额的依据后重新提交。")
    page.click("[data-testid=return]")  # data-confirm: the dialog handler accepts
    page.wait_for_url(f"**/review/versions/{version_id}/")
    assert "已退回修改" in alerts(page)
    expect(page.locator("[data-testid=version-status]")).to_have_text("已退回修改")
    expect(page.locator("[data-testid=current-reasons]")).to_contain_text("请核对上年度销售额")
    log_out(page)


def correct_and_resubmit(page, version_id: int) -> None:  # type: ignore[no-untyped-def]
    log_in(page, FILER_EMAIL, FILER_PASSWORD, "/enterprise/")
    row = page.locator("[data-testid=product-row]", has_text=PRODUCT_NAME)
    expect(row.locator("[data-testid=status-badge]")).to_have_text("已退回修改")
    row.locator("a", has_text=PRODUCT_NAME).click()
    page.wait_for_url(f"**/enterprise/versions/{version_id}/")
    expect(page.locator("[data-testid=return-reason-general]")).to_contain_text("请补充销售额的依据")
    expect(page.locator("[data-testid=field-sales] [data-testid=return-reason-sales]")).to_contain_text(
        "请核对上年度销售额"
    )
    # on a phone too, the reason is readable beside the figure and nothing overflows the screen
    page.set_viewport_size(PHONE)
    expect(page.locator("[data-testid=return-reason-sales]")).to_be_visible()
    assert fits_the_screen(page, PHONE["width"])
    page.set_viewport_size(DESKTOP)
    page.click("[data-testid=edit-link]")
    page.wait_for_url(f"**/enterprise/versions/{version_id}/edit/")
    # the reason sits next to the sales field on the form too
    reason = page.locator("#id_sales ~ [data-testid=return-reason-sales]")
    expect(reason).to_contain_text("请核对上年度销售额")
    assert page.input_value("#id_sales") == "1250.00"
    expect(page.locator("[data-formset-body] [data-testid=link-row]")).to_have_count(2)
    page.fill("#id_sales", "1180")
    page.click("[data-testid=version-save]")
    page.wait_for_url(f"**/enterprise/versions/{version_id}/")
    assert "已保存" in alerts(page)
    assert page.text_content("[data-testid=field-sales]").strip().startswith("1180.00")
    expect(page.locator("[data-testid=link-table] [data-testid=link-row]")).to_have_count(2)
    expect(page.locator("[data-testid=image]")).to_have_count(1)
    expect(page.locator("[data-testid=submit-button]")).to_have_text("重新提交")
    page.click("[data-testid=submit-button]")
    page.wait_for_url(f"**/enterprise/versions/{version_id}/")
    expect(page.locator("[data-testid=status-badge]")).to_have_text("已重新提交")
    log_out(page)


def approve(page, version_id: int) -> str:  # type: ignore[no-untyped-def]
    log_in(page, REVIEWER_EMAIL, PASSWORD, "/review/")
    row = page.locator("[data-testid=queue-row]", has_text=PRODUCT_NAME)
    expect(row).to_contain_text("已重新提交")
    row.locator("a", has_text=PRODUCT_NAME).click()
    page.wait_for_url(f"**/review/versions/{version_id}/")
    assert "1180.00" in page.text_content("[data-testid=figures]")
    page.fill("[data-testid=override-reason]", "已核对许可合同原件，许可人为境外权利人。")
    page.click("[data-testid=approve]")  # data-confirm: the dialog handler accepts
    page.wait_for_url(f"**/review/versions/{version_id}/")
    filing_number = Product.objects.get(versions__pk=version_id).filing_number
    assert filing_number
    assert f"产品备案号：{filing_number}" in alerts(page)
    expect(page.locator("[data-testid=filing-number]")).to_contain_text(filing_number)
    expect(page.locator("[data-testid=version-status]")).to_have_text("已通过备案")
    log_out(page)
    return filing_number


def download_receipt(page, version_id: int, filing_number: str, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    log_in(page, FILER_EMAIL, FILER_PASSWORD, "/enterprise/")
    row = page.locator("[data-testid=product-row]", has_text=PRODUCT_NAME)
    expect(row).to_contain_text(filing_number)
    row.locator("a", has_text=PRODUCT_NAME).click()
    page.wait_for_url(f"**/enterprise/versions/{version_id}/")
    expect(page.locator("[data-testid=status-badge]")).to_have_text("已通过备案")
    expect(page.locator("[data-testid=filing-number]")).to_have_text(filing_number)
    with page.expect_download() as download_info:
        page.click("[data-testid=receipt-link]")
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    pdf = tmp_path / "receipt.pdf"
    download.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert filing_number in text
    assert PRODUCT_NAME in text
    assert UNIT_NAME in text
    assert f"ZL{OWNED}" in text
    # the public address printed under the QR code (the printer may break a long line)
    match = re.search(r"https?://\S+", text)
    assert match, text
    url = match.group(0)
    if not url.rstrip("/").endswith(filing_number):
        rest = text[match.end() :].split(None, 1)[0]
        url += rest
    assert url.rstrip("/").endswith(f"/products/{filing_number}"), url
    log_out(page)
    return url


def public_page_and_search(browser, live_server, public_url: str, filing_number: str) -> None:  # type: ignore[no-untyped-def]
    # a stranger's phone: a fresh browser context, never logged in
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport=PHONE)
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        assert public_url.startswith(live_server.url)
        page.goto(public_url)
        expect(page.locator("[data-testid=page-title]")).to_have_text(PRODUCT_NAME)
        expect(page.locator("[data-testid=filing-number]")).to_have_text(filing_number)
        expect(page.locator("[data-testid=unit-name]")).to_have_text(UNIT_NAME)
        patents = page.text_content("[data-testid=public-patents]")
        assert OWNED in patents
        assert LICENSED in patents
        assert f"ZL{LICENSED}" in patents
        assert "1180" not in page.text_content("main")  # figures are never public
        assert image_loaded(page.locator("[data-testid=public-images] img"))
        assert fits_the_screen(page, PHONE["width"])
        expect(page.locator("[data-testid=user-menu]")).to_have_count(0)

        page.click(".breadcrumb >> text=备案产品查询")
        page.wait_for_url("**/products/")
        for typed in (filing_number, f"ZL {LICENSED}", f"zl{OWNED.replace('.', '')}"):
            page.fill("#id_q", typed)
            page.click("[data-testid=public-search] button[type=submit]")
            page.wait_for_url(re.compile(r"/products/\?q="))
            rows = page.locator("[data-testid=public-row]")
            expect(rows).to_have_count(1)
            expect(rows).to_contain_text(PRODUCT_NAME)
            expect(rows).to_contain_text(filing_number)
        assert fits_the_screen(page, PHONE["width"])
        page.fill("#id_q", build_patent_number(year=2019, type_digit="1", serial=9999))
        page.click("[data-testid=public-search] button[type=submit]")
        expect(page.locator("[data-testid=public-empty]")).to_contain_text("没有找到")
        rows = page.locator("[data-testid=public-row]")
        page.click("[data-testid=public-search] >> text=清除")
        page.wait_for_url("**/products/")
        expect(rows).to_have_count(1)
        rows.locator("a").click()
        page.wait_for_url(f"**/products/{filing_number}/")
    finally:
        context.close()


def mails_to(address: str) -> list:  # type: ignore[type-arg]
    return [m for m in mail.outbox if address in m.to]


# ---------------------------------------------------------------------------------------------------------------


def test_a_new_unit_files_a_product_from_registration_to_the_public_page(  # type: ignore[no-untyped-def]
    page, browser, live_server, reference, make_user, tmp_path
) -> None:
    reviewer = make_user(REVIEWER_EMAIL, Role.REVIEWER)
    product_class = ProductClass.objects.filter(is_active=True).order_by("code").first()
    dialogs: list[str] = []

    def accept(dialog) -> None:  # type: ignore[no-untyped-def]
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)

    register(page)
    prove_identity(page, tmp_path, reviewer)
    told = len(mails_to(FILER_EMAIL))  # the e-mail confirmation and the verification
    assert told == 2
    add_patents(page)
    version_id = file_product(page, tiny_png(tmp_path / "robot.png"), product_class)
    log_out(page)
    assert len(mails_to(FILER_EMAIL)) == told  # submitting sends nothing to the filer

    review_and_return(page, version_id)
    assert dialogs == ["确认将该备案退回修改？"]
    returned = mails_to(FILER_EMAIL)[told:]
    assert len(returned) == 1
    assert PRODUCT_NAME in returned[0].subject
    assert "已退回修改" in returned[0].subject
    assert "请核对上年度销售额" in returned[0].body
    assert f"/enterprise/versions/{version_id}/" in returned[0].body

    correct_and_resubmit(page, version_id)
    assert any("已重新提交" in m.subject for m in mails_to(REVIEWER_EMAIL))

    filing_number = approve(page, version_id)
    assert dialogs[-1].startswith("确认通过该备案")
    approved = mails_to(FILER_EMAIL)[told + 1 :]
    assert len(approved) == 1
    assert "已通过备案" in approved[0].subject
    assert filing_number in approved[0].body

    public_url = download_receipt(page, version_id, filing_number, tmp_path)
    public_page_and_search(browser, live_server, public_url, filing_number)


def test_the_registration_selects_and_the_patent_rows_work_on_a_phone(page, reference) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size(PHONE)
    register(page)
    assert fits_the_screen(page, PHONE["width"])
    add_patents(page)
    page.goto("/enterprise/products/new/")
    rows = page.locator("[data-formset-body] [data-testid=link-row]")
    expect(rows).to_have_count(1)
    page.click("[data-testid=add-link]")
    page.click("[data-testid=add-link]")
    expect(rows).to_have_count(3)
    assert page.input_value("#id_links-TOTAL_FORMS") == "3"
    # the new row's select offers both patents
    options = page.locator("#id_links-2-right option").all_text_contents()
    assert any(OWNED in o for o in options)
    assert any(LICENSED in o for o in options)
    assert fits_the_screen(page, PHONE["width"])
