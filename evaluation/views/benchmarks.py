"""The national office's pages for the benchmark sets of a method version: the list and a new set, a set's
page (its values, sample statistics and chart, fixing it) and its export.

National administrators only: every other role gets 404 (ScopedViewMixin.roles). Every change goes through
the services of `evaluation.methods`, whose errors are put back onto the form with the input kept.
"""

from __future__ import annotations

from typing import Any, ClassVar, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from evaluation import engine
from evaluation import methods as services
from evaluation.choices import BenchmarkStatus, MethodStatus, Trait
from evaluation.models import BenchmarkSet, MethodVersion
from evaluation.views.methods import NATIONAL, StyledForm, error_messages
from filings.forms import apply_service_errors
from filings.models import ProductClass
from filings.workflow import default_data_year
from patent_platform.exports import xlsx_response
from patent_platform.i18n import UserDataSelect
from patent_platform.roles import signed_in
from patent_platform.views.base import ScopedTemplateView


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
        cast(forms.ModelChoiceField, self.fields["method"]).queryset = methods


class ResuggestForm(StyledForm):
    percentile = forms.IntegerField(label=_("按分位数重新建议"), min_value=1, max_value=99)


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
                bset = services.benchmark_set_create(
                    method=data["method"],
                    product_class=data["product_class"],
                    data_year=data["data_year"],
                    user=signed_in(request),
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
            return self.render_to_response(self.get_context_data(action_errors=error_messages(exc)), status=400)

    def do_save(self) -> HttpResponse:
        values, errors = services.parse_values(self.request.POST, self.bset)
        if errors:
            return self.render_to_response(
                self.get_context_data(value_errors=errors, posted=self.request.POST), status=400
            )
        services.benchmark_set_update_values(
            bset=self.bset, user=signed_in(self.request), values=values, note=self.request.POST.get("note", "")
        )
        messages.success(self.request, gettext("已保存基准值。"))
        return redirect("certification:benchmark_set", pk=self.bset.pk)

    def do_resuggest(self) -> HttpResponse:
        form = ResuggestForm(self.request.POST)
        if form.is_valid():
            try:
                services.benchmark_set_resuggest(
                    bset=self.bset, user=signed_in(self.request), percentile=form.cleaned_data["percentile"]
                )
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
        services.benchmark_set_fix(bset=self.bset, user=signed_in(self.request))
        messages.success(self.request, gettext("基准值已确定，此后不再修改；认定批次将使用这套基准值。"))
        return redirect("certification:benchmark_set", pk=self.bset.pk)

    def do_delete(self) -> HttpResponse:
        services.benchmark_set_delete(bset=self.bset, user=signed_in(self.request))
        messages.success(self.request, gettext("已删除基准值草稿。"))
        return redirect("certification:benchmarks")

    def do_revise(self) -> HttpResponse:
        new = services.benchmark_set_create(
            method=self.bset.method,
            product_class=self.bset.product_class,
            data_year=self.bset.data_year,
            user=signed_in(self.request),
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
