"""Enterprise pages of the unit's patents and its rights in them: list, add, edit, delete, export.

Reads go through the scoping rule (`scoped_queryset`); writes through `filings.services`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from filings import services
from filings.forms import (
    PatentRightForm,
    RightFieldsForm,
    apply_service_errors,
)
from filings.models import (
    PatentLink,
    PatentRight,
)
from filings.views.mixins import EnterpriseMixin, messages_of, stamp
from patent_platform.exports import xlsx_response
from patent_platform.roles import signed_in
from patent_platform.views.base import ScopedListView, ScopedTemplateView

if TYPE_CHECKING:
    from patent_platform.scoping import Reader

# ---------------------------------------------------------------------------------------------
# Patents


def _products_by_right(user: Reader, right_ids: list[int]) -> dict[int, list[str]]:
    """For each right, the products whose versions embody it (the newest version's name)."""
    names: dict[int, dict[int, tuple[int, str]]] = {}
    rows = (
        PatentLink.objects.visible_to(user)
        .filter(right_id__in=right_ids)
        .values_list("right_id", "version__product_id", "version__data_year", "version__name")
    )
    for right_id, product_id, year, name in rows:
        per = names.setdefault(right_id, {})
        if product_id not in per or per[product_id][0] < year:
            per[product_id] = (year, name)
    return {rid: sorted(n for _y, n in per.values()) for rid, per in names.items()}


class PatentListView(EnterpriseMixin, ScopedListView):
    model = PatentRight
    template_name = "filings/enterprise/patents.html"
    context_object_name = "rights"

    def get_queryset(self) -> QuerySet[PatentRight]:
        return self.scoped_queryset().select_related("patent").order_by("patent__number")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        rights = list(context["rights"])
        used = _products_by_right(self.request.user, [r.pk for r in rights])
        for r in rights:
            r.products = used.get(r.pk, [])
        context["rights"] = rights
        return context


class PatentNewView(EnterpriseMixin, ScopedTemplateView):
    model = PatentRight
    template_name = "filings/enterprise/patent_form.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.unit  # noqa: B018  (404 for a user without a unit)
        return self.render_to_response(self.get_context_data(form=PatentRightForm()))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = PatentRightForm(request.POST)
        if form.is_valid():
            try:
                right = services.patent_right_create(unit=self.unit, user=signed_in(request), data=form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("已登记专利 %(number)s（%(title)s）。")
                    % {"number": right.patent.number, "title": right.patent.title},
                )
                return redirect(f"{reverse('enterprise:patents')}?added={right.pk}")
        return self.render_to_response(self.get_context_data(form=form), status=400)


class PatentEditView(EnterpriseMixin, ScopedTemplateView):
    model = PatentRight
    template_name = "filings/enterprise/patent_form.html"

    def get_right(self) -> PatentRight:
        return get_object_or_404(self.scoped_queryset().select_related("patent"), pk=self.kwargs["pk"])

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        right = self.get_right()
        initial = {f: getattr(right, f) for f in ("kind", "licence_kind", "recordal_number", "valid_until")}
        return self.render_to_response(self.get_context_data(form=RightFieldsForm(initial=initial), right=right))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        right = self.get_right()
        form = RightFieldsForm(request.POST)
        if form.is_valid():
            try:
                services.patent_right_update(right=right, user=signed_in(request), data=form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("专利 %(number)s 的权利信息已保存。") % {"number": right.patent.number})
                return redirect("enterprise:patents")
        return self.render_to_response(self.get_context_data(form=form, right=right), status=400)


class PatentDeleteView(EnterpriseMixin, ScopedTemplateView):
    model = PatentRight
    template_name = "filings/enterprise/patent_delete.html"

    def get_right(self) -> PatentRight:
        return get_object_or_404(self.scoped_queryset().select_related("patent"), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        right = self.get_right()
        used = _products_by_right(self.request.user, [right.pk]).get(right.pk, [])
        return {**super().get_context_data(**kwargs), "right": right, "products": used}

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        right = self.get_right()
        number = right.patent.number
        try:
            services.patent_right_delete(right=right, user=signed_in(request))
        except ValidationError as exc:
            for m in messages_of(exc):
                messages.error(request, m)
        else:
            messages.success(request, _("已删除专利 %(number)s 的登记。") % {"number": number})
        return redirect("enterprise:patents")


class PatentsExportView(EnterpriseMixin, View):
    model = PatentRight

    def get(self, request: HttpRequest) -> HttpResponse:
        rights = list(self.scoped_queryset(PatentRight).select_related("patent").order_by("patent__number"))
        used = _products_by_right(request.user, [r.pk for r in rights])
        headers = [
            _("申请号"),
            _("专利名称"),
            _("专利类型"),
            _("法律状态"),
            _("权利类型"),
            _("许可类型"),
            _("许可备案号"),
            _("许可/权利期限至"),
            _("关联产品"),
        ]
        rows = (
            [
                r.patent.number,
                r.patent.title,
                str(r.patent.get_kind_display()),
                str(r.patent.get_legal_status_display()),
                str(r.get_kind_display()),
                str(r.get_licence_kind_display()) if r.licence_kind else "",
                r.recordal_number,
                r.valid_until.isoformat() if r.valid_until else "",
                "、".join(used.get(r.pk, [])),
            ]
            for r in rights
        )
        return xlsx_response(
            filename=f"patents-{stamp()}.xlsx",
            title=_("专利"),
            headers=headers,
            rows=rows,
            object_type=PatentRight._meta.label,
        )
