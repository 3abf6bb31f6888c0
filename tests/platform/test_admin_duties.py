"""Separation of administrative duties (三权分立, issue 8 item 2): three administrator roles, one account each.

Each administrator opens its own pages, gets 404 on the other two's pages and on every business page; an
account cannot take a second duty; the first of each is created by a command; production has no account."""

import io
from collections.abc import Callable
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from patent_platform import duties
from patent_platform.choices import ADMIN_ROLES, AuditAction, Role
from patent_platform.models import AuditEvent, User

PASSWORD = "Strong-Pass-2026"

OWN_PAGES = {
    Role.SYSTEM_ADMIN: ["admin:index", "admin:filings_productclass_changelist", "admin:filings_productclass_add"],
    Role.SECURITY_ADMIN: ["security-accounts", "security-accounts-export"],
    Role.AUDIT_ADMIN: ["audit-log", "audit-export"],
}
# Pages of the business roles (no arguments needed): none of the three administrators opens any of them.
BUSINESS_PAGES = [
    "enterprise:home",
    "enterprise:patents",
    "review:queue",
    "review:export",
    "port:home",
    "port:units",
    "port:publications",
    "national:home",
    "national:applications",
    "national:ports",
    "national:publications",
    "rosters:list",
    "rosters:coverage",
    "rosters:missing",
    "filing_settings:policy",
    "certification:rounds",
    "certification:mine",
    "certification:region",
    "certification:expert_home",
]


@pytest.fixture
def admins(reference: None, make_user: Callable[..., User]) -> dict[str, User]:
    return {
        Role.SYSTEM_ADMIN: make_user("system@example.cn", Role.SYSTEM_ADMIN, is_staff=True),
        Role.SECURITY_ADMIN: make_user("security@example.cn", Role.SECURITY_ADMIN),
        Role.AUDIT_ADMIN: make_user("auditor@example.cn", Role.AUDIT_ADMIN),
    }


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", sorted(ADMIN_ROLES))
def test_each_administrator_opens_its_own_pages_only(admins: dict[str, User], role: str) -> None:
    client = client_for(admins[role])
    for name in OWN_PAGES[role]:
        assert client.get(reverse(name)).status_code == 200, name
    for other, names in OWN_PAGES.items():
        if other != role:
            for name in names:
                assert client.get(reverse(name)).status_code == 404, (role, name)
    for name in BUSINESS_PAGES:
        assert client.get(reverse(name)).status_code == 404, (role, name)


@pytest.mark.parametrize("role", sorted(ADMIN_ROLES))
def test_home_and_navigation_lead_to_the_roles_own_page(admins: dict[str, User], role: str) -> None:
    client = client_for(admins[role])
    own = reverse(OWN_PAGES[role][0])
    assert client.get(reverse("home"))["Location"] == own
    page = client.get(own).content.decode()
    assert f'href="{own}"' in page
    for other, names in OWN_PAGES.items():
        if other != role:
            assert f'href="{reverse(names[0])}"' not in page
    assert f'href="{reverse("national:home")}"' not in page


def test_audit_administrator_reads_the_log(admins: dict[str, User]) -> None:
    duties.user_set_active(
        actor=admins[Role.SECURITY_ADMIN], user=User.objects.create_user("x@example.cn", PASSWORD), active=False
    )
    page = client_for(admins[Role.AUDIT_ADMIN]).get(reverse("audit-log")).content.decode()
    assert "account disabled" in page and "security@example.cn" in page


def test_admin_site_is_the_system_administrators_only(admins: dict[str, User], make_user: Callable[..., User]) -> None:
    # is_staff alone opens nothing: a national administrator or a security administrator flagged staff gets 404
    national = make_user("chief@example.cn", Role.NATIONAL_ADMIN, is_staff=True)
    staff_security = make_user("security2@example.cn", Role.SECURITY_ADMIN, is_staff=True)
    for user in (national, staff_security, admins[Role.AUDIT_ADMIN]):
        client = client_for(user)
        assert client.get(reverse("admin:index")).status_code == 404
        assert client.get(reverse("admin:filings_filingunit_changelist")).status_code == 404
        assert client.get(reverse("admin:login")).status_code == 404
    # a visitor who has not signed in is sent to the admin's login page
    assert Client().get(reverse("admin:index")).status_code == 302


