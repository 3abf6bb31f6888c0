"""Rate limits on login, token, registration, public search, objections and port applications
(patent_platform/ratelimit.py), and CSRF on every form.

Each limit lets N requests through in its window and answers the next with 429, a Retry-After header
and a Chinese message saying what was limited; it counts per client address (another address is not
limited) and, for login and token, per account e-mail too; it is lifted when the window ends.
"""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from patent_platform import ratelimit
from patent_platform.models import User

# embedded (CI runs it on SQLite too): counters in the local-memory cache, not Redis
pytestmark = pytest.mark.embedded

ADDRESS = "198.51.100.7"  # documentation addresses (RFC 5737): strings only, no traffic
OTHER = "198.51.100.8"
GOOD = {"email": "ent-gz@example.cn", "password": "Demo-2026!"}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The limiter's clock, moved by hand: now[0] seconds since the epoch (mid-window)."""
    now = [1_800_000_030.0]
    monkeypatch.setattr(ratelimit, "now", lambda: now[0])
    return now


def rate(scope: str) -> ratelimit.Rate:
    return ratelimit.parse_rate(django_settings.RATE_LIMITS[scope])


# (scope, method, path, data): each endpoint as a person or a program reaches it.
ENDPOINTS = {
    "login": ("post", "/accounts/login/", lambda i: {"username": f"nobody{i}@example.cn", "password": "wrong"}),
    "registration": ("post", "/enterprise/register/", lambda i: {"unit_name": ""}),
    "search": ("get", "/products/", lambda i: {"q": f"芯片{i}"}),
    "objection": ("post", "/certified/publicity/objection/999999/", lambda i: {"name": "张三", "reasons": "x"}),
    "port_application": ("post", "/ports/apply/", lambda i: {"office_name": ""}),
}


def send(client: Client, scope: str, i: int, address: str = ADDRESS) -> Any:
    method, path, data = ENDPOINTS[scope]
    return getattr(client, method)(path, data(i), REMOTE_ADDR=address)


def test_the_defaults_are_the_documented_ones() -> None:
    assert rate("login") == ratelimit.Rate(30, 900)  # failed logins per address (test_recovery.py)
    assert rate("login_account") == ratelimit.Rate(10, 60)
    assert rate("token") == ratelimit.Rate(10, 60)
    assert rate("registration") == ratelimit.Rate(5, 3600)
    assert rate("search") == ratelimit.Rate(60, 60)
    assert rate("objection") == ratelimit.Rate(5, 3600)
    assert rate("port_application") == ratelimit.Rate(5, 3600)
    assert rate("password_reset") == ratelimit.Rate(20, 3600)
    assert rate("password_reset_account") == ratelimit.Rate(3, 3600)


def test_rates_parse_with_multiples_and_plurals() -> None:
    assert ratelimit.parse_rate("3/10s") == ratelimit.Rate(3, 10)
    assert ratelimit.parse_rate("5/hours") == ratelimit.Rate(5, 3600)
    assert ratelimit.parse_rate("100/day") == ratelimit.Rate(100, 86400)
    with pytest.raises(ValueError, match="not a rate"):
        ratelimit.parse_rate("often")


@pytest.mark.parametrize("scope", sorted(ENDPOINTS))
def test_each_page_limit_trips_at_n_plus_one_per_address_and_resets(scope: str, db: None, clock: list[float]) -> None:
    client = Client()
    limit = rate(scope)
    for i in range(limit.count):
        response = send(client, scope, i)
        assert response.status_code != 429, f"request {i + 1} of {limit.count} was limited"
    limited = send(client, scope, limit.count)
    assert limited.status_code == 429
    retry_after = int(limited["Retry-After"])
    assert 1 <= retry_after <= limit.seconds
    page = limited.content.decode()
    assert "请求过于频繁" in page
    assert str(ratelimit.SCOPE_LABELS[scope]) in page
    assert f"{retry_after}</strong> 秒后重试" in page

    # another address is not limited
    assert send(client, scope, 0, address=OTHER).status_code != 429
    # still limited just before the window ends, free again after it
    clock[0] += retry_after - 1
    assert send(client, scope, 0).status_code == 429
    clock[0] += 1
    assert send(client, scope, 0).status_code != 429


@pytest.mark.parametrize(("scope", "path"), [("login", "/accounts/login/"), ("registration", "/enterprise/register/")])
def test_showing_a_form_is_not_limited(scope: str, path: str, db: None) -> None:
    client = Client()
    for _i in range(rate(scope).count + 5):
        assert client.get(path, REMOTE_ADDR=ADDRESS).status_code == 200


