"""The expert pool (专家库) pages of the national office: the list and its export, a new expert, withdrawing
and restoring one. Changes go through `evaluation.experts`.

National administrators only (everyone else gets 404).
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from evaluation import experts
from evaluation.models import ExpertProfile
from evaluation.views.common import NATIONAL, StyledForm, add_service_errors, province_names
from filings.models import ProductClass
from patent_platform.exports import xlsx_response
from patent_platform.roles import signed_in
from patent_platform.views.base import ScopedTemplateView, ScopedViewMixin

# ---------------------------------------------------------------------------------------------
# The expert pool


class ExpertForm(StyledForm):
    email = forms.EmailField(label=gettext_lazy("邮箱（登录账号）"))
    full_name = forms.CharField(label=gettext_lazy("姓名"), max_length=150)
    organisation = forms.CharField(label=gettext_lazy("工作单位"), max_length=200)
    province_code = forms.ChoiceField(label=gettext_lazy("所在省份"))
    title = forms.CharField(label=gettext_lazy("职称"), max_length=100, required=False)
    classes = forms.ModelMultipleChoiceField(
        label=gettext_lazy("评审领域（产品分类）"),
        queryset=ProductClass.objects.filter(is_active=True),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["province_code"]).choices = [("", _("请选择")), *province_names().items()]


def _experts(view: ScopedViewMixin) -> QuerySet[ExpertProfile]:
    return (
        view.scoped_queryset(ExpertProfile)
        .select_related("user")
        .prefetch_related("classes")
        .annotate(
            n_assigned=Count("user__assignments"),
            n_scored=Count("user__assignments", filter=Q(user__assignments__scored_at__isnull=False)),
        )
        .order_by("-is_active", "province_code", "organisation", "pk")
    )


class ExpertListView(ScopedTemplateView):
    roles = NATIONAL
    model = ExpertProfile
    template_name = "evaluation/national/experts.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        profiles = list(_experts(self))
        provinces = province_names()
        for profile in profiles:
            profile.province_name = provinces.get(profile.province_code, profile.province_code)  # type: ignore[attr-defined]  # for the template
        context["profiles"] = profiles
        return context


class ExpertExportView(ScopedViewMixin, View):
    roles = NATIONAL
    model = ExpertProfile

    def get(self, request: HttpRequest) -> HttpResponse:
        provinces = province_names()
        rows = (
            [
                p.user.get_full_name(),
                p.user.email,
                p.organisation,
                provinces.get(p.province_code, p.province_code),
                p.title,
                "、".join(c.name for c in p.classes.all()),
                _("在库") if p.is_active else _("已移出"),
                p.n_assigned,  # type: ignore[attr-defined]  # annotated by _experts
                p.n_scored,  # type: ignore[attr-defined]
            ]
            for p in _experts(self)
        )
        return xlsx_response(
            filename=f"{_('专家库')}-{timezone.localdate().isoformat()}.xlsx",
            title=_("专家库"),
            headers=[
                _("姓名"),
                _("邮箱"),
                _("工作单位"),
                _("所在省份"),
                _("职称"),
                _("评审领域"),
                _("状态"),
                _("评审任务"),
                _("已评分"),
            ],
            rows=rows,
            object_type=ExpertProfile._meta.label,
            message="expert pool export",
            actor=request.user,
        )


class ExpertCreateView(ScopedTemplateView):
    roles = NATIONAL
    model = ExpertProfile
    template_name = "evaluation/national/expert_new.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "form": kwargs.get("form") or ExpertForm()}

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ExpertForm(request.POST)
        if form.is_valid():
            try:
                expert = experts.expert_create(user=signed_in(request), **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("已将 %(name)s 加入专家库，设置密码的链接已发送到 %(email)s。")
                    % {
                        "name": expert.get_full_name(),
                        "email": expert.email,
                    },
                )
                return HttpResponseRedirect(reverse("certification:experts"))
        return self.render_to_response(self.get_context_data(form=form), status=400)


class ExpertActiveView(ScopedViewMixin, View):
    """POST: withdraw an expert from the pool or bring them back."""

    roles = NATIONAL
    model = ExpertProfile

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        profile = get_object_or_404(self.scoped_queryset(), pk=pk)
        active = request.POST.get("active") == "1"
        experts.expert_set_active(profile=profile, user=signed_in(request), active=active)
        messages.success(
            request,
            (_("%(name)s 已恢复在库。") if active else _("%(name)s 已移出专家库，不再分配新的评审任务。"))
            % {"name": profile.user.get_full_name()},
        )
        return HttpResponseRedirect(reverse("certification:experts"))
