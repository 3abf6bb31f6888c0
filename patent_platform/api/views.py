"""Token authentication for enterprise systems: e-mail and password → `Authorization: Token …`."""

from typing import Any, ClassVar

from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from patent_platform.ratelimit import TokenRateThrottle, throttled_response_schema
from patent_platform.security import otp_required


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})


class ObtainTokenView(APIView):
    scope_policy: ClassVar[str] = "account"
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = [TokenRateThrottle]  # RATE_LIMITS token (per address) and token_account (per e-mail)

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: inline_serializer("TokenResponse", {"token": serializers.CharField()}),
            400: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description=_('字段错误 {"email": ["…"]}，或电子邮箱、密码不正确 {"detail": "…"}'),
            ),
            403: OpenApiResponse(
                OpenApiTypes.OBJECT, description=_('须使用双因素认证的工作人员账号不能获取令牌 {"detail": "…"}')
            ),
            429: throttled_response_schema(),
        },
    )
    def post(self, request: Request) -> Response:
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request._request, username=data.validated_data["email"].lower(), password=data.validated_data["password"]
        )
        if user is None:
            return Response({"detail": _("电子邮箱或密码不正确，或账号已被锁定。")}, status=status.HTTP_400_BAD_REQUEST)
        if otp_required(user):  # staff sign in to pages with a second factor; tokens are for enterprise systems
            return Response(
                {"detail": _("工作人员账号须使用双因素认证登录网页，不能获取 API 令牌。API 令牌仅供企业系统使用。")},
                status=status.HTTP_403_FORBIDDEN,
            )
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 handler (patent_platform.urls.handler404): under /api/ a path that no route matches
    (`/api/v1/products/abc/`) answers JSON like the API's own 404s, as the schema documents; pages keep
    Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": str(_("未找到。"))}, status=404)
    return defaults.page_not_found(request, exception)
