"""Ports' pages of the certification: the candidates of their region and the export.

Every page reads through the scoping rule (`scoped_queryset` / `visible_to`): another region's candidate
answers 404, the same as a missing one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, cast

from django import forms
from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from evaluation.choices import Stage
from evaluation.models import (
    Candidate,
    Round,
)
from evaluation.views.participants import C, calendars, stamp
from filings.models import ProductClass
from patent_platform.choices import Role
from patent_platform.exports import xlsx_response
from patent_platform.models import Region
from patent_platform.views.base import ScopedTemplateView

# ---------------------------------------------------------------------------------------------
# Ports: the candidates of their region


class RegionFilterForm(forms.Form):
    round = forms.TypedChoiceField(label=gettext_lazy("认定批次"), required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(label=gettext_lazy("状态"), required=False)
    product_class = forms.TypedChoiceField(label=gettext_lazy("产品分类"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, visible: QuerySet[Candidate], rounds_qs: QuerySet[Round], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["round"]).choices = [("", _("全部批次"))] + [
            (r.pk, r.name) for r in rounds_qs
        ]
        cast(forms.ChoiceField, self.fields["status"]).choices = [("", _("全部状态")), *C.choices]
        classes = ProductClass.objects.filter(pk__in=visible.values("product_class_id")).order_by("code")
        cast(forms.ChoiceField, self.fields["product_class"]).choices = [("", _("全部分类"))] + [
            (c.pk, str(c)) for c in classes
        ]


class RegionMixin:
    roles: ClassVar[frozenset[str] | None] = frozenset({Role.PORT_ADMIN, Role.NATIONAL_ADMIN})
    request: HttpRequest
    scoped_queryset: Any

    def filtered(self) -> tuple[RegionFilterForm, QuerySet[Candidate], QuerySet[Candidate]]:
        """The filter form, the rows (all filters) and the base of the status counts (all but status)."""
        visible = self.scoped_queryset(Candidate)
        form = RegionFilterForm(
            self.request.GET or None,
            visible=visible,
            rounds_qs=self.scoped_queryset(Round).order_by("-data_year", "-pk"),
        )
        base = visible
        status = ""
        if form.is_bound and form.is_valid():
            if form.cleaned_data["round"]:
                base = base.filter(round_id=form.cleaned_data["round"])
            if form.cleaned_data["product_class"]:
                base = base.filter(product_class_id=form.cleaned_data["product_class"])
            status = form.cleaned_data["status"]
        elif form.is_bound:
            base = visible.none()
        rows = base.filter(status=status) if status else base
        rows = rows.select_related("round__method", "version", "unit", "product_class").order_by(
            "-round__data_year", "-round_id", "product_class__code", "pk"
        )
        return form, rows, base

    @staticmethod
    def region_names(candidates: Iterable[Candidate]) -> dict[str, str]:
        codes = {c.city_code or c.province_code for c in candidates}
        return dict(Region.objects.filter(code__in=codes).names())


class RegionResultsView(RegionMixin, ScopedTemplateView):
    template_name = "evaluation/participants/region.html"
    paginate_by = 100

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        form, rows, base = self.filtered()
        counts = dict(base.order_by().values_list("status").annotate(n=Count("pk")))
        page = Paginator(rows, self.paginate_by).get_page(self.request.GET.get("page"))
        names = self.region_names(page.object_list)
        for c in page.object_list:
            c.region_name = names.get(c.city_code or c.province_code, "")  # type: ignore[attr-defined]  # for the page
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            form=form,
            page_obj=page,
            candidates=page.object_list,
            total=page.paginator.count,
            status_counts=[
                {"status": value, "label": label, "count": counts.get(value, 0)}
                for value, label in C.choices
                if counts.get(value)
            ],
            all_count=sum(counts.values()),
            query=query.urlencode(),
            calendars=calendars(Round.objects.visible_to(self.request.user).exclude(stage=Stage.FINAL)),
        )
        return context


class RegionExportView(RegionMixin, ScopedTemplateView):
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        _form, rows, _base = self.filtered()
        candidates = list(rows)
        names = self.region_names(candidates)
        headers = [
            _("认定批次"),
            _("数据年度"),
            _("产品名称"),
            _("备案单位"),
            _("所在地区"),
            _("产品分类"),
            _("状态"),
            _("达标指标数"),
            _("产业性评价得分"),
            _("证书编号"),
            _("评价依据（标准）"),
            _("评价方法版本"),
        ]
        data = [
            [
                c.round.name,
                c.round.data_year,
                c.version.name,
                c.unit.name,
                names.get(c.city_code or c.province_code, ""),
                str(c.product_class),
                str(c.get_status_display()),
                c.passed_total,
                c.expert_score,
                c.certificate_number or "",
                c.round.method.standard_designation,
                c.round.method.code,
            ]
            for c in candidates
        ]
        return xlsx_response(
            filename=f"certification-region-{stamp()}.xlsx",
            title=_("本地区参评产品"),
            headers=headers,
            rows=data,
            object_type=Candidate._meta.label,
            changes={"filters": {k: v for k, v in request.GET.items() if v}},
            actor=request.user,
        )
