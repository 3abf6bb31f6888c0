"""The national office's certification desk: rounds stage by stage (list, new round, the round page, its
actions, progress and export).

National administrators only (everyone else gets 404). Reads go through `visible_to`; every change
through `evaluation.rounds` (and its stages' modules), whose errors are shown next to the field they
concern with the input kept (HTTP 400). The objections are `evaluation.views.objections`, the expert pool
`evaluation.views.experts`, the holidays `evaluation.views.holidays`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from evaluation import engine, industry, publicity, rounds, schedule
from evaluation.choices import STAGE_ORDER, CandidateStatus, LockKind, MethodStatus, ObjectionStatus, Stage
from evaluation.models import Candidate, IndicatorResult, LockException, MethodVersion, Objection, Round
from evaluation.views.common import NATIONAL, StyledForm, add_service_errors, error_dict, province_names
from filings.forms import DateInput
from filings.models import ProductClass
from filings.workflow import default_data_year
from patent_platform.clock import china_today
from patent_platform.concurrency import Conflict
from patent_platform.exports import xlsx_response
from patent_platform.i18n import UserDataSelect
from patent_platform.params import ID_MAX
from patent_platform.roles import signed_in
from patent_platform.views.base import ScopedListView, ScopedTemplateView, ScopedViewMixin

C = CandidateStatus


# ---------------------------------------------------------------------------------------------
# Rounds


class RoundForm(StyledForm):
    name = forms.CharField(label=gettext_lazy("批次名称"), max_length=200)
    data_year = forms.IntegerField(
        label=gettext_lazy("数据年度"),
        min_value=2000,
        max_value=2100,
        help_text=gettext_lazy("认定使用该年度的备案数据（上一自然年）"),
    )
    deadline = forms.DateField(
        label=gettext_lazy("申报截止日"),
        widget=DateInput(),
        help_text=gettext_lazy(
            "截至该日（含）已通过审核、且选择参与认定的备案参与本批次；此后不再接受参与认定。截止日在今后的，截止后开始专利性评价"
        ),
    )
    info_due = forms.DateField(label=gettext_lazy("补充材料截止日"), widget=DateInput())
    scoring_due = forms.DateField(label=gettext_lazy("专家评分截止日"), widget=DateInput())
    publicity_days = forms.IntegerField(
        label=gettext_lazy("公示期（工作日）"),
        min_value=1,
        max_value=30,
        initial=5,
        help_text=gettext_lazy("按周一至周五计算，扣除国家局登记的节假日"),
    )
    objections_due = forms.DateField(label=gettext_lazy("异议处理截止日"), widget=DateInput(), required=False)
    method = forms.ModelChoiceField(
        label=gettext_lazy("评价方法版本"),
        queryset=MethodVersion.objects.filter(status=MethodStatus.ACTIVE),
        empty_label=None,
        widget=UserDataSelect,
    )
    experts_per_product = forms.IntegerField(
        label=gettext_lazy("每个产品评审专家数"), min_value=3, max_value=15, initial=3
    )


def round_counts(rnd: Round) -> dict[str, int]:
    by_status = dict(rnd.candidates.order_by().values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    return {status: by_status.get(status, 0) for status in C.values} | {"all": sum(by_status.values())}


class RoundListView(ScopedListView):
    roles = NATIONAL
    model = Round
    template_name = "evaluation/national/rounds.html"
    context_object_name = "rounds"
    paginate_by = 30

    def get_queryset(self) -> QuerySet[Round]:
        return (
            self.scoped_queryset()
            .select_related("method")
            .annotate(
                n_candidates=Count("candidates"),
                n_passed=Count("candidates", filter=Q(candidates__patent_passed=True)),
                n_certified=Count("candidates", filter=Q(candidates__status=C.CERTIFIED)),
            )
            .order_by("-data_year", "-id")  # Meta.ordering does not apply to GROUP BY queries
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "active_method": MethodVersion.active()}


class RoundCreateView(ScopedTemplateView):
    """Start a round: the form says beforehand how many filings are eligible and which classes lack benchmarks."""

    roles = NATIONAL
    model = Round
    template_name = "evaluation/national/round_new.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        form = kwargs.get("form") or RoundForm(
            initial={
                "data_year": self.request.GET.get("data_year") or default_data_year(),
                "deadline": china_today(),
                "info_due": china_today() + dt.timedelta(days=30),
                "scoring_due": china_today() + dt.timedelta(days=60),
                "publicity_days": 5,
                "objections_due": china_today() + dt.timedelta(days=90),
                "name": _("%(year)s 年度专利密集型产品认定") % {"year": default_data_year()},
                "experts_per_product": 3,
                "method": MethodVersion.active(),
            }
        )
        method = MethodVersion.active()
        preview = None
        year = form["data_year"].value()
        deadline = form["deadline"].value()
        try:
            year = int(year)
            deadline = deadline if isinstance(deadline, dt.date) else dt.date.fromisoformat(str(deadline))
        except (TypeError, ValueError):
            year = None
        if method is not None and year:
            probe = Round(data_year=year, deadline=deadline, method=method)
            preview = {
                "year": year,
                "deadline": deadline,
                "eligible": engine.eligible_versions(probe).count(),
                "missing": engine.missing_benchmarks(probe),
            }
        context.update(form=form, method=method, preview=preview)
        return context

    def post(self, request: HttpRequest) -> HttpResponse:
        form = RoundForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                rnd = rounds.round_start(
                    user=signed_in(request),
                    name=data["name"],
                    data_year=data["data_year"],
                    deadline=data["deadline"],
                    method=data["method"],
                    experts_per_product=data["experts_per_product"],
                    info_due=data["info_due"],
                    scoring_due=data["scoring_due"],
                    publicity_days=data["publicity_days"],
                    objections_due=data.get("objections_due"),
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                if rnd.evaluation_requested_at is None:
                    messages.success(
                        request,
                        _("认定批次已发起：申报截止日 %(date)s 之前企业仍可选择参与认定，截止后开始专利性评价。")
                        % {"date": rnd.deadline.isoformat()},
                    )
                else:
                    messages.success(request, _("认定批次已发起，专利性评价正在后台进行。"))
                return HttpResponseRedirect(reverse("certification:round", args=[rnd.pk]))
        return self.render_to_response(self.get_context_data(form=form), status=400)


class EarlyForm(StyledForm):
    """The confirmation of a stage move before the previous stage's deadline has passed."""

    confirm = forms.BooleanField(label=gettext_lazy("确认在截止日前提前进入下一阶段"), required=False)
    reason = forms.CharField(
        label=gettext_lazy("提前的理由"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def early_reason(self) -> str:
        data = self.cleaned_data
        return data.get("reason", "") if data.get("confirm") else ""


class InfoForm(EarlyForm):
    info_due = forms.DateField(label=gettext_lazy("补充材料截止日"), widget=DateInput())


class PublicityForm(EarlyForm):
    days = forms.IntegerField(
        label=gettext_lazy("公示期（工作日）"),
        min_value=1,
        max_value=30,
        initial=5,
        help_text=gettext_lazy("按周一至周五计算，扣除国家局登记的节假日"),
    )
    start = forms.DateField(
        label=gettext_lazy("公示开始日"),
        widget=DateInput(),
        required=False,
        help_text=gettext_lazy("不填为今天"),
    )
    confirm_listed = forms.BooleanField(
        label=gettext_lazy("我已核实上列信用名单中的单位，仍将其产品列入公示"), required=False
    )


# the deadline each stage action waits for (shown beside its confirmation)
EARLY_LABELS: Mapping[str, Any] = {
    "evaluate": gettext_lazy("申报截止日"),
    "start-industry": gettext_lazy("补充材料截止日"),
    "start-publicity": gettext_lazy("专家评分截止日"),
}


def early_dates(rnd: Round) -> dict[str, dt.date | None]:
    """Per stage action, the previous stage's deadline while it has not passed (the move needs a reason)."""
    today = china_today()

    def pending(day: dt.date | None) -> dt.date | None:
        return day if day is not None and today <= day else None

    return {
        "evaluate": pending(rnd.deadline) if rnd.evaluation_requested_at is None else None,
        "start_industry": pending(industry.information_deadline(rnd)) if rnd.stage == Stage.INFO else None,
        "start_publicity": pending(rnd.scoring_due),
    }


class ExceptionForm(StyledForm):
    kind = forms.ChoiceField(label=gettext_lazy("例外类型"), choices=LockKind.choices)
    filing_number = forms.CharField(
        label=gettext_lazy("产品备案号"),
        required=False,
        max_length=40,
        help_text=gettext_lazy("申报截止后准予参评时填写"),
    )
    candidate = forms.IntegerField(
        label=gettext_lazy("参评产品"), required=False, min_value=1, max_value=ID_MAX, widget=forms.HiddenInput
    )
    until = forms.DateField(
        label=gettext_lazy("准予补充至"),
        required=False,
        widget=DateInput(),
        help_text=gettext_lazy("逾期补充材料时填写"),
    )
    reason = forms.CharField(label=gettext_lazy("理由"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class CandidateFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("状态"), required=False, choices=[("", gettext_lazy("全部状态")), *C.choices]
    )
    product_class = forms.ModelChoiceField(
        label=gettext_lazy("产品分类"),
        queryset=ProductClass.objects.all(),
        required=False,
        empty_label=gettext_lazy("全部分类"),
    )
    q = forms.CharField(label=gettext_lazy("搜索"), required=False, max_length=100)

    def apply(self, qs: QuerySet[Candidate]) -> QuerySet[Candidate]:
        if not self.is_valid():
            return qs
        data = self.cleaned_data
        if data.get("status"):
            qs = qs.filter(status=data["status"])
        if data.get("product_class"):
            qs = qs.filter(product_class=data["product_class"])
        if text := (data.get("q") or "").strip():
            qs = qs.filter(
                Q(version__name__icontains=text)
                | Q(unit__name__icontains=text)
                | Q(product__filing_number__icontains=text.upper())
            )
        return qs


# What the national office does in each stage: (action slug, label, needs a form)
STAGE_ACTIONS: Mapping[str, list[str]] = {
    Stage.PATENT: ["evaluate", "request-information"],
    Stage.INFO: ["start-industry"],
    Stage.INDUSTRY: ["start-publicity"],
    Stage.PUBLICITY: ["finalize"],
    Stage.FINAL: [],
}


class RoundDetailView(ScopedTemplateView):
    roles = NATIONAL
    model = Round
    template_name = "evaluation/national/round.html"

    def get_round(self) -> Round:
        return get_object_or_404(self.scoped_queryset().select_related("method", "created_by"), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        rnd = kwargs.get("round") or self.get_round()
        filters = CandidateFilterForm(self.request.GET or None)
        candidates = filters.apply(
            self.scoped_queryset(Candidate)
            .filter(round=rnd)
            .select_related("round", "version", "unit", "product", "product_class")
            .order_by("-patent_passed", "-passed_total", "product_class__code", "pk")
        )
        total = candidates.count()
        shown = list(candidates[:200])
        provinces = province_names()
        for candidate in shown:
            candidate.province_name = provinces.get(candidate.province_code, candidate.province_code)  # type: ignore[attr-defined]  # for the template
        objections = (
            self.scoped_queryset(Objection)
            .filter(candidate__round=rnd)
            .select_related("candidate__version", "candidate__unit", "decided_by")
        )
        stage_index = STAGE_ORDER.index(rnd.stage)
        stages = [
            {"key": s, "label": Stage(s).label, "done": i < stage_index, "current": i == stage_index}
            for i, s in enumerate(STAGE_ORDER)
        ]
        scoring = None
        if rnd.stage == Stage.INDUSTRY:
            assignments = rnd.candidates.aggregate(
                total=Count("assignments"), scored=Count("assignments", filter=Q(assignments__scored_at__isnull=False))
            )
            scoring = assignments
        query = self.request.GET.copy()
        context.update(
            round=rnd,
            counts=round_counts(rnd),
            status_labels=dict(C.choices),
            stages=stages,
            candidates=shown,
            candidates_total=total,
            candidates_truncated=total > len(shown),
            filters=filters,
            query=query.urlencode(),
            objections=list(objections),
            pending_objections=sum(1 for o in objections if o.status == ObjectionStatus.PENDING),
            actions=STAGE_ACTIONS[rnd.stage],
            info_form=kwargs.get("info_form")
            or InfoForm(initial={"info_due": rnd.info_due or china_today() + dt.timedelta(days=14)}),
            publicity_form=kwargs.get("publicity_form") or PublicityForm(initial={"days": rnd.publicity_days}),
            early_form=kwargs.get("early_form") or EarlyForm(),
            exception_form=kwargs.get("exception_form") or ExceptionForm(),
            deadlines=schedule.deadlines(rnd),
            lock_exceptions=list(
                self.scoped_queryset(LockException)
                .filter(round=rnd)
                .select_related("version", "granted_by", "candidate")
            ),
            early_labels={k.replace("-", "_"): v for k, v in EARLY_LABELS.items()},
            early=early_dates(rnd),
            cutoff_passed=china_today() > rnd.deadline,
            late_candidates=[
                c
                for c in Candidate.objects.filter(
                    round=rnd, status__in=[C.INFO_REQUESTED, C.INFO_MISSING]
                ).select_related("version", "round")
                if c.current_status == C.INFO_MISSING
            ]
            if rnd.stage == Stage.INFO
            else [],
            action_errors=kwargs.get("action_errors", {}),
            scoring=scoring,
            publicity_open=publicity.publicity_open(rnd),
            today=china_today(),
            listed=publicity.listed_candidates(rnd) if rnd.stage in (Stage.INDUSTRY, Stage.PUBLICITY) else [],
        )
        return context


class RoundProgressView(ScopedTemplateView):
    """The patent evaluation's progress, polled by htmx; once it is done the page reloads itself."""

    roles = NATIONAL
    model = Round
    template_name = "evaluation/national/_evaluation_progress.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        rnd = get_object_or_404(self.scoped_queryset(), pk=kwargs["pk"])
        response = self.render_to_response({"round": rnd, "counts": round_counts(rnd)})
        if not rnd.evaluating and request.headers.get("HX-Request"):
            response["HX-Refresh"] = "true"
        return response


class RoundActionView(ScopedViewMixin, View):
    """POST only: the stage actions. Errors re-render the round page with the message next to the form."""

    roles = NATIONAL
    model = Round

    def post(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        rnd = get_object_or_404(self.scoped_queryset(), pk=pk)
        user = signed_in(request)
        info_form = publicity_form = exception_form = None
        early_form = EarlyForm(request.POST)
        early_form.is_valid()
        try:
            if action == "evaluate":
                rounds.round_rerun_patent_evaluation(rnd=rnd, user=user, reason=early_form.early_reason())
                messages.success(request, _("已发起专利性评价，结果将在完成后显示。"))
            elif action == "request-information":
                info_form = InfoForm(request.POST)
                if not info_form.is_valid():
                    raise ValidationError([m for ms in info_form.errors.values() for m in ms])
                rounds.round_request_information(rnd=rnd, user=user, due=info_form.cleaned_data["info_due"])
                messages.success(request, _("已通知通过专利性评价的企业补充材料。"))
            elif action == "start-industry":
                counts = industry.industry_evaluation_start(rnd=rnd, user=user, reason=early_form.early_reason())
                messages.success(
                    request,
                    _(
                        "产业性评价已开始：%(products)s 个产品，分配评审任务 %(assigned)s 项；"
                        "%(missing_info)s 个产品未按期补充材料。"
                    )
                    % counts,
                )
            elif action == "start-publicity":
                publicity_form = PublicityForm(request.POST)
                if not publicity_form.is_valid():
                    raise ValidationError([m for ms in publicity_form.errors.values() for m in ms])
                data = publicity_form.cleaned_data
                counts = publicity.round_publicity_start(
                    rnd=rnd,
                    user=user,
                    days=data["days"],
                    start=data.get("start"),
                    reason=publicity_form.early_reason(),
                    confirm_listed=data.get("confirm_listed", False),
                )
                messages.success(
                    request, _("拟认定名单已公示：%(proposed)s 个产品；%(failed)s 个产品未达到通过分数。") % counts
                )
            elif action == "lock-exception":
                exception_form = ExceptionForm(request.POST)
                if not exception_form.is_valid():
                    raise ValidationError({k: list(v) for k, v in exception_form.errors.items()})
                data = exception_form.cleaned_data
                schedule.lock_exception_grant(
                    rnd=rnd,
                    user=user,
                    kind=data["kind"],
                    reason=data["reason"],
                    filing_number=data.get("filing_number") or "",
                    candidate_id=data.get("candidate"),
                    until=data.get("until"),
                )
                messages.success(request, _("已准予锁定例外，并记录理由。"))
            elif action == "finalize":
                counts = rounds.round_finalize(rnd=rnd, user=user)
                messages.success(request, _("认定结果已公布：%(certified)s 个产品获得认定，证书已生成。") % counts)
            else:
                raise Http404
        except ValidationError as exc:
            view = RoundDetailView()
            view.setup(request, pk=pk)
            if exception_form is not None:
                add_service_errors(exception_form, exc)
            context = view.get_context_data(
                round=view.get_round(),
                info_form=info_form,
                publicity_form=publicity_form,
                early_form=early_form,
                exception_form=exception_form,
                action_errors={action: [m for ms in error_dict(exc).values() for m in ms]},
            )
            # another administrator moved the round first: 409, the page as the round is now (issue 17, §5)
            return view.render_to_response(context, status=409 if isinstance(exc, Conflict) else 400)
        return HttpResponseRedirect(reverse("certification:round", args=[pk]))


class RoundExportView(ScopedViewMixin, View):
    """Every candidate of the round with every indicator's value, benchmark and result."""

    roles = NATIONAL
    model = Round

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        rnd = get_object_or_404(self.scoped_queryset().select_related("method"), pk=pk)
        indicators = list(rnd.method.indicators.all())
        candidates = (
            self.scoped_queryset(Candidate)
            .filter(round=rnd)
            .select_related("version", "unit", "product", "product_class")
            .order_by("product_class__code", "pk")
        )
        provinces = province_names()
        standard = rnd.method.standard_designation
        headers: list[Any] = [
            _("产品名称"),
            _("产品备案号"),
            _("备案单位"),
            _("统一社会信用代码"),
            _("省份"),
            _("产品分类"),
            _("状态"),
            _("通过专利性评价"),
            _("达标指标数"),
        ]
        for ind in indicators:
            headers += [f"{ind.code} {ind.name}", _("%(code)s 基准值") % {"code": ind.code}]
        headers += [_("产业性评价得分"), _("证书编号"), _("评价依据（标准）"), _("评价方法版本")]

        def rows() -> Iterator[list[Any]]:
            for chunk_start in range(0, candidates.count(), 500):
                chunk = list(candidates[chunk_start : chunk_start + 500])
                results: dict[int, dict[int, IndicatorResult]] = {}
                for result in IndicatorResult.objects.filter(candidate__in=chunk):
                    results.setdefault(result.candidate_id, {})[result.indicator_id] = result
                for c in chunk:
                    row: list[Any] = [
                        c.version.name,
                        c.product.filing_number or "",
                        c.unit.name,
                        c.unit.uscc,
                        provinces.get(c.province_code, c.province_code),
                        c.product_class.name,
                        c.get_status_display(),
                        _("是") if c.patent_passed else _("否"),
                        c.passed_total,
                    ]
                    for ind in indicators:
                        r = results.get(c.pk, {}).get(ind.pk)
                        row += [r.value if r else None, r.benchmark if r else None]
                    row += [c.expert_score, c.certificate_number or "", standard, rnd.method.code]
                    yield row

        return xlsx_response(
            filename=f"{rnd.name}-{timezone.localdate().isoformat()}.xlsx",
            title=_("参评产品"),
            headers=headers,
            rows=rows(),
            object_type=Candidate._meta.label,
            changes={"round": rnd.pk},
            message="round export",
            actor=request.user,
        )
