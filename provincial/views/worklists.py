"""The read-only pages a port opens from its lists (issue 20, "working from the lists"): a filing unit of its
area, and any filed version of a product of its area. Port and national administrators only (others: 404);
`?port=<code>` narrows them to one port inside the user's scope, as on the lists. What may be opened and
how it is shown is decided in `provincial.worklists`; these views only lay it out.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from filings.choices import FilingStatus
from filings.models import FilingUnit, Product, ProductVersion
from patent_platform.exports import xlsx_response
from patent_platform.masking import unit_contacts
from patent_platform.replica import ReplicaReadsMixin
from patent_platform.views.base import ScopedTemplateView
from provincial import worklists
from provincial.views.area import AreaMixin, industry_label


class UnitMixin(AreaMixin):
    model: type[Model] | None = FilingUnit

    def unit_context(self, pk: int) -> dict[str, Any]:
        area = self.get_area()
        unit = worklists.get_unit(area, pk)
        rows = worklists.unit_products(area, unit)
        for row in rows:
            row.url = self.object_link("port:product", row.product.pk)
        return {"area": area, "unit": unit, "rows": rows}


class PortUnitView(ReplicaReadsMixin, UnitMixin, ScopedTemplateView):
    template_name = "provincial/worklists/unit.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = {**super().get_context_data(**kwargs), **self.unit_context(kwargs["pk"])}
        area, unit = context["area"], context["unit"]
        context.update(
            contacts=unit_contacts(
                getattr(self.request.user, "role", ""), unit.contact_name, unit.contact_phone, unit.contact_email
            ),
            industry=industry_label(unit.industry),
            drafts=worklists.unit_drafts(area, unit),
            history=worklists.unit_history(area, unit),
            history_limit=worklists.HISTORY_LIMIT,
            units_url=self.link("port:units", {}),
            export_url=self.object_link("port:unit_export", unit.pk),
        )
        for entry in context["history"]:
            entry["url"] = self.object_link("port:version", entry["version"].pk)
        return context


UNIT_PRODUCT_HEADERS = (
    gettext_lazy("产品备案号"),
    gettext_lazy("产品名称"),
    gettext_lazy("型号规格"),
    gettext_lazy("产品分类"),
    gettext_lazy("数据年度"),
    gettext_lazy("状态"),
    gettext_lazy("已提交的年度版本"),
    gettext_lazy("认定"),
    gettext_lazy("上年度销售额（万元）"),
    gettext_lazy("年度出口额（万元）"),
)


class PortUnitExportView(ReplicaReadsMixin, UnitMixin, View):
    """The unit's filed products, as on its page, in Excel."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        context = self.unit_context(pk)
        unit = context["unit"]
        rows = [
            [
                row.product.filing_number or "",
                row.version.name,
                row.version.model,
                str(row.version.product_class),
                row.version.data_year,
                str(row.version.get_status_display()),
                row.versions,
                _("是") if row.certified else _("否"),
                row.version.sales,
                row.version.exports,
            ]
            for row in context["rows"]
        ]
        return xlsx_response(
            filename=f"{_('备案产品')}-{unit.uscc}-{timezone.localdate().isoformat()}.xlsx",
            title=_("备案产品"),
            headers=UNIT_PRODUCT_HEADERS,
            rows=rows,
            object_type=FilingUnit._meta.label,
            changes={"unit": unit.pk, "port": self.get_area().port_code},
            message="port unit products export",
            actor=request.user,
        )


class VersionPageMixin(UnitMixin):
    template_name: str | None = "provincial/worklists/version.html"

    def version_context(self, product: Product, version: ProductVersion) -> dict[str, Any]:
        area = self.get_area()
        versions = worklists.versions_of(area, product)
        return {
            "area": area,
            "product": product,
            "version": version,
            "unit": product.unit,
            "versions": [
                {"version": v, "url": self.object_link("port:version", v.pk), "current": v.pk == version.pk}
                for v in versions
            ],
            "is_published": product.published_version_id == version.pk,
            "figures": [
                (_("上年度销售额（万元）"), version.sales),
                (_("年度出口额（万元）"), version.exports),
                (_("产值（万元）"), version.output_value),
            ],
            "links": worklists.version_links(version),
            "reasons": worklists.return_reasons(version) if version.status == FilingStatus.RETURNED else [],
            "history": worklists.version_history(version),
            "candidacies": worklists.candidacies(self.request.user, product),
            "unit_url": self.object_link("port:unit", product.unit_id),
            "products_url": self.link("port:products", {}),
        }


class PortProductView(ReplicaReadsMixin, VersionPageMixin, ScopedTemplateView):
    """A filed product: its published version, else its newest filed one, with its other filed years."""

    model = Product

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        area = self.get_area()
        product = worklists.get_product(area, kwargs["pk"])
        version = worklists.default_version(worklists.versions_of(area, product), product)
        return {**super().get_context_data(**kwargs), **self.version_context(product, version)}


class PortVersionView(ReplicaReadsMixin, VersionPageMixin, ScopedTemplateView):
    """One filed version (data year) of a product."""

    model = ProductVersion

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        version = worklists.get_version(self.get_area(), kwargs["pk"])
        return {**super().get_context_data(**kwargs), **self.version_context(version.product, version)}
