"""Login without the cache (issue 25, "degrade, don't fail"): with a real Redis on loopback stopped, the API
token, the web login and the rate limits still work — counted per process — and `/healthz` says the cache is
degraded; once Redis is back, the shared cache answers again.

Found: with Redis down, `POST /api/v1/auth/token/` answered 500 (the rate limiter's `cache.add` raised).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache, caches
from django.test import Client, override_settings
from rest_framework.test import APIClient

from patent_platform import cache as resilient
from tests.provincial.test_publication_worker import free_port, start_redis

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

PASSWORD = "Demo-2026!"
ADDRESS = "198.51.100.21"  # a documentation address (RFC 5737): a string, no traffic


@pytest.fixture
def private_redis(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A redis-server of this test's own on a free loopback port, as the platform's cache: the cache settings
    the platform builds from REDIS_URL (patent_platform/settings/base.py), pointed at it."""
    port = free_port()
    server = start_redis(port)
    monkeypatch.setattr(resilient, "RETRY_SECONDS", 0.5)
    configured = django_settings.CACHES["default"]
    assert configured["LOCATION"].startswith("redis://"), "REDIS_URL gives the Redis cache"
    own = {"default": {**configured, "LOCATION": f"redis://127.0.0.1:{port}/0"}}
    state = {"port": port, "server": server}
    try:
        with override_settings(CACHES=own, RATE_LIMITS_ENABLED=True):
            yield state
    finally:
        state["server"].terminate()
        state["server"].wait(timeout=10)


def stop(state: dict[str, Any]) -> None:
    state["server"].kill()
    state["server"].wait(timeout=10)


def token(email: str) -> Any:
    return APIClient().post(
        "/api/v1/auth/token/", {"email": email, "password": PASSWORD}, format="json", REMOTE_ADDR=ADDRESS
    )


def test_login_token_and_limits_with_redis_stopped(
    private_redis: dict[str, Any], make_user: Any, settings: Any
) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "token": "3/min", "token_account": "3/min"}
    make_user("down@example.cn")
    assert token("down@example.cn").status_code == 200

    stop(private_redis)
    started = time.monotonic()
    answers = [token("down@example.cn").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]  # the limit still holds, counted in this process (a fresh window)
    assert time.monotonic() - started < 10  # refused connections: no long waits
    web = Client(REMOTE_ADDR="198.51.100.22")
    answer = web.post("/accounts/login/", {"username": "down@example.cn", "password": PASSWORD})
    assert answer.status_code == 302 and "_auth_user_id" in web.session
    assert web.get("/enterprise/").status_code in (200, 302)  # a page after login: no 500
    health = Client().get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "degraded", "database": "ok", "cache": "degraded"}

    private_redis["server"] = start_redis(private_redis["port"])  # Redis is back
    time.sleep(0.6)  # past RETRY_SECONDS
    assert Client().get("/healthz").json() == {"status": "ok", "database": "ok", "cache": "ok"}
    cache.set("after-recovery", 1)
    assert (
        caches["default"]
        ._cache.get_client()
        .get(  # type: ignore[attr-defined]
            caches["default"].make_and_validate_key("after-recovery")
        )
        is not None
    )  # written to Redis again, not to the local fallback


def test_healthz_without_redis_configured_says_local(client: Client) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json()["database"] == "ok" and answer.json()["cache"] in {"local", "ok"}
    assert answer["Cache-Control"] == "no-store"
