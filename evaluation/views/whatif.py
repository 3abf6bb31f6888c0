"""What-if across methods (national administrators): a round, or the product-years of a data year, re-scored
under another method version, as a page and an Excel report. Nothing is written (`evaluation.whatif`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from evaluation import whatif
from evaluation.choices import WhatIfStatus
from evaluation.models import Candidate, MethodVersion, Round, WhatIfRun
from evaluation.views.common import NATIONAL
from evaluation.whatif import province_names
from filings.forms import BootstrapFormMixin
from filings.models import ProductClass
from patent_platform.exports import xlsx_response
from patent_platform.i18n import UserDataSelect
from patent_platform.roles import signed_in
from patent_platform.views.base import ScopedTemplateView

SHOWN = 500  # changes listed on the page; the Excel report has them all


class WhatIfForm(BootstrapFormMixin, forms.Form):
    round = forms.ModelChoiceField(
        label=gettext_lazy("认定批次"),
        queryset=Round.objects.none(),
        required=False,
        help_text=gettext_lazy("已完成专利性评价的批次；不选时按数据年度选取各批次的参评产品"),
        widget=UserDataSelect,
    )
    data_year = forms.IntegerField(label=gettext_lazy("数据年度"), min_value=2000, max_value=2100, required=False)
    product_class = forms.ModelChoiceField(
        label=gettext_lazy("产品分类"), queryset=ProductClass.objects.all(), required=False
    )
    method = forms.ModelChoiceField(
        label=gettext_lazy("按此评价方法版本测算"),
        queryset=MethodVersion.objects.none(),
        help_text=gettext_lazy("须为完整的版本；可以是尚未启用的草稿"),
        widget=UserDataSelect,
    )

    def __init__(self, *args: Any, rounds: Any, versions: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        evaluated = rounds.filter(evaluated_at__isnull=False).order_by("-data_year", "-pk")
        cast(forms.ModelChoiceField, self.fields["round"]).queryset = evaluated
        cast(forms.ModelChoiceField, self.fields["method"]).queryset = versions.order_by("-pk")
        self._style_widgets()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("round") and not cleaned.get("data_year") and not self.errors:
            raise ValidationError(_("请选择认定批次，或填写数据年度。"))
        return cleaned


class WhatIfMixin(ScopedTemplateView):
    roles = NATIONAL
    model = Round

    def form(self) -> WhatIfForm:
        return WhatIfForm(
            self.request.GET or None,
            rounds=self.scoped_queryset(Round),
            versions=self.scoped_queryset(MethodVersion),
        )

    def candidates(self, form: WhatIfForm) -> Any:
        data = form.cleaned_data
        return self.scoped_queryset(Candidate).filter(
            pk__in=whatif.scope(
                round_id=data["round"].pk if data.get("round") else None,
                data_year=data.get("data_year"),
                product_class_id=data["product_class"].pk if data.get("product_class") else None,
            ).values("pk")
        )

    def report(self) -> tuple[WhatIfForm, dict[str, Any] | None, list[str], WhatIfRun | None]:
        """The form; the report's data when small enough to compute now, else a background run queued."""
        form = self.form()
        if not form.is_bound or not form.is_valid():
            return form, None, [], None
        data = form.cleaned_data
        candidates = self.candidates(form)
        try:
            if candidates.count() > whatif.SYNC_LIMIT:
                job = whatif.whatif_run_start(
                    user=signed_in(self.request),
                    method=data["method"],
                    rnd=data.get("round"),
                    data_year=data.get("data_year"),
                    product_class=data.get("product_class"),
                )
                return form, None, [], job
            names = province_names()
            return form, whatif.to_data(whatif.compare(candidates, data["method"], names), names), [], None
        except ValidationError as exc:
            return form, None, [str(m) for m in exc.messages], None


def render_report(view: ScopedTemplateView, request: HttpRequest, **context: Any) -> HttpResponse:
    report = context.get("report")
    changes = report["changes"] if report else []
    return view.render_to_response(
        view.get_context_data(shown=changes[:SHOWN], more=max(0, len(changes) - SHOWN), **context),
        status=context.pop("status", 200),
    )


