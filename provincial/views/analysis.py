"""The analysis page (数据分析): a pivot table of the port's figures, its Excel export, its chart, and the
saved analyses. Thin views over provincial/analysis/ (the engine, the definitions and the saved analyses'
visibility); the area is the dashboards' (`?port=` narrows to a port inside the user's scope)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views import View

from filings.models import Product
from patent_platform import audit
from patent_platform.choices import AuditAction
from patent_platform.exports import xlsx_response
from patent_platform.replica import ReplicaReadsMixin
from patent_platform.roles import signed_in
from patent_platform.views.base import ScopedTemplateView
from provincial import analysis
from provincial.views.area import AreaMixin

DIMENSION_GROUPS = (
    (_("地区"), ("province", "city", "county")),
    (_("产品与单位"), ("class", "section", "scale", "kind", "patent")),
    (_("时间"), ("month", "quarter", "year")),
    (_("状态"), ("status", "certified")),
)
ROW_SLOTS, COL_SLOTS = 2, 2


def display(value: Any) -> Any:
    """A table cell as the page shows it and the export writes it."""
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return value


def query_of(definition: analysis.Definition, port: str) -> str:
    params = definition.params() + ([("port", port)] if port else [])
    return urlencode(params)


class AnalysisMixin(ReplicaReadsMixin, AreaMixin):
    model = Product

    def definition(self, data: QueryDict) -> analysis.Definition:
        return analysis.Definition.from_query(data)


class AnalysisView(AnalysisMixin, ScopedTemplateView):
    template_name = "provincial/analysis/page.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        area = self.get_area()
        errors: dict[str, list[str]] = {}
        result = None
        definition = None
        try:
            definition = self.definition(request.GET)
            if request.GET:
                result = analysis.run(area, definition)
        except analysis.DefinitionError as error:
            errors = error.errors
        context = self.get_context_data(**kwargs)
        context.update(self.page_context(request, area, definition, result, errors))
        return self.render_to_response(context, status=400 if errors else 200)

    def page_context(
        self,
        request: HttpRequest,
        area: Any,
        definition: analysis.Definition | None,
        result: analysis.Result | None,
        errors: dict[str, list[str]],
    ) -> dict[str, Any]:
        port = area.port_code
        data = request.GET if request.method == "GET" else request.POST
        chosen_rows = [v for v in data.getlist("rows") if v][:ROW_SLOTS]
        chosen_cols = [v for v in data.getlist("cols") if v][:COL_SLOTS]
        measures = data.getlist("measures") or ["products"]
        choices = analysis.choices(area)
        filters = [
            {
                "key": key,
                "label": dim.label,
                "choices": choices.get(key, []),
                "selected": set(data.getlist(f"f_{key}")),
                "errors": errors.get(f"f_{key}", []),
            }
            for key, dim in analysis.DIMENSIONS.items()
            if dim.filterable
        ]
        groups = [(label, [(k, analysis.DIMENSIONS[k].label) for k in keys]) for label, keys in DIMENSION_GROUPS]
        table = None
        if result is not None:
            table = {
                "header": result.header,
                "label_columns": result.label_columns,
                "rows": [
                    {
                        "labels": row[: result.label_columns],
                        "numbers": [display(v) for v in row[result.label_columns :]],
                        "total": row is result.body[-1] and bool(result.definition.rows),
                    }
                    for row in result.body
                ],
            }
        query = query_of(definition, port) if definition is not None else ""
        saved = analysis.saved_visible_to(signed_in(request))
        return {
            "area": area,
            "definition": definition,
            "result": result,
            "table": table,
            "errors": errors,
            "general_errors": errors.get("__all__", []),
            "groups": groups,
            "row_slots": [chosen_rows[i] if i < len(chosen_rows) else "" for i in range(ROW_SLOTS)],
            "col_slots": [chosen_cols[i] if i < len(chosen_cols) else "" for i in range(COL_SLOTS)],
            "measures": [(k, m.label, k in measures) for k, m in analysis.MEASURES.items()],
            "filters": filters,
            "period_value": data.get("period", ""),
            "compare": data.get("compare", "") in ("1", "on", "true"),
            "chart_kind": data.get("chart", "bar"),
            "port": port,
            "query": query,
            "export_url": f"{reverse('port:analysis_export')}?{query}" if query else "",
            "save_params": definition.params() if definition is not None else [],
            "saved": saved,
            "max_dimensions": analysis.MAX_DIMENSIONS,
            "chart_data": result.chart if result is not None and not result.is_empty else None,
        }


class AnalysisExportView(AnalysisMixin, View):
    """The table exactly as the page shows it: the same header, rows, order and totals."""

    def get(self, request: HttpRequest) -> HttpResponse:
        area = self.get_area()
        try:
            definition = self.definition(request.GET)
            result = analysis.run(area, definition)
        except analysis.DefinitionError as error:
            return HttpResponse("\n".join(m for ms in error.errors.values() for m in ms), status=400)
        name = area.port.name if area.port is not None else _("全国")
        return xlsx_response(
            filename=f"{_('数据分析')}-{name}-{timezone.localdate().isoformat()}.xlsx",
            title=_("数据分析"),
            headers=result.header,
            rows=[["—" if v is None else v for v in row] for row in result.body],  # numbers stay numbers
            object_type="provincial.Analysis",
            changes={"definition": definition.to_data(), "port": area.port_code},
            actor=request.user,
        )


class SavedListMixin(AnalysisMixin):
    def saved_object(self, pk: int) -> Any:
        return get_object_or_404(analysis.saved_visible_to(signed_in(self.request)), pk=pk)


class SavedCreateView(SavedListMixin, View):
    """Save the page's current definition (POST: name, shared, the definition's parameters)."""

    def post(self, request: HttpRequest) -> HttpResponse:
        area = self.get_area()
        try:
            definition = self.definition(request.POST)
            saved = analysis.analysis_save(
                user=signed_in(request),
                name=request.POST.get("name", ""),
                definition=definition,
                shared=request.POST.get("shared") == "1",
            )
        except analysis.DefinitionError as error:
            page = AnalysisView()
            page.setup(request)
            page._area = area  # noqa: SLF001 (the page's area cache (get_area), resolved above)
            context = page.get_context_data()
            kept, result = None, None
            try:
                kept = self.definition(request.POST)
                result = analysis.run(area, kept)
            except analysis.DefinitionError:
                pass
            context.update(page.page_context(request, area, kept, result, error.errors))
            context["save_name"] = request.POST.get("name", "")
            return render(request, page.template_name, context, status=400)
        audit.audit_event(
            action=AuditAction.CREATE,
            object_type="provincial.SavedAnalysis",
            object_id=str(saved.pk),
            object_repr=saved.name,
            actor=request.user,
        )
        return HttpResponseRedirect(reverse("port:analysis_saved", args=[saved.pk]))


class SavedOpenView(SavedListMixin, View):
    """A saved analysis opens the page with its definition (the viewer's own scope)."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        saved = self.saved_object(pk)
        try:
            definition = analysis.Definition.from_data(saved.definition)
        except analysis.DefinitionError:
            raise Http404 from None
        return HttpResponseRedirect(
            f"{reverse('port:analysis')}?{query_of(definition, self.get_area().port_code)}&saved={saved.pk}"
        )


class SavedDeleteView(SavedListMixin, ScopedTemplateView):
    """Delete one's own saved analysis, after a confirmation page (others' shared ones: 404)."""

    template_name = "provincial/analysis/delete.html"

    def own(self, pk: int) -> Any:
        saved = self.saved_object(pk)
        if saved.owner_id != self.request.user.pk:
            raise Http404
        return saved

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.render_to_response({**self.get_context_data(), "saved": self.own(pk)})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        saved = self.own(pk)
        audit.audit_event(
            action=AuditAction.DELETE,
            object_type="provincial.SavedAnalysis",
            object_id=str(saved.pk),
            object_repr=saved.name,
            actor=request.user,
        )
        saved.delete()
        return HttpResponseRedirect(reverse("port:analysis"))
