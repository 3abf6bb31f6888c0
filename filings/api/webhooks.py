"""/api/v1/webhooks/: a filing unit's webhook endpoints and their delivery log (filings/webhooks.py).

Only the unit's own enterprise users see its endpoints (`WebhookEndpoint.objects.visible_to`): for every
other role and every other unit they are absent (404, an empty list). Only enterprise users register one
(another role: 403). The rules live in the service layer; this module reads the request, calls it and turns
Django's ValidationError into DRF's (the API's error rendering does the rest).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from filings import services, webhooks
from filings.models import WebhookDelivery, WebhookEndpoint
from filings.models.webhooks import EVENT_TYPES
from patent_platform.api.base import ScopedViewSetMixin
from patent_platform.api.fields import ModelSerializer
from patent_platform.choices import Role
from patent_platform.params import ID_MAX, ID_REGEX
from patent_platform.roles import require_role, signed_in

TAGS = ["webhooks"]


class WebhookEndpointSerializer(ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=list(EVENT_TYPES)), read_only=True)

    class Meta:
        model = WebhookEndpoint
        fields: ClassVar[list[str]] = ["id", "url", "events", "status", "verified_at", "created_at"]
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    """The answer to a registration: the endpoint with its signing secret."""

    class Meta(WebhookEndpointSerializer.Meta):
        fields: ClassVar[list[Any]] = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointCreateSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=500, help_text=_("https:// 地址"))
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=list(EVENT_TYPES)),
        required=False,
        allow_empty=False,
        max_length=len(EVENT_TYPES),
        help_text=_("订阅的事件；不填为全部"),
    )


class WebhookDeliverySerializer(ModelSerializer):
    payload = serializers.JSONField(read_only=True, help_text=_('发送的内容：{"type", "timestamp", "data"}'))

    class Meta:
        model = WebhookDelivery
        fields: ClassVar[list[str]] = [
            "id",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "last_attempt_at",
            "delivered_at",
            "replayed_at",
            "created_at",
            "payload",
        ]
        read_only_fields = fields


NOT_FOUND = OpenApiResponse(description=_("不存在，或不属于您的单位"))
DENIED = OpenApiResponse(description=_("您的角色不能执行该操作（只有备案单位的企业用户可以）"))
DELIVERY_ID = OpenApiParameter(
    "delivery_id",
    {"type": "integer", "minimum": 1, "maximum": ID_MAX},
    OpenApiParameter.PATH,
    description=_("投递记录的 id"),
)


@extend_schema_view(
    list=extend_schema(
        operation_id="webhooks_list",
        tags=TAGS,
        summary=_("本单位的 Webhook 接收地址"),
        responses={200: WebhookEndpointSerializer(many=True)},
    ),
    create=extend_schema(
        operation_id="webhooks_create",
        tags=TAGS,
        summary=_("登记接收地址（待验证；返回签名密钥）"),
        request=WebhookEndpointCreateSerializer,
        responses={201: WebhookEndpointCreatedSerializer, 403: DENIED},
    ),
    retrieve=extend_schema(
        operation_id="webhooks_retrieve",
        tags=TAGS,
        summary=_("接收地址"),
        responses={200: WebhookEndpointSerializer, 404: NOT_FOUND},
    ),
    destroy=extend_schema(
        operation_id="webhooks_destroy",
        tags=TAGS,
        summary=_("删除接收地址及其投递记录"),
        responses={204: None, 404: NOT_FOUND},
    ),
)
class WebhookEndpointViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """A filing unit's webhook endpoints: signed events when its filings are returned, approved, revoked or
    flagged and its products certified (docs/API.md, "Webhooks"). Only the unit's own users see them."""

    queryset = WebhookEndpoint.objects.all()
    serializer_class = WebhookEndpointSerializer
    parser_classes = (JSONParser,)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        require_role(request.user, Role.ENTERPRISE, message=_("只有备案单位的企业用户可以登记 Webhook。"))
        body = WebhookEndpointCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        unit = services.member_unit(request.user)
        # the service's refusals (a bad address, too many endpoints) are answered by the API's problem handler
        endpoint = webhooks.endpoint_create(
            unit=unit, user=signed_in(request), url=body.validated_data["url"], events=body.validated_data.get("events")
        )
        endpoint.refresh_from_db()
        return Response(WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: WebhookEndpoint) -> None:
        webhooks.endpoint_delete(endpoint=instance, user=self.request.user)

    @extend_schema(
        operation_id="webhooks_verify",
        tags=TAGS,
        summary=_("重新验证（发送 webhook.verification）；已停用的地址由此重新启用"),
        request=None,
        responses={202: WebhookDeliverySerializer, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def verify(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        delivery = webhooks.endpoint_verify(endpoint=self.get_object(), user=signed_in(request))
        delivery.refresh_from_db()
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        operation_id="webhook_deliveries_list",
        tags=TAGS,
        summary=_("投递记录（最新在前）"),
        responses={200: WebhookDeliverySerializer(many=True), 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        endpoint = self.get_object()
        queryset = WebhookDelivery.objects.visible_to(request.user).filter(endpoint=endpoint)
        page = self.paginate_queryset(queryset)
        data = WebhookDeliverySerializer(queryset if page is None else page, many=True).data
        return Response(data) if page is None else self.get_paginated_response(data)

    @extend_schema(
        operation_id="webhook_deliveries_replay",
        tags=TAGS,
        summary=_("重发一次投递（相同的事件标识与内容）"),
        parameters=[DELIVERY_ID],
        request=None,
        responses={202: WebhookDeliverySerializer, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], url_path=rf"deliveries/(?P<delivery_id>{ID_REGEX})/replay")
    def replay(self, request: Request, pk: str | None = None, delivery_id: str = "", **kwargs: Any) -> Response:
        endpoint = self.get_object()
        delivery = webhooks.delivery_replay(delivery_id=int(delivery_id), user=signed_in(request), endpoint=endpoint)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