def test_login_is_limited_per_account_from_any_address(db: None, settings: Any) -> None:
    """Below axes' lockout (5 failures), so it is the rate limit that answers, not the lockout."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_account": "3/min"}
    client = Client()
    for i in range(3):
        response = client.post(
            "/accounts/login/", {"username": "ent-gz@example.cn", "password": "wrong"}, REMOTE_ADDR=f"198.51.100.{i}"
        )
        assert response.status_code == 200
    response = client.post(
        "/accounts/login/", {"username": "ENT-GZ@example.cn ", "password": "wrong"}, REMOTE_ADDR="198.51.100.9"
    )
    assert response.status_code == 429
    assert 'data-testid="rate-limited"' in response.content.decode()
    assert "Retry-After" in response


def test_a_spoofed_forwarded_for_does_not_escape_the_limit(db: None, settings: Any) -> None:
    """Behind one proxy the client is the address the proxy appended, whatever the client wrote before it."""
    settings.PROXY_COUNT = 1
    client = Client()
    limit = rate("login")
    statuses = [
        client.post(
            "/accounts/login/",
            {"username": f"n{i}@example.cn", "password": "x"},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{i}, {ADDRESS}",
        ).status_code
        for i in range(limit.count + 1)
    ]
    assert statuses[-1] == 429
    assert 429 not in statuses[:-1]


def test_the_token_api_answers_429_json_in_chinese(demo_users: dict[str, User], clock: list[float]) -> None:
    client = APIClient()
    limit = rate("token")
    for i in range(limit.count):
        response = client.post(
            "/api/v1/auth/token/", {"email": f"n{i}@example.cn", "password": "x"}, format="json", REMOTE_ADDR=ADDRESS
        )
        assert response.status_code == 400
    limited = client.post(
        "/api/v1/auth/token/",
        {"email": "ent-gz@example.cn", "password": "Demo-2026!"},
        format="json",
        REMOTE_ADDR=ADDRESS,
    )
    assert limited.status_code == 429
    assert limited["Content-Type"].startswith("application/problem+json")
    retry_after = int(limited["Retry-After"])
    assert 1 <= retry_after <= limit.seconds
    detail = limited.json()["detail"]
    assert detail == f"获取 API 令牌请求过于频繁，已暂时限制。请在 {retry_after} 秒后重试。"

    ok = client.post(
        "/api/v1/auth/token/",
        {"email": "ent-gz@example.cn", "password": "Demo-2026!"},
        format="json",
        REMOTE_ADDR=OTHER,
    )
    assert ok.status_code == 200
    clock[0] += retry_after
    again = client.post(
        "/api/v1/auth/token/",
        {"email": "ent-gz@example.cn", "password": "Demo-2026!"},
        format="json",
        REMOTE_ADDR=ADDRESS,
    )
    assert again.status_code == 200


def test_the_token_api_is_limited_per_account(db: None, settings: Any) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "token_account": "2/min"}
    client = APIClient()
    statuses = [
        client.post(
            "/api/v1/auth/token/",
            {"email": "Someone@example.cn", "password": "x"},
            format="json",
            REMOTE_ADDR=f"198.51.100.{i}",
        ).status_code
        for i in range(3)
    ]
    assert statuses == [400, 400, 429]


def test_the_schema_documents_the_429(db: None) -> None:
    schema = Client(HTTP_HOST="localhost").get("/api/schema/?format=json").json()
    assert "429" in schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]


def test_limits_can_be_switched_off(db: None, settings: Any) -> None:
    settings.RATE_LIMITS_ENABLED = False
    client = Client()
    for i in range(rate("registration").count + 2):
        assert send(client, "registration", i).status_code != 429


# ---------------------------------------------------------------------------------------------
# CSRF


ROOT = django_settings.BASE_DIR


def test_no_view_is_exempt_from_csrf() -> None:
    sources = [
        path
        for app in ("patent_platform", "filings", "evaluation", "provincial", "verification")
        for path in (ROOT / app).rglob("*.py")
        if "csrf_exempt" in path.read_text(encoding="utf-8")
    ]
    assert sources == []


def walk(patterns: list[Any], namespace: str = "") -> Iterator[tuple[str, URLPattern]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, f"{namespace}{p.namespace}:" if p.namespace else namespace)
        elif isinstance(p, URLPattern) and p.name:
            yield f"{namespace}{p.name}", p


def sample_url(name: str, pattern: URLPattern) -> str | None:
    regex = pattern.pattern.regex
    for value in ("1", "00000000-0000-0000-0000-000000000001"):
        try:
            kwargs = {key: "json" if key == "format" else value for key in regex.groupindex}
            return reverse(name, kwargs=kwargs)
        except Exception:  # noqa: S112  the next sample value may fit the converter
            continue
    return None


# The token endpoint authenticates with the e-mail and password in the body and sets no cookie: a
# forged cross-site POST gains nothing, so DRF's CSRF check (session authentication) does not apply.
# The verification API (verification/api/) takes only OAuth2 bearer tokens and its token endpoint only a client's
# credentials, never a session: it answers a signed-in browser's POST 401 (or 400 at the token endpoint).
NO_SESSION = {
    "api-token",
    "verify-token",
    "verify-filing",
    "verify-certificate",
    "verify-statement",
    "verify-unit-products",
    "verify-statistics",
}


def test_every_form_and_api_write_refuses_a_post_without_csrf_token(demo_users: dict[str, User]) -> None:
    """Anonymous and logged in (session), every URL pattern refuses a POST without the CSRF token."""
    urls = {}
    for name, pattern in walk(get_resolver().url_patterns):
        if name.split(":")[-1] in NO_SESSION or name.startswith("admin:"):
            continue
        url = sample_url(name, pattern)
        if url is not None:
            urls[name] = url
    assert len(urls) >= 60, "the walk lost the URL patterns"
    for name in ("login", "enterprise:register", "port_apply:new", "certified:objection"):
        assert name in urls, name

    anonymous = Client(enforce_csrf_checks=True)
    logged_in = Client(enforce_csrf_checks=True)
    logged_in.force_login(demo_users["national"])
    problems = []
    for who, client in (("anonymous", anonymous), ("national", logged_in)):
        for name, url in sorted(urls.items()):
            if who == "anonymous" and url.startswith("/api/"):
                continue  # the API refuses an anonymous request outright (403) before it checks CSRF
            status = client.post(url, {"x": "1"}, REMOTE_ADDR=ADDRESS).status_code
            if status != 403:
                problems.append(f"{who} POST {url} ({name}) → {status}")
    assert not problems, "\n".join(problems)
    assert re.search("CSRF", anonymous.post(urls["login"], {}).content.decode())
