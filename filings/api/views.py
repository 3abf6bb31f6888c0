"""The filing API: filing units (read-only), a unit's patent rights, products with their yearly versions and
the workflow actions on a product's current version.

Every viewset reads through the scoping rule (`ScopedViewSetMixin`): what is out of scope answers 404, for
the list, the detail and every action alike. Writes go through `filings.services` and `filings.workflow`;
their errors are answered in one place, the API's exception handler (patent_platform/api/problems.py), as
RFC 9457 problem details: `django.core.exceptions.ValidationError` (and `WorkflowError`) → 400 with one
`{pointer, code, message}` per message (the services' "patents" is the request's "links": `problem_fields`),
`PermissionDenied` → 403, `Http404` → 404; an approval the filing's rule set refuses (`workflow.FindingsError`)
→ 409 `findings`; an action that lost a race (`patent_platform.concurrency.Conflict`) → 409 `conflict`.
Only enterprise users write; other roles read within their scope and get 403 on a write.
"""

from typing import Any, ClassVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connections
from django.db.models import Exists, F, OuterRef, Prefetch, Subquery
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from filings import services, workflow
from filings.api.rendered import product_list_json
from filings.api.serializers import (
    PRODUCT_LIST_COLUMNS,
    ApproveSerializer,
    FilingUnitSerializer,
    OptInSerializer,
    PatentRightCreateSerializer,
    PatentRightSerializer,
    PatentRightUpdateSerializer,
    ProductCreateSerializer,
    ProductSerializer,
    ProductUpdateSerializer,
    ReasonSerializer,
    ReturnSerializer,
    YearlyUpdateSerializer,
    current_version,
    product_list_data,
)
from filings.choices import FilingStatus
from filings.identifiers import parse_patent_number
from filings.models import FilingUnit, PatentLink, PatentRight, Product, ProductVersion
from patent_platform.api.base import ScopedModelViewSet, ScopedReadOnlyViewSet
from patent_platform.api.pagination import IdCursorPagination
from patent_platform.api.problems import invalid_parameter
from patent_platform.api.renderers import JSONRenderer
from patent_platform.api.schema import CONFLICT, DUPLICATE, ERRORS, FINDINGS, READ_ERRORS, problem
from patent_platform.choices import Role
from patent_platform.params import YEAR_MAX, int_param, int_parameter, parse_moment
from patent_platform.roles import require_role, signed_in

# ---------------------------------------------------------------------------------------------
# Errors: every one is a problem (patent_platform/api/problems.py, rendered by its exception handler); the
# answers each operation documents are declared once in patent_platform/api/schema.py.


# Only enterprise users write; other roles (reviewers, administrators, ports) read within their scope.
FILER_ONLY = _("只有备案单位的用户可以修改备案数据；您的角色只能查看。")


# ---------------------------------------------------------------------------------------------
# Filing units


@extend_schema_view(
    list=extend_schema(
        summary=_("备案单位列表（本人数据范围内）"), responses={200: FilingUnitSerializer(many=True), **READ_ERRORS}
    ),
    retrieve=extend_schema(summary=_("备案单位"), responses={200: FilingUnitSerializer, **READ_ERRORS}),
)
class FilingUnitViewSet(ScopedReadOnlyViewSet):
    queryset = FilingUnit.objects.select_related("region")
    serializer_class = FilingUnitSerializer


# ---------------------------------------------------------------------------------------------
# Patent rights


PATENT_FILTERS = [
    OpenApiParameter(
        "number", str, description=_("专利申请号（任一写法：201710601862.3、ZL2017106018623、CN…），精确匹配")
    ),
]


