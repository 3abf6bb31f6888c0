"""Government login: OpenID Connect, one or more identity providers (issue 22; docs/SECURITY.md "Government login").

The client is Authlib's Django integration (pinned in pyproject.toml): authorization code flow, PKCE (S256),
`state` and `nonce` kept in the server-side session and checked on return, the ID token's signature, issuer,
audience, expiry and nonce checked against the provider's keys from its discovery document
(`<issuer>/.well-known/openid-configuration`, read at run time: the providers are on the closed network).

Providers are configured in settings.OIDC_PROVIDERS (environment variable, JSON; none configured: the login
page is as before). Per provider (`Provider` below): its id and the name on its button, issuer, client id and
secret, scopes, the roles of existing accounts it may log in (`link_roles`), the roles it may create accounts
for (`trusted_roles`: only the enterprise role can be created at all; port accounts are made by the national
office and only ever linked), the claims carrying the USCC, the unit name and the region, and the `acr` values
that stand for the platform's own second factor (`mfa_acr`). Whether a provider's assertion of a USCC verifies
the unit is decided in one place only: settings.TRUSTED_IDENTITY_PROVIDERS (filings/identity.py).

A login (`resolve`):
1. (provider, sub) already linked (`OIDCIdentity`): that account, whatever the e-mail says today;
2. otherwise the provider asserts `email_verified: true` and an active account has that e-mail, of a role the
   provider may log in: the identity is linked to it (a bureau's asserted region must lie in its port's regions);
3. otherwise, where the provider is trusted for the role the assertion carries (a USCC: the enterprise role),
   the account is created by the role's handler (filings/oidc.py registers the enterprise one: unit attached or
   registered, verified when the provider is trusted for USCCs);
4. otherwise refused with a message saying why; nothing is written.
Links, creations, logins and refusals are audited.

The second factor: an OIDC login passes the platform's TOTP step only where the provider's `mfa_acr` lists the
`acr` of the ID token (the provider authenticated the person with a second factor of its own, e.g. a
government CA certificate or SMS at a level the national office accepts). Otherwise the account's TOTP is asked
as after a password (SecurityPolicyMiddleware), so an OIDC login is never weaker than the password login.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patent_platform import audit
from patent_platform.choices import AuditAction, Role
from patent_platform.models import OIDCIdentity, User
from patent_platform.scoping import scope_of

log = logging.getLogger(__name__)

# Roles an identity provider may create accounts for. Every other role is made by an administrator and only
# ever linked (a port's administrators, the national office, reviewers, experts, the three administrators).
CREATABLE_ROLES = frozenset({Role.ENTERPRISE})
DEFAULT_LINK_ROLES = frozenset({Role.ENTERPRISE, Role.PORT_ADMIN})


@dataclass(frozen=True)
class Provider:
    id: str
    name: str
    issuer: str
    client_id: str
    client_secret: str = field(repr=False, default="")
    name_en: str = ""
    scopes: str = "openid email profile"
    discovery_url: str = ""
    link_roles: frozenset[str] = DEFAULT_LINK_ROLES
    trusted_roles: frozenset[str] = frozenset()
    uscc_claim: str = ""
    unit_name_claim: str = ""
    region_claim: str = ""
    mfa_acr: frozenset[str] = frozenset()

    @property
    def metadata_url(self) -> str:
        return self.discovery_url or self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    @property
    def trusted_for_uscc(self) -> bool:
        """The one place: settings.TRUSTED_IDENTITY_PROVIDERS (filings.identity reads the same)."""
        return self.id in (getattr(settings, "TRUSTED_IDENTITY_PROVIDERS", ()) or ())

    def label(self, language: str = "") -> str:
        return self.name_en if language.startswith("en") and self.name_en else self.name


def _provider(raw: Mapping[str, Any]) -> Provider:
    try:
        pid, name, issuer, client_id = (str(raw[k]).strip() for k in ("id", "name", "issuer", "client_id"))
    except KeyError as exc:
        raise ImproperlyConfigured(f"OIDC_PROVIDERS: every provider needs {exc.args[0]!r}") from exc
    if not pid.replace("-", "").replace("_", "").isalnum():
        raise ImproperlyConfigured(f"OIDC_PROVIDERS: id {pid!r} must be letters, digits, - or _")
    roles = set(Role.values)
    link_roles = frozenset(raw.get("link_roles", DEFAULT_LINK_ROLES))
    trusted_roles = frozenset(raw.get("trusted_roles", ()))
    if not link_roles <= roles or not trusted_roles <= roles:
        raise ImproperlyConfigured(f"OIDC_PROVIDERS[{pid}]: unknown role in {sorted(link_roles | trusted_roles)}")
    if trusted_roles - CREATABLE_ROLES:
        raise ImproperlyConfigured(
            f"OIDC_PROVIDERS[{pid}]: trusted_roles may only name {sorted(str(r) for r in CREATABLE_ROLES)}: "
            "accounts of the other roles are made by administrators and only linked (link_roles)"
        )
    return Provider(
        id=pid,
        name=name,
        issuer=issuer,
        client_id=client_id,
        client_secret=str(raw.get("client_secret", "")),
        name_en=str(raw.get("name_en", "")),
        scopes=str(raw.get("scopes", "openid email profile")),
        discovery_url=str(raw.get("discovery_url", "")),
        link_roles=link_roles,
        trusted_roles=trusted_roles,
        uscc_claim=str(raw.get("uscc_claim", "")),
        unit_name_claim=str(raw.get("unit_name_claim", "")),
        region_claim=str(raw.get("region_claim", "")),
        mfa_acr=frozenset(raw.get("mfa_acr", ())),
    )


_cache: dict[str, Any] = {}


@checks.register(checks.Tags.security)
def check_providers(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """`manage.py check` (and every start) names a wrong OIDC_PROVIDERS instead of a broken login page."""
    try:
        providers()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="patent_platform.E110")]
    return []


def providers() -> dict[str, Provider]:
    """The configured providers by id, in the configured order (parsed once per configuration)."""
    raw = getattr(settings, "OIDC_PROVIDERS", None) or []
    key = json.dumps(raw, sort_keys=True, default=str)
    if _cache.get("key") != key:
        parsed = [_provider(item) for item in raw]
        if len({p.id for p in parsed}) != len(parsed):
            raise ImproperlyConfigured("OIDC_PROVIDERS: provider ids must be unique")
        _cache.clear()
        _cache.update(key=key, providers={p.id: p for p in parsed})
    result: dict[str, Provider] = _cache["providers"]
    return result


def buttons(language: str = "") -> list[dict[str, str]]:
    """The login page's buttons, one per configured provider (none configured: none)."""
    return [{"id": p.id, "label": p.label(language)} for p in providers().values()]


