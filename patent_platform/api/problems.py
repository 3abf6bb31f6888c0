"""The API's one error model: RFC 9457 problem details.

Every error the API answers is `application/problem+json`:

    {"type": "https://…/problems/validation", "title": "…", "status": 400, "detail": "…",
     "code": "validation", "errors": [{"pointer": "/links/0/contribution", "code": "max_value", "message": "…"}]}

`type` is a stable URI per kind of problem (documented at /api/problems/), `code` the same kind as a short
machine name, `errors` (validation problems only) one item per message with a JSON pointer (RFC 6901) into
the request body — or into the query string as `/query/<name>` — a stable machine `code` per rule, and the
message in the request's language (Chinese by default, English on `Accept-Language: en`).

Raise `ApiProblem` from a view (or return `problem_response` / `problem_json_response` where no DRF view
runs, e.g. a middleware); `exception_handler` (REST_FRAMEWORK["EXCEPTION_HANDLER"]) turns every other
exception DRF knows, and Django's own, into the same shape.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from patent_platform.messages import Conflict, Duplicate, RuleMessage

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "/api/problems/"

# code → (status, title): the kinds of problem the API answers; `type` is TYPE_BASE + code
KINDS: dict[str, tuple[int, Any]] = {
    "validation": (400, _("请求数据有误")),
    "bad_request": (400, _("请求无效")),
    "not_authenticated": (401, _("未登录或令牌无效")),
    "authentication_failed": (401, _("未登录或令牌无效")),
    "permission_denied": (403, _("无权执行该操作")),
    "email_unconfirmed": (403, _("电子邮箱尚未确认")),
    "unit_unverified": (403, _("备案单位身份尚未核验")),
    "not_found": (404, _("未找到")),
    "method_not_allowed": (405, _("不支持该请求方法")),
    "not_acceptable": (406, _("无法提供所请求的媒体类型")),
    "conflict": (409, _("另一操作已先完成")),
    "findings": (409, _("自动检查发现的问题阻止该操作")),
    "duplicate": (409, _("已存在")),
    "idempotency_key_reused": (422, _("幂等键已用于另一个请求")),
    "idempotency_in_progress": (409, _("使用该幂等键的请求仍在处理中")),
    "unsupported_media_type": (415, _("不支持的请求体媒体类型")),
    "throttled": (429, _("请求过于频繁")),
    "invalid_credentials": (400, _("电子邮箱或密码不正确")),
    "account_locked": (429, _("账号已暂时锁定")),
    "server_error": (500, _("服务器错误")),
    "database_unavailable": (503, _("服务暂不可用")),
    "database_busy": (503, _("系统繁忙")),
}


class ApiProblem(exceptions.APIException):
    """An API error of a named kind (KINDS): `raise ApiProblem("conflict", detail=…)`.

    `errors` is a list of `{"pointer", "code", "message"}`; `extra` adds members to the problem object
    (e.g. `existing_id` on a duplicate, `findings` on a refused approval).
    """

    def __init__(
        self,
        code: str,
        detail: Any = None,
        *,
        status_code: int | None = None,
        errors: Iterable[Mapping[str, Any]] = (),
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        kind_status, title = KINDS[code]
        self.status_code = status_code or kind_status
        self.problem_code = code
        self.title = title
        self.errors = [dict(e) for e in errors]
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})
        super().__init__(detail=detail if detail is not None else title, code=code)


def problem_body(
    code: str,
    detail: Any = None,
    *,
    status_code: int | None = None,
    errors: Iterable[Mapping[str, Any]] = (),
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    kind_status, title = KINDS[code]
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": str(title),
        "status": status_code or kind_status,
        "detail": str(detail if detail is not None else title),
        "code": code,
    }
    items = [
        {"pointer": e["pointer"], "code": e["code"], "message": str(e["message"])}
        | ({"parameter": e["parameter"]} if e.get("parameter") else {})
        for e in errors
    ]
    if items or code == "validation":
        body["errors"] = items
    body.update(extra or {})
    return body


def problem_response(code: str, detail: Any = None, **kwargs: Any) -> Response:
    """A DRF Response carrying a problem (inside a view)."""
    headers = kwargs.pop("headers", None)
    body = problem_body(code, detail, **kwargs)
    return Response(body, status=body["status"], headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def problem_json_response(code: str, detail: Any = None, **kwargs: Any) -> JsonResponse:
    """A plain Django response carrying a problem (outside DRF: middleware, the 404 handler)."""
    headers = kwargs.pop("headers", None)
    body = problem_body(code, detail, **kwargs)
    response = JsonResponse(
        body, status=body["status"], content_type=PROBLEM_CONTENT_TYPE, json_dumps_params={"ensure_ascii": False}
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


# ---------------------------------------------------------------------------------------------
# From exceptions to problems

NON_FIELD_KEYS = {api_settings.NON_FIELD_ERRORS_KEY, NON_FIELD_ERRORS, ""}
DEFAULT_CODE = "invalid"


class QueryParameterError(exceptions.ValidationError):
    """A query parameter the API refuses: its items name the `parameter`, not a pointer into the body."""


def invalid_parameter(name: str, message: Any, code: str = DEFAULT_CODE) -> QueryParameterError:
    return QueryParameterError({name: [exceptions.ErrorDetail(str(message), code=code)]})


def valid_query(serializer: Any) -> Any:
    """A serializer of query parameters, validated: its errors answered as query-parameter errors."""
    if not serializer.is_valid():
        raise QueryParameterError(serializer.errors)
    return serializer.validated_data


def _escape(segment: Any) -> str:
    return str(segment).replace("~", "~0").replace("/", "~1")


def _pointer(parts: Iterable[Any]) -> str:
    return "".join("/" + _escape(part) for part in parts)


def _item(parts: list[Any], message: Any, code: Any, aliases: Mapping[str, str]) -> dict[str, Any]:
    parts = list(parts)
    if parts and isinstance(parts[0], str):
        parts[0] = aliases.get(parts[0], parts[0])
    if isinstance(message, RuleMessage):  # a service's rule: its own code, and the item it is about
        code = message.code
        if message.index is not None:
            parts.append(message.index)
            if message.item_field:
                parts.append(message.item_field)
    return {
        "pointer": _pointer(parts),
        "code": str(code or DEFAULT_CODE),
        "message": str(message),
    }


def drf_errors(detail: Any, aliases: Mapping[str, str] = {}, parts: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """DRF's nested `ValidationError.detail` as a flat list of `{pointer, code, message}`."""
    items: list[dict[str, Any]] = []
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            items += drf_errors(value, aliases, parts if key in NON_FIELD_KEYS else (*parts, key))
    elif isinstance(detail, list | tuple):
        nested = any(isinstance(value, Mapping | list | tuple) for value in detail)
        for index, value in enumerate(detail):
            if nested and isinstance(value, Mapping | list | tuple):  # a list serializer: one entry per item
                items += drf_errors(value, aliases, (*parts, index))
            elif not nested or value:
                items += drf_errors(value, aliases, parts)
    elif detail is not None and str(detail):
        items.append(_item(list(parts), detail, getattr(detail, "code", None), aliases))
    return items


