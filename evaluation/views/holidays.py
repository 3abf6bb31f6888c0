"""The holidays of the working-day calendar (the 公示 period counts working days): the national office lists,
adds and deletes them (`evaluation.schedule`).

National administrators only (everyone else gets 404).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from evaluation import schedule
from evaluation.models import Holiday
from evaluation.views.common import NATIONAL, StyledForm, add_service_errors
from filings.forms import DateInput
from patent_platform.clock import china_today
from patent_platform.roles import signed_in
from patent_platform.views.base import ScopedTemplateView, ScopedViewMixin

# ---------------------------------------------------------------------------------------------
# Holidays of the working-day calendar (the 公示 period)


class HolidayForm(StyledForm):
    date = forms.DateField(label=gettext_lazy("日期"), widget=DateInput())
    name = forms.CharField(label=gettext_lazy("名称"), max_length=50)
    is_workday = forms.BooleanField(
        label=gettext_lazy("调休上班"), required=False, help_text=gettext_lazy("勾选：该周末日按工作日计算")
    )


class HolidayListView(ScopedTemplateView):
    """The days off (and weekend days worked) the 公示 period's working days leave out (or count)."""

    roles = NATIONAL
    model = Holiday
    template_name = "evaluation/national/holidays.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            holidays=list(self.scoped_queryset().filter(date__year__gte=china_today().year - 1)),
            form=kwargs.get("form") or HolidayForm(),
        )
        return context

    def post(self, request: HttpRequest) -> HttpResponse:
        form = HolidayForm(request.POST)
        if form.is_valid():
            try:
                schedule.holiday_set(user=signed_in(request), **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("已登记 %(date)s。") % {"date": form.cleaned_data["date"].isoformat()})
                return HttpResponseRedirect(reverse("certification:holidays"))
        return self.render_to_response(self.get_context_data(form=form), status=400)


class HolidayDeleteView(ScopedViewMixin, View):
    roles = NATIONAL
    model = Holiday

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        holiday = get_object_or_404(self.scoped_queryset(), pk=pk)
        schedule.holiday_delete(user=signed_in(request), holiday=holiday)
        messages.success(request, _("已删除 %(date)s。") % {"date": holiday.date.isoformat()})
        return HttpResponseRedirect(reverse("certification:holidays"))
