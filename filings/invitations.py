"""The link of an invitation to register (a port invites an enterprise on its roster: provincial/followup.py).

The link carries a signed token (django.core.signing, salted, with its time): the enterprise's USCC and name,
which the registration form then shows filled in. It grants nothing — the visitor still registers through
`services.enterprise_register`, under every rule of registration (a USCC someone else holds is refused and
offered for a claim, filings/identity.py); it only saves typing and lets the invitation be traced. It holds
for INVITATION_DAYS days; an expired or altered token fills in nothing and the page says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.urls import reverse

from filings.identifiers import validate_uscc

INVITATION_DAYS = 30
_SALT = "filings.invitations.registration"


@dataclass(frozen=True)
class Invitation:
    uscc: str
    name: str


def invitation_token(*, uscc: str, name: str) -> str:
    return signing.dumps({"u": uscc, "n": name[:200]}, salt=_SALT, compress=True)


def read_invitation(token: str, *, max_age_days: int = INVITATION_DAYS) -> Invitation | None:
    """The invitation of a token, or None if it is altered, expired or names no valid USCC."""
    if not token or len(token) > 1000:
        return None
    try:
        data = signing.loads(token, salt=_SALT, max_age=max_age_days * 86400)
        return Invitation(uscc=validate_uscc(str(data["u"])), name=str(data.get("n", ""))[:200])
    except (signing.BadSignature, KeyError, TypeError, ValueError, ValidationError):
        return None


def invitation_link(*, uscc: str, name: str) -> str:
    """The absolute registration link with the token (SITE_URL + the registration page)."""
    query = urlencode({"invite": invitation_token(uscc=uscc, name=name)})
    return f"{settings.SITE_URL.rstrip('/')}{reverse('enterprise:register')}?{query}"