def django_errors(exc: DjangoValidationError, aliases: Mapping[str, str] = {}) -> list[dict[str, Any]]:
    """Django's ValidationError (from a service) as `{pointer, code, message}`: the field named by the request's
    name for it (`aliases`), the item and member a `RuleMessage` names, the rule's code."""

    def flatten(error: DjangoValidationError, parts: list[Any]) -> list[dict[str, Any]]:
        out = []
        for one in error.error_list:
            message = one.message
            text = message % one.params if one.params else message
            if isinstance(message, RuleMessage):
                text = RuleMessage(text, message.code, index=message.index, item_field=message.item_field)
            out.append(_item(parts, text, one.code, aliases))
        return out

    if hasattr(exc, "error_dict"):
        items: list[dict[str, Any]] = []
        for field, errors in exc.error_dict.items():
            parts = [] if field in NON_FIELD_KEYS else [field]
            for error in errors:
                items += flatten(error, parts)
        return items
    return flatten(exc, [])


def parameter_errors(detail: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {"pointer": "", "parameter": name, "code": str(getattr(m, "code", None) or DEFAULT_CODE), "message": str(m)}
        for name, messages in detail.items()
        for m in (messages if isinstance(messages, list) else [messages])
    ]


def validation_problem(errors: list[dict[str, Any]], status_code: int = 400, **kwargs: Any) -> ApiProblem:
    detail = errors[0]["message"] if len(errors) == 1 else _("请求数据有 %(n)s 处错误。") % {"n": len(errors)}
    return ApiProblem("validation", detail, status_code=status_code, errors=errors, **kwargs)


EXCEPTION_CODES: list[tuple[type[Exception], str]] = [
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "authentication_failed"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "throttled"),
    (exceptions.ParseError, "bad_request"),
]


