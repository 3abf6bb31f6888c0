"""Read-side functions of the filings app."""

from typing import TYPE_CHECKING

from filings.models import UnitMembership

if TYPE_CHECKING:
    from patent_platform.models import User


def unit_ids_of_user(user: "User") -> list[int]:
    """The filing units an enterprise user belongs to (one, by design); registered with the scoping rule (which
    asks only for users: a task's Principal carries its scope)."""
    return list(UnitMembership.objects.filter(user_id=user.pk).values_list("unit_id", flat=True))
