"""Government login against a real OpenID provider on loopback (issue 22 part 2; patent_platform/oidc.py,
filings/oidc.py). The platform's button, the provider's own login and consent pages over real HTTP, the code
exchanged with PKCE, the ID token checked, and back: a bureau's officer linked to the existing port account by
verified e-mail and later found by (provider, sub); an enterprise whose USCC the e-licence provider asserts gets
its account and its unit verified; an untrusted provider cannot create an account; a forged callback is refused.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse

from filings.choices import VerificationMethod
from filings.models import FilingUnit, UnitMembership
from patent_platform import oidc
from patent_platform.choices import AuditAction, Role
from patent_platform.models import AuditEvent, OIDCIdentity, User
from tests.factories import FilingUnitFactory, MemberFactory, PortAdminFactory, UserFactory
from tests.oidc.conftest import USCC_NEW, USCC_REGISTERED, OpenIDProvider, provider_login

pytestmark = [pytest.mark.oidc, pytest.mark.django_db]


@pytest.fixture
def providers(settings: Any, openid_provider: OpenIDProvider) -> OpenIDProvider:
    settings.OIDC_PROVIDERS = [
        # a provincial 统一身份认证 platform: logs officers into their existing accounts, creates none
        openid_provider.config("gov", region_claim="region"),
        # an e-licence provider asserting the USCC: may create enterprise accounts, its USCC verifies units
        openid_provider.config(
            "elicence",
            trusted_roles=["enterprise"],
            uscc_claim="uscc",
            unit_name_claim="org_name",
            region_claim="region",
        ),
        # a provider trusted for nothing
        openid_provider.config("untrusted", uscc_claim="uscc", unit_name_claim="org_name"),
    ]
    settings.TRUSTED_IDENTITY_PROVIDERS = ["elicence"]
    return openid_provider


def logged_in_as(client: Client) -> User | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def test_the_login_page_shows_a_button_per_provider_and_none_without_configuration(
    settings: Any, providers: OpenIDProvider
) -> None:
    page = Client().get(reverse("login")).content.decode()
    assert 'data-testid="oidc-gov"' in page and "广东省统一身份认证平台" in page
    assert 'data-testid="oidc-elicence"' in page and "电子营业执照" in page

    settings.OIDC_PROVIDERS = []
    assert 'data-testid="oidc-providers"' not in Client().get(reverse("login")).content.decode()
    assert Client().get("/accounts/oidc/gov/").status_code == 404


def test_a_bureau_officer_is_linked_to_the_port_account_then_found_by_subject(
    reference: None, providers: OpenIDProvider
) -> None:
    port_admin = PortAdminFactory(user__email="gd-bureau@example.cn", port_code="440000").user
    client = Client()

    answer = provider_login(client, "gov", "bureau-gd", next_url="/port/")

    assert answer.status_code == 302 and answer["Location"] == "/port/"
    assert logged_in_as(client) == port_admin
    link = OIDCIdentity.objects.get(user=port_admin)
    assert (link.provider, link.subject) == ("gov", "bureau-gd") and link.last_login_at is not None
    assert AuditEvent.objects.filter(
        action=AuditAction.PERMISSION, object_id=str(port_admin.pk), message__contains="identity linked"
    ).exists()
    assert client.get("/port/").status_code == 200

    # The next login goes by (provider, sub): the account's e-mail changed since, the same account logs in.
    User.objects.filter(pk=port_admin.pk).update(email="renamed-bureau@example.cn")
    again = Client()
    assert provider_login(again, "gov", "bureau-gd").status_code == 302
    assert logged_in_as(again) == port_admin
    assert OIDCIdentity.objects.filter(user=port_admin).count() == 1
    assert AuditEvent.objects.filter(
        action=AuditAction.LOGIN, object_id=str(port_admin.pk), message__startswith="oidc gov (login"
    ).exists()


def test_an_unverified_email_is_not_linked_to_the_existing_account(reference: None, providers: OpenIDProvider) -> None:
    PortAdminFactory(user__email="gd-bureau@example.cn", port_code="440000")
    client = Client()

    answer = provider_login(client, "gov", "bureau-unverified")

    assert answer.status_code == 403
    assert "身份提供方未确认该邮箱属于您" in answer.content.decode()
    assert logged_in_as(client) is None
    assert not OIDCIdentity.objects.exists()


def test_an_enterprise_asserted_by_the_e_licence_gets_its_account_and_a_verified_unit(
    reference: None, providers: OpenIDProvider
) -> None:
    client = Client()

    answer = provider_login(client, "elicence", "ent-new")

    assert answer.status_code == 302, answer.content[:800]
    user = logged_in_as(client)
    assert user is not None and user.email == "oidc-new@example.cn" and user.role == Role.ENTERPRISE
    assert user.email_confirmed_at is not None and not user.has_usable_password()
    unit = FilingUnit.objects.get(uscc=USCC_NEW)
    assert unit.name == "广州统一认证测试科技有限公司" and unit.region_id == "440106"
    assert unit.verified_at is not None and unit.verified_via == VerificationMethod.IDENTITY_PROVIDER
    assert UnitMembership.objects.get(user=user).is_manager
    home = client.get(reverse("enterprise:home"), follow=True).content.decode()
    assert "单位身份已核验" in home  # the message after login
    assert 'data-testid="unit-unverified"' not in home
    assert AuditEvent.objects.filter(action=AuditAction.CREATE, message="oidc elicence: account created").exists()


def test_an_enterprise_of_a_registered_unit_joins_it_and_the_unit_is_verified(
    reference: None, providers: OpenIDProvider
) -> None:
    unit = FilingUnitFactory(uscc=USCC_REGISTERED, verified=False)
    manager = MemberFactory(unit=unit).user
    client = Client()

    assert provider_login(client, "elicence", "ent-registered").status_code == 302

    user = logged_in_as(client)
    assert user is not None and user != manager
    membership = UnitMembership.objects.get(user=user)
    assert membership.unit == unit and not membership.is_manager  # the unit has its manager
    unit.refresh_from_db()
    assert unit.verified_via == VerificationMethod.IDENTITY_PROVIDER


def test_an_untrusted_provider_creates_no_account(reference: None, providers: OpenIDProvider) -> None:
    client = Client()

    answer = provider_login(client, "untrusted", "ent-new")

    assert answer.status_code == 403
    assert "不能为您新建账号" in answer.content.decode()
    assert logged_in_as(client) is None
    assert not User.objects.filter(email="oidc-new@example.cn").exists()
    assert not FilingUnit.objects.filter(uscc=USCC_NEW).exists()
    refused = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED, object_repr="untrusted:ent-new")
    assert "not_trusted_for_role" in refused.message and not refused.success


def test_a_forged_callback_is_refused_without_a_500(reference: None, providers: OpenIDProvider) -> None:
    client = Client()
    client.get("/accounts/oidc/gov/")  # a state is kept in the session: the forged one is another

    answer = client.get("/accounts/oidc/gov/callback/?code=stolen&state=forged")

    assert answer.status_code == 400
    assert "登录未成功" in answer.content.decode()
    assert logged_in_as(client) is None


# ---- the rules without the round trip (the provider's claims as the callback would pass them) ---------------


def assertion(provider: dict[str, Any], **claims: Any) -> oidc.Assertion:
    return oidc.Assertion(provider=oidc._provider(provider), claims={"sub": "s-1", **claims})


def test_a_provider_cannot_be_trusted_to_create_staff_accounts() -> None:
    with pytest.raises(ImproperlyConfigured, match="trusted_roles"):
        oidc._provider(
            {"id": "x", "name": "x", "issuer": "http://x", "client_id": "c", "trusted_roles": ["port_admin"]}
        )


def test_a_bureau_outside_its_region_and_a_national_administrator_are_refused(reference: None) -> None:
    port_admin = PortAdminFactory(user__email="sz-bureau@example.cn", port_code="440000").user
    national = UserFactory(email="nat@example.cn", role=Role.NATIONAL_ADMIN)
    gov = {"id": "gov", "name": "政务平台", "issuer": "http://x", "client_id": "c", "region_claim": "region"}

    with pytest.raises(oidc.Refused) as outside:
        oidc.resolve(assertion(gov, email=port_admin.email, email_verified=True, region="330000"))
    assert outside.value.code == "region_mismatch"
    with pytest.raises(oidc.Refused) as staff:
        oidc.resolve(assertion(gov, sub="s-2", email=national.email, email_verified=True))
    assert staff.value.code == "role_not_linkable"
    assert not OIDCIdentity.objects.exists()


def test_the_second_factor_is_skipped_only_for_the_providers_acr(
    settings: Any, reference: None, providers: OpenIDProvider
) -> None:
    settings.OTP_REQUIRED_ROLES = ["staff"]
    settings.OIDC_PROVIDERS = [providers.config("gov", mfa_acr=["urn:gd:loa:3"])]
    plain = PortAdminFactory(user__email="gd-bureau@example.cn", port_code="440000").user
    strong = PortAdminFactory(user__email="gd-mfa@example.cn", port_code="440000").user

    # No acr from the provider: the platform's own TOTP step (enrolment first: the account has no device)
    client = Client()
    assert provider_login(client, "gov", "bureau-gd").status_code == 302
    assert logged_in_as(client) == plain
    page = client.get("/port/")
    assert page.status_code == 302 and page["Location"].startswith(reverse("two_factor"))

    # The provider's acr is one the configuration accepts as a second factor: the port's page opens
    client = Client()
    assert provider_login(client, "gov", "bureau-mfa").status_code == 302
    assert logged_in_as(client) == strong
    assert client.get("/port/").status_code == 200
    assert AuditEvent.objects.filter(
        action=AuditAction.LOGIN, object_id=str(strong.pk), message__contains="acr=urn:gd:loa:3; second factor by"
    ).exists()


def test_an_existing_enterprise_account_linked_by_the_e_licence_gets_its_unit_verified(
    settings: Any, reference: None
) -> None:
    settings.TRUSTED_IDENTITY_PROVIDERS = ["elicence"]
    unit = FilingUnitFactory(uscc=USCC_REGISTERED, verified=False)
    filer = MemberFactory(unit=unit).user
    elicence = {"id": "elicence", "name": "电子营业执照", "issuer": "http://x", "client_id": "c", "uscc_claim": "uscc"}

    outcome = oidc.resolve(assertion(elicence, email=filer.email, email_verified=True, uscc=USCC_REGISTERED))

    assert (outcome.user, outcome.how) == (filer, "linked")
    unit.refresh_from_db()
    assert unit.verified_via == VerificationMethod.IDENTITY_PROVIDER
    assert any("单位身份已核验" in str(note) for note in outcome.notes)
