"""The statistics API: the same figures as the dashboards, through the same scoping rule.

These endpoints are not model viewsets: they return aggregates. They are APIViews that take
`ScopedViewSetMixin` (a plain mixin: `scope_policy = "scoped"` and a `get_queryset()` that is
`queryset.visible_to(request.user)`), and every figure is computed by `provincial.dashboards` from
`Product/FilingUnit.objects.visible_to(request.user)`. Roles other than port and national
administrators get 404, as on the pages.
"""

from typing import Any, ClassVar

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from filings.models import Product
from patent_platform.api.base import ScopedViewSetMixin
from patent_platform.api.problems import invalid_parameter
from patent_platform.choices import Role
from patent_platform.roles import require_role
from provincial import comparison, dashboards, periods
from provincial.api.serializers import DashboardSerializer, PortRankingSerializer

READ_ERRORS = {
    403: OpenApiResponse(OpenApiTypes.OBJECT, description=_('未登录：{"detail": "…"}')),
    404: OpenApiResponse(OpenApiTypes.OBJECT, description=_("不存在、不在您的数据范围内，或您的角色不能查看统计")),
}


class StatisticsAPIView(ScopedViewSetMixin, APIView):
    """Base of the statistics endpoints: role gate (404) and the scoped product queryset."""

    queryset = Product.objects.all()
    roles: ClassVar[frozenset[str]] = frozenset({Role.PORT_ADMIN, Role.NATIONAL_ADMIN})

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        require_role(request.user, *self.roles, error=Http404)


class DashboardView(StatisticsAPIView):
    @extend_schema(
        operation_id="provincial_dashboard",
        summary=_("统计概览"),
        description=_(
            "本端口（或国家局：全国）的备案统计：总数、近 12 个月趋势、按地区/产品分类/行业门类/企业规模的"
            "通过备案产品数、下级地区排名；与统计页面显示的数字相同。"
        ),
        parameters=[
            OpenApiParameter(
                "port",
                OpenApiTypes.STR,
                description=_("只看数据范围内的一个端口（端口代码，如 440300）；范围外的端口返回 404"),
            ),
            OpenApiParameter(
                "period",
                OpenApiTypes.STR,
                description=_(
                    "统计期间：月 2025-11、季度 2025Q4、年 2025、月份区间 2025-01..2025-06（均须已结束），或 current"
                    "（当前实时数字）；默认最近一个完整月份。存量数字为期末状态（与月度数据发布相同），新增为期间内首次"
                    "通过备案的产品；同时给出上年同期及增减。不能使用的期间返回 400"
                ),
            ),
            OpenApiParameter(
                "as_of",
                OpenApiTypes.STR,
                pattern=r"^\d{4}-\d{2}$",
                description=_("旧参数：某个已结束月份（YYYY-MM），等同 period=YYYY-MM；格式不对或月份未结束返回 400"),
            ),
        ],
        responses={200: DashboardSerializer, 400: OpenApiResponse(OpenApiTypes.OBJECT), **READ_ERRORS},
        tags=["provincial"],
    )
    def get(self, request: Request) -> Response:
        area = dashboards.area_for(request.user, request.query_params.get("port", "").strip())
        try:
            period = periods.from_query(request.query_params)
        except periods.PeriodError as exc:
            field = "period" if request.query_params.get("period", "").strip() else "as_of"
            raise invalid_parameter(field, str(exc), "invalid_period") from exc
        return Response(DashboardSerializer(period_answer(comparison.figures(area, period))).data)


def _compared(rows: list[dict[str, Any]], before: list[dict[str, Any]], **how: Any) -> list[dict[str, Any]]:
    return [{**row, "before": row["before"], **row["change"]} for row in comparison.compare_rows(rows, before, **how)]


def period_answer(figures: comparison.PeriodFigures) -> dict[str, Any]:
    """The state of the period (the shape the API had before periods) with the period, the year before and
    the change of every figure and row."""
    data, before = figures.state, figures.before

    def described(period: Any, moment: Any, label: str) -> dict[str, Any]:
        return {
            "key": period.key,
            "kind": period.kind,
            "label": label,
            "start": period.start,
            "end": moment if period.is_current else period.end,
            "as_of": moment,
        }

    answer = {
        **data,
        "totals": figures.totals,
        "period": described(figures.period, figures.moment, figures.period.label),
        "comparison": {
            "period": described(figures.before_period, figures.before_moment, figures.before_label),
            "totals": figures.before_totals,
            "change": figures.changes(),
        },
        "trend": [
            {**row, "before": row["before"], **row["change"]}
            for row in comparison.compare_trend(data["trend"], before["trend"])
        ],
        "ranking": _compared(data["ranking"], before["ranking"], key="code", value="approved"),
    }
    for key in ("by_region", "by_class", "by_section", "by_scale"):
        answer[key] = _compared(data[key], before[key], key="key", value="count", add_missing=True)
    return answer


class NationalRankingView(StatisticsAPIView):
    roles = frozenset({Role.NATIONAL_ADMIN})

    @extend_schema(
        operation_id="provincial_national_ranking",
        summary=_("管理端口排名"),
        description=_("全部 47 个管理端口（不论是否开通）按通过备案产品数、备案单位数和近 12 个月新增排名；仅国家局。"),
        responses={200: PortRankingSerializer(many=True), **READ_ERRORS},
        tags=["provincial"],
    )
    def get(self, request: Request) -> Response:
        return Response(PortRankingSerializer(dashboards.national_ranking(request.user), many=True).data)
