"""The one role check: `require_role(user, *roles, message=…)`, for every service, view and API view.

A role check answers one question, "does this user hold one of these roles?", and refuses in the caller's
words. Like NetBox's `restrict(user, action)`, it is written once and every caller names what it needs;
what the caller checks beyond the role (membership of a unit, the scope of an object) stays with it.

The refusal is Django's `PermissionDenied` (403) unless the caller says otherwise: pages that hide what is
not for a role answer 404 (`error=Http404`, the same answer as out of scope), and DRF views raise DRF's
exceptions so that the API's problem responses keep their codes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied

if TYPE_CHECKING:
    from django.http import HttpRequest

    from patent_platform.models import User
    from patent_platform.scoping import Reader


def has_role(user: Reader, *roles: str) -> bool:
    """The user holds one of `roles` (an anonymous visitor, or no one, holds none; a task's Principal holds
    its own)."""
    return getattr(user, "role", None) in roles


def require_role(user: Reader, *roles: str, message: Any = None, error: type[Exception] = PermissionDenied) -> None:
    """Refuse (raise `error`, with `message` when given) unless the user holds one of `roles`."""
    if not has_role(user, *roles):
        raise error() if message is None else error(message)


def signed_in(request: HttpRequest) -> User:
    """The user of a request that signing in guards (`LoginRequiredMixin`, `login_required`): a `User`. An
    anonymous request never gets this far (it is sent to sign in first); were one to, it is refused (403)."""
    user = request.user
    if not user.is_authenticated:
        raise PermissionDenied
    return user
