"""Contacts masked in lists and exports for roles that do not need them; in full where the role acts on them
(the table is in patent_platform/masking.py). Exports record whether they carry unmasked personal data."""

import re
from collections.abc import Callable
from io import BytesIO
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from filings.choices import FilingStatus
from filings.models import FilingUnit, ProductVersion
from patent_platform.choices import AuditAction, Role
from patent_platform.masking import mask_contact_text, mask_email, mask_name, mask_phone, masker_for
from patent_platform.models import AuditEvent, User
from provincial.models import ManagementUnit, PortApplication, PortContact
from provincial.views import dashboard
from tests.provincial.live import CurrentClient

PHONE, EMAIL = "13812345678", "li.lian@sz-chip.example.cn"


def client_for(user: User) -> Client:
    client = CurrentClient()  # the dashboards' lists: the current state (tests/provincial/live.py)
    client.force_login(user)
    return client


def sheet_rows(response: Any) -> list[tuple[Any, ...]]:
    assert response.status_code == 200
    return list(load_workbook(BytesIO(response.content), read_only=True).worksheets[0].iter_rows(values_only=True))


def last_export() -> AuditEvent:
    return AuditEvent.objects.filter(action=AuditAction.EXPORT).latest("id")


@pytest.fixture
def unit(demo_users: dict[str, User]) -> FilingUnit:
    unit = FilingUnit.objects.get(name="深圳鹏芯微电子有限公司")
    unit.contact_phone, unit.contact_email = PHONE, EMAIL
    unit.save()
    return unit


def test_masks_and_their_old_home() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_email("alice@example.cn") == "a***@example.cn"
    assert mask_name("王杭") == "王*"
    assert masker_for("office_phone") is mask_phone and masker_for("applicant_email") is mask_email
    assert masker_for("mobile") is mask_phone and masker_for("contact_name") is mask_name
    assert (
        mask_contact_text("周联络", "干部", "", "13800000002", "zhou@gz.cn") == "周联络 干部 138****0002 <z***@gz.cn>"
    )
    # moved to patent_platform.masking; the dashboard module still offers them
    assert dashboard.mask_phone is mask_phone and dashboard.mask_email is mask_email


@pytest.mark.parametrize("who", ["shenzhen", "national"])
def test_dashboard_unit_lists_mask_for_ports_and_the_national_office(
    demo_users: dict[str, User], unit: FilingUnit, who: str
) -> None:
    client = client_for(demo_users[who])
    page = client.get(reverse("port:units")).content.decode()
    assert "138****5678" in page and PHONE not in page and EMAIL not in page
    rows = sheet_rows(client.get(reverse("port:units_export")))
    assert PHONE not in str(rows) and EMAIL not in str(rows) and "138****5678" in str(rows)
    assert last_export().changes["personal_data"] is False


@pytest.mark.parametrize("who", ["reviewer", "national"])
def test_review_page_shows_the_contact_in_full(demo_users: dict[str, User], unit: FilingUnit, who: str) -> None:
    version = ProductVersion.objects.filter(product__unit=unit).exclude(status=FilingStatus.DRAFT).first()
    assert version is not None
    page = client_for(demo_users[who]).get(reverse("review:detail", args=[version.pk])).content.decode()
    assert PHONE in page and EMAIL in page


def test_enterprise_sees_its_own_contact_in_full(demo_users: dict[str, User], unit: FilingUnit) -> None:
    page = client_for(demo_users["ent-sz"]).get(reverse("enterprise:home")).content.decode()
    assert PHONE in page


@pytest.mark.parametrize("who", ["guangdong", "national"])
def test_not_filed_follow_up_export_is_flagged_as_personal_data(demo_users: dict[str, User], who: str) -> None:
    sheet_rows(client_for(demo_users[who]).get(reverse("rosters:missing_export")))
    event = last_export()
    assert event.actor_email == demo_users[who].email and event.changes["personal_data"] is True


