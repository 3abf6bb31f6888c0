"""A new port in the browser: an office applies for 江苏省 with its stamped PDF and two contacts, the national
administrator approves it, the new port administrator opens the invitation link from the e-mail, sets a
password and lands on the port home showing the unit's name and its figures; the link then no longer works.
The new administrator then downloads the roster template, fills it with three 江苏 enterprises (one of which
has a product approved on the platform), uploads it, opens the coverage and the not-filed list and exports
that list: the two enterprises that have not filed are in the file, the filed one is not."""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone
from openpyxl import load_workbook

from filings import identity, services, workflow
from filings.choices import VerificationMethod
from filings.identifiers import build_patent_number, build_uscc
from filings.models import FilingUnit, ProductClass, UnitMembership
from patent_platform.choices import Role
from patent_platform.models import User
from provincial.choices import RosterCategory
from provincial.models import PortApplication, PortContact, Roster
from tests.browser.nav import nav_go

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
ADMIN_EMAIL = "chen.port@js-ip.example.cn"
APPLICANT_EMAIL = "office@js-ip.example.cn"
NEW_PASSWORD = "Jiangsu#Port-2026"
# 江苏 enterprises for the roster: one has filed and been approved, two have not
FILED = (build_uscc(region_code="320102", org_body="MA1JX001"), "南京玄武示例智能科技有限公司")
UNFILED = [
    (build_uscc(region_code="320505", org_body="MA1JX002"), "苏州高新示例精密制造有限公司"),
    (build_uscc(region_code="320106", org_body="MA1JX003"), "南京鼓楼示例新材料有限公司"),
]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = str(tmp_path / "media")


def fill_contact(page, row: int, name: str, mobile: str, email: str, admin: bool) -> None:  # type: ignore[no-untyped-def]
    page.fill(f"#id_contacts-{row}-name", name)
    page.fill(f"#id_contacts-{row}-mobile", mobile)
    page.fill(f"#id_contacts-{row}-email", email)
    if admin:
        page.check(f"#id_contacts-{row}-is_admin")


def approved_enterprise(uscc: str, name: str, county: str) -> FilingUnit:
    """A registered enterprise with one product approved by the demo reviewer (services and workflow)."""
    unit = FilingUnit(uscc=uscc, name=name, region_id=county, contact_name="江联系", contact_email="js@example.cn")
    unit.full_clean()
    unit.save()
    identity.unit_verify(unit=unit, method=VerificationMethod.ADMINISTRATOR, note="test")  # filings/identity.py
    user = User.objects.create_user(
        "filer@js.example.cn",
        "Filer#2026-js",
        role=Role.ENTERPRISE,
        full_name="江联系",
        email_confirmed_at=timezone.now(),
    )
    UnitMembership.objects.create(user=user, unit=unit, is_manager=True)
    number = build_patent_number(year=2020, type_digit="1", serial=1320001)
    right = services.patent_right_create(unit=unit, user=user, data={"number": number, "title": "一种伺服控制方法"})
    version = services.product_create(
        unit=unit,
        user=user,
        data={
            "name": "伺服驱动器",
            "model": "JS-SD1",
            "product_class": ProductClass.objects.get(code="03"),
            "sales": Decimal(2600),
            "exports": Decimal(300),
            "output_value": Decimal(2800),
        },
        links=[{"right": right.pk, "is_core": True, "contribution": Decimal(60), "embodiment": "控制算法"}],
    )
    workflow.version_submit(version=version, user=user)
    workflow.version_approve(version=version, user=User.objects.get(email="reviewer@example.cn"))
    return unit


