"""/api/v1/verify/: the verification API for outside systems (docs/VERIFICATION_API.md).

Thin views: authenticate the client (verification/oauth.py), count its quota (verification/quota.py), check the
scope the endpoint needs, call one function of verification/verify.py with the client's principal, and record the
call (usage row and audit record, verification/services.py) whatever the answer. Every error is a problem
(patent_platform/api/problems.py): 400 a bad parameter, 401 no/invalid/expired token or a suspended or expired
client, 403 a scope the client lacks, 404 unknown or outside the client's region, 429 over its quota.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
from typing import Any, ClassVar
from urllib.parse import unquote_plus

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema
from oauth2_provider.models import AccessToken
from oauth2_provider.views import TokenView
from rest_framework import exceptions
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from filings.models import Product
from patent_platform import ratelimit
from patent_platform.api.base import ScopedViewSetMixin
from patent_platform.api.problems import ApiProblem, invalid_parameter, problem_json_response, valid_query
from patent_platform.api.schema import problem
from patent_platform.middleware import client_ip
from provincial.api.serializers import RegionStatisticsSerializer
from verification import oauth, quota, services, verify
from verification.api.serializers import (
    AsOfQuerySerializer,
    CertificateAnswerSerializer,
    FilingAnswerSerializer,
    StatementAnswerSerializer,
    UnitAnswerSerializer,
)
from verification.choices import ClientScope, Endpoint
from verification.models import VerificationClient

TOKEN_PATH = "/api/v1/verify/token/"  # noqa: S105 (a URL, not a password)
EARLIEST_YEAR = 2000
ERRORS = {
    400: problem(_("参数有误：errors 中每项给出 parameter（出错的查询参数）、code 与 message")),
    401: problem(_("缺少访问令牌，令牌无效或已过期，或客户端已暂停、已过有效期（WWW-Authenticate 头）")),
    403: problem(_("客户端没有该接口所需的权限范围")),
    404: problem(_("不存在，或不在客户端的数据范围（地区）内")),
    429: problem(_("超过客户端每分钟或每日的调用上限（code 为 throttled）；Retry-After 头给出可重试的秒数")),
}
AS_OF = OpenApiParameter(
    "as_of",
    str,
    description=str(_("核验日期 YYYY-MM-DD（北京时间），默认今天：答复该日结束时的状态；不能晚于今天，不早于 2000 年")),
)


class ClientAuthenticationExtension(OpenApiAuthenticationExtension):
    target_class = "verification.oauth.ClientAuthentication"
    name = "verificationClient"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        from django.conf import settings

        return {
            "type": "oauth2",
            "description": str(
                _(
                    "核验接口客户端由国家知识产权局登记。用客户端凭据（client credentials）向 %(url)s 取得访问令牌，"
                    "之后每个请求带 Authorization: Bearer <访问令牌>。"
                )
                % {"url": TOKEN_PATH}
            ),
            "flows": {
                "clientCredentials": {"tokenUrl": TOKEN_PATH, "scopes": dict(settings.OAUTH2_PROVIDER["SCOPES"])}
            },
        }

    def get_security_requirement(self, auto_schema: Any) -> dict[str, list[str]]:
        scope = getattr(auto_schema.view, "required_scope", "")
        return {self.name: [scope] if scope else []}


class VerificationAPIView(ScopedViewSetMixin, APIView):
    # `get_queryset()` is the scoping rule for the client's principal; each endpoint reads through
    # verification/verify.py, which applies `visible_to` of the same principal to every model it reads.
    authentication_classes = (oauth.ClientAuthentication,)
    permission_classes = (IsAuthenticated,)
    throttle_classes = ()
    queryset = Product.objects.all()
    required_scope: ClassVar[str] = ""
    endpoint: ClassVar[str] = ""
    subject_kwarg: ClassVar[str] = ""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authentication (401) and IsAuthenticated
        client = oauth.request_client(request)
        over = quota.count_call(client)
        if over is not None:
            raise ApiProblem("throttled", over.message, headers={"Retry-After": str(over.retry_after)})
        if not (client.has_scope(self.required_scope) and oauth.token_allows(request, self.required_scope)):
            raise exceptions.PermissionDenied(
                _("该客户端没有“%(scope)s”权限。") % {"scope": ClientScope(self.required_scope).label}
            )

    def as_of_day(self, request: Request) -> Any:
        day = valid_query(AsOfQuerySerializer(data=request.query_params)).get("as_of")
        if day is not None and (day.year < EARLIEST_YEAR or day > verify.clock.china_today()):
            raise invalid_parameter("as_of", _("核验日期不能晚于今天，也不能早于 2000 年。"), "as_of_range")
        return day

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        client = getattr(request, oauth.REQUEST_CLIENT, None)
        if client is not None:
            services.record_call(
                client=client,
                endpoint=self.endpoint,
                status_code=response.status_code,
                subject=str(kwargs.get(self.subject_kwarg, "")) if self.subject_kwarg else "",
                ip=client_ip(request._request),  # noqa: SLF001 (DRF's wrapped HttpRequest)
            )
        response["Cache-Control"] = "no-store"
        return response


class FilingVerifyView(VerificationAPIView):
    required_scope = ClientScope.FILINGS
    endpoint = Endpoint.FILING
    subject_kwarg = "filing_number"

    @extend_schema(
        operation_id="verify_filing",
        summary=_("核验产品备案号"),
        description=_(
            "产品备案号在核验日期是否有效（该日有通过备案、未被撤销或撤回的年度版本），备案单位、产品、各年度、"
            "关联专利今天的法律状态，以及该日未处理的提示。需要 verify:filings 权限；数据范围外的备案答 404。"
        ),
        parameters=[AS_OF],
        responses={200: FilingAnswerSerializer, **ERRORS},
        tags=["verification"],
    )
    def get(self, request: Request, filing_number: str) -> Response:
        return Response(verify.verify_filing(request.user, filing_number, self.as_of_day(request)))


class CertificateVerifyView(VerificationAPIView):
    required_scope = ClientScope.CERTIFICATES
    endpoint = Endpoint.CERTIFICATE
    subject_kwarg = "number"

    @extend_schema(
        operation_id="verify_certificate",
        summary=_("核验专利密集型产品认定证书"),
        description=_(
            "证书编号在核验日期是否有效（该日已公布最终名单，且对应的产品备案仍有效），与公开的证书核验页规则相同。"
            "需要 verify:certificates 权限。"
        ),
        parameters=[AS_OF],
        responses={200: CertificateAnswerSerializer, **ERRORS},
        tags=["verification"],
    )
    def get(self, request: Request, number: str) -> Response:
        return Response(verify.verify_certificate(request.user, number, self.as_of_day(request)))


class StatementVerifyView(VerificationAPIView):
    required_scope = ClientScope.FILINGS
    endpoint = Endpoint.STATEMENT
    subject_kwarg = "number"

    @extend_schema(
        operation_id="verify_statement",
        summary=_("核验备案情况证明"),
        description=_(
            "证明编号（BZ…）在核验日期是否有效（该日前已出具，存档内容未被改动），以及出具后备案情况是否有变化。"
            "需要 verify:filings 权限。"
        ),
        parameters=[AS_OF],
        responses={200: StatementAnswerSerializer, **ERRORS},
        tags=["verification"],
    )
    def get(self, request: Request, number: str) -> Response:
        return Response(verify.verify_statement(request.user, number, self.as_of_day(request)))


class UnitProductsView(VerificationAPIView):
    required_scope = ClientScope.FILINGS
    endpoint = Endpoint.UNIT
    subject_kwarg = "uscc"

    @extend_schema(
        operation_id="verify_unit_products",
        summary=_("单位的备案与认定产品"),
        description=_(
            "统一社会信用代码对应单位在核验日期通过备案的产品：有效年度、关联专利的法律状态、未处理的提示；"
            "客户端有 verify:certificates 权限时另给出认定证书。需要 verify:filings 权限。"
        ),
        parameters=[AS_OF],
        responses={200: UnitAnswerSerializer, **ERRORS},
        tags=["verification"],
    )
    def get(self, request: Request, uscc: str) -> Response:
        client = oauth.request_client(request)
        return Response(
            verify.unit_products(
                request.user,
                uscc,
                self.as_of_day(request),
                with_certificates=client.has_scope(ClientScope.CERTIFICATES)
                and oauth.token_allows(request, ClientScope.CERTIFICATES),
            )
        )


class StatisticsView(VerificationAPIView):
    required_scope = ClientScope.STATISTICS
    endpoint = Endpoint.STATISTICS

    @extend_schema(
        operation_id="verify_statistics",
        summary=_("区域备案统计"),
        description=_(
            "客户端数据范围（地区）的备案统计，与该地区管理端口统计页的数字相同；给出 as_of 时为该日结束时的数字。"
            "需要 read:statistics 权限。"
        ),
        parameters=[AS_OF],
        responses={200: RegionStatisticsSerializer, **ERRORS},
        tags=["verification"],
    )
    def get(self, request: Request) -> Response:
        data = verify.region_statistics(request.user, self.as_of_day(request))
        return Response(RegionStatisticsSerializer(data).data)


# ---------------------------------------------------------------------------------------------------------------
# The token endpoint


def _client_id_of(request: HttpRequest) -> str:
    """The client id a token request names (HTTP Basic, RFC 6749 §2.3.1, or the form body)."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header[:6].lower() == "basic ":
        with contextlib.suppress(binascii.Error, UnicodeDecodeError, ValueError):
            return unquote_plus(base64.b64decode(header[6:].strip()).decode().split(":", 1)[0])
    return str(request.POST.get("client_id", ""))[:100]