@pytest.fixture
def port_contacts(reference: None, make_user: Callable[..., User]) -> dict[str, Any]:
    guangzhou = ManagementUnit.objects.get(code="440100")
    PortContact.objects.create(
        unit=guangzhou,
        name="周联络",
        post="干部",
        office_phone="020-87654321",
        mobile="13800000002",
        email="zhou@gz.cn",
    )
    application = PortApplication.objects.create(
        unit=ManagementUnit.objects.get(code="330100"),
        office_name="杭州市知识产权局",
        person_in_charge="黄局长",
        person_phone="13900001234",
        applicant_email="office@hz.example.cn",
        form_scan="port-applications/x.pdf",
        contacts=[{"name": "吴联络", "email": "wu@hz.example.cn", "mobile": "13700000000", "is_admin": True}],
    )
    return {
        "national": make_user("chief@example.cn", Role.NATIONAL_ADMIN),
        "guangzhou": guangzhou,
        "application": application,
    }


def test_port_contacts_masked_in_lists_and_exports_full_on_the_pages(port_contacts: dict[str, Any]) -> None:
    client = client_for(port_contacts["national"])
    listing = client.get(reverse("national:ports")).content.decode()
    shown = re.sub(r"<[^>]+>", "", listing)  # the text a reader sees (names sit in translate="no" spans)
    assert "周联络 138****0002" in shown and "13800000002" not in listing
    rows = sheet_rows(client.get(reverse("national:ports_export")))
    guangzhou = next(r for r in rows if r[0] == "440100")
    assert guangzhou[6] == "周联络 干部 020*****4321 138****0002 <z***@gz.cn>"
    assert last_export().changes["personal_data"] is False
    detail = client.get(reverse("national:port", args=[port_contacts["guangzhou"].pk])).content.decode()
    assert "13800000002" in detail and "zhou@gz.cn" in detail

    rows = sheet_rows(client.get(reverse("national:applications_export")))
    assert "13900001234" not in str(rows) and "office@hz.example.cn" not in str(rows) and "wu@hz" not in str(rows)
    assert "139****1234" in rows[1] and "o***@hz.example.cn" in rows[1] and "吴联络 <w***@hz.example.cn>" in rows[1]
    assert last_export().changes["personal_data"] is False
    page = client.get(reverse("national:application", args=[port_contacts["application"].pk])).content.decode()
    assert "office@hz.example.cn" in page


def test_admin_site_masks_contacts_for_the_system_administrator(
    port_contacts: dict[str, Any], demo_users: dict[str, User], unit: FilingUnit, make_user: Callable[..., User]
) -> None:
    client = client_for(make_user("system@example.cn", Role.SYSTEM_ADMIN, is_staff=True))
    listing = client.get(reverse("admin:provincial_portcontact_changelist")).content.decode()
    assert "138****0002" in listing and "13800000002" not in listing and "zhou@gz.cn" not in listing
    contact = PortContact.objects.get(email="zhou@gz.cn")  # the name is encrypted without a blind index
    record = client.get(reverse("admin:provincial_portcontact_change", args=[contact.pk])).content.decode()
    assert "13800000002" not in record and "zhou@gz.cn" not in record
    record = client.get(reverse("admin:filings_filingunit_change", args=[unit.pk])).content.decode()
    assert record.count("深圳鹏芯微电子有限公司") and PHONE not in record and EMAIL not in record
    listing = client.get(reverse("admin:provincial_portapplication_changelist")).content.decode()
    assert "o***@hz.example.cn" in listing and "office@hz.example.cn" not in listing


@pytest.mark.parametrize(
    ("who", "masked"), [("shenzhen", True), ("national", True), ("reviewer", False), ("ent-sz", False)]
)
def test_filing_unit_api_masks_contacts_for_port_and_national_administrators(
    demo_users: dict[str, User], unit: FilingUnit, who: str, masked: bool
) -> None:
    client = client_for(demo_users[who])
    listed = client.get("/api/v1/enterprises/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    row = next(r for r in rows if r["id"] == unit.pk)
    detail = client.get(f"/api/v1/enterprises/{unit.pk}/").json()
    for data in (row, detail):
        if masked:
            assert (data["contact_phone"], data["contact_email"]) == ("138****5678", "l***@sz-chip.example.cn")
        else:
            assert (data["contact_phone"], data["contact_email"]) == (PHONE, EMAIL)
