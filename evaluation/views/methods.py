"""The national office's pages for method versions and their indicators. The benchmark sets' pages are
`evaluation.views.benchmarks`.

National administrators only: every other role gets 404 (ScopedViewMixin.roles), anonymous visitors
the login page. The views parse input and show results; every change goes through the services of
`evaluation.methods`, whose MethodError (a ValidationError, often keyed by field) is put back onto the
form with the input kept. Whether a version or set may still be edited is decided by those services;
the pages only hide the forms that the service would refuse anyway.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Case, Count, Field, IntegerField, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import ResolverMatch
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from evaluation import methods as services
from evaluation.choices import MethodStatus, Trait
from evaluation.formulas import FORMULAS
from evaluation.models import Indicator, MethodVersion
from filings.forms import BootstrapFormMixin, apply_service_errors
from patent_platform.choices import Role
from patent_platform.params import SMALL_MAX
from patent_platform.roles import signed_in
from patent_platform.views.base import ScopedTemplateView

NATIONAL = frozenset({Role.NATIONAL_ADMIN})


def error_messages(exc: ValidationError) -> list[str]:
    return [str(m) for m in exc.messages]


def method_editable(method: MethodVersion) -> bool:
    """Mirrors the check of `methods._editable`, to show or hide the edit forms."""
    return method.status == MethodStatus.DRAFT and not method.is_frozen


# --- forms (shape and parse the input; the rules are in the services) ---------------------------


def _method_field(name: str) -> Field[Any, Any]:
    """A concrete field of MethodVersion: the forms take its label, help text and form field."""
    return cast("Field[Any, Any]", MethodVersion._meta.get_field(name))


def _indicator_field(name: str) -> Field[Any, Any]:
    """A concrete field of Indicator."""
    return cast("Field[Any, Any]", Indicator._meta.get_field(name))


class StyledForm(BootstrapFormMixin, forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()


class MethodRuleForm(StyledForm):
    name = _method_field("name").formfield()
    standard = _method_field("standard").formfield(required=False)
    standard_other = _method_field("standard_other").formfield()
    edition = _method_field("edition").formfield()
    clauses_required = _method_field("clauses_required").formfield()
    statement = _method_field("statement").formfield(widget=forms.Textarea(attrs={"rows": 6}))
    min_passed_per_trait = _method_field("min_passed_per_trait").formfield(max_value=SMALL_MAX)
    min_passed_total = _method_field("min_passed_total").formfield(max_value=SMALL_MAX)
    default_percentile = _method_field("default_percentile").formfield(max_value=SMALL_MAX)
    score_rule = _method_field("score_rule").formfield()
    expert_pass_score = _method_field("expert_pass_score").formfield(min_value=0)

    STANDARD_FIELDS = ("standard", "standard_other", "edition", "clauses_required")

    def clean(self) -> dict[str, Any]:
        """A post without the standard's fields (an older form, a script) leaves them as they are; an unticked
        box is only "no" when the form showed it."""
        cleaned = super().clean() or {}
        shown = "standard" in self.data
        for name in self.STANDARD_FIELDS:
            if not shown or (name != "clauses_required" and name not in self.data):
                cleaned.pop(name, None)
        if shown and not cleaned.get("standard"):
            self.add_error("standard", _("请选择所依据的标准。"))
        return cleaned

    @classmethod
    def initial_of(cls, method: MethodVersion) -> dict[str, Any]:
        return {name: getattr(method, name) for name in cls.base_fields}


class MethodCopyForm(StyledForm):
    code = forms.CharField(
        label=_("新版本号"), max_length=30, help_text=_("例如 PPAC402-平台解读-2，不能与已有版本重复")
    )
    name = forms.CharField(label=_("新版本名称"), max_length=200, required=False, help_text=_("不填时沿用原名称"))


class IndicatorForm(StyledForm):
    code = _indicator_field("code").formfield()
    name = _indicator_field("name").formfield()
    trait = _indicator_field("trait").formfield()
    unit = _indicator_field("unit").formfield()
    formula = _indicator_field("formula").formfield(
        help_text=_("指标按所选公式由备案数据计算，公式说明见下表；未选择时本版本不完整，不能启用")
    )
    clause = _indicator_field("clause").formfield()
    direction = _indicator_field("direction").formfield()
    order = _indicator_field("order").formfield(
        max_value=SMALL_MAX, help_text=_("在同一特征内的显示顺序，数字小的在前")
    )


# --- method versions -----------------------------------------------------------------------------


class MethodListView(ScopedTemplateView):
    """All versions, the current one first, with what each is based on and which rounds used it."""

    roles = NATIONAL
    model = MethodVersion
    template_name = "evaluation/methods/list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        versions = (
            self.get_queryset()
            .select_related("based_on", "created_by")
            .annotate(
                indicator_count=Count("indicators", distinct=True),
                round_count=Count("rounds", distinct=True),
                first=Case(
                    When(status=MethodStatus.ACTIVE, then=Value(0)), default=Value(1), output_field=IntegerField()
                ),
            )
            .order_by("first", "-id")
        )
        versions = list(versions)
        for v in versions:
            v.gaps = services.gaps(v)  # a handful of versions: one look each
        context["versions"] = versions
        return context


class MethodDetailView(ScopedTemplateView):
    """A version's statement, rule and indicators; a draft not used by a round is edited here."""

    roles = NATIONAL
    model = MethodVersion
    template_name = "evaluation/methods/detail.html"

    def get_method(self) -> MethodVersion:
        return get_object_or_404(self.get_queryset().select_related("based_on", "created_by"), pk=self.kwargs["pk"])

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.method = self.get_method()
        return self.render_to_response(self.get_context_data())

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Save the rule fields of a draft."""
        self.method = self.get_method()
        form = MethodRuleForm(request.POST)
        if form.is_valid():
            try:
                services.method_update(method=self.method, user=signed_in(request), data=form.cleaned_data)
            except ValidationError as exc:
                if not hasattr(exc, "error_dict"):  # not editable: the form is not even shown
                    return self.render_to_response(self.get_context_data(refusals=error_messages(exc)), status=400)
                apply_service_errors(form, exc)
            else:
                messages.success(request, gettext("已保存方法版本的规则。"))
                return redirect("certification:method", pk=self.method.pk)
        return self.render_to_response(self.get_context_data(rule_form=form), status=400)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        method = self.method
        editable = method_editable(method)
        indicators = list(method.indicators.all())
        groups = [
            {"trait": value, "label": label, "indicators": [i for i in indicators if i.trait == value]}
            for value, label in Trait.choices
        ]
        context.update(
            method=method,
            editable=editable,
            gaps=services.gaps(method),
            groups=groups,
            indicator_count=len(indicators),
            rounds=list(method.rounds.order_by("-data_year", "-id")),
            formulas=list(FORMULAS.values()),
        )
        if editable:
            context.setdefault("rule_form", MethodRuleForm(initial=MethodRuleForm.initial_of(method)))
        context.setdefault("copy_form", MethodCopyForm())
        return context


class MethodCopyView(MethodDetailView):
    """POST: copy a version (any status) to a new draft; errors shown on the detail page."""

    http_method_names = ["post"]  # noqa: RUF012  (django-stubs: an instance variable of View)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.method = self.get_method()
        form = MethodCopyForm(request.POST)
        if form.is_valid():
            try:
                new = services.method_copy(
                    method=self.method,
                    user=signed_in(request),
                    code=form.cleaned_data["code"],
                    name=form.cleaned_data["name"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(
                    request, gettext("已复制为新的草稿版本 %(code)s，可以修改后启用。") % {"code": new.code}
                )
                return redirect("certification:method", pk=new.pk)
        return self.render_to_response(self.get_context_data(copy_form=form, open_copy=True), status=400)


class MethodActivateView(MethodDetailView):
    """POST: make a draft the current version; why it cannot is shown on the detail page."""

    http_method_names = ["post"]  # noqa: RUF012  (django-stubs: an instance variable of View)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.method = self.get_method()
        try:
            services.method_activate(method=self.method, user=signed_in(request))
        except ValidationError as exc:
            return self.render_to_response(
                self.get_context_data(refusals=error_messages(exc), refusal_title=_("不能启用：")), status=400
            )
        messages.success(
            request,
            gettext("版本 %(code)s 已启用：此后新建的认定批次使用该版本，已有批次的结果保留原版本。")
            % {"code": self.method.code},
        )
        return redirect("certification:method", pk=self.method.pk)


class IndicatorEditView(ScopedTemplateView):
    """New indicator (URL pk = the method) or edit one (URL pk = the indicator), on a draft version."""

    roles = NATIONAL
    model = Indicator
    template_name = "evaluation/methods/indicator_form.html"

    def setup_objects(self) -> None:
        if cast(ResolverMatch, self.request.resolver_match).url_name == "indicator_new":  # resolved: never None
            self.indicator = None
            self.method = get_object_or_404(self.scoped_queryset(MethodVersion), pk=self.kwargs["pk"])
        else:
            self.indicator = get_object_or_404(self.get_queryset().select_related("method"), pk=self.kwargs["pk"])
            self.method = self.indicator.method

    def initial(self) -> dict[str, Any]:
        if self.indicator is None:
            order = max((i.order for i in self.method.indicators.all()), default=0) + 1
            return {"order": order}
        return {name: getattr(self.indicator, name) for name in IndicatorForm.base_fields}

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.setup_objects()
        return self.render_to_response(self.get_context_data(form=IndicatorForm(initial=self.initial())))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.setup_objects()
        form = IndicatorForm(request.POST)
        if form.is_valid():
            try:
                saved = services.indicator_save(
                    method=self.method, user=signed_in(request), data=form.cleaned_data, indicator=self.indicator
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(
                    request, gettext("已保存指标 %(code)s %(name)s。") % {"code": saved.code, "name": saved.name}
                )
                return redirect("certification:method", pk=self.method.pk)
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            method=self.method,
            indicator=self.indicator,
            editable=method_editable(self.method),
            formulas=list(FORMULAS.values()),
        )
        return context


class IndicatorDeleteView(ScopedTemplateView):
    """POST: delete an indicator of a draft version (the page asks for confirmation first)."""

    roles = NATIONAL
    model = Indicator
    http_method_names = ["post"]  # noqa: RUF012  (django-stubs: an instance variable of View)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        indicator = get_object_or_404(self.get_queryset().select_related("method"), pk=self.kwargs["pk"])
        method = indicator.method
        try:
            services.indicator_delete(indicator=indicator, user=signed_in(request))
        except ValidationError as exc:
            for message in error_messages(exc):
                messages.error(request, message)
        else:
            messages.success(request, gettext("已删除指标 %(code)s。") % {"code": indicator.code})
        return redirect("certification:method", pk=method.pk)
