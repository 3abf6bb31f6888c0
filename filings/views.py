"""Enterprise and reviewer pages (the filing workflow itself arrives with the filing issue)."""

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


class ReviewQueueView(ScopedTemplateView):
    """A reviewer's desk: the newest filing units registered on the platform."""

    roles = frozenset({Role.REVIEWER, Role.NATIONAL_ADMIN})
    template_name = "filings/review_queue.html"
    model = FilingUnit

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        units = self.scoped_queryset()
        context["unit_count"] = units.count()
        context["recent_units"] = units.select_related("region").order_by("-created_at")[:20]
        return context
