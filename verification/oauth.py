"""The OAuth2 side of the verification API: who a token belongs to, what it may ask, and the reader it acts as.

django-oauth-toolkit issues and checks the tokens (client credentials, RFC 6749 §4.4). The platform adds its
own rules in the two hooks the toolkit offers, so that they hold at the token endpoint and on every call:

- `ClientValidator.authenticate_client`: a suspended or expired client cannot get a token (401
  `invalid_client`), however correct its secret;
- `ClientScopes`: a client gets only the scopes the national office gave it (asking for another answers 400
  `invalid_scope`; asking for none gives all of its own).

A token issued before the client was suspended or expired keeps no power: `ClientAuthentication` reads the
client again on every call and answers 401. The caller then acts as a `ClientPrincipal`: a reader with the
fixed scope of the client's region, read through the one scoping rule (`visible_to`, patent_platform/scoping.py)
exactly as a port of that region reads. Its role is none of the platform's roles, so no role check passes for it.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import SettingsScopes
from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header
from rest_framework.request import Request

from patent_platform.choices import RegionLevel
from patent_platform.clock import china_today
from patent_platform.scoping import EVERYTHING, Principal, Scope
from verification.models import VerificationClient

# The role a client's principal carries: none of patent_platform.choices.Role, so `has_role` is false for it
# and no service that checks a role lets it act.
CLIENT_ROLE = "verification_client"
# The attribute of the DRF request that holds the client `ClientAuthentication` authenticated (read it with
# `request_client`).
REQUEST_CLIENT = "verification_client"
REALM = 'Bearer realm="verification"'
# Why the last client authentication of this request was refused ("suspended", "expired", "unknown"), for the
# token endpoint's message: oauthlib answers only `invalid_client`.
refusal_context: ContextVar[str | None] = ContextVar("verification_refusal", default=None)


@dataclass(frozen=True)
class ClientPrincipal(Principal):
    """A verification client acting as a reader scoped to its region."""

    client_id: int = 0


def region_scope(client: VerificationClient) -> Scope:
    """The scope of the client's region: a province with its cities, a city, or the whole country."""
    region = client.region
    if region is None:
        return EVERYTHING
    if region.level == RegionLevel.PROVINCE:
        return Scope(province_codes=frozenset({region.code}))
    if region.level == RegionLevel.CITY:
        return Scope(city_codes=frozenset({region.code}))
    return Scope(county_codes=frozenset({region.code}))


def principal_of(client: VerificationClient) -> ClientPrincipal:
    return ClientPrincipal(role=CLIENT_ROLE, scope=region_scope(client), label=client.name, client_id=client.pk)


def client_of_application(application: Any) -> VerificationClient | None:
    if application is None:
        return None
    return (
        VerificationClient.objects.select_related("region", "application").filter(application_id=application.pk).first()
    )


class ClientScopes(SettingsScopes):
    """OAUTH2_PROVIDER["SCOPES_BACKEND_CLASS"]: the scopes of an application are those of its client."""

    def _own(self, application: Any) -> list[str]:
        client = client_of_application(application)
        known = set(super().get_all_scopes())
        return [s for s in (client.scopes if client else []) if s in known]

    def get_available_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        return self._own(application)

    def get_default_scopes(self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any) -> list[str]:
        return self._own(application)


class ClientValidator(OAuth2Validator):
    """OAUTH2_PROVIDER["OAUTH2_VALIDATOR_CLASS"]: a client authenticates only while it is active and in date."""

    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        if not super().authenticate_client(request, *args, **kwargs):
            return False
        client = client_of_application(request.client)
        refusal = "unknown" if client is None else client.refusal(china_today())
        if refusal is not None:
            refusal_context.set(refusal)  # read by the token view for its message
            return False
        return True


REFUSALS = {
    "suspended": _("该客户端已被国家知识产权局暂停使用。"),
    "expired": _("该客户端已过有效期，请联系国家知识产权局续期。"),
    "unknown": _("该客户端未登记为核验接口客户端。"),
}


class ClientAuthentication(OAuth2Authentication):
    """`Authorization: Bearer <access token>` of a verification client; 401 for a missing, invalid or expired
    token and for a client that is suspended or past its date. Sets `request.verification_client` (also on
    those refusals where the client is known, so that its usage counts them)."""

    www_authenticate_realm = "verification"

    def authenticate(self, request: Request) -> tuple[ClientPrincipal, Any] | None:
        header = get_authorization_header(request).split()
        if not header:
            return None  # DRF answers 401 not_authenticated with WWW-Authenticate
        if header[0].lower() != b"bearer" or len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Authorization 头格式应为：Bearer <访问令牌>。"))
        result = super().authenticate(request)
        if result is None:
            raise exceptions.AuthenticationFailed(_("访问令牌无效或已过期，请用 POST /api/v1/verify/token/ 重新获取。"))
        _user, token = result
        client = client_of_application(token.application)
        if client is None:
            raise exceptions.AuthenticationFailed(REFUSALS["unknown"])
        setattr(request, REQUEST_CLIENT, client)
        refusal = client.refusal(china_today())
        if refusal is not None:
            raise exceptions.AuthenticationFailed(REFUSALS[refusal])
        return principal_of(client), token

    def authenticate_header(self, request: Request) -> str:
        return REALM


def request_client(request: Request) -> VerificationClient:
    """The verification client that `ClientAuthentication` authenticated for this request."""
    client: VerificationClient = getattr(request, REQUEST_CLIENT)
    return client


def token_allows(request: Request, scope: str) -> bool:
    """Whether the request's access token was granted `scope` (django-oauth-toolkit's `AccessToken`)."""
    token: Any = request.auth
    return bool(token.allow_scopes([scope]))
