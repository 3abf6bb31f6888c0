"""Token authentication for enterprise systems: e-mail and password → `Authorization: Bearer …`
(patent_platform/api/auth.py)."""

from typing import ClassVar

from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from patent_platform.api.auth import issue_token
from patent_platform.api.problems import ApiProblem, problem_json_response
from patent_platform.api.schema import problem
from patent_platform.ratelimit import TokenRateThrottle
from patent_platform.security import EMAIL_UNCONFIRMED, otp_required


class CredentialsSerializer(serializers.Serializer[None]):  # validates the request only: no instance
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})


class ObtainTokenView(APIView):
    scope_policy: ClassVar[str] = "account"
    permission_classes = (AllowAny,)
    authentication_classes = ()
    throttle_classes = (TokenRateThrottle,)  # RATE_LIMITS token (per address) and token_account (per e-mail)

    @extend_schema(
        request=CredentialsSerializer,
        responses={
            200: inline_serializer("TokenResponse", {"token": serializers.CharField()}),
            400: problem(_("字段错误（code 为 validation），或电子邮箱、密码不正确（code 为 invalid_credentials）")),
            403: problem(
                _(
                    "须使用双因素认证的工作人员账号不能获取令牌（code 为 permission_denied），"
                    "或电子邮箱尚未确认（code 为 email_unconfirmed）"
                )
            ),
            429: problem(
                _(
                    "请求过于频繁（code 为 throttled），或连续登录失败后账号已暂时锁定（code 为 account_locked）；"
                    "Retry-After 头给出可重试的秒数"
                )
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = CredentialsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request._request,  # noqa: SLF001 (DRF's wrapped HttpRequest)
            username=data.validated_data["email"].lower(),
            password=data.validated_data["password"],
        )
        if user is None:  # a locked account: django-axes answers instead (views.auth.lockout_response)
            raise ApiProblem("invalid_credentials", _("电子邮箱或密码不正确。"))
        if otp_required(user):  # staff sign in to pages with a second factor; tokens are for enterprise systems
            raise ApiProblem(
                "permission_denied",
                _("工作人员账号须使用双因素认证登录网页，不能获取 API 令牌。API 令牌仅供企业系统使用。"),
            )
        if user.email_confirmed_at is None:  # patent_platform/confirmation.py
            raise ApiProblem("email_unconfirmed", EMAIL_UNCONFIRMED)
        token = issue_token(user)  # a new one when the old has expired (API_TOKEN_MAX_AGE_DAYS)
        return Response({"token": token.key})


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 handler (patent_platform.urls.handler404): under /api/ a path that no route matches
    (`/api/v1/products/abc/`) answers JSON like the API's own 404s, as the schema documents; pages keep
    Django's page."""
    if request.path.startswith("/api/"):
        return problem_json_response("not_found", _("未找到。"))
    return defaults.page_not_found(request, exception)
