"""The national office's pages for method versions, their indicators and the benchmark sets.

National administrators only: every other role gets 404 (ScopedViewMixin.roles), anonymous visitors
the login page. The views parse input and show results; every change goes through the services of
`evaluation.methods`, whose MethodError (a ValidationError, often keyed by field) is put back onto the
form with the input kept. Whether a version or set may still be edited is decided by those services;
the pages only hide the forms that the service would refuse anyway.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from evaluation import engine
from evaluation import methods as services
from evaluation.choices import BenchmarkStatus, MethodStatus, Trait
from evaluation.formulas import FORMULAS
from evaluation.models import BenchmarkSet, Indicator, MethodVersion
from filings.forms import BootstrapFormMixin, apply_service_errors
from filings.models import ProductClass
from filings.workflow import default_data_year
from patent_platform.choices import Role
from patent_platform.exports import xlsx_response
from patent_platform.i18n import UserDataSelect
from patent_platform.params import SMALL_MAX
from patent_platform.views.base import ScopedTemplateView

NATIONAL = frozenset({Role.NATIONAL_ADMIN})


def _messages(exc: ValidationError) -> list[str]:
    return [str(m) for m in exc.messages]


def method_editable(method: MethodVersion) -> bool:
    """Mirrors the check of `methods._editable`, to show or hide the edit forms."""
    return method.status == MethodStatus.DRAFT and not method.is_frozen


# --- forms (shape and parse the input; the rules are in the services) ---------------------------

_method_field = MethodVersion._meta.get_field
_indicator_field = Indicator._meta.get_field


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


class BenchmarkSetCreateForm(StyledForm):
    method = forms.ModelChoiceField(
        label=_("评价方法版本"), queryset=MethodVersion.objects.none(), widget=UserDataSelect
    )
    product_class = forms.ModelChoiceField(label=_("产品分类"), queryset=ProductClass.objects.filter(is_active=True))
    data_year = forms.IntegerField(label=_("数据年度"), min_value=2000, max_value=2100)
    percentile = forms.IntegerField(
        label=_("建议分位数"), min_value=1, max_value=99, required=False, help_text=_("不填时使用方法版本的默认分位数")
    )

    def __init__(self, *args: Any, methods: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["method"].queryset = methods


class ResuggestForm(StyledForm):
    percentile = forms.IntegerField(label=_("按分位数重新建议"), min_value=1, max_value=99)


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
                services.update_method(self.method, request.user, form.cleaned_data)
            except ValidationError as exc:
                if not hasattr(exc, "error_dict"):  # not editable: the form is not even shown
                    return self.render_to_response(self.get_context_data(refusals=_messages(exc)), status=400)
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

    http_method_names: ClassVar[list[str]] = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.method = self.get_method()
        form = MethodCopyForm(request.POST)
        if form.is_valid():
            try:
                new = services.copy_method(
                    self.method, request.user, code=form.cleaned_data["code"], name=form.cleaned_data["name"]
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

    http_method_names: ClassVar[list[str]] = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.method = self.get_method()
        try:
            services.activate(self.method, request.user)
        except ValidationError as exc:
            return self.render_to_response(
                self.get_context_data(refusals=_messages(exc), refusal_title=_("不能启用：")), status=400
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
        if self.request.resolver_match.url_name == "indicator_new":
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
                saved = services.save_indicator(self.method, request.user, form.cleaned_data, self.indicator)
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
    http_method_names: ClassVar[list[str]] = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        indicator = get_object_or_404(self.get_queryset().select_related("method"), pk=self.kwargs["pk"])
        method = indicator.method
        try:
            services.delete_indicator(indicator, request.user)
        except ValidationError as exc:
            for message in _messages(exc):
                messages.error(request, message)
        else:
            messages.success(request, gettext("已删除指标 %(code)s。") % {"code": indicator.code})
        return redirect("certification:method", pk=method.pk)


# --- benchmark sets ------------------------------------------------------------------------------


def sample_statistics(values: list[Any]) -> dict[str, Any]:
    """n, min, quartiles and max of a sorted sample (None where it is empty)."""
    if not values:
        return {"n": 0, "min": None, "p25": None, "median": None, "p75": None, "max": None}
    return {
        "n": len(values),
        "min": values[0],
        "p25": engine.percentile(values, 25),
        "median": engine.percentile(values, 50),
        "p75": engine.percentile(values, 75),
        "max": values[-1],
    }


def _plain(value: Any) -> str:
    """A stored decimal as a person types it: 12.5000 → 12.5, 3.0000 → 3."""
    if value is None:
        return ""
    return format(value.normalize(), "f")


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def benchmark_rows(bset: BenchmarkSet) -> list[dict[str, Any]]:
    """One row per indicator of the set: the benchmark, its suggestion and the sample's distribution."""
    dists = engine.distributions(bset)
    rows = []
    for b in bset.values.select_related("indicator").order_by("indicator__order", "indicator_id"):
        values = dists.get(b.indicator_id, [])
        stats = sample_statistics(values)
        show = {k: _plain(v) for k, v in stats.items() if k != "n"}
        show.update(value=_plain(b.value), suggested=_plain(b.suggested))
        rows.append({"benchmark": b, "indicator": b.indicator, "values": values, "stats": stats, "show": show})
    return rows