@extend_schema_view(
    list=extend_schema(
        summary=_("本单位有权使用的专利"),
        parameters=PATENT_FILTERS,
        responses={200: PatentRightSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(summary=_("专利权利"), responses={200: PatentRightSerializer, **READ_ERRORS}),
    create=extend_schema(
        summary=_("登记专利（首次提及时创建专利记录）"),
        request=PatentRightCreateSerializer,
        responses={201: PatentRightSerializer, **ERRORS, 409: DUPLICATE},
    ),
    partial_update=extend_schema(
        summary=_("修改权利类型、许可类型、许可备案号或期限"),
        request=PatentRightUpdateSerializer,
        responses={200: PatentRightSerializer, **ERRORS},
    ),
    destroy=extend_schema(
        summary=_("删除专利登记（未关联到产品时）"), responses={204: OpenApiResponse(description=_("已删除")), **ERRORS}
    ),
)
class PatentRightViewSet(ScopedModelViewSet):
    queryset = PatentRight.objects.select_related("patent")
    serializer_class = PatentRightSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]  # noqa: RUF012  (django-stubs: an instance variable of View)

    def get_queryset(self) -> Any:
        qs = super().get_queryset()
        number = self.request.query_params.get("number", "").strip() if self.action == "list" else ""
        if number:
            try:
                parsed = parse_patent_number(number)
            except DjangoValidationError as exc:
                raise invalid_parameter("number", exc.messages[0], "patent_format") from exc
            qs = qs.filter(patent__number=parsed.normalized)
        return qs

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        require_role(request.user, Role.ENTERPRISE, message=FILER_ONLY)
        body = PatentRightCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        unit = services.member_unit(request.user)
        right = services.patent_right_create(unit=unit, user=signed_in(request), data=body.service_data())
        return Response(self._read(right.pk), status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        right = self.get_object()
        require_role(request.user, Role.ENTERPRISE, message=FILER_ONLY)
        body = PatentRightUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        services.patent_right_update(right=right, user=signed_in(request), data=body.service_data())
        return Response(self._read(right.pk))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        right = self.get_object()
        require_role(request.user, Role.ENTERPRISE, message=FILER_ONLY)
        services.patent_right_delete(right=right, user=signed_in(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _read(self, pk: int) -> dict[str, Any]:
        return self.get_serializer(self.get_queryset().get(pk=pk)).data


# ---------------------------------------------------------------------------------------------
# Products


def _action_schema(name: str, summary: Any, request: Any = None, code: int = 200, **errors: Any) -> Any:
    """`errors`: responses that say more than the common ones (`e403=problem(…)`)."""
    more = {int(key[1:]): value for key, value in errors.items()}
    return extend_schema(
        operation_id=f"products_{name}",
        summary=summary,
        request=request,
        responses={code: ProductSerializer, **ERRORS, 409: CONFLICT, **more},
    )


UNIT_UNVERIFIED = problem(
    _(
        "您的角色不能执行该操作（code 为 permission_denied）；或本单位的身份尚未核验，不能提交"
        "（code 为 unit_unverified，见 docs/UNITS.md）"
    )
)


PRODUCT_FILTERS = [
    OpenApiParameter("status", str, enum=FilingStatus.values, description=_("当前版本的状态")),
    int_parameter("data_year", _("当前版本的数据年度"), maximum=YEAR_MAX),
    OpenApiParameter("product_class", str, description=_("当前版本的产品分类代码")),
    OpenApiParameter("filing_number", str, description=_("产品备案号")),
    OpenApiParameter("q", str, description=_("产品名称（当前版本）包含")),
    OpenApiParameter(
        "updated_since",
        OpenApiTypes.DATETIME,
        description=_(
            "只列出此刻（ISO 8601，如 2026-11-30T08:00:00+08:00；不带时区按北京时间）以来有改动的产品："
            "任一年度版本被修改、提交、审核、撤回或撤销。同步时取上次同步开始的时刻。"
        ),
    ),
]


@extend_schema_view(
    list=extend_schema(
        summary=_("备案产品列表（本人数据范围内）"),
        parameters=PRODUCT_FILTERS,
        responses={200: ProductSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(summary=_("备案产品"), responses={200: ProductSerializer, **READ_ERRORS}),
    create=extend_schema(
        summary=_("新建产品及其第一个年度版本（草稿）"),
        request=ProductCreateSerializer,
        responses={201: ProductSerializer, **ERRORS},
    ),
    partial_update=extend_schema(
        summary=_("修改当前版本（草稿或已退回时）；给出 links 时替换整个专利清单"),
        request=ProductUpdateSerializer,
        responses={200: ProductSerializer, **ERRORS},
    ),
)
class ProductViewSet(ScopedModelViewSet):
    """A product, its current version (the latest data year) embedded, and the workflow on that version."""

    # two calls: django-stubs take the Prefetch objects of one call to share a queryset type
    queryset = Product.objects.prefetch_related(
        Prefetch("versions", queryset=ProductVersion.objects.select_related("product_class"))
    ).prefetch_related(
        Prefetch("versions__links", queryset=PatentLink.objects.select_related("right__patent")),
        "versions__return_reasons",
    )
    serializer_class = ProductSerializer
    problem_fields: ClassVar[dict[str, Any]] = {
        "patents": "links"
    }  # the services check "patents"; the request carries "links"
    http_method_names = ["get", "post", "patch", "head", "options"]  # noqa: RUF012  (django-stubs: an instance variable of View)

    def get_queryset(self) -> Any:
        qs = super().get_queryset()
        return self._filter(qs) if self.action == "list" else qs

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # The same rows as ProductSerializer(many=True), built by `product_list_data` from at most four
        # queries per page: no prefetch of every version's links, no serializer per product (issue 7).
        # (A comment, not a docstring: drf-spectacular would publish a docstring as the operation's text.)
        # On PostgreSQL, with a JSON answer, the page is read as ids and rendered to JSON by the database in one
        # query (filings/api/rendered.py: the same JSON, no Python per row; the renderer passes the text through).
        queryset = self.filter_queryset(self.get_queryset()).prefetch_related(None)
        context = self.get_serializer_context()
        if (
            connections[queryset.db].vendor == "postgresql"
            and isinstance(self.paginator, IdCursorPagination)
            and isinstance(getattr(request, "accepted_renderer", None), JSONRenderer)
        ):
            page = self.paginate_queryset(queryset.values("id"))
            ids = [row["id"] for row in page] if page is not None else []
            text = product_list_json(ids, context, using=queryset.db)
            if text is not None:
                return self.paginator.get_paginated_json_response(text)
            # only Python can build this page: its products' columns (the same scoped queryset), in the page's order
            by_id = {row["id"]: row for row in queryset.filter(pk__in=ids).values(*PRODUCT_LIST_COLUMNS)}
            return self.get_paginated_response(product_list_data([by_id[pk] for pk in ids], context))
        queryset = queryset.values(*PRODUCT_LIST_COLUMNS)
        page = self.paginate_queryset(queryset)
        rows = product_list_data(list(queryset) if page is None else page, context)
        return Response(rows) if page is None else self.get_paginated_response(rows)

    def _filter(self, qs: Any) -> Any:
        params = self.request.query_params
        wanted: dict[str, Any] = {}
        if params.get("status"):
            if params["status"] not in FilingStatus.values:
                raise invalid_parameter("status", _("未知的状态。"), "invalid_choice")
            wanted["versions__status"] = params["status"]
        year = int_param(params, "data_year", _("数据年度须为 1 到 9999 之间的整数，如 2025。"), maximum=YEAR_MAX)
        if year is not None:
            wanted["versions__data_year"] = year
        if params.get("product_class"):
            wanted["versions__product_class__code"] = params["product_class"].strip()
        if params.get("q"):
            wanted["versions__name__icontains"] = params["q"].strip()
        if params.get("filing_number"):
            qs = qs.filter(filing_number=params["filing_number"].strip().upper())
        if params.get("updated_since"):
            since = parse_moment(params["updated_since"])
            if since is None:
                raise invalid_parameter(
                    "updated_since", _("须为 ISO 8601 日期时间，如 2026-11-30T08:00:00+08:00。"), "invalid_datetime"
                )
            changed = ProductVersion.objects.filter(product=OuterRef("pk"), updated_at__gte=since)
            qs = qs.filter(Exists(changed))
        if wanted:
            # every condition on the same (current) version: one join, in one filter() call
            latest = ProductVersion.objects.filter(product=OuterRef("pk")).order_by("-data_year", "-id")
            qs = qs.annotate(current_version_id=Subquery(latest.values("id")[:1])).filter(
                versions__id=F("current_version_id"), **wanted
            )
        return qs

    def _current(self, product: Product) -> ProductVersion:
        version = current_version(product)
        if version is None:
            raise Http404
        return version

    def _respond(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        product = self.get_queryset().get(pk=pk)
        return Response(self.get_serializer(product).data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        require_role(request.user, Role.ENTERPRISE, message=FILER_ONLY)
        body = ProductCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data, links = body.service_data()
        data_year = data.pop("data_year", None)
        unit = services.member_unit(request.user)
        version = services.product_create(
            unit=unit, user=signed_in(request), data=data, links=links or [], data_year=data_year
        )
        return self._respond(version.product_id, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        product = self.get_object()
        require_role(request.user, Role.ENTERPRISE, message=FILER_ONLY)
        body = ProductUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data, links = body.service_data()
        services.version_update(version=self._current(product), user=signed_in(request), data=data, links=links)
        return self._respond(product.pk)

    @_action_schema("submit", _("提交审核（已退回的版本：重新提交）"), e403=UNIT_UNVERIFIED)
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        product = self.get_object()
        workflow.version_submit(version=self._current(product), user=signed_in(request))
        return self._respond(product.pk)

    @_action_schema("return", _("退回修改，按字段说明理由（审核员）"), ReturnSerializer)
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_for_correction(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        product = self.get_object()
        body = ReturnSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        workflow.version_return(
            version=self._current(product), user=signed_in(request), reasons=body.validated_data["reasons"]
        )
        return self._respond(product.pk)

    @extend_schema(
        operation_id="products_approve",
        summary=_(
            "通过备案，首次通过时分配产品备案号（审核员）；自动检查的问题阻止通过（409），"
            "未处理的权属冲突须填写 override_reason"
        ),
        request=ApproveSerializer,
        responses={200: ProductSerializer, **ERRORS, 409: FINDINGS},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        product = self.get_object()
        body = ApproveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        workflow.version_approve(
            version=self._current(product),
            user=signed_in(request),
            override_reason=body.validated_data["override_reason"],
        )
        return self._respond(product.pk)

    @_action_schema("withdraw", _("撤回（备案单位）"), ReasonSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        product = self.get_object()
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        workflow.version_withdraw(
            version=self._current(product), user=signed_in(request), reason=body.validated_data["reason"]
        )
        return self._respond(product.pk)

    @_action_schema("revoke", _("撤销备案，须说明理由（审核员）"), ReasonSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        product = self.get_object()
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        workflow.version_revoke(
            version=self._current(product), user=signed_in(request), reason=body.validated_data["reason"]
        )
        return self._respond(product.pk)

    @_action_schema(
        "yearly_update", _("年度更新：复制最新版本为下一数据年度的草稿（备案单位）"), YearlyUpdateSerializer, 201
    )
    @action(detail=True, methods=["post"], url_path="yearly-update", url_name="yearly-update")
    def yearly_update(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        product = self.get_object()
        body = YearlyUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        workflow.product_yearly_update_start(
            product=product, user=signed_in(request), data_year=body.validated_data.get("data_year")
        )
        return self._respond(product.pk, status.HTTP_201_CREATED)

    @_action_schema("opt_in", _("选择当前数据年度是否参与专利密集型产品认定（备案单位）"), OptInSerializer)
    @action(detail=True, methods=["post"], url_path="opt-in", url_name="opt-in")
    def opt_in(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        product = self.get_object()
        body = OptInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        workflow.version_set_certification_opt_in(
            version=self._current(product), user=signed_in(request), opt_in=body.validated_data["opt_in"]
        )
        return self._respond(product.pk)