class WhatIfView(WhatIfMixin):
    template_name = "evaluation/national/whatif.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form, report, refusals, job = self.report()
        if job is not None:
            return redirect("certification:whatif_run", pk=job.pk)
        bad = form.is_bound and (not form.is_valid() or bool(refusals))
        return render_report(
            self,
            request,
            form=form,
            report=report,
            refusals=refusals,
            export_url=f"{reverse('certification:whatif_export')}?{request.GET.urlencode()}",
            status=400 if bad else 200,
        )


class WhatIfRunView(ScopedTemplateView):
    """A background run: its progress (the page polls itself while it runs), then its report."""

    roles = NATIONAL
    model = WhatIfRun
    template_name = "evaluation/national/whatif.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        job = get_object_or_404(self.get_queryset().select_related("method", "round"), pk=kwargs["pk"])
        form = WhatIfForm(
            initial={
                "round": job.round_id,
                "data_year": job.data_year,
                "product_class": job.product_class_id,
                "method": job.method_id,
            },
            rounds=self.scoped_queryset(Round),
            versions=self.scoped_queryset(MethodVersion),
        )
        response = render_report(
            self,
            request,
            form=form,
            job=job,
            report=job.report or None,
            refusals=[job.message] if job.message else [],
            export_url=reverse("certification:whatif_run_export", args=[job.pk]),
        )
        if not job.running and request.headers.get("HX-Request"):
            response["HX-Refresh"] = "true"
        return response


def _totals_rows(totals: list[dict[str, Any]]) -> Iterator[list[Any]]:
    for t in totals:
        yield [
            t["key"],
            t["label"],
            t["candidates"],
            t["passing_before"],
            t["passing_after"],
            t["gained"],
            t["lost"],
            t["changed"],
            t["unscored"],
        ]


def export_report(request: HttpRequest, report: dict[str, Any], changes: dict[str, Any]) -> HttpResponse:
    """The Excel report: the changed verdicts with their reasons, then the totals per class and province."""
    totals_headers = [
        _("代码"),
        _("名称"),
        _("参评产品数"),
        _("原结果通过数"),
        _("测算通过数"),
        _("新增通过"),
        _("不再通过"),
        _("结论变化数"),
        _("无法测算"),
    ]
    headers = [
        _("产品名称"),
        _("产品备案号"),
        _("备案单位"),
        _("省份"),
        _("产品分类"),
        _("认定批次"),
        _("原评价依据"),
        _("原结论"),
        _("测算依据"),
        _("测算结论"),
        _("原因（变化的指标：指标值 / 基准值）"),
    ]
    rule = report["method"]["rule"]
    rows = (
        [
            ch["product"],
            ch["filing_number"],
            ch["unit"],
            ch["province"],
            ch["product_class"],
            ch["round"],
            ch["source_rule"],
            ch["before"],
            rule,
            ch["after"],
            "\n".join(ch["reasons"]),
        ]
        for ch in report["changes"]
    )
    return xlsx_response(
        filename=f"what-if-{report['method']['code']}-{timezone.localdate().isoformat()}.xlsx",
        title=_("结论变化"),
        headers=headers,
        rows=rows,
        object_type=Round._meta.label,
        changes=changes,
        message="what-if export",
        actor=request.user,
        more_sheets=[
            (_("按产品分类合计"), totals_headers, _totals_rows([*report["by_class"], report["total"]])),
            (_("按省份合计"), totals_headers, _totals_rows([*report["by_province"], report["total"]])),
        ],
    )


class WhatIfExportView(WhatIfMixin):
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        _form, report, _refusals, job = self.report()
        if job is not None:
            return redirect("certification:whatif_run", pk=job.pk)
        if report is None:
            return WhatIfView.as_view()(request)  # the page, with what is wrong (400)
        return export_report(request, report, {"query": {k: v for k, v in request.GET.items() if v}})


class WhatIfRunExportView(ScopedTemplateView):
    roles = NATIONAL
    model = WhatIfRun

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        job = get_object_or_404(self.get_queryset(), pk=kwargs["pk"], status=WhatIfStatus.DONE)
        return export_report(request, job.report, {"run": job.pk})