def chart_data(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What static/js/benchmarks.js draws: per indicator the sample, its box and the benchmark."""
    return {
        "labels": {
            "value": gettext("基准值"),
            "suggested": gettext("建议值"),
            "sample": gettext("样本"),
            "empty": gettext("样本中没有可计算的值"),
        },
        "indicators": [
            {
                "id": row["indicator"].pk,
                "code": row["indicator"].code,
                "name": row["indicator"].name,
                "unit": row["indicator"].unit,
                "values": [float(v) for v in row["values"]],
                "box": [_number(row["stats"][k]) for k in ("min", "p25", "median", "p75", "max")],
                "value": _number(row["benchmark"].value),
                "suggested": _number(row["benchmark"].suggested),
            }
            for row in rows
        ],
    }


class BenchmarkListView(ScopedTemplateView):
    """Sets per data year and product class; a form to create a draft set (filled with the suggestion)."""

    roles = NATIONAL
    model = BenchmarkSet
    template_name = "evaluation/methods/benchmarks.html"

    def method_choices(self) -> Any:
        return self.scoped_queryset(MethodVersion).exclude(status=MethodStatus.RETIRED).order_by("-id")

    def new_form(self, data: Any = None) -> BenchmarkSetCreateForm:
        active = MethodVersion.active()
        initial = {
            "method": active.pk if active else None,
            "data_year": default_data_year(),
        }
        form = BenchmarkSetCreateForm(data, initial=initial, methods=self.method_choices())
        if active:
            form.fields["percentile"].widget.attrs["placeholder"] = str(active.default_percentile)
        return form

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.GET.get("export") == "xlsx":
            return self.export()
        return self.render_to_response(self.get_context_data(form=self.new_form()))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = self.new_form(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                bset = services.create_benchmark_set(
                    method=data["method"],
                    product_class=data["product_class"],
                    data_year=data["data_year"],
                    user=request.user,
                    percentile=data["percentile"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(
                    request, gettext("已新建基准值草稿，建议值已按样本分布填入；核对后确定即可供认定批次使用。")
                )
                return redirect("certification:benchmark_set", pk=bset.pk)
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def sets(self) -> Any:
        return (
            self.get_queryset()
            .select_related("method", "product_class", "fixed_by")
            .annotate(empty_count=Count("values", filter=Q(values__value__isnull=True)))
            .order_by("-data_year", "product_class__code", "-number", "-id")
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["sets"] = list(self.sets())
        return context

    def export(self) -> HttpResponse:
        headers = [
            _("数据年度"),
            _("产品分类"),
            _("版本"),
            _("评价方法版本"),
            _("状态"),
            _("建议分位数"),
            _("样本数"),
            _("确定时间"),
            _("确定人"),
        ]
        rows = (
            (
                s.data_year,
                str(s.product_class),
                s.number,
                s.method.code,
                s.get_status_display(),
                s.percentile,
                s.sample_size,
                s.fixed_at,
                s.fixed_by.get_full_name() if s.fixed_by else "",
            )
            for s in self.sets()
        )
        return xlsx_response(
            filename="benchmark-sets.xlsx",
            title=_("基准值"),
            headers=headers,
            rows=rows,
            object_type="evaluation.benchmarkset",
            actor=self.request.user,
        )


class BenchmarkSetView(ScopedTemplateView):
    """One set: values (editable in a draft), the sample's distribution as chart and table, the actions.

    One URL, several forms told apart by the `action` button: save, resuggest, fix, delete, revise.
    """

    roles = NATIONAL
    model = BenchmarkSet
    template_name = "evaluation/methods/benchmark_set.html"
    ACTIONS: ClassVar[tuple[str, ...]] = ("save", "resuggest", "fix", "delete", "revise")

    def get_set(self) -> BenchmarkSet:
        return get_object_or_404(
            self.get_queryset().select_related("method", "product_class", "fixed_by", "created_by"),
            pk=self.kwargs["pk"],
        )

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.bset = self.get_set()
        return self.render_to_response(self.get_context_data())

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.bset = self.get_set()
        action = request.POST.get("action", "")
        if action not in self.ACTIONS:
            raise Http404
        try:
            return getattr(self, f"do_{action}")()
        except ValidationError as exc:
            # a refusal that belongs to no input (fixed, empty values): shown above the set
            return self.render_to_response(self.get_context_data(action_errors=_messages(exc)), status=400)

    def do_save(self) -> HttpResponse:
        values, errors = services.parse_values(self.request.POST, self.bset)
        if errors:
            return self.render_to_response(
                self.get_context_data(value_errors=errors, posted=self.request.POST), status=400
            )
        services.set_values(self.bset, self.request.user, values, note=self.request.POST.get("note", ""))
        messages.success(self.request, gettext("已保存基准值。"))
        return redirect("certification:benchmark_set", pk=self.bset.pk)

    def do_resuggest(self) -> HttpResponse:
        form = ResuggestForm(self.request.POST)
        if form.is_valid():
            try:
                services.resuggest(self.bset, self.request.user, form.cleaned_data["percentile"])
            except ValidationError as exc:
                if not hasattr(exc, "error_dict"):
                    raise
                apply_service_errors(form, exc)
            else:
                messages.success(
                    self.request,
                    gettext("已按第 %(p)s 百分位数重新建议，并以建议值作为基准值。")
                    % {"p": form.cleaned_data["percentile"]},
                )
                return redirect("certification:benchmark_set", pk=self.bset.pk)
        return self.render_to_response(self.get_context_data(resuggest_form=form), status=400)

    def do_fix(self) -> HttpResponse:
        services.fix(self.bset, self.request.user)
        messages.success(self.request, gettext("基准值已确定，此后不再修改；认定批次将使用这套基准值。"))
        return redirect("certification:benchmark_set", pk=self.bset.pk)

    def do_delete(self) -> HttpResponse:
        services.delete_draft(self.bset, self.request.user)
        messages.success(self.request, gettext("已删除基准值草稿。"))
        return redirect("certification:benchmarks")

    def do_revise(self) -> HttpResponse:
        new = services.create_benchmark_set(
            method=self.bset.method,
            product_class=self.bset.product_class,
            data_year=self.bset.data_year,
            user=self.request.user,
            percentile=self.bset.percentile,
        )
        messages.success(
            self.request, gettext("已新建修订版 v%(n)s，从已确定的基准值开始，可修改后确定。") % {"n": new.number}
        )
        return redirect("certification:benchmark_set", pk=new.pk)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        bset = self.bset
        rows = benchmark_rows(bset)
        errors = kwargs.get("value_errors") or {}
        posted = kwargs.get("posted")
        for row in rows:
            key = f"value_{row['indicator'].pk}"
            row["field"] = key
            row["error"] = errors.get(key)
            # a rejected form keeps what was typed
            row["input"] = posted.get(key, "") if posted is not None else _plain(row["benchmark"].value)
        siblings = (
            BenchmarkSet.objects.visible_to(self.request.user)
            .filter(method=bset.method, product_class=bset.product_class, data_year=bset.data_year)
            .exclude(pk=bset.pk)
            .select_related("fixed_by")
            .order_by("-number")
        )
        has_draft = any(s.status == BenchmarkStatus.DRAFT for s in siblings)
        context.update(
            bset=bset,
            rows=rows,
            chart=chart_data(rows),
            note=posted.get("note", "") if posted is not None else bset.note,
            siblings=list(siblings),
            can_revise=bset.is_fixed and not has_draft,
            rounds_using=bset.candidates.values("round_id").distinct().count(),
            traits=dict(Trait.choices),
        )
        context.setdefault("resuggest_form", ResuggestForm(initial={"percentile": bset.percentile}))
        return context


class BenchmarkExportView(ScopedTemplateView):
    """The set as an Excel sheet: per indicator the benchmark, its suggestion and the sample statistics."""

    roles = NATIONAL
    model = BenchmarkSet

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        bset = get_object_or_404(self.get_queryset().select_related("method", "product_class"), pk=kwargs["pk"])
        traits = dict(Trait.choices)
        headers = [
            _("指标代码"),
            _("指标名称"),
            _("所属特征"),
            _("单位"),
            _("方向"),
            _("建议值"),
            _("基准值"),
            _("样本数"),
            _("最小值"),
            _("25% 分位数"),
            _("中位数"),
            _("75% 分位数"),
            _("最大值"),
        ]
        rows = (
            (
                r["indicator"].code,
                r["indicator"].name,
                traits.get(r["indicator"].trait, r["indicator"].trait),
                r["indicator"].unit,
                r["indicator"].get_direction_display(),
                r["benchmark"].suggested,
                r["benchmark"].value,
                r["stats"]["n"],
                r["stats"]["min"],
                r["stats"]["p25"],
                r["stats"]["median"],
                r["stats"]["p75"],
                r["stats"]["max"],
            )
            for r in benchmark_rows(bset)
        )
        title = f"{bset.product_class.code} {bset.data_year} v{bset.number}"
        return xlsx_response(
            filename=f"benchmarks-{bset.product_class.code}-{bset.data_year}-v{bset.number}.xlsx",
            title=title,
            headers=headers,
            rows=rows,
            object_type="evaluation.benchmarkset",
            changes={"set": bset.pk},
            actor=request.user,
        )
