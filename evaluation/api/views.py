"""The evaluation API: method versions, benchmark sets, certification rounds with their stage actions, and the
results (candidates) of the rounds.

Every viewset reads through the scoping rule (`ScopedViewSetMixin`). Methods, benchmark sets and rounds are
reference data every signed-in user with a role reads; results are `Candidate.objects.visible_to(user)`: a
port sees the candidates of its regions, an enterprise its own, an expert those assigned to them, national
administrators and reviewers all; out of scope answers 404. Writes (benchmark sets, starting a round and its
stage actions) are the national administrators'; other roles get 403. Every write goes through
`evaluation.methods` or `evaluation.rounds`; their errors are answered as in the filing API (`ApiErrorsMixin`):
400 with messages per field, 403, 404.
"""

from collections import defaultdict
from typing import Any

from django.db.models import Count, Prefetch
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from evaluation import industry, lifecycle, methods, publicity, rounds
from evaluation.api.serializers import (
    BenchmarkSetCreateSerializer,
    BenchmarkSetSerializer,
    BenchmarkValuesSerializer,
    EarlySerializer,
    InformationRequestSerializer,
    MethodSerializer,
    PercentileSerializer,
    PublicitySerializer,
    ResultSerializer,
    RoundCreateSerializer,
    RoundSerializer,
    score_view,
)
from evaluation.choices import BenchmarkStatus, CandidateStatus
from evaluation.models import (
    Assignment,
    Benchmark,
    BenchmarkSet,
    Candidate,
    Indicator,
    IndicatorResult,
    MethodVersion,
    Round,
)
from filings.api.views import CONFLICT, ERRORS, READ_ERRORS
from patent_platform.api.base import ScopedModelViewSet, ScopedReadOnlyViewSet
from patent_platform.api.problems import invalid_parameter
from patent_platform.choices import Role
from patent_platform.params import YEAR_MAX, int_param, int_parameter
from patent_platform.roles import require_role, signed_in

YEAR_MESSAGE = _("数据年度须为 1 到 9999 之间的整数，如 2025。")


# Only national administrators change methods, benchmarks and rounds; other roles read.
NATIONAL_ONLY = _("只有国家局管理员可以维护基准值和认定批次；您的角色只能查看。")


def choice_param(params: Any, name: str, choices: list[str]) -> str | None:
    raw = (params.get(name) or "").strip()
    if raw and raw not in choices:
        raise invalid_parameter(name, _("未知的状态。"), "invalid_choice")
    return raw or None


# ---------------------------------------------------------------------------------------------
# Methods


@extend_schema_view(
    list=extend_schema(
        summary=_("评价方法版本列表（含指标和判定规则）"), responses={200: MethodSerializer(many=True), **READ_ERRORS}
    ),
    retrieve=extend_schema(summary=_("评价方法版本"), responses={200: MethodSerializer, **READ_ERRORS}),
)
class MethodViewSet(ScopedReadOnlyViewSet):
    queryset = MethodVersion.objects.select_related("based_on").prefetch_related(
        Prefetch("indicators", queryset=Indicator.objects.order_by("order", "id"))
    )
    serializer_class = MethodSerializer


# ---------------------------------------------------------------------------------------------
# Benchmark sets

BENCHMARK_FILTERS = [
    int_parameter("data_year", _("数据年度"), maximum=YEAR_MAX),
    OpenApiParameter("product_class", str, description=_("产品分类代码")),
    OpenApiParameter("status", str, enum=BenchmarkStatus.values, description=_("草稿或已确定")),
    int_parameter("method", _("评价方法版本 id")),
]


def _benchmark_action(name: str, summary: Any, request: Any = None) -> Any:
    return extend_schema(
        operation_id=f"evaluation_benchmark_sets_{name}",
        summary=summary,
        request=request,
        responses={200: BenchmarkSetSerializer, **ERRORS},
    )


