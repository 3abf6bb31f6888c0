"""Read-side functions of the filings app."""

from typing import Any

from filings.models import UnitMembership


def unit_ids_of_user(user: Any) -> list[int]:
    """The filing units an enterprise user belongs to (one, by design); registered with the scoping rule."""
    return list(UnitMembership.objects.filter(user_id=user.pk).values_list("unit_id", flat=True))
