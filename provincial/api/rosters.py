"""/api/v1/provincial/rosters/ and /api/v1/provincial/coverage/: the figures of the roster pages.

National and port administrators only; any other signed-in role answers 404 (as out of scope), an
anonymous caller 403. Both endpoints read through `provincial.rosters`, the selectors the pages use,
so the API and the pages show the same numbers.
"""

from typing import TYPE_CHECKING, Any, ClassVar

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from patent_platform.api.base import ScopedViewSetMixin
from patent_platform.api.fields import ModelSerializer
from patent_platform.api.problems import valid_query
from patent_platform.params import int_parameter
from patent_platform.roles import require_role, signed_in
from provincial import rosters as svc
from provincial.choices import RosterCategory
from provincial.models import Roster, RosterEntry

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    from provincial.rosters.coverage import RosterCounts

READ_ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description=_('查询参数错误：{"字段": ["消息"]}')),
    403: OpenApiResponse(OpenApiTypes.OBJECT, description=_("未登录")),
    404: OpenApiResponse(OpenApiTypes.OBJECT, description=_("您的角色不能查看名单（仅国家局和管理端口）")),
}


class RosterOwnerSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class RosterSerializer(ModelSerializer):
    category_label = serializers.CharField(source="get_category_display", read_only=True)
    owner = RosterOwnerSerializer(read_only=True, allow_null=True, help_text=_("上传端口；为空表示国家局的全国名单"))
    entries_in_scope = serializers.IntegerField(source="scope_count", read_only=True, help_text=_("本人辖区内的企业数"))
    covered_in_scope = serializers.IntegerField(
        source="scope_covered", read_only=True, help_text=_("其中至少有一个产品通过备案的企业数")
    )
    coverage_percent = serializers.SerializerMethodField(help_text=_("覆盖率（%），无企业时为 null"))

    class Meta:
        model = Roster
        fields: ClassVar[list[str]] = [
            "id",
            "category",
            "category_label",
            "year",
            "title",
            "owner",
            "entry_count",
            "entries_in_scope",
            "covered_in_scope",
            "coverage_percent",
            "uploaded_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.FLOAT)
    def get_coverage_percent(self, roster: "WithAnnotations[Roster, RosterCounts]") -> float | None:
        return svc.percent(roster.scope_covered, roster.scope_count)


class RosterCoverageRowSerializer(serializers.Serializer):
    key = serializers.CharField(help_text=_("名单类别或端口代码；合计行为空"))
    label: Any = serializers.CharField()  # a declared field (Any: the stubs take it for Field.label)
    entries = serializers.IntegerField(help_text=_("名单企业数（按统一社会信用代码去重）"))
    covered = serializers.IntegerField(help_text=_("至少有一个产品通过备案的企业数"))
    missing = serializers.IntegerField()
    percent = serializers.FloatField(allow_null=True)


class CoverageTrendPointSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    covered = serializers.IntegerField(help_text=_("截至该月累计已备案的名单企业数"))
    entries = serializers.IntegerField()
    percent = serializers.FloatField(allow_null=True)


class RosterCoverageSerializer(serializers.Serializer):
    year = serializers.IntegerField(allow_null=True)
    category = serializers.ChoiceField(choices=RosterCategory.choices, allow_null=True)
    total = RosterCoverageRowSerializer()
    categories = RosterCoverageRowSerializer(many=True)
    ports = RosterCoverageRowSerializer(many=True, help_text=_("按管理端口（可见端口多于一个时）"))
    trend = CoverageTrendPointSerializer(many=True)


class RosterCoverageQuerySerializer(serializers.Serializer):
    year = serializers.IntegerField(required=False, min_value=svc.FIRST_YEAR, max_value=2100)
    category = serializers.ChoiceField(choices=RosterCategory.choices, required=False)


class RosterAdminApiMixin(ScopedViewSetMixin):
    """Signed-in users other than national and port administrators get 404, like the pages."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]  # authentication, IsAuthenticated
        require_role(request.user, *svc.ROSTER_ADMINS, error=exceptions.NotFound)


@extend_schema(
    summary=_("重点企业名单（本人可见，附辖区内企业数与覆盖率）"),
    parameters=[
        int_parameter("year", _("年度"), minimum=svc.FIRST_YEAR, maximum=2100),
        OpenApiParameter("category", OpenApiTypes.STR, enum=RosterCategory.values, description=_("名单类别")),
    ],
    responses={200: RosterSerializer(many=True), **READ_ERRORS},
)
class RosterListAPIView(RosterAdminApiMixin, generics.ListAPIView):
    queryset = Roster.objects.all()
    serializer_class = RosterSerializer

    def get_queryset(self) -> Any:
        query = RosterCoverageQuerySerializer(data=self.request.query_params)
        valid_query(query)
        return svc.rosters_with_counts(
            self.request.user, year=query.validated_data.get("year"), category=query.validated_data.get("category")
        )


@extend_schema(
    summary=_("重点企业备案覆盖情况（与页面相同的统计）"),
    parameters=[
        int_parameter("year", _("年度；不填为全部年度"), minimum=svc.FIRST_YEAR, maximum=2100),
        OpenApiParameter(
            "category",
            OpenApiTypes.STR,
            enum=RosterCategory.values,
            description=_("名单类别：限定按端口和按月份的统计；按类别的表总是列出全部类别"),
        ),
    ],
    responses={200: RosterCoverageSerializer, **READ_ERRORS},
)
class CoverageAPIView(RosterAdminApiMixin, generics.GenericAPIView):
    queryset = RosterEntry.objects.all()
    serializer_class = RosterCoverageSerializer
    pagination_class = None

    def get(self, request: Request) -> Response:
        query = RosterCoverageQuerySerializer(data=request.query_params)
        valid_query(query)
        figures = svc.coverage(
            signed_in(request), year=query.validated_data.get("year"), category=query.validated_data.get("category")
        )
        data = {
            **figures,
            "total": figures["total"].as_dict(),
            "categories": [row.as_dict() for row in figures["categories"]],
            "ports": [row.as_dict() for row in figures["ports"]],
        }
        return Response(RosterCoverageSerializer(data).data)
