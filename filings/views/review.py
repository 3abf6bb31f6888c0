"""Reviewer pages."""

from typing import Any

from filings.models import FilingUnit
from patent_platform.choices import Role
from patent_platform.views.base import ScopedTemplateView


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
