"""`Idempotency-Key` on every POST of the API: a retry after a timeout gets the first answer, never a second
creation (issue 24; docs/API.md "Idempotency-Key").

A client may send `Idempotency-Key: <1 to 255 printable ASCII characters>` with any POST. The key belongs to
the authenticated user (the same key of two users means two things); a request without an authenticated user
(the token endpoint, a missing or wrong token) is not recorded. What a key stands for is the request's
fingerprint: the method, the path with its query string and the SHA-256 of the body.

- The first request with a key writes its row "in progress" and commits it (a short transaction of its own)
  before the view runs; the unique constraint (user, key) lets exactly one of two concurrent requests win.
- When the view has answered 2xx, 3xx or 4xx, the answer (status, body, content type, Location) is stored and
  the row is "done". A retry with the same key and the same fingerprint gets that answer again, with
  `Idempotent-Replayed: true`, and the view does not run.
- A 5xx (an exception included) or a 429 (a throttle: try again later, not "never") deletes the row: the
  retry runs again.
- A retry while the first request is still in progress waits for it (polling, up to
  IDEMPOTENCY_WAIT_SECONDS) and then replays its answer (or runs, if the first failed); after that it answers
  409 `idempotency_in_progress` with Retry-After. A row still "in progress" after IDEMPOTENCY_LEASE_SECONDS
  belongs to a request whose process died (gunicorn kills a request after 60 s): the next retry takes it over.
- The same key with another fingerprint answers 422 `idempotency_key_reused`; a key that is empty, longer
  than 255 characters or not printable ASCII answers 400 `bad_request` pointing at `/headers/Idempotency-Key`.
- Keys are kept IDEMPOTENCY_KEY_HOURS (24) after their first use: an older row no longer counts, and the
  hourly task `patent_platform.purge_idempotency_keys` deletes it.

Where: `IdempotencyMiddleware` (settings MIDDLEWARE) wraps every DRF view, whatever its base classes, so that
no POST endpoint can forget it (tests/platform/test_idempotency.py walks every POST of the schema). DRF
authenticates inside the view, so the middleware resolves the principal the way the view will: with the
view's own `authentication_classes` (a token, or the session with its CSRF check). It sees the view's final,
rendered answer (after DRF's exception handling), and an unhandled exception as Django's 500.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.views import APIView

from patent_platform.api.problems import PROBLEM_CONTENT_TYPE, problem_json_response
from patent_platform.models import IdempotencyKey, IdempotencyState, User

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
POINTER = "/headers/Idempotency-Key"
MAX_KEY_LENGTH = 255
POLL_SECONDS = 0.1  # how often a retry looks whether the first request has finished


def key_hours() -> int:
    return int(getattr(settings, "IDEMPOTENCY_KEY_HOURS", 24))


def wait_seconds() -> float:
    return float(getattr(settings, "IDEMPOTENCY_WAIT_SECONDS", 10))


def lease_seconds() -> float:
    return float(getattr(settings, "IDEMPOTENCY_LEASE_SECONDS", 300))


def valid_key(key: str) -> bool:
    """1 to 255 printable ASCII characters (space to tilde)."""
    return 0 < len(key) <= MAX_KEY_LENGTH and all(" " <= c <= "~" for c in key)


def fingerprint(method: str, full_path: str, body: bytes) -> str:
    """What a key stands for: the method, the path with its query string and the body's SHA-256."""
    parts = (method.upper(), full_path, hashlib.sha256(body).hexdigest())
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def purge(now: Any = None) -> int:
    """Delete the keys older than IDEMPOTENCY_KEY_HOURS (the hourly task); the number deleted."""
    cutoff = (now or timezone.now()) - timedelta(hours=key_hours())
    deleted, _by_model = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def _pause() -> None:
    """One poll interval while another request holds the key (a function of its own, for the tests)."""
    time.sleep(POLL_SECONDS)


def _principal(request: HttpRequest, view_class: type[APIView]) -> User | None:
    """The user the view will see: its own authentication classes, run on the request (the token's user, or
    the session's with its CSRF check); None when nobody is authenticated (then nothing is recorded)."""
    authenticators = [auth() for auth in view_class.authentication_classes]
    if not authenticators and getattr(request, "_force_auth_user", None) is None:
        return None
    before = request.__dict__.get("user")
    try:
        user = Request(request, authenticators=authenticators).user
    except exceptions.APIException:
        user = None
    if user is None or not user.is_authenticated:
        # leave the request as it came (DRF's Request sets request.user): the view authenticates again and
        # answers the failure itself (401, or 403 for a failed CSRF check)
        if before is not None:
            request.user = before
        return None
    return user


