"""The enterprise side of the government login (patent_platform/oidc.py; docs/SECURITY.md "Government login").

A provider trusted for the enterprise role (`trusted_roles`), asserting a USCC, creates the enterprise account
at the first login:
- the USCC names a registered unit: only a provider trusted for USCCs (settings.TRUSTED_IDENTITY_PROVIDERS)
  may attach a new account to it (a member; its manager when the unit has no active manager left); the unit
  is verified at once (filings.identity.unit_verify_by_identity_provider);
- no unit has the USCC: the unit is registered as the registration page does (`services.enterprise_register`:
  the unit's name from the provider's unit-name claim, its region from the region claim or else the USCC's
  own administrative-division digits), the account its manager; verified when the provider is trusted for USCCs.
At every later login of an enterprise account, a USCC asserted by a trusted provider verifies the account's
unit if it is not yet (the same hook).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from filings import identity, services
from filings.identifiers import validate_uscc
from filings.models import FilingUnit, UnitMembership
from patent_platform import audit, confirmation
from patent_platform.choices import AuditAction, Role
from patent_platform.models import Region, User
from patent_platform.oidc import Assertion, Refused
from patent_platform.scoping import forget_scope


def _uscc(assertion: Assertion) -> str:
    try:
        return validate_uscc(assertion.uscc)
    except ValidationError as exc:
        raise Refused(
            _("身份提供方确认的统一社会信用代码无效：%(error)s") % {"error": " ".join(exc.messages)}, "uscc_invalid"
        ) from None


def _verify(unit: FilingUnit, uscc: str, assertion: Assertion, user: User) -> list[Any]:
    if not assertion.provider.trusted_for_uscc:
        return []
    if identity.unit_verify_by_identity_provider(
        unit=unit, asserted_uscc=uscc, provider=assertion.provider.id, user=user
    ):
        message = _("“%(provider)s”确认了本单位的统一社会信用代码，单位身份已核验。")
        return [message % {"provider": assertion.provider.name}]
    return []


def create_enterprise(assertion: Assertion) -> tuple[User, list[Any]]:
    uscc = _uscc(assertion)
    provider = assertion.provider
    unit = FilingUnit.objects.filter(uscc=uscc).first()
    confirmed = f"identity provider {provider.id}" if assertion.email_verified else ""
    full_name = assertion.claim("name")[:100]
    if unit is not None:
        if not provider.trusted_for_uscc:
            raise Refused(
                _(
                    "统一社会信用代码 %(uscc)s 已由其他账号注册，“%(provider)s”不能确认您代表该单位。"
                    "请联系该单位的管理员为您添加账号，或提交认领申请。"
                )
                % {"uscc": uscc, "provider": provider.name},
                "uscc_taken",
            )
        user = User.objects.create_user(assertion.email, None, full_name=full_name, role=Role.ENTERPRISE)
        has_manager = UnitMembership.objects.filter(unit=unit, is_manager=True, user__is_active=True).exists()
        UnitMembership.objects.create(user=user, unit=unit, is_manager=not has_manager)
        forget_scope(user)
        audit.audit_event(
            action=AuditAction.PERMISSION,
            obj=user,
            actor=user,
            changes={"unit": [None, unit.pk], "is_manager": [None, not has_manager]},
            message=f"oidc {provider.id}: member of unit {unit.pk} by asserted USCC",
        )
        if confirmed:
            confirmation.email_confirm(user=user, via=confirmed)
        else:
            confirmation.email_confirmation_send(user=user)
        return user, _verify(unit, uscc, assertion, user)

    name = assertion.claim(provider.unit_name_claim)
    if not name:
        raise Refused(_("身份提供方未返回单位名称，无法注册备案单位。请在平台上注册。"), "no_unit_name")
    region_code = assertion.claim(provider.region_claim) or uscc[2:8]
    region = Region.objects.filter(code=region_code).first()
    if region is None:
        raise Refused(
            _("身份提供方确认的所属地区（%(region)s）不是有效的行政区划代码，无法注册备案单位。请在平台上注册。")
            % {"region": region_code},
            "region_invalid",
        )
    try:
        user, unit = services.enterprise_register(
            user_data={"email": assertion.email, "password": None, "full_name": full_name},
            unit_data={"uscc": uscc, "name": name[:200], "region": region, "contact_email": assertion.email},
            email_confirmed_via=confirmed,
        )
    except ValidationError as exc:
        raise Refused(" ".join(exc.messages), "registration_invalid") from None
    return user, _verify(unit, uscc, assertion, user)


def on_enterprise_login(user: User, assertion: Assertion) -> list[Any]:
    """A USCC asserted by a trusted provider at a later login verifies the account's unit (if it is the unit's)."""
    if not assertion.uscc or not assertion.provider.trusted_for_uscc:
        return []
    unit = FilingUnit.objects.filter(memberships__user=user).first()
    if unit is None or unit.verified_at is not None:
        return []
    try:
        return _verify(unit, validate_uscc(assertion.uscc), assertion, user)
    except ValidationError:  # another unit's code, or an invalid one: the login goes on, the unit stays as it is
        return [_("身份提供方确认的统一社会信用代码与本单位登记的不一致，单位身份未据此核验。")]
