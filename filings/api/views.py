"""The filing API: filing units (read-only), a unit's patent rights, products with their yearly versions and
the workflow actions on a product's current version.

Every viewset reads through the scoping rule (`ScopedViewSetMixin`): what is out of scope answers 404, for
the list, the detail and every action alike. Writes go through `filings.services` and `filings.workflow`;
their errors are turned into HTTP answers in one place, `ApiErrorsMixin`:
`django.core.exceptions.ValidationError` (and `WorkflowError`) → 400 `{"field": ["…"]}` (a message that
belongs to no field → `{"non_field_errors": ["…"]}`), `PermissionDenied` → 403, `Http404` → 404; an approval
the filing's rule set refuses (`workflow.FindingsError`) → 409 with the messages by field and `findings`; an
action that lost a race (`patent_platform.concurrency.Conflict`: another action changed the object first) → 409
`{"detail": "…", "code": "conflict"}`.
Only enterprise users write; other roles read within their scope and get 403 on a write.
"""

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, OuterRef, Prefetch, Subquery
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from filings import services, workflow
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
from filings.models import FilingUnit, PatentLink, PatentRight, Product, ProductVersion
from patent_platform.api.base import ScopedModelViewSet, ScopedReadOnlyViewSet
from patent_platform.choices import Role
from patent_platform.concurrency import Conflict
from patent_platform.params import YEAR_MAX, int_param, int_parameter

# ---------------------------------------------------------------------------------------------
# Errors, in one place

ERRORS = {
    400: OpenApiResponse(
        OpenApiTypes.OBJECT,
        description=_('校验错误：{"字段": ["消息", …]}；不属于某个字段的消息在 "non_field_errors" 中'),
    ),
    403: OpenApiResponse(OpenApiTypes.OBJECT, description=_('未登录，或您的角色不能执行该操作：{"detail": "…"}')),
    404: OpenApiResponse(OpenApiTypes.OBJECT, description=_("不存在，或不在您的数据范围内")),
}
CONFLICT = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description=_('另一操作已先完成（如两人同时审核），本次操作未执行：{"detail": "…", "code": "conflict"}'),
)
READ_ERRORS = {403: ERRORS[403], 404: ERRORS[404]}
FINDINGS = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description=_(
        '自动检查发现的问题阻止通过：{"字段": ["消息", …], "findings": [{"code", "field", "message", "overridable"}]}；'
        'overridable 为 true 的问题（未处理的权属冲突）填写 "override_reason" 后可以通过；'
        '另一操作已先完成（如两人同时审核）时为 {"detail": "…", "code": "conflict"}'
    ),
)


def validation_error_detail(exc: DjangoValidationError) -> dict[str, list[str]]:
    """Django's ValidationError as DRF's error body: messages by field, field-less ones as non_field_errors."""
    key = api_settings.NON_FIELD_ERRORS_KEY
    if hasattr(exc, "error_dict"):
        detail: dict[str, list[str]] = {}
        for field, messages in exc.message_dict.items():
            detail.setdefault(key if field in ("", NON_FIELD_ERRORS) else field, []).extend(map(str, messages))
        return detail
    return {key: [str(m) for m in exc.messages]}


class ApiErrorsMixin:
    """Services and the workflow raise Django's exceptions; answer them as the API's 400/403/404."""

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, Conflict):  # a lost race: another action changed the object first (409)
            return Response({"detail": " ".join(exc.messages), "code": "conflict"}, status=status.HTTP_409_CONFLICT)
        if isinstance(exc, workflow.FindingsError):  # the filing's rule set refuses the approval
            body: dict[str, Any] = {**validation_error_detail(exc), "findings": [f.as_dict() for f in exc.findings]}
            return Response(body, status=status.HTTP_409_CONFLICT)
        if isinstance(exc, DjangoValidationError):  # WorkflowError included
            exc = exceptions.ValidationError(validation_error_detail(exc))
        return super().handle_exception(exc)  # type: ignore[misc]  # DRF maps Http404 and PermissionDenied


def require_filer(user: Any) -> None:
    """Only enterprise users write; other roles (reviewers, administrators, ports) read within their scope."""
    if getattr(user, "role", None) != Role.ENTERPRISE:
        raise exceptions.PermissionDenied(_("只有备案单位的用户可以修改备案数据；您的角色只能查看。"))


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