def test_system_administrator_edits_reference_data_and_reads_business_records(admins: dict[str, User]) -> None:
    client = client_for(admins[Role.SYSTEM_ADMIN])
    index = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:filings_productclass_changelist") in index
    assert reverse("admin:filings_filingunit_changelist") in index
    assert reverse("admin:filings_filingunit_add") not in index  # view only
    assert client.get(reverse("admin:filings_filingunit_changelist")).status_code == 200
    assert client.get(reverse("admin:filings_filingunit_add")).status_code == 403
    assert client.get(reverse("admin:filings_product_changelist")).status_code == 200
    assert client.get(reverse("admin:provincial_managementunit_changelist")).status_code == 200
    assert client.get(reverse("admin:filings_filingpolicy_add")).status_code == 403
    from filings.models import ProductClass

    product_class = ProductClass.objects.first()
    assert product_class is not None
    change = reverse("admin:filings_productclass_change", args=[product_class.pk])
    assert client.get(change).status_code == 200
    assert client.get(reverse("admin:filings_productclass_delete", args=[product_class.pk])).status_code == 403


# ---------------------------------------------------------------------------------------------
# One account, one duty


def test_roles_cannot_be_combined(admins: dict[str, User], make_user: Callable[..., User]) -> None:
    security = admins[Role.SECURITY_ADMIN]
    enterprise = make_user("ent@example.cn")
    for admin_role in ADMIN_ROLES:
        # an administrator never changes to another duty, and no account is made an administrator
        for target in admins.values():
            if target.role != admin_role and target != security:
                with pytest.raises(ValidationError):
                    duties.user_assign_role(actor=security, user=target, role=admin_role)
        with pytest.raises(ValidationError):
            duties.user_assign_role(actor=security, user=enterprise, role=admin_role)
    with pytest.raises(ValidationError):
        duties.user_assign_role(actor=security, user=admins[Role.AUDIT_ADMIN], role=Role.NATIONAL_ADMIN)
    with pytest.raises(ValidationError):
        duties.user_assign_role(actor=security, user=security, role=Role.AUDIT_ADMIN)  # not even on itself
    assert {u.email: u.role for u in User.objects.all()} == {
        "system@example.cn": Role.SYSTEM_ADMIN,
        "security@example.cn": Role.SECURITY_ADMIN,
        "auditor@example.cn": Role.AUDIT_ADMIN,
        "ent@example.cn": Role.ENTERPRISE,
    }
    # the command creates a new account only: an existing one (administrator or not) keeps its one role
    for email in ("security@example.cn", "ent@example.cn"):
        with pytest.raises(CommandError, match="已有账号"):
            run_create_admin("audit", email)
    assert User.objects.get(email="security@example.cn").role == Role.SECURITY_ADMIN
    assert User.objects.get(email="ent@example.cn").role == Role.ENTERPRISE


def test_the_role_page_refuses_a_second_duty(admins: dict[str, User], make_user: Callable[..., User]) -> None:
    client = client_for(admins[Role.SECURITY_ADMIN])
    reviewer = make_user("rev@example.cn", Role.REVIEWER)
    url = reverse("security-account", args=[reviewer.pk])
    answer = client.post(url, {"action": "role", "role": Role.AUDIT_ADMIN})
    assert answer.status_code == 400 and 'data-testid="error-role"' in answer.content.decode()
    reviewer.refresh_from_db()
    assert reviewer.role == Role.REVIEWER
    auditor_page = client.get(reverse("security-account", args=[admins[Role.AUDIT_ADMIN].pk])).content.decode()
    assert 'data-testid="admin-note"' in auditor_page and 'data-testid="role-form"' not in auditor_page
    answer = client.post(
        reverse("security-account", args=[admins[Role.AUDIT_ADMIN].pk]), {"action": "role", "role": Role.REVIEWER}
    )
    assert answer.status_code == 400
    assert User.objects.get(pk=admins[Role.AUDIT_ADMIN].pk).role == Role.AUDIT_ADMIN


# ---------------------------------------------------------------------------------------------
# What the security administrator does