def as_problem(exc: Exception, aliases: Mapping[str, str] = {}) -> ApiProblem | None:
    """The problem an exception answers, or None for one the API does not know (a server error)."""
    if isinstance(exc, ApiProblem):
        return exc
    if isinstance(exc, Http404):
        return ApiProblem("not_found")
    problem = _rule_problem(exc, aliases)
    if problem is None:
        problem = _input_problem(exc, aliases)
    if problem is None:
        problem = _drf_problem(exc)
    return problem


def _rule_problem(exc: Exception, aliases: Mapping[str, str]) -> ApiProblem | None:
    """The problem of a refusal by a rule of the services: its own code, a denial, a conflict, a duplicate,
    the findings of the rule set."""
    problem_code = getattr(exc, "problem_code", None)
    if problem_code in KINDS and isinstance(exc, DjangoValidationError | DjangoPermissionDenied):
        # a rule with a problem of its own (`unit_unverified`): its code, whatever the exception's family
        detail = " ".join(exc.messages) if isinstance(exc, DjangoValidationError) else (exc.args or [None])[0]
        return ApiProblem(problem_code, detail)
    if isinstance(exc, DjangoPermissionDenied):
        return ApiProblem("permission_denied", exc.args[0] if exc.args and exc.args[0] else None)
    if isinstance(exc, Conflict):  # a lost race: another action changed the object first
        return ApiProblem("conflict", " ".join(exc.messages))
    if isinstance(exc, Duplicate):  # exists already: its id, so that a re-sync can take it
        errors = django_errors(exc, aliases)
        return ApiProblem("duplicate", errors[0]["message"], errors=errors, extra={"existing_id": exc.existing_id})
    findings = getattr(exc, "findings", None)
    if isinstance(exc, DjangoValidationError) and findings is not None:  # the rule set refuses an approval
        errors = django_errors(exc, aliases)  # by field; "/override_reason" when a reason would let it pass
        detail = " ".join(str(f.message) for f in findings if not f.overridable) or errors[0]["message"]
        return ApiProblem("findings", detail, errors=errors, extra={"findings": [f.as_dict() for f in findings]})
    return None


def _input_problem(exc: Exception, aliases: Mapping[str, str]) -> ApiProblem | None:
    """The problem of invalid input (a form's, a query parameter's, a serializer's), errors by field."""
    if isinstance(exc, DjangoValidationError):
        return validation_problem(django_errors(exc, aliases))
    if isinstance(exc, QueryParameterError):
        return validation_problem(parameter_errors(exc.detail))  # type: ignore[arg-type]
    if isinstance(exc, exceptions.ValidationError):
        return validation_problem(drf_errors(exc.detail, aliases))
    return None


def _drf_problem(exc: Exception) -> ApiProblem | None:
    """The problem of DRF's other exceptions (authentication, method, media type, throttling, ...)."""
    for kind, code in EXCEPTION_CODES:
        if isinstance(exc, kind):
            problem = ApiProblem(code, exc.detail, status_code=exc.status_code)  # type: ignore[attr-defined]
            wait = getattr(exc, "wait", None)  # set on Throttled by DRF (its stubs do not declare it)
            if isinstance(exc, exceptions.Throttled) and wait is not None:
                problem.headers["Retry-After"] = str(max(1, math.ceil(wait)))
            if getattr(exc, "auth_header", None):  # DRF sets it on 401s
                problem.headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
            return problem
    if isinstance(exc, exceptions.APIException):
        return ApiProblem("bad_request", exc.detail, status_code=exc.status_code)
    return None


def exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: every error of every API view as one problem shape.

    A view may name its request fields that a service calls otherwise: `problem_fields = {"patents": "links"}`
    (the product services check "patents", the request carries "links")."""
    view = context.get("view")
    problem = as_problem(exc, getattr(view, "problem_fields", {}))
    if problem is None:
        return None
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed) and problem.status_code == 403:
        problem.problem_code = "permission_denied"  # no authentication scheme to offer: DRF answers 403
    set_rollback()
    return problem_response(
        problem.problem_code,
        problem.detail,
        status_code=problem.status_code,
        errors=problem.errors,
        extra=problem.extra,
        headers=problem.headers or None,
    )


__all__ = [
    "KINDS",
    "PROBLEM_CONTENT_TYPE",
    "ApiProblem",
    "QueryParameterError",
    "exception_handler",
    "invalid_parameter",
    "problem_body",
    "problem_json_response",
    "problem_response",
    "status",
    "valid_query",
]