@extend_schema_view(
    list=extend_schema(
        summary=_("本单位有权使用的专利"), responses={200: PatentRightSerializer(many=True), **READ_ERRORS}
    ),
    retrieve=extend_schema(summary=_("专利权利"), responses={200: PatentRightSerializer, **READ_ERRORS}),
    create=extend_schema(
        summary=_("登记专利（首次提及时创建专利记录）"),
        request=PatentRightCreateSerializer,
        responses={201: PatentRightSerializer, **ERRORS},
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
class PatentRightViewSet(ApiErrorsMixin, ScopedModelViewSet):
    queryset = PatentRight.objects.select_related("patent")
    serializer_class = PatentRightSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        require_filer(request.user)
        body = PatentRightCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        unit = services.member_unit(request.user)
        right = services.add_patent_right(unit=unit, user=request.user, data=body.service_data())
        return Response(self._read(right.pk), status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        right = self.get_object()
        require_filer(request.user)
        body = PatentRightUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        services.update_patent_right(right=right, user=request.user, data=body.service_data())
        return Response(self._read(right.pk))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        right = self.get_object()
        require_filer(request.user)
        services.delete_patent_right(right=right, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _read(self, pk: int) -> dict[str, Any]:
        return self.get_serializer(self.get_queryset().get(pk=pk)).data


# ---------------------------------------------------------------------------------------------
# Products


def _action_schema(name: str, summary: Any, request: Any = None, code: int = 200) -> Any:
    return extend_schema(
        operation_id=f"products_{name}",
        summary=summary,
        request=request,
        responses={code: ProductSerializer, **ERRORS, 409: CONFLICT},
    )


PRODUCT_FILTERS = [
    OpenApiParameter("status", str, enum=FilingStatus.values, description=_("当前版本的状态")),
    int_parameter("data_year", _("当前版本的数据年度"), maximum=YEAR_MAX),
    OpenApiParameter("product_class", str, description=_("当前版本的产品分类代码")),
    OpenApiParameter("filing_number", str, description=_("产品备案号")),
    OpenApiParameter("q", str, description=_("产品名称（当前版本）包含")),
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
class ProductViewSet(ApiErrorsMixin, ScopedModelViewSet):
    """A product, its current version (the latest data year) embedded, and the workflow on that version."""

    queryset = Product.objects.prefetch_related(
        Prefetch("versions", queryset=ProductVersion.objects.select_related("product_class")),
        Prefetch("versions__links", queryset=PatentLink.objects.select_related("right__patent")),
        "versions__return_reasons",
    )
    serializer_class = ProductSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> Any:
        qs = super().get_queryset()
        return self._filter(qs) if self.action == "list" else qs

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # The same rows as ProductSerializer(many=True), built by `product_list_data` from at most four
        # queries per page: no prefetch of every version's links, no serializer per product (issue 7).
        # (A comment, not a docstring: drf-spectacular would publish a docstring as the operation's text.)
        queryset = self.filter_queryset(self.get_queryset()).prefetch_related(None).values(*PRODUCT_LIST_COLUMNS)
        page = self.paginate_queryset(queryset)
        rows = product_list_data(list(queryset) if page is None else page, self.get_serializer_context())
        return Response(rows) if page is None else self.get_paginated_response(rows)

    def _filter(self, qs: Any) -> Any:
        params = self.request.query_params
        wanted: dict[str, Any] = {}
        if params.get("status"):
            if params["status"] not in FilingStatus.values:
                raise exceptions.ValidationError({"status": [_("未知的状态。")]})
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
        require_filer(request.user)
        body = ProductCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data, links = body.service_data()
        data_year = data.pop("data_year", None)
        unit = services.member_unit(request.user)
        version = services.create_product(
            unit=unit, user=request.user, data=data, links=links or [], data_year=data_year
        )
        return self._respond(version.product_id, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        product = self.get_object()
        require_filer(request.user)
        body = ProductUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data, links = body.service_data()
        services.update_version(version=self._current(product), user=request.user, data=data, links=links)
        return self._respond(product.pk)

    @_action_schema("submit", _("提交审核（已退回的版本：重新提交）"))
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        product = self.get_object()
        workflow.submit(self._current(product), request.user)
        return self._respond(product.pk)

    @_action_schema("return", _("退回修改，按字段说明理由（审核员）"), ReturnSerializer)
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_for_correction(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        product = self.get_object()
        body = ReturnSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        workflow.return_for_correction(self._current(product), request.user, body.validated_data["reasons"])
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
        workflow.approve(self._current(product), request.user, override_reason=body.validated_data["override_reason"])
        return self._respond(product.pk)

    @_action_schema("withdraw", _("撤回（备案单位）"), ReasonSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        product = self.get_object()
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        workflow.withdraw(self._current(product), request.user, body.validated_data["reason"])
        return self._respond(product.pk)

    @_action_schema("revoke", _("撤销备案，须说明理由（审核员）"), ReasonSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        product = self.get_object()
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        workflow.revoke(self._current(product), request.user, body.validated_data["reason"])
        return self._respond(product.pk)

    @_action_schema(
        "yearly_update", _("年度更新：复制最新版本为下一数据年度的草稿（备案单位）"), YearlyUpdateSerializer, 201
    )
    @action(detail=True, methods=["post"], url_path="yearly-update", url_name="yearly-update")
    def yearly_update(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        product = self.get_object()
        body = YearlyUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        workflow.start_yearly_update(product, request.user, body.validated_data.get("data_year"))
        return self._respond(product.pk, status.HTTP_201_CREATED)

    @_action_schema("opt_in", _("选择当前数据年度是否参与专利密集型产品认定（备案单位）"), OptInSerializer)
    @action(detail=True, methods=["post"], url_path="opt-in", url_name="opt-in")
    def opt_in(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        product = self.get_object()
        body = OptInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        workflow.set_certification_opt_in(self._current(product), request.user, body.validated_data["opt_in"])
        return self._respond(product.pk)
