"""Rate limits on the endpoints an outsider can hammer (等保 2.0 L3, intrusion prevention / resource control).

Login, the API token, enterprise registration, the public searches, objections and the port
application form are limited per client address (`patent_platform.middleware.client_ip`, which
honours PROXY_COUNT) and, for login and token, also per account e-mail. The rates come from
`settings.RATE_LIMITS` ("N/period": "10/min", "5/hour", "3/10s", "100/day"); a scope missing there
or set to "" is not limited, and `RATE_LIMITS_ENABLED = False` switches all of them off.

Login is the one scope whose per-address counter counts *failed* attempts only (`failures_only`): the
ceiling against password spraying (one password tried on many accounts from one address). A correct
password from an address is refused only once that address has gone over the ceiling, so one official
failing again and again behind an office gateway does not stop a colleague at the same address; that
official's own account is locked from that address by django-axes (per account and address together,
AXES_LOCKOUT_PARAMETERS) after AXES_FAILURE_LIMIT failures, and attempts refused by that lockout are not
counted again here. Every other counter, the per-account ones included, counts every attempt.

Why this module and not django-ratelimit or DRF's throttles (docs/SECURITY.md, "Rate limits"): one
counter is shared by a page and the API (login/token), a counter can be read without being counted and
counted later (failures only), and every refusal says how long to wait (Retry-After and the page).

Counters are fixed windows in Django's cache (Redis in CI and production, so every gunicorn worker
shares them; locmem otherwise): one key per scope, window and client, created with `cache.add` and
counted with the atomic `cache.incr`, expiring with its window. Client addresses and e-mails are
hashed into the key, so the cache holds no personal data. A request over the limit gets 429 with a
Retry-After header: a page in Chinese (English through i18n) saying what was limited and when to try
again, or, on the API, `{"detail": "…"}` from the DRF throttle classes below.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.throttling import BaseThrottle

from patent_platform.middleware import client_ip

# What a person is told was limited, per scope.
SCOPE_LABELS: dict[str, Any] = {
    "login": _("登录"),
    "token": _("获取 API 令牌"),
    "registration": _("备案单位注册"),
    "search": _("公开查询"),
    "objection": _("提交异议"),
    "port_application": _("管理端口开通申请"),
    "open_data": _("开放数据下载"),
    "password_reset": _("找回密码"),
}

PERIODS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}
RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+?)s?\s*$")
KEY_PREFIX = "ratelimit"


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int


def parse_rate(text: str) -> Rate:
    """Parse "10/min" → Rate(10, 60), "3/10s" → Rate(3, 10), "5/hour" → Rate(5, 3600)."""
    match = RATE_RE.match(text.lower())
    if not match or match.group(3) not in PERIODS:
        raise ValueError(f"not a rate: {text!r} (expected e.g. '10/min', '5/hour', '3/10s')")
    count, multiple, unit = int(match.group(1)), int(match.group(2) or 1), match.group(3)
    seconds = multiple * PERIODS[unit]
    if seconds <= 0:
        raise ValueError(f"not a rate: {text!r} (the period must be positive)")
    return Rate(count, seconds)


def rate_for(scope: str) -> Rate | None:
    if not getattr(settings, "RATE_LIMITS_ENABLED", True):
        return None
    text = getattr(settings, "RATE_LIMITS", {}).get(scope)
    return parse_rate(text) if text else None


def now() -> float:
    """The clock of the windows (a function so that a test can move it)."""
    return time.time()


@dataclass(frozen=True)
class Limited:
    """A request over a limit: which scope, and the whole seconds until the window ends."""

    scope: str
    retry_after: int

    @property
    def label(self) -> Any:
        return SCOPE_LABELS.get(self.scope.removesuffix("_account"), self.scope)

    @property
    def message(self) -> str:
        return str(
            _("%(what)s请求过于频繁，已暂时限制。请在 %(seconds)s 秒后重试。")
            % {"what": self.label, "seconds": self.retry_after}
        )


def _digest(ident: str) -> str:
    return hashlib.sha256(ident.encode()).hexdigest()[:32]


def _window(scope: str, rate: Rate, ident: str) -> tuple[str, float, int]:
    current = now()
    window = int(current // rate.seconds)
    return f"{KEY_PREFIX}:{scope}:{window}:{_digest(ident)}", current, window


def _limited(scope: str, rate: Rate, current: float, window: int) -> Limited:
    return Limited(scope, max(1, math.ceil((window + 1) * rate.seconds - current)))


def over(scope: str, ident: str) -> Limited | None:
    """Without counting: a Limited when `ident` has already used up the scope's rate in this window."""
    rate = rate_for(scope)
    if rate is None:
        return None
    key, current, window = _window(scope, rate, ident)
    if (cache.get(key) or 0) < rate.count:
        return None
    return _limited(scope, rate, current, window)