class VerificationTokenView(TokenView):
    """POST /api/v1/verify/token/ (grant_type=client_credentials, the client's id and secret by HTTP Basic or in
    the form): django-oauth-toolkit's token endpoint. Its success answer is RFC 6749's; its errors are problems
    that also carry RFC 6749's `error` and `error_description`, so both kinds of client read them. Limited per
    client address like the API's other token endpoint (RATE_LIMITS["token"]). Without CSRF check, as every
    OAuth2 token endpoint (the toolkit's view is exempt): it takes the client's credentials, never a cookie."""

    scope_policy: ClassVar[str] = "account"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        limited = ratelimit.check(request, "token")
        if limited is not None:
            return problem_json_response(
                "throttled", limited.message, headers={"Retry-After": str(limited.retry_after)}
            )
        token = oauth.refusal_context.set(None)
        try:
            response = super().post(request, *args, **kwargs)
            refusal = oauth.refusal_context.get()
        finally:
            oauth.refusal_context.reset(token)
        client = self._client(request, response)
        if client is not None:
            services.record_call(
                client=client, endpoint=Endpoint.TOKEN, status_code=response.status_code, ip=client_ip(request)
            )
        if response.status_code < 400:
            response["Cache-Control"] = "no-store"
            return response
        return self._problem(response, refusal)

    def _client(self, request: HttpRequest, response: HttpResponse) -> VerificationClient | None:
        if response.status_code == 200:
            access = json.loads(response.content).get("access_token", "")
            checksum = hashlib.sha256(access.encode()).hexdigest()
            token = AccessToken.objects.filter(token_checksum=checksum).select_related("application").first()
            return oauth.client_of_application(token.application if token else None)
        client_id = _client_id_of(request)
        if not client_id:
            return None
        return VerificationClient.objects.filter(application__client_id=client_id).first()

    def _problem(self, response: HttpResponse, refusal: str | None) -> HttpResponse:
        try:
            body = json.loads(response.content)
        except ValueError:
            body = {}
        error = str(body.get("error", "invalid_request"))
        status = response.status_code
        if refusal is not None:
            detail = oauth.REFUSALS[refusal]
        elif status == 401:
            detail = _("客户端 ID 或密钥不正确。")
        elif error == "invalid_scope":
            detail = _("申请的权限范围超出该客户端的权限。")
        elif error == "unsupported_grant_type":
            detail = _("只支持 grant_type=client_credentials。")
        else:
            detail = _("令牌请求无效：须为 application/x-www-form-urlencoded，带 grant_type=client_credentials。")
        code = "authentication_failed" if status == 401 else "bad_request"
        headers = {"WWW-Authenticate": 'Basic realm="verification"'} if status == 401 else {}
        return problem_json_response(
            code,
            detail,
            status_code=status,
            extra={"error": error, "error_description": str(detail)},
            headers=headers,
        )