def test_apply_approve_invite_and_land_on_the_port(page, demo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page.on("dialog", lambda dialog: dialog.accept())  # data-confirm buttons
    scan = tmp_path / "jiangsu-application.pdf"
    scan.write_bytes(PDF)

    # 1. the office applies (no login); a first try without an administrator is refused with the input kept
    page.goto("/ports/apply/")
    page.select_option("#id_unit", label="江苏省")
    page.fill("#id_office_name", "江苏省知识产权局")
    page.fill("#id_person_in_charge", "陈处长")
    page.fill("#id_person_post", "处长")
    page.fill("#id_person_phone", "025-83270000")
    page.fill("#id_applicant_email", APPLICANT_EMAIL)
    page.set_input_files("#id_form_scan", str(scan))
    fill_contact(page, 0, "陈管理", "13900000001", ADMIN_EMAIL, admin=False)
    page.click("[data-testid=apply-submit]")
    assert "请至少勾选一位“端口管理员”" in page.text_content("[data-testid=contacts-errors]")
    assert page.is_visible("[data-testid=file-again]")
    assert page.input_value("#id_office_name") == "江苏省知识产权局"
    assert page.input_value("#id_contacts-0-email") == ADMIN_EMAIL

    page.set_input_files("#id_form_scan", str(scan))  # the browser does not keep a chosen file
    page.check("#id_contacts-0-is_admin")
    page.fill("#id_contacts-1-name", "吴联络")
    page.fill("#id_contacts-1-office_phone", "025-83270001")
    page.fill("#id_contacts-1-email", "wu@js-ip.example.cn")
    page.click("[data-testid=apply-submit]")
    page.wait_for_url("**/ports/apply/done/")
    assert "江苏省" in page.text_content("[data-testid=apply-done]")
    assert [m.to for m in mail.outbox] == [[APPLICANT_EMAIL]]
    application = PortApplication.objects.get(unit__code="320000")

    # 2. the national administrator finds it, opens the scan and approves
    page.goto("/accounts/login/")
    page.fill("#id_username", "national@example.cn")
    page.fill("#id_password", "Demo-2026!")
    page.click("button[type=submit]")
    page.wait_for_url("**/national/")
    page.goto("/national/applications/?status=submitted")
    page.click(f"[data-application='{application.pk}'] a")
    page.wait_for_url(f"**/national/applications/{application.pk}/")
    assert ADMIN_EMAIL in page.text_content("[data-testid=application-contacts]")
    scan_response = page.request.get(page.get_attribute("[data-testid=scan-link]", "href"))
    assert scan_response.headers["content-type"] == "application/pdf"
    assert scan_response.body() == PDF
    page.click("[data-testid=approve]")
    page.wait_for_selector("[data-testid=unit-open]")
    assert "已批准" in page.text_content("[data-testid=application-status]")
    assert PortContact.objects.filter(unit__code="320000").count() == 2
    page.click("[data-testid=user-menu]")
    page.click("text=退出登录")
    page.wait_for_url("**/accounts/login/")

    # meanwhile an enterprise of 江苏 has filed a product and had it approved
    approved_enterprise(*FILED, county="320102")

    # 3. the invitation: set the password through the one-time link, land on the port home
    invitations = [m for m in mail.outbox if m.to == [ADMIN_EMAIL]]
    assert len(invitations) == 1
    link = re.search(r"https?://[^/\s]+(/accounts/activate/\S+/)", invitations[0].body).group(1)
    page.goto(link)
    page.wait_for_selector("[data-testid=activate-form]")
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    page.click("[data-testid=activate-submit]")
    page.wait_for_url("**/port/")
    assert "江苏省" in page.text_content("main")
    admin = User.objects.get(email=ADMIN_EMAIL)
    assert admin.role == Role.PORT_ADMIN and admin.check_password(NEW_PASSWORD)
    # the dashboard opens on the latest complete month (issue 20): the demo's filings are this month's, so the
    # current state holds them — 江苏's figures only (the demo's 广东 and 浙江 products are not counted)
    page.goto("/port/?period=current")
    assert page.text_content("[data-testid=figure-units]").strip() == "1"
    assert page.text_content("[data-testid=figure-approved]").strip() == "1"

    # 4. upload a roster: download the template from the page, fill it in, upload it
    nav_go(page, "重点企业名单")
    page.wait_for_url("**/rosters/")
    page.click("[data-testid=upload-link]")
    page.wait_for_url("**/rosters/upload/")
    with page.expect_download() as download_info:
        page.click("[data-testid=roster-template]")
    template = tmp_path / "template.xlsx"
    download_info.value.save_as(template)
    book = load_workbook(template)
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[1]][:2] == ["统一社会信用代码", "企业名称"]
    for uscc, name in [FILED, *UNFILED]:
        sheet.append([uscc, name])
    filled = tmp_path / "江苏小巨人名单.xlsx"
    book.save(filled)
    page.select_option("[data-testid=roster-category]", RosterCategory.LITTLE_GIANT)
    page.fill("[data-testid=roster-title]", "江苏省专精特新小巨人企业名单")
    page.set_input_files("[data-testid=roster-file]", str(filled))
    page.click("[data-testid=roster-submit]")
    page.wait_for_url("**/rosters/uploads/*/")  # the upload's page: checked in the background, then its result
    page.wait_for_selector("[data-testid=import-result]")
    assert "3 家企业" in page.text_content("[data-testid=import-result]")
    page.click("text=返回名单列表")
    page.wait_for_url("**/rosters/")
    roster = Roster.objects.get(title="江苏省专精特新小巨人企业名单")
    assert roster.owner.code == "320000" and roster.entry_count == 3
    row = page.locator(f"[data-testid=roster-row][data-roster='{roster.pk}']")
    assert row.locator("[data-testid=roster-count]").text_content().strip() == "3"
    assert row.locator("[data-testid=roster-covered]").text_content().strip() == "1"

    # 5. coverage, then the enterprises that have not filed, exported for follow-up
    page.click("[data-testid=roster-tabs] >> text=备案覆盖情况")
    page.wait_for_url("**/rosters/coverage/")
    assert page.text_content("[data-testid=total-entries]").strip() == "3"
    assert page.text_content("[data-testid=total-covered]").strip() == "1"
    page.click(
        f"[data-testid=coverage-row][data-category={RosterCategory.LITTLE_GIANT}] [data-testid=coverage-missing]"
    )
    page.wait_for_url("**/rosters/missing/**")
    shown = {page.get_attribute(f"[data-testid=missing-row] >> nth={i}", "data-uscc") for i in range(2)}
    assert page.locator("[data-testid=missing-row]").count() == 2
    assert shown == {uscc for uscc, _name in UNFILED}
    with page.expect_download() as export_info:
        page.click("[data-testid=missing-export]")
    exported = tmp_path / "missing.xlsx"
    export_info.value.save_as(exported)
    rows = list(load_workbook(exported, read_only=True).worksheets[0].iter_rows(values_only=True))
    assert rows[0][:2] == ("统一社会信用代码", "企业名称")
    assert sorted(r[:2] for r in rows[1:]) == sorted(UNFILED)
    assert FILED[0] not in {r[0] for r in rows}

    # the link was for one use only
    page.goto(link)
    page.wait_for_selector("[data-testid=invalid-link]")
