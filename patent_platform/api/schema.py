"""The API's schema, in one place: the error answers every operation documents, the one problem schema they
all reference, the authentication scheme, and the ranges the API enforces (patent_platform/params.py).

Every error is an RFC 9457 problem (patent_platform/api/problems.py), `application/problem+json`, described by
one component, `Problem`. Views name the answers an operation may give with the shared descriptions below
(`ERRORS`, `READ_ERRORS`, `CONFLICT`, `FINDINGS`); `document_problems` (a postprocessing hook) then makes every
4xx/5xx answer of every operation point at `Problem` and adds the answers any operation may give: 400 (a
query string with a NUL), 401 (no or a bad token), 415 (a body that is not JSON) and 404 on a path with an id.
"""

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from patent_platform.api.problems import KINDS, PROBLEM_CONTENT_TYPE, TYPE_BASE
from patent_platform.params import ID_MAX, ID_REGEX


class ProblemItemSerializer(serializers.Serializer):
    pointer = serializers.CharField(
        allow_blank=True,
        help_text=_("JSON 指针（RFC 6901），指向请求体中出错的位置，如 /links/0/contribution；空串表示整个请求"),
    )
    code = serializers.CharField(help_text=_("规则的机器代码，不随语言变化，如 max_value、contribution_range"))
    message = serializers.CharField(help_text=_("按请求的语言（Accept-Language）给出的说明"))
    parameter = serializers.CharField(required=False, help_text=_("出错的查询参数（仅查询参数错误）"))


class FindingSerializer(serializers.Serializer):
    code = serializers.CharField()
    field = serializers.CharField()
    message = serializers.CharField()
    overridable = serializers.BooleanField()


class ProblemSerializer(serializers.Serializer):
    """An RFC 9457 problem: every error answer of the API."""

    type = serializers.CharField(help_text=_("问题类型的 URI（%(base)s<code>）") % {"base": TYPE_BASE})
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.ChoiceField(choices=sorted(KINDS), help_text=_("问题类型的机器代码"))
    # The serializer's metaclass takes declared fields off the class (Serializer.errors stays the property);
    # drf-stubs cannot say so.
    errors = ProblemItemSerializer(many=True, required=False, help_text=_("校验错误：每条消息一项"))  # type: ignore[assignment]
    findings = FindingSerializer(many=True, required=False, help_text=_("code 为 findings 时：阻止通过的检查结果"))
    existing_id = serializers.IntegerField(required=False, help_text=_("code 为 duplicate 时：已存在对象的 id"))


def problem(description: Any) -> OpenApiResponse:
    return OpenApiResponse(ProblemSerializer, description=description)


ERRORS = {
    400: problem(_("请求数据有误：errors 中每项给出 pointer（出错位置）、code 与 message")),
    403: problem(_("您的角色不能执行该操作")),
    404: problem(_("不存在，或不在您的数据范围内")),
}
READ_ERRORS = {403: ERRORS[403], 404: ERRORS[404]}
DUPLICATE = problem(_("已存在（code 为 duplicate）：existing_id 给出已存在对象的 id"))
CONFLICT = problem(_("另一操作已先完成（如两人同时审核），本次操作未执行（code 为 conflict）"))
FINDINGS = problem(
    _(
        "code 为 findings：自动检查发现的问题阻止通过，见 findings；overridable 为 true 的问题（未处理的权属冲突）"
        "填写 override_reason 后可以通过。code 为 conflict：另一操作已先完成（如两人同时审核）"
    )
)


class IdRelatedFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "patent_platform.api.fields.IdRelatedField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return {"type": "integer", "minimum": 1, "maximum": ID_MAX}


class TokenAuthenticationExtension(OpenApiAuthenticationExtension):
    target_class = "patent_platform.api.auth.TokenAuthentication"
    name = "tokenAuth"
    priority = 1

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": str(
                _(
                    "POST /api/v1/auth/token/ 取得令牌，之后每个请求带 Authorization: Bearer <令牌>"
                    "（也接受 Token <令牌>）。缺少、无效的令牌答 401。"
                )
            ),
        }


NULL_ENUM = "#/components/schemas/NullEnum"
EDGE_ANSWERS: dict[str, Any] = {
    "400": _("请求无效，如查询参数含空字符（NUL）"),
    "401": _("未登录，或令牌缺少、无效（WWW-Authenticate 头给出认证方式）"),
    "404": _("不存在，或不在您的数据范围内"),
    "415": _("请求体不是 JSON（Content-Type 须为 application/json）"),
}


def document_problems(result: dict[str, Any], generator: Any, request: Any, public: Any) -> dict[str, Any]:
    """Every 4xx/5xx answer of every operation is a `Problem` (application/problem+json); the answers any
    operation may give are added where a view did not name them."""
    problem_ref = {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and parameter.get("schema", {}).get("pattern") == f"^{ID_REGEX}$":
                    # an object id (the routers' lookup_value_regex): an integer of 1 to ID_MAX, not a string
                    parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": ID_MAX}
            responses = operation.setdefault("responses", {})
            responses.setdefault("400", {"description": str(EDGE_ANSWERS["400"])})
            security = operation.get("security") or []
            if security == [{}]:  # no authentication at all (the token endpoint): say so as OpenAPI does
                operation["security"] = security = []
            if security and {} not in security:  # an operation that needs a signed-in caller
                responses.setdefault("401", {"description": str(EDGE_ANSWERS["401"])})
            if "{" in path:
                responses.setdefault("404", {"description": str(EDGE_ANSWERS["404"])})
            if "requestBody" in operation:
                responses.setdefault("415", {"description": str(EDGE_ANSWERS["415"])})
            for code, answer in responses.items():
                if code[0] in "45":
                    answer["content"] = dict(problem_ref)
    _type_nullables(result, result.get("components", {}).get("schemas", {}))
    return result


def _type_nullables(node: Any, components: dict[str, Any]) -> None:
    """OpenAPI 3.0.3 ignores `nullable` on a schema without a `type`: drf-spectacular writes a nullable
    reference as `{"allOf": [{"$ref": …}], "nullable": true}` (or `oneOf` with its `NullEnum`), in which
    null is not allowed after all, and generated clients then refuse the null they receive. Each becomes
    `anyOf: [the reference, {"type": …, "nullable": true, "enum": [null]}]` (the 3.0.3 way to say null)."""
    if isinstance(node, list):
        for item in node:
            _type_nullables(item, components)
        return
    if not isinstance(node, dict):
        return
    if node.get("nullable") and "type" not in node and ("allOf" in node or "oneOf" in node):
        refs = [r for r in node.pop("allOf", []) + node.pop("oneOf", []) if r.get("$ref") != NULL_ENUM]
        target = components.get(str(refs[0].get("$ref", "")).rsplit("/", 1)[-1], {}) if refs else {}
        node.pop("nullable")
        node["anyOf"] = [*refs, {"type": target.get("type", "object"), "nullable": True, "enum": [None]}]
    for value in node.values():
        _type_nullables(value, components)