@extend_schema_view(
    list=extend_schema(
        summary=_("基准值列表"),
        parameters=BENCHMARK_FILTERS,
        responses={200: BenchmarkSetSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(summary=_("一套基准值"), responses={200: BenchmarkSetSerializer, **READ_ERRORS}),
    create=extend_schema(
        summary=_("新建基准值草稿（按同类已通过备案产品的分布给出建议值；国家局管理员）"),
        request=BenchmarkSetCreateSerializer,
        responses={201: BenchmarkSetSerializer, **ERRORS},
    ),
    partial_update=extend_schema(
        summary=_("修改草稿的基准值和说明（国家局管理员）"),
        request=BenchmarkValuesSerializer,
        responses={200: BenchmarkSetSerializer, **ERRORS},
    ),
)
class BenchmarkSetViewSet(ScopedModelViewSet):
    queryset = BenchmarkSet.objects.select_related("method", "product_class").prefetch_related(
        Prefetch("values", queryset=Benchmark.objects.select_related("indicator"))
    )
    serializer_class = BenchmarkSetSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]  # noqa: RUF012  (django-stubs: an instance variable of View)

    def get_queryset(self) -> Any:
        qs = super().get_queryset()
        if self.action != "list":
            return qs
        params = self.request.query_params
        year = int_param(params, "data_year", YEAR_MESSAGE, maximum=YEAR_MAX)
        if year is not None:
            qs = qs.filter(data_year=year)
        method = int_param(params, "method", _("评价方法版本 id 须为正整数（至多 18 位）。"))
        if method is not None:
            qs = qs.filter(method_id=method)
        if params.get("product_class"):
            qs = qs.filter(product_class__code=params["product_class"].strip())
        wanted = choice_param(params, "status", BenchmarkStatus.values)
        if wanted:
            qs = qs.filter(status=wanted)
        return qs

    def _respond(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=pk)).data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        require_role(request.user, Role.NATIONAL_ADMIN, message=NATIONAL_ONLY)
        body = BenchmarkSetCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        method = data.get("method") or MethodVersion.active()
        if method is None:
            raise exceptions.ValidationError({"method": [_("没有现行的评价方法版本，请指定 method。")]})
        bset = methods.benchmark_set_create(
            method=method,
            product_class=data["product_class"],
            data_year=data["data_year"],
            user=signed_in(request),
            percentile=data.get("percentile"),
        )
        return self._respond(bset.pk, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        bset = self.get_object()
        require_role(request.user, Role.NATIONAL_ADMIN, message=NATIONAL_ONLY)
        body = BenchmarkValuesSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        values = self._values(bset, body.validated_data.get("values"))
        methods.benchmark_set_update_values(
            bset=bset, user=signed_in(request), values=values, note=body.validated_data.get("note")
        )
        return self._respond(bset.pk)

    def _values(self, bset: BenchmarkSet, given: dict[str, Any] | None) -> dict[int, Any]:
        """`{"P1": "3.5", …}` → {indicator id: value}, checked by `methods.parse_values`; errors by code."""
        if not given:
            return {}
        by_code = {b.indicator.code: b.indicator_id for b in bset.values.all()}
        unknown = {code: [_("本套基准值没有该指标。")] for code in given if code not in by_code}
        if unknown:
            raise exceptions.ValidationError({"values": unknown})
        raw = {f"value_{by_code[code]}": "" if text is None else text for code, text in given.items()}
        parsed, errors = methods.parse_values(raw, bset)
        if errors:
            code_of = {f"value_{pk}": code for code, pk in by_code.items()}
            raise exceptions.ValidationError({"values": {code_of[key]: [msg] for key, msg in errors.items()}})
        wanted = {by_code[code] for code in given}
        return {pk: value for pk, value in parsed.items() if pk in wanted}

    @_benchmark_action(
        "resuggest", _("按另一个百分位数重新建议并采用为基准值（草稿；国家局管理员）"), PercentileSerializer
    )
    @action(detail=True, methods=["post"])
    def resuggest(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        bset = self.get_object()
        require_role(request.user, Role.NATIONAL_ADMIN, message=NATIONAL_ONLY)
        body = PercentileSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        methods.benchmark_set_resuggest(
            bset=bset, user=signed_in(request), percentile=body.validated_data["percentile"]
        )
        return self._respond(bset.pk)

    @_benchmark_action("fix", _("确定基准值：此后不再修改，认定批次可以使用（国家局管理员）"))
    @action(detail=True, methods=["post"])
    def fix(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        bset = self.get_object()
        require_role(request.user, Role.NATIONAL_ADMIN, message=NATIONAL_ONLY)
        methods.benchmark_set_fix(bset=bset, user=signed_in(request))
        return self._respond(bset.pk)


# ---------------------------------------------------------------------------------------------
# Rounds


def _round_action(name: str, summary: Any, request: Any = None, code: int = 200) -> Any:
    return extend_schema(
        operation_id=f"evaluation_rounds_{name}",
        summary=summary,
        request=request,
        responses={code: RoundSerializer, **ERRORS, 409: CONFLICT},  # 409: another action moved the round first
    )


@extend_schema_view(
    list=extend_schema(
        summary=_("认定批次列表（含本人数据范围内按状态的参评产品数）"),
        parameters=[int_parameter("data_year", _("数据年度"), maximum=YEAR_MAX)],
        responses={200: RoundSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(summary=_("认定批次"), responses={200: RoundSerializer, **READ_ERRORS}),
    create=extend_schema(
        summary=_("发起认定批次并开始专利性评价（国家局管理员）"),
        request=RoundCreateSerializer,
        responses={201: RoundSerializer, **ERRORS},
    ),
)
class RoundViewSet(ScopedModelViewSet):
    queryset = Round.objects.select_related("method")
    serializer_class = RoundSerializer
    http_method_names = ["get", "post", "head", "options"]  # noqa: RUF012  (django-stubs: an instance variable of View)

    def get_queryset(self) -> Any:
        qs = super().get_queryset()
        if self.action == "list":
            year = int_param(
                self.request.query_params,
                "data_year",
                _("数据年度须为 1 到 9999 之间的整数，如 2025。"),
                maximum=YEAR_MAX,
            )
            if year is not None:
                qs = qs.filter(data_year=year)
        return qs

    def _counts(self, round_ids: list[int]) -> dict[int, dict[str, int]]:
        """Candidates by status per round, as far as the user sees them: one query for a whole page."""
        counts: dict[int, dict[str, int]] = defaultdict(dict)
        rows = (
            Candidate.objects.visible_to(self.request.user)
            .filter(round_id__in=round_ids)
            .order_by()
            .values_list("round_id", "status")
            .annotate(n=Count("id"))
        )
        for round_id, state, n in rows:
            counts[round_id][state] = n
        return counts

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        rows = list(page if page is not None else self.get_queryset())
        context = {**self.get_serializer_context(), "counts": self._counts([r.pk for r in rows])}
        data = RoundSerializer(rows, many=True, context=context).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._render(self.get_object())

    def _respond(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        """The round as it is now (re-read after a service changed it)."""
        return self._render(self.get_queryset().get(pk=pk), code)

    def _render(self, rnd: Round, code: int = status.HTTP_200_OK) -> Response:
        context = {**self.get_serializer_context(), "counts": self._counts([rnd.pk])}
        return Response(RoundSerializer(rnd, context=context).data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        require_role(request.user, Role.NATIONAL_ADMIN, message=NATIONAL_ONLY)
        body = RoundCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rnd = rounds.round_start(user=signed_in(request), **body.validated_data)
        return self._respond(rnd.pk, status.HTTP_201_CREATED)

    def _acting(self, request: Request) -> Round:
        rnd = self.get_object()
        require_role(request.user, Role.NATIONAL_ADMIN, message=NATIONAL_ONLY)
        return rnd

    @_round_action(
        "evaluate",
        _("进行或重新进行专利性评价（后台运行；国家局管理员；申报截止前首次进行须 confirm 并填写理由）"),
        EarlySerializer,
        code=202,
    )
    @action(detail=True, methods=["post"])
    def evaluate(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        rnd = self._acting(request)
        body = EarlySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rounds.round_rerun_patent_evaluation(rnd=rnd, user=signed_in(request), reason=body.early_reason())
        return self._respond(rnd.pk, status.HTTP_202_ACCEPTED)

    @_round_action(
        "request_information",
        _("通知通过专利性评价的企业补充材料，进入补充材料阶段（国家局管理员）"),
        InformationRequestSerializer,
    )
    @action(detail=True, methods=["post"], url_path="request-information", url_name="request-information")
    def request_information(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        rnd = self._acting(request)
        body = InformationRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rounds.round_request_information(rnd=rnd, user=signed_in(request), due=body.validated_data.get("info_due"))
        return self._respond(rnd.pk)

    @_round_action(
        "start_industry_evaluation",
        _("结束补充材料，分配专家，进入产业性评价阶段（国家局管理员；补充材料截止前须 confirm 并填写理由）"),
        EarlySerializer,
    )
    @action(detail=True, methods=["post"], url_path="start-industry-evaluation", url_name="start-industry-evaluation")
    def start_industry_evaluation(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        rnd = self._acting(request)
        body = EarlySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        industry.industry_evaluation_start(rnd=rnd, user=signed_in(request), reason=body.early_reason())
        return self._respond(rnd.pk)

    @_round_action("start_publicity", _("合成专家评分，公示拟认定名单（国家局管理员）"), PublicitySerializer)
    @action(detail=True, methods=["post"], url_path="start-publicity", url_name="start-publicity")
    def start_publicity(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        rnd = self._acting(request)
        body = PublicitySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        publicity.round_publicity_start(
            rnd=rnd,
            user=signed_in(request),
            days=data.get("days"),
            start=data.get("start"),
            reason=body.early_reason(),
            confirm_listed=data.get("confirm_listed", False),
        )
        return self._respond(rnd.pk)

    @_round_action("finalize", _("公示期满后公布认定结果并编发证书编号（国家局管理员）"))
    @action(detail=True, methods=["post"])
    def finalize(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        rnd = self._acting(request)
        rounds.round_finalize(rnd=rnd, user=signed_in(request))
        return self._respond(rnd.pk)


# ---------------------------------------------------------------------------------------------
# Results


@extend_schema_view(
    list=extend_schema(
        summary=_("认定结果（参评产品）列表（本人数据范围内）"),
        parameters=[
            int_parameter("round", _("认定批次 id")),
            OpenApiParameter("status", str, enum=CandidateStatus.values, description=_("参评产品状态")),
        ],
        responses={200: ResultSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(
        summary=_("参评产品的认定结果：各指标值、基准值、是否达标，专家评分"),
        responses={200: ResultSerializer, **READ_ERRORS},
    ),
)
class ResultViewSet(ScopedReadOnlyViewSet):
    queryset = Candidate.objects.select_related("round__method", "version", "product", "unit", "product_class")
    serializer_class = ResultSerializer

    def get_queryset(self) -> Any:
        user = self.request.user
        if score_view(user) == "totals":
            # the totals only (who gave them stays hidden); the candidate itself is in the asker's scope
            scores = Assignment.objects.filter(total__isnull=False).only("id", "candidate_id", "total")
        else:  # national administrators: every expert with names; an expert: their own assignment
            scores = Assignment.objects.visible_to(user).select_related("expert")
        qs = (
            super()
            .get_queryset()
            .prefetch_related(
                Prefetch("results", queryset=IndicatorResult.objects.select_related("indicator")),
                Prefetch("assignments", queryset=scores),
            )
        )
        qs = lifecycle.with_standing(qs)  # what each certificate's standing today needs, in the same query
        if self.action == "list":
            params = self.request.query_params
            round_id = int_param(params, "round", _("认定批次 id 须为正整数（至多 18 位）。"))
            if round_id is not None:
                qs = qs.filter(round_id=round_id)
            wanted = choice_param(params, "status", CandidateStatus.values)
            if wanted:
                qs = qs.filter(status=wanted)
        return qs
