"""The API's token authentication: `Authorization: Bearer <token>` (the scheme generated clients send), and
`Authorization: Token <token>` as before.

A missing, invalid or expired token answers 401 with `WWW-Authenticate: Bearer realm="api"` (this class is
the first of DEFAULT_AUTHENTICATION_CLASSES, so DRF offers its header); 403 is left for a signed-in caller
whose role may not act, and for a staff account's token (staff sign in to the pages with a second factor;
checked here, with the token's one query). A token lives API_TOKEN_MAX_AGE_DAYS (0: for ever) from when it
was issued; then it answers 401 and `POST /api/v1/auth/token/` issues a new one.
"""

import datetime as dt
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token
from rest_framework.request import Request

from patent_platform import integrity
from patent_platform.models import User
from patent_platform.roles import has_role
from patent_platform.security import EMAIL_UNCONFIRMED, required_roles

KEYWORDS = ("bearer", "token")
KEY_MAX = 40  # DRF's keys are 40 hexadecimal characters


def token_key(header: str | bytes) -> str | None:
    """The key of an `Authorization: Bearer|Token <key>` header, or None for another scheme or none."""
    text = header.decode("latin-1") if isinstance(header, bytes) else header
    parts = text.split()
    if len(parts) != 2 or parts[0].lower() not in KEYWORDS:
        return None
    return parts[1]


def expired(token: Token, now: dt.datetime | None = None) -> bool:
    days = int(getattr(settings, "API_TOKEN_MAX_AGE_DAYS", 0) or 0)
    return days > 0 and token.created < (now or timezone.now()) - dt.timedelta(days=days)


def issue_token(user: User) -> Token:
    """The user's token; a new one when the old has expired (the token endpoint)."""
    token, _created = Token.objects.get_or_create(user=user)
    if expired(token):
        token.delete()
        token = Token.objects.create(user=user)
    return token


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate(self, request: Request) -> Any:
        header = authentication.get_authorization_header(request)
        parts = header.split()
        if not parts or parts[0].lower().decode("latin-1") not in KEYWORDS:
            return None  # another scheme, or none: the session may still authenticate
        key = token_key(header)
        if key is None:
            raise exceptions.AuthenticationFailed(_("Authorization 头格式应为：Bearer <令牌>。"))
        if len(key) > KEY_MAX or not key.isascii() or not key.isalnum():  # never a query with a NUL or a megabyte
            raise exceptions.AuthenticationFailed(_("令牌无效或已失效，请重新获取令牌。"))
        user: User  # the token's account (DRF's stubs say Any)
        token: Token
        try:
            user, token = self.authenticate_credentials(key)
        except exceptions.AuthenticationFailed as exc:
            raise exceptions.AuthenticationFailed(_("令牌无效或已失效，请重新获取令牌。")) from exc
        if not integrity.checked(user, "api token"):  # the role changed behind the application's back
            raise exceptions.AuthenticationFailed(_("令牌无效或已失效，请重新获取令牌。"))
        if expired(token):
            raise exceptions.AuthenticationFailed(_("令牌已过期，请用 POST /api/v1/auth/token/ 重新获取。"))
        if user.email_confirmed_at is None:  # patent_platform/confirmation.py
            from patent_platform.api.problems import ApiProblem  # late: problems imports DRF's views, which load us

            raise ApiProblem("email_unconfirmed", EMAIL_UNCONFIRMED)
        if has_role(user, *required_roles()):  # a token issued while 2FA was off: staff use the pages, with 2FA
            raise exceptions.PermissionDenied(_("工作人员账号的 API 令牌不被接受：请使用网页并完成双因素认证。"))
        return user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