def client(provider: Provider) -> Any:
    """Authlib's client of this provider (one registry per configuration: the discovery document is read once)."""
    providers()
    registry = _cache.get("registry")
    if registry is None:
        from authlib.integrations.django_client import OAuth

        registry = _cache["registry"] = OAuth()
    made = registry.create_client(provider.id)
    if made is None:
        registry.register(
            name=provider.id,
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            server_metadata_url=provider.metadata_url,
            client_kwargs={"scope": provider.scopes, "code_challenge_method": "S256", "timeout": 10},
        )
        made = registry.create_client(provider.id)
    return made


# ---- the login --------------------------------------------------------------------------------------------


class Refused(Exception):
    """The login is refused; `message` is shown on the login page (and audited with `code`)."""

    def __init__(self, message: Any, code: str) -> None:
        super().__init__(str(message))
        self.message, self.code = message, code


@dataclass(frozen=True)
class Assertion:
    """What the provider said about the person (ID token claims merged with the userinfo response)."""

    provider: Provider
    claims: Mapping[str, Any]

    @property
    def subject(self) -> str:
        return str(self.claims.get("sub") or "")

    @property
    def email(self) -> str:
        return User.objects.normalize_email(str(self.claims.get("email") or "")).lower()

    @property
    def email_verified(self) -> bool:
        value = self.claims.get("email_verified")
        return value is True or (isinstance(value, str) and value.lower() == "true")

    def claim(self, name: str) -> str:
        return str(self.claims.get(name) or "").strip() if name else ""

    @property
    def uscc(self) -> str:
        return self.claim(self.provider.uscc_claim)

    @property
    def mfa(self) -> bool:
        """The provider's own authentication stands for the platform's second factor."""
        return bool(self.provider.mfa_acr) and str(self.claims.get("acr") or "") in self.provider.mfa_acr


@dataclass
class Outcome:
    user: User
    how: str  # "login" (linked before), "linked" (by verified e-mail), "created"
    notes: list[Any] = field(default_factory=list)  # messages for the user (e.g. "unit verified")


# Role handlers (filings registers the enterprise one: patent_platform may not import filings).
# create(assertion) -> (user, notes) makes the account; login(user, assertion) -> notes runs at each login.
_creators: dict[str, Callable[[Assertion], tuple[User, list[Any]]]] = {}
_on_login: dict[str, Callable[[User, Assertion], list[Any]]] = {}


def register_role_handler(
    role: str,
    *,
    create: Callable[[Assertion], tuple[User, list[Any]]] | None = None,
    on_login: Callable[[User, Assertion], list[Any]] | None = None,
) -> None:
    if create is not None:
        _creators[role] = create
    if on_login is not None:
        _on_login[role] = on_login


def asserted_role(assertion: Assertion) -> str | None:
    """The role a new account would get: a USCC asserted makes an enterprise user; nothing else is creatable."""
    return Role.ENTERPRISE if assertion.uscc else None