def _replay(row: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(
        bytes(row.response_body), status=row.response_status, content_type=row.response_content_type or None
    )
    if row.response_location:
        response["Location"] = row.response_location
    response[REPLAYED_HEADER] = "true"
    return response


class _Claim:
    """The row a request holds while its view runs; `started_at` tells it from a later takeover."""

    def __init__(self, pk: int, started_at: Any) -> None:
        self.pk = pk
        self.started_at = started_at

    def rows(self) -> Any:
        return IdempotencyKey.objects.filter(pk=self.pk, started_at=self.started_at, state=IdempotencyState.IN_PROGRESS)


class IdempotencyMiddleware:
    """See the module's docstring. Placed before BusyDatabaseMiddleware, so that a busy SQLite's 503 counts
    as a failure (the retry runs) and a replay still gets the outer middlewares' headers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        try:
            response = self.get_response(request)
        except BaseException:
            claim = request.__dict__.pop("_idempotency_claim", None)
            if claim is not None:
                claim.rows().delete()
            raise
        claim = request.__dict__.pop("_idempotency_claim", None)
        if claim is not None:
            self.finish(claim, response)
        return response

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponseBase | None:
        if request.method != "POST" or HEADER not in request.headers:
            return None
        view_class = getattr(view_func, "cls", None)
        if not (isinstance(view_class, type) and issubclass(view_class, APIView)):
            return None  # the web pages: forms with their own protections, not the API
        key = request.headers[HEADER]
        if not valid_key(key):
            return problem_json_response(
                "bad_request",
                _("Idempotency-Key 须为 1 到 255 个可打印的 ASCII 字符。"),
                errors=[{"pointer": POINTER, "code": "invalid", "message": _("须为 1 到 255 个可打印的 ASCII 字符。")}],
            )
        try:
            body = request.body
        except RequestDataTooBig:
            return problem_json_response(
                "bad_request",
                _("带 Idempotency-Key 的请求体不能超过 %(limit)s 字节。")
                % {"limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
                errors=[{"pointer": POINTER, "code": "body_too_large", "message": _("请求体过大。")}],
            )
        user = _principal(request, view_class)
        if user is None:
            return None
        return self.claim(request, user, key, fingerprint(request.method, request.get_full_path(), body))

    def claim(self, request: HttpRequest, user: User, key: str, print_: str) -> HttpResponseBase | None:
        """Hold the key for this request (None: run the view), or answer from or about the row that holds it."""
        deadline = time.monotonic() + wait_seconds()
        while True:
            now = timezone.now()
            row: IdempotencyKey | None
            try:
                with transaction.atomic():  # committed before the view runs: other requests see it at once
                    row = IdempotencyKey.objects.create(
                        user=user,
                        key=key,
                        fingerprint=print_,
                        path=request.get_full_path(),
                        created_at=now,
                        started_at=now,
                    )
            except IntegrityError:
                row = IdempotencyKey.objects.filter(user=user, key=key).first()
            else:
                request._idempotency_claim = _Claim(row.pk, row.started_at)  # type: ignore[attr-defined]  # noqa: SLF001
                return None
            if row is not None and row.created_at < now - timedelta(hours=key_hours()):
                # expired, not purged yet: the key is free again
                IdempotencyKey.objects.filter(pk=row.pk, created_at=row.created_at).delete()
                continue
            if row is not None and row.fingerprint != print_:
                return problem_json_response(
                    "idempotency_key_reused",
                    _("该幂等键已用于另一个请求（方法、路径或请求体不同）；新的请求请使用新的幂等键。"),
                )
            if row is not None and row.state == IdempotencyState.DONE:
                return _replay(row)
            if row is not None and row.started_at < now - timedelta(seconds=lease_seconds()):
                # abandoned by a request whose process died: take it over (one taker wins the update)
                if IdempotencyKey.objects.filter(
                    pk=row.pk, state=IdempotencyState.IN_PROGRESS, started_at=row.started_at
                ).update(started_at=now):
                    request._idempotency_claim = _Claim(row.pk, now)  # type: ignore[attr-defined]  # noqa: SLF001
                    return None
                continue
            # in progress in another request (or gone between our insert and our read): wait, then look again
            if time.monotonic() >= deadline:
                retry_after = max(1, math.ceil(wait_seconds()))
                return problem_json_response(
                    "idempotency_in_progress",
                    _("使用该幂等键的第一个请求仍在处理中，请稍后用同一幂等键重试。"),
                    headers={"Retry-After": str(retry_after)},
                )
            _pause()

    def finish(self, claim: _Claim, response: HttpResponseBase) -> None:
        """Store a 2xx/3xx/4xx answer for the retries; forget the key after a 5xx or a 429 (the retry runs)."""
        try:
            status = response.status_code
            if status >= 500 or status == 429 or response.streaming:
                claim.rows().delete()
                return
            claim.rows().update(
                state=IdempotencyState.DONE,
                finished_at=timezone.now(),
                response_status=status,
                response_content_type=response.get("Content-Type", ""),
                response_location=response.get("Location", ""),
                response_body=response.content,  # type: ignore[attr-defined]
            )
        except Exception:  # the answer is given anyway; the row is taken over after its lease
            logger.exception("idempotency: the answer to key %s could not be stored", claim.pk)


# ---------------------------------------------------------------------------------------------
# The schema


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_CONTENT_TYPE: {"schema": PROBLEM_REF}}}


PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# used only when no other part of the schema declares the Problem component (patent_platform/api/problems.py)
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "pointer": {"type": "string"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                },
                "required": ["pointer", "code", "message"],
            },
        },
    },
    "required": ["type", "title", "status", "detail", "code"],
}


def document_idempotency(result: dict[str, Any], generator: Any, request: Any, public: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every POST takes the optional `Idempotency-Key` header, may answer
    422 `idempotency_key_reused` and 409 `idempotency_in_progress` (problem details), and a replayed answer
    carries `Idempotent-Replayed: true`."""
    parameter = {
        "in": "header",
        "name": HEADER,
        "required": False,
        "description": str(
            _(
                "幂等键（可选，1 到 255 个可打印 ASCII 字符，按账号区分，保留 %(hours)s 小时）："
                "超时后用同一幂等键重试，得到第一次请求的响应（带 Idempotent-Replayed: true），不会重复创建。"
                "未认证的请求不记录幂等键。"
            )
            % {"hours": key_hours()}
        ),
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": "^[\\x20-\\x7E]+$"},
    }
    replayed = {
        "description": str(_("为 true 时，本响应是同一幂等键的第一次请求的响应（重放）")),
        "schema": {"type": "string", "enum": ["true"]},
    }
    used = False
    for operations in result.get("paths", {}).values():
        operation = operations.get("post")
        if not isinstance(operation, dict):
            continue
        used = True
        parameters = operation.setdefault("parameters", [])
        if not any(p.get("in") == "header" and p.get("name") == HEADER for p in parameters):
            parameters.append(dict(parameter))
        responses = operation.setdefault("responses", {})
        security = operation.get("security") or []
        if not security or {} in security:
            continue  # no authenticated caller (the token endpoint): the key is not recorded, never refused
        for code, response in list(responses.items()):
            if str(code).startswith("2"):
                responses[code] = {**response, "headers": {**response.get("headers", {}), REPLAYED_HEADER: replayed}}
        responses.setdefault(
            "422", _problem(str(_("该幂等键已用于另一个请求（方法、路径或请求体不同）：idempotency_key_reused")))
        )
        in_progress = str(_("使用该幂等键的第一个请求仍在处理中，稍后重试（Retry-After）：idempotency_in_progress"))
        conflict = responses.get("409")
        if conflict is None:
            conflict = _problem(in_progress)
        else:
            conflict = {
                **conflict,
                "description": "；".join(filter(None, [str(conflict.get("description", "")), in_progress])),
                "content": {PROBLEM_CONTENT_TYPE: {"schema": PROBLEM_REF}, **conflict.get("content", {})},
            }
        conflict["headers"] = {
            **conflict.get("headers", {}),
            "Retry-After": {"description": str(_("建议的重试等待秒数")), "schema": {"type": "integer"}},
        }
        responses["409"] = conflict
        bad_key = str(_("Idempotency-Key 不符合要求时为 bad_request，errors 中的 pointer 为 /headers/Idempotency-Key"))
        bad = responses.get("400", {})
        responses["400"] = {
            **bad,
            "description": "；".join(filter(None, [str(bad.get("description", "")), bad_key])),
            "content": {PROBLEM_CONTENT_TYPE: {"schema": PROBLEM_REF}, **bad.get("content", {})},
        }
    if used:
        result.setdefault("components", {}).setdefault("schemas", {}).setdefault("Problem", PROBLEM_SCHEMA)
    return result