def increment(key: str, *, timeout: int) -> int:
    """Add one to the counter `key` (created at 0, expiring after `timeout` seconds) and return its new value:
    `cache.add` then the atomic `cache.incr`, so concurrent processes sharing the cache (Redis) never lose a
    count. Also the per-client quotas of the verification API (verification/quota.py)."""
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.set(key, 1, timeout=timeout)
        return 1


def hit(scope: str, ident: str) -> Limited | None:
    """Count one request of `ident` in `scope`; a Limited when that goes over the scope's rate."""
    rate = rate_for(scope)
    if rate is None:
        return None
    key, current, window = _window(scope, rate, ident)
    count = increment(key, timeout=rate.seconds + 1)
    if count <= rate.count:
        return None
    return _limited(scope, rate, current, window)


def address(request: Any) -> str:
    return client_ip(request) or "unknown"


def check(request: Any, scope: str, account: str | None = None, *, failures_only: bool = False) -> Limited | None:
    """Count the request against the scope per client address and, when given, per account e-mail
    (rate `<scope>_account`); the longest wait of the limits it went over, if any. With `failures_only`
    the address's counter is only read here: the view counts a failed attempt with `failed()`."""
    results = [over(scope, address(request)) if failures_only else hit(scope, address(request))]
    if account is not None:
        account = account.strip().lower()
        if account:
            results.append(hit(f"{scope}_account", account))
    limited = [r for r in results if r is not None]
    return max(limited, key=lambda r: r.retry_after) if limited else None


def failed(request: Any, scope: str) -> None:
    """Count one failed attempt from the request's address in a `failures_only` scope. An attempt that
    django-axes refused because the account is locked from this address is not counted again: one person
    retrying a locked account adds at most AXES_FAILURE_LIMIT failures to the address's ceiling."""
    if getattr(request, "axes_locked_out", False):
        return
    hit(scope, address(request))


# ---------------------------------------------------------------------------------------------
# Pages


def too_many_requests(request: HttpRequest, limited: Limited) -> HttpResponse:
    response = render(
        request,
        "429.html",
        {"limited": limited, "what": limited.label, "retry_after": limited.retry_after},
        status=429,
    )
    response["Retry-After"] = str(limited.retry_after)
    return response


V = TypeVar("V")


def rate_limit(
    scope: str,
    *,
    methods: Iterable[str] = ("POST",),
    account_field: str | None = None,
    failures_only: bool = False,
) -> Callable[[type[V]], type[V]]:
    """Class decorator for a Django class-based view: requests of `methods` count against `scope`
    (per address, and per the e-mail posted in `account_field`); over the limit, the 429 page. With
    `failures_only` the per-address counter counts what the view reports with `failed()`.
    Runs after the CSRF middleware, so a forged POST is refused (403) before it is counted."""
    limited_methods = {m.upper() for m in methods}

    def decorate(view_class: type[V]) -> type[V]:
        dispatch = view_class.dispatch  # type: ignore[attr-defined]

        @functools.wraps(dispatch)
        def limited_dispatch(self: Any, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method in limited_methods:
                account = request.POST.get(account_field) if account_field else None
                limited = check(request, scope, account=account, failures_only=failures_only)
                if limited is not None:
                    return too_many_requests(request, limited)
            result: HttpResponse = dispatch(self, request, *args, **kwargs)
            return result

        view_class.dispatch = limited_dispatch  # type: ignore[attr-defined]
        view_class.rate_limit_scope = scope  # type: ignore[attr-defined]
        return view_class

    return decorate


# ---------------------------------------------------------------------------------------------
# API (Django REST framework)


class RateLimited(exceptions.Throttled):
    """429 with `{"detail": "<Chinese message>"}` and Retry-After (DRF's exception handler sets it from `wait`)."""

    def __init__(self, limited: Limited) -> None:
        exceptions.APIException.__init__(self, limited.message, "throttled")
        self.wait = limited.retry_after


class AddressRateThrottle(BaseThrottle):
    """A DRF throttle on the same counters as the pages: `scope` per client address, and per the
    e-mail in the request body's `account_field` when set."""

    scope: str = ""
    account_field: str | None = None

    def account(self, request: Any) -> str | None:
        if not self.account_field:
            return None
        data = request.data
        value = data.get(self.account_field) if hasattr(data, "get") else None
        return value if isinstance(value, str) else None

    def allow_request(self, request: Any, view: Any) -> bool:
        limited = check(request, self.scope, account=self.account(request))
        if limited is not None:
            raise RateLimited(limited)
        return True


class TokenRateThrottle(AddressRateThrottle):
    scope = "token"
    account_field = "email"
