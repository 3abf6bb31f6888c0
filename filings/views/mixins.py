"""What the enterprise pages share: `EnterpriseMixin` (enterprise users only; the user's unit) and small helpers.

The pages are `filings.views.enterprise` (registration, home, the unit and its members), `filings.views.patents`,
`filings.views.versions` and `filings.views.identity`; they all import this module, and it imports none of them.
"""

from __future__ import annotations

from typing import ClassVar

from django.core.exceptions import ValidationError
from django.utils import timezone

from filings import services
from filings.models import (
    FilingUnit,
)
from patent_platform.choices import Role
from patent_platform.roles import signed_in
from patent_platform.views.base import ScopedViewMixin

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


# ---------------------------------------------------------------------------------------------
# Helpers


class EnterpriseMixin(ScopedViewMixin):
    """Enterprise users only (anyone else: 404); `unit` is the user's filing unit (404 if none)."""

    roles: ClassVar[frozenset[str] | None] = frozenset({Role.ENTERPRISE})

    @property
    def unit(self) -> FilingUnit:
        if not hasattr(self, "_unit"):
            self._unit = services.member_unit(self.request.user)
        return self._unit

    def is_manager(self) -> bool:
        return services.is_unit_manager(signed_in(self.request), self.unit)


def messages_of(exc: ValidationError) -> list[str]:
    return [str(m) for m in exc.messages]


def stamp() -> str:
    return timezone.localtime().strftime("%Y%m%d")
