"""Enterprise pages: registration, the unit, its patents and products."""

from typing import Any

from filings.models import FilingUnit
from patent_platform.choices import Role
from patent_platform.views.base import ScopedTemplateView


class EnterpriseHomeView(ScopedTemplateView):
    """An enterprise user's home: their filing unit."""

    roles = frozenset({Role.ENTERPRISE})
    template_name = "filings/enterprise_home.html"
    model = FilingUnit

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["units"] = self.scoped_queryset().select_related("region__parent__parent")
        return context
