"""The port administrator's home and the national overview; every figure read through the scoping rule."""

from typing import Any

from django.db.models import Count

from filings.models import FilingUnit
from patent_platform.choices import Role
from patent_platform.models import Region
from patent_platform.views.base import ScopedTemplateView
from provincial.models import ManagementUnit, PortMembership


class PortHomeView(ScopedTemplateView):
    roles = frozenset({Role.PORT_ADMIN})
    template_name = "provincial/port_home.html"
    model = FilingUnit

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        membership = PortMembership.objects.filter(user=self.request.user).select_related("unit").first()
        units = self.scoped_queryset()
        by_city = list(units.values("city_code").annotate(n=Count("id")).order_by("-n", "city_code"))
        names = dict(Region.objects.filter(code__in=[row["city_code"] for row in by_city]).values_list("code", "name"))
        for row in by_city:
            row["name"] = names.get(row["city_code"], row["city_code"] or "—")
        context.update(
            port=membership.unit if membership else None,
            regions=membership.unit.regions.all() if membership else [],
            unit_count=units.count(),
            by_city=by_city,
        )
        return context


class NationalHomeView(ScopedTemplateView):
    roles = frozenset({Role.NATIONAL_ADMIN})
    template_name = "provincial/national_home.html"
    model = FilingUnit

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        units = self.scoped_queryset()
        by_province = dict(units.values_list("province_code").annotate(n=Count("id")))
        ports = ManagementUnit.objects.annotate(admins=Count("memberships")).order_by("code")
        context.update(
            unit_count=units.count(),
            ports=ports,
            provinces=[{"region": r, "n": by_province.get(r.code, 0)} for r in Region.objects.filter(level="province")],
        )
        return context
