"""The filing-policy page of the national office, and the admin's hands-off treatment of filing state."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from filings import rules, workflow
from filings.choices import FilingStatus
from filings.models import FilingPolicy, FilingUnit, PatentRight, ProductVersion
from patent_platform.choices import AuditAction, Role
from patent_platform.models import AuditEvent, User

URL = "/filing-settings/"
ALL_ON = {"allow_invention": "on", "allow_utility_model": "on", "allow_design": "on"}


@pytest.fixture
def national(make_user: Callable[..., User]) -> User:
    return make_user("national-t@example.cn", Role.NATIONAL_ADMIN)


@pytest.fixture
def design_version(
    unit_a: FilingUnit,
    filer_a: User,
    add_right: Callable[..., PatentRight],
    new_version: Callable[..., ProductVersion],
) -> ProductVersion:
    right = add_right(unit_a, filer_a, type_digit="3")  # a design patent
    return new_version(unit_a, filer_a, links=[{"right": right.pk, "is_core": True, "contribution": Decimal(50)}])


def test_url_name() -> None:
    assert reverse("filing_settings:policy") == URL


def test_the_page_explains_why_this_is_a_setting_and_shows_the_defaults(client: Any, national: User) -> None:
    client.force_login(national)
    response = client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="policy-explanation"' in body
    assert "尚无公开的统一规定" in body and "作为平台设置" in body
    # defaults: three types allowed, pending applications and unrecorded licences as stated
    for field in ("allow_invention", "allow_utility_model", "allow_design"):
        assert f'data-testid="policy-{field}" checked' in body
    assert 'data-testid="policy-allow_pending" checked' not in body
    assert 'data-testid="policy-require_licence_recordal" checked' not in body


def test_national_admin_disallows_designs_and_a_design_filing_then_fails(
    client: Any, national: User, design_version: ProductVersion, filer_a: User
) -> None:
    assert rules.version_rule_errors(design_version) == {}
    client.force_login(national)
    response = client.post(URL, {"allow_invention": "on", "allow_utility_model": "on"}, follow=True)
    assert response.status_code == 200
    assert "备案规则已保存" in response.content.decode()
    policy = FilingPolicy.current()
    assert (policy.allow_invention, policy.allow_utility_model, policy.allow_design) == (True, True, False)

    errors = rules.version_rule_errors(design_version)
    assert any("外观设计" in m and "不接受该类型专利" in m for m in errors["patents"])
    with pytest.raises(workflow.ValidationError):
        workflow.version_submit(version=design_version, user=filer_a)
    design_version.refresh_from_db()
    assert design_version.status == FilingStatus.DRAFT

    event = AuditEvent.objects.filter(action=AuditAction.UPDATE, object_type="filings.FilingPolicy").latest("id")
    assert event.changes == {"allow_design": [True, False]}
    assert event.actor_email == national.email


def test_pending_applications_and_licence_recordal(client: Any, national: User) -> None:
    client.force_login(national)
    client.post(URL, {**ALL_ON, "allow_pending": "on", "require_licence_recordal": "on"})
    policy = FilingPolicy.current()
    assert policy.allow_pending and policy.require_licence_recordal
    assert "pending" in policy.allowed_statuses()
    page = client.get(URL).content.decode()
    assert 'data-testid="policy-allow_pending" checked' in page


def test_saving_without_a_change_writes_no_audit_record(client: Any, national: User) -> None:
    FilingPolicy.current()
    client.force_login(national)
    before = AuditEvent.objects.filter(object_type="filings.FilingPolicy").count()
    response = client.post(URL, ALL_ON, follow=True)
    assert "设置没有变化" in response.content.decode()
    assert AuditEvent.objects.filter(object_type="filings.FilingPolicy").count() == before


def test_no_patent_type_at_all_is_refused_and_the_input_kept(client: Any, national: User) -> None:
    client.force_login(national)
    response = client.post(URL, {"allow_pending": "on"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "请至少允许一种专利类型" in body
    assert 'data-testid="policy-allow_pending" checked' in body  # the user's input is kept
    policy = FilingPolicy.current()
    assert policy.allow_design and not policy.allow_pending  # nothing saved


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.PORT_ADMIN, Role.ENTERPRISE])
def test_other_roles_get_404(client: Any, make_user: Callable[..., User], role: str) -> None:
    client.force_login(make_user(f"{role}-t@example.cn", role))
    assert client.get(URL).status_code == 404
    assert client.post(URL, {"allow_invention": "on"}).status_code == 404
    assert FilingPolicy.current().allow_design  # unchanged


def test_anonymous_visitors_are_sent_to_login(client: Any) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


# --- the admin: it shows filings but never changes their state -------------------------------


@pytest.fixture
def superuser(db: None) -> User:
    return User.objects.create_superuser("admin-t@example.cn", "Demo-2026!")


def test_admin_cannot_change_a_status_or_filing_number(
    client: Any, superuser: User, approved_version: ProductVersion
) -> None:
    client.force_login(superuser)
    url = reverse("admin:filings_productversion_change", args=[approved_version.pk])
    page = client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="status"' not in body  # shown, not editable
    assert approved_version.product.filing_number in body
    client.post(url, {"status": FilingStatus.DRAFT, "name": "改名"})
    approved_version.refresh_from_db()
    assert approved_version.status == FilingStatus.APPROVED
    assert approved_version.name == "测试产品"  # an approved filing is the record as reviewed

    product_url = reverse("admin:filings_product_change", args=[approved_version.product_id])
    assert 'name="filing_number"' not in client.get(product_url).content.decode()
    assert client.get(reverse("admin:filings_transition_changelist")).status_code == 200
    assert client.get(reverse("admin:filings_transition_add")).status_code == 403


def test_admin_opens_the_single_filing_policy(client: Any, superuser: User) -> None:
    client.force_login(superuser)
    response = client.get(reverse("admin:filings_filingpolicy_changelist"))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:filings_filingpolicy_change", args=[FilingPolicy.current().pk])
    assert client.get(reverse("admin:filings_filingpolicy_add")).status_code == 403
    assert FilingPolicy.objects.count() == 1


@pytest.mark.parametrize(
    "model",
    ["patent", "patentright", "product", "productversion", "transition", "returnreason", "importjob", "filingunit"],
)
def test_admin_lists_open(client: Any, superuser: User, approved_version: ProductVersion, model: str) -> None:
    client.force_login(superuser)
    assert client.get(reverse(f"admin:filings_{model}_changelist")).status_code == 200


def test_admin_may_correct_a_draft_but_not_a_reviewed_filing(
    client: Any,
    superuser: User,
    approved_version: ProductVersion,
    new_version: Callable[..., ProductVersion],
    unit_a: FilingUnit,
    filer_a: User,
) -> None:
    client.force_login(superuser)
    draft = new_version(unit_a, filer_a)
    draft_page = client.get(reverse("admin:filings_productversion_change", args=[draft.pk])).content.decode()
    assert 'name="name"' in draft_page and 'name="links-0-contribution"' in draft_page
    approved_page = client.get(
        reverse("admin:filings_productversion_change", args=[approved_version.pk])
    ).content.decode()
    assert 'name="name"' not in approved_page and 'name="links-0-contribution"' not in approved_page
    assert client.get(reverse("admin:filings_productversion_add")).status_code == 403


def test_admin_corrections_are_audited(
    client: Any, superuser: User, add_right: Callable[..., PatentRight], unit_a: FilingUnit, filer_a: User
) -> None:
    right = add_right(unit_a, filer_a)
    patent = right.patent
    client.force_login(superuser)
    response = client.post(
        reverse("admin:filings_patent_change", args=[patent.pk]),
        {
            "number": patent.number,
            "kind": patent.kind,
            "title": patent.title,
            "legal_status": "lapsed",
            "rights-TOTAL_FORMS": "1",
            "rights-INITIAL_FORMS": "1",
            "rights-MIN_NUM_FORMS": "0",
            "rights-MAX_NUM_FORMS": "1000",
            "rights-0-id": str(right.pk),
            "rights-0-patent": str(patent.pk),
            "rights-0-kind": "licensee",
            "rights-0-licence_kind": "ordinary",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    patent.refresh_from_db()
    assert patent.legal_status == "lapsed"
    event = AuditEvent.objects.filter(object_type="filings.Patent", object_id=str(patent.pk)).latest("id")
    assert event.changes == {"legal_status": ["valid", "lapsed"]}
    assert event.actor_email == superuser.email and event.message == "admin"
    right_event = AuditEvent.objects.filter(object_type="filings.PatentRight", object_id=str(right.pk)).latest("id")
    assert right_event.changes == {"kind": ["owner", "licensee"], "licence_kind": ["", "ordinary"]}
