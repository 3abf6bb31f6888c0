"""Integrity of access-control data (GB/T 39786-2021 level 3, 访问控制信息完整性): an account's role and its staff
and superuser flags carry an HMAC-SM3 tag (`User.access_tag`, patent_platform/models/users.py).

Where it is checked (the cheaper design that still catches a change made behind the application's back):
once per authenticated request, where the account is loaded — `SecurityPolicyMiddleware` (security.py) for
the pages and the session-authenticated API, `api.auth.TokenAuthentication` for API tokens. One HMAC over
some 100 bytes (microseconds) per request, no extra query: the tag is a column of the row the request reads
anyway. A per-row tag on every object
permission would cost a query per check and is not done: region grants are changed only through
`scoping`'s services and audited there.

A mismatch refuses the account (the session is ended and the page answers 403, the token answers 401),
writes an audit record and logs an error; `manage.py check_access_integrity` (also a daily beat task where
configured) lists every account whose tag does not match, for the security administrator, and exits 1.
The security administrator clears a finding by saving the account again through the application (which
writes the correction to the audit log).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from patent_platform.signing import constant_time_equal

if TYPE_CHECKING:
    from patent_platform.models import User

log = logging.getLogger(__name__)


def access_tag_ok(user: User) -> bool:
    """The account's access-control data match their HMAC-SM3 tag (a signed-in account: the callers check
    `is_authenticated` first)."""
    return constant_time_equal(user.access_tag or "", user.expected_access_tag())


def report(user: User, where: str) -> None:
    """Record that `user`'s access-control data do not match their tag (audit log and error log)."""
    from patent_platform import audit
    from patent_platform.choices import AuditAction

    log.error("access-control data of account %s do not match their HMAC-SM3 tag (%s)", user.pk, where)
    audit.audit_event(
        action=AuditAction.PERMISSION,
        obj=user,
        success=False,
        message=f"access-control data do not match their HMAC-SM3 tag; account refused ({where})",
        changes={"role": user.role, "is_staff": user.is_staff, "is_superuser": user.is_superuser},
    )


def checked(user: User, where: str) -> bool:
    """`access_tag_ok`, reporting a mismatch."""
    if access_tag_ok(user):
        return True
    report(user, where)
    return False


def tampered_accounts() -> Iterator[User]:
    from patent_platform.models import User

    for user in User.objects.order_by("pk").iterator(chunk_size=2000):
        if not access_tag_ok(user):
            yield user