def test_security_administrator_manages_business_accounts(
    admins: dict[str, User], make_user: Callable[..., User], django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(admins[Role.SECURITY_ADMIN])
    user = make_user("expert-to-be@example.cn", Role.ENTERPRISE)
    url = reverse("security-account", args=[user.pk])
    assert client.post(url, {"action": "role", "role": Role.EXPERT}).status_code == 302
    user.refresh_from_db()
    assert user.role == Role.EXPERT
    event = AuditEvent.objects.filter(action=AuditAction.PERMISSION, object_id=str(user.pk)).latest("id")
    assert event.changes == {"role": [Role.ENTERPRISE, Role.EXPERT]} and event.actor_email == "security@example.cn"

    assert client.post(url, {"action": "disable"}).status_code == 302
    assert not User.objects.get(pk=user.pk).is_active
    from tests.conftest import PASSWORD as USER_PASSWORD

    login = Client().post(reverse("login"), {"username": user.email, "password": USER_PASSWORD})
    assert login.status_code == 200 and "_auth_user_id" not in login.wsgi_request.session
    assert client.post(url, {"action": "enable"}).status_code == 302
    assert User.objects.get(pk=user.pk).is_active

    AccessAttempt.objects.create(
        username=user.email, ip_address="10.0.0.1", user_agent="t", failures_since_start=settings.AXES_FAILURE_LIMIT
    )
    listing = client.get(reverse("security-accounts"), {"q": "expert-to-be"}).content.decode()
    assert "已锁定" in listing
    assert 'data-testid="unlock"' in client.get(url).content.decode()
    assert client.post(url, {"action": "unlock"}).status_code == 302
    assert not AccessAttempt.objects.filter(username=user.email).exists()

    with django_capture_on_commit_callbacks(execute=True):  # the outbox delivers after commit
        assert client.post(url, {"action": "reset_password"}).status_code == 302
    assert not User.objects.get(pk=user.pk).has_usable_password()
    assert mail.outbox[-1].to == [user.email] and "/accounts/activate/" in mail.outbox[-1].body


def test_security_administrator_cannot_change_itself_or_superusers(admins: dict[str, User]) -> None:
    security = admins[Role.SECURITY_ADMIN]
    root = User.objects.create_superuser("root@example.cn", PASSWORD)
    client = client_for(security)
    for target in (security, root):
        url = reverse("security-account", args=[target.pk])
        assert client.post(url, {"action": "disable"}).status_code == 400
        assert User.objects.get(pk=target.pk).is_active
    assert 'data-testid="self-note"' in client.get(reverse("security-account", args=[security.pk])).content.decode()
    with pytest.raises(PermissionDenied):
        duties.user_set_active(
            actor=admins[Role.AUDIT_ADMIN], user=admins[Role.SYSTEM_ADMIN], active=False
        )  # the security admin only


def test_account_list_filters_and_export(admins: dict[str, User]) -> None:
    client = client_for(admins[Role.SECURITY_ADMIN])
    page = client.get(reverse("security-accounts"), {"role": Role.AUDIT_ADMIN}).content.decode()
    assert "auditor@example.cn" in page and "system@example.cn" not in page
    from openpyxl import load_workbook

    answer = client.get(reverse("security-accounts-export"), {"role": Role.SYSTEM_ADMIN})
    rows = list(load_workbook(io.BytesIO(answer.content), read_only=True).worksheets[0].iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == ["system@example.cn"]
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, changes__personal_data=True).exists()


# ---------------------------------------------------------------------------------------------
# Commands and the empty start


def run_create_admin(role: str, email: str, password: str = PASSWORD) -> str:
    import sys

    out = io.StringIO()
    stdin = sys.stdin
    sys.stdin = io.StringIO(password + "\n")
    try:
        call_command("create_admin", role=role, email=email, password_stdin=True, stdout=out)
    finally:
        sys.stdin = stdin
    return out.getvalue()


def test_create_admin_command(reference: None) -> None:
    for role, expected in (
        ("system", Role.SYSTEM_ADMIN),
        ("security", Role.SECURITY_ADMIN),
        ("audit", Role.AUDIT_ADMIN),
    ):
        assert "created" in run_create_admin(role, f"First-{role}@Example.cn")
        user = User.objects.get(email=f"first-{role}@example.cn")
        assert user.role == expected and user.check_password(PASSWORD) and not user.is_superuser
        assert user.is_staff == (expected == Role.SYSTEM_ADMIN)
    with pytest.raises(CommandError):
        run_create_admin("audit", "weak@example.cn", "weakpassword")
    assert not User.objects.filter(email="weak@example.cn").exists()
    with pytest.raises(CommandError):
        call_command("create_admin", role="national", email="n@example.cn", password_stdin=True)
    assert AuditEvent.objects.filter(action=AuditAction.PERMISSION, message="administrator created").count() == 3


def test_create_national_admin_makes_a_business_account_outside_the_admin_site(monkeypatch, reference) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    call_command("create_national_admin", email="chief@example.cn", password_stdin=True, stdout=io.StringIO())
    chief = User.objects.get(email="chief@example.cn")
    assert chief.role == Role.NATIONAL_ADMIN and not chief.is_staff
    assert client_for(chief).get(reverse("admin:index")).status_code == 404
    with pytest.raises(CommandError):
        monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
        call_command("create_national_admin", email="chief@example.cn", password_stdin=True)


def test_production_starts_without_any_account(reference: None) -> None:
    # migrations and the reference data (what a production start runs) create no account at all
    call_command("load_reference", verbosity=0)
    assert not User.objects.exists()