def refuse(assertion: Assertion | None, provider: Provider, code: str, message: Any, ip: str | None = None) -> Refused:
    sub = assertion.subject if assertion else ""
    audit.audit_event(
        action=AuditAction.LOGIN_FAILED,
        object_type="patent_platform.OIDCIdentity",
        object_repr=f"{provider.id}:{sub}"[:200],
        message=f"oidc {provider.id}: refused ({code})",
        success=False,
        ip=ip,
    )
    return Refused(message, code)


def _check_region(user: User, assertion: Assertion) -> None:
    """A bureau's account: the region the provider asserts must lie within its port's regions."""
    region = assertion.claim(assertion.provider.region_claim)
    if user.role == Role.PORT_ADMIN and region and not scope_of(user).covers_region(region):
        raise Refused(
            _("身份提供方确认的所属地区（%(region)s）不在该账号管理端口的地区范围内，不能登录。请联系国家局管理员。")
            % {"region": region},
            "region_mismatch",
        )


def resolve(assertion: Assertion, *, ip: str | None = None) -> Outcome:
    """The account this assertion logs in (linked, linked now, or created), or Refused. See the module doc."""
    provider = assertion.provider
    try:
        with transaction.atomic():
            return _resolve(assertion, ip)
    except Refused as exc:
        raise refuse(assertion, provider, exc.code, exc.message, ip) from None


def _resolve(assertion: Assertion, ip: str | None) -> Outcome:
    provider = assertion.provider
    if not assertion.subject:
        raise Refused(_("身份提供方未返回用户标识（sub），无法登录。"), "no_subject")
    now = timezone.now()
    identity = (
        OIDCIdentity.objects.select_for_update()
        .select_related("user")
        .filter(provider=provider.id, subject=assertion.subject)
        .first()
    )
    if identity is not None:
        user = identity.user
        if not user.is_active:
            raise Refused(_("该账号已停用，请联系平台管理员。"), "inactive")
        _check_region(user, assertion)
        OIDCIdentity.objects.filter(pk=identity.pk).update(last_login_at=now)
        return Outcome(user, "login", _role_login(user, assertion))

    existing = User.objects.filter(email__iexact=assertion.email).first() if assertion.email else None
    if existing is not None:
        if not assertion.email_verified:
            raise Refused(
                _("平台已有使用该电子邮箱的账号，但身份提供方未确认该邮箱属于您，不能自动关联。请使用密码登录。"),
                "email_unverified",
            )
        if not existing.is_active:
            raise Refused(_("该账号已停用，请联系平台管理员。"), "inactive")
        if existing.role not in provider.link_roles:
            raise Refused(
                _("“%(provider)s”不能用于登录%(role)s账号，请使用密码登录。")
                % {"provider": provider.name, "role": existing.get_role_display()},
                "role_not_linkable",
            )
        _check_region(existing, assertion)
        try:
            with transaction.atomic():
                identity = OIDCIdentity.objects.create(
                    provider=provider.id, subject=assertion.subject, user=existing, last_login_at=now
                )
        except IntegrityError:
            raise Refused(
                _("该账号已关联“%(provider)s”的另一身份，不能再关联。请联系平台管理员。") % {"provider": provider.name},
                "linked_elsewhere",
            ) from None
        audit.audit_event(
            action=AuditAction.PERMISSION,
            obj=existing,
            actor=existing,
            changes={"oidc_identity": [None, str(identity)]},
            message=f"oidc {provider.id}: identity linked by verified e-mail",
            ip=ip,
        )
        return Outcome(existing, "linked", _role_login(existing, assertion))

    role = asserted_role(assertion)
    if role is None or role not in provider.trusted_roles or role not in _creators:
        raise Refused(
            _(
                "平台上没有与该身份关联的账号，且“%(provider)s”不能为您新建账号。"
                "工作人员账号由国家局管理员创建；企业请先注册备案单位，或使用受信任的电子营业执照登录。"
            )
            % {"provider": provider.name},
            "not_trusted_for_role",
        )
    if not assertion.email:
        raise Refused(_("身份提供方未返回电子邮箱，无法新建账号。"), "no_email")
    user, notes = _creators[role](assertion)
    identity = OIDCIdentity.objects.create(
        provider=provider.id, subject=assertion.subject, user=user, last_login_at=now
    )
    audit.audit_event(
        action=AuditAction.CREATE,
        obj=user,
        actor=user,
        changes={"role": [None, role], "oidc_identity": [None, str(identity)]},
        message=f"oidc {provider.id}: account created",
        ip=ip,
    )
    return Outcome(user, "created", notes)


def _role_login(user: User, assertion: Assertion) -> list[Any]:
    handler = _on_login.get(user.role)
    return handler(user, assertion) if handler else []
