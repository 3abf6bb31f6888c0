"""The cache degrades instead of failing: Redis down must not take login, pages or writes with it.

`ResilientRedisCache` is Django's Redis cache with one difference: when Redis cannot be reached (refused,
timed out, reset), the operation is answered by a local in-process cache instead of raising, a warning is
logged once, and for the next `RETRY_SECONDS` no request waits for Redis again (a circuit breaker); then
Redis is tried again, and the shared cache is back as soon as it answers.

What that means for each user of the cache while Redis is down:
- rate limits (patent_platform/ratelimit.py) count per process instead of across processes: still limits,
  a little looser — never a 500 on login, the API token, registration or a search;
- the summary rebuild lock (provincial/dashboards/) is per process: the advisory lock in the database
  still serialises the rebuilds themselves;
- cached files (the manual's PDF, open data) are rebuilt per process.
Sessions are in the database (Django's default engine), so nobody is signed out. `/healthz` says whether
the cache is degraded (`cache_state`).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger("patent_platform.cache")

RETRY_SECONDS = 5.0
FAILURES = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError, OSError)
OPERATIONS = (
    "add",
    "get",
    "set",
    "touch",
    "delete",
    "get_many",
    "has_key",
    "incr",
    "decr",
    "set_many",
    "delete_many",
    "clear",
)


class ResilientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._fallback = LocMemCache(f"degraded-{id(self)}", {"TIMEOUT": params.get("TIMEOUT", 300)})
        self._lock = threading.Lock()
        self._down_until = 0.0
        self.down_since: float | None = None

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            if self.down_since is None:
                self.down_since = time.time()
                logger.warning("Redis cache unreachable (%s): answering from the local cache", exc)
            self._down_until = time.monotonic() + RETRY_SECONDS

    def _recovered(self) -> None:
        if self.down_since is not None:
            with self._lock:
                if self.down_since is not None:
                    logger.warning("Redis cache reachable again after %.0f s", time.time() - self.down_since)
                    self.down_since = None

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if time.monotonic() >= self._down_until:
            try:
                result = getattr(super(), name)(*args, **kwargs)
            except FAILURES as exc:
                self._failed(exc)
            else:
                self._recovered()
                return result
        return getattr(self._fallback, name)(*args, **kwargs)

    def ping(self) -> bool:
        """Whether Redis answers now (tried even while the breaker is open: for /healthz)."""
        try:
            self._cache.get_client(write=True).ping()
        except FAILURES as exc:
            self._failed(exc)
            return False
        self._down_until = 0.0
        self._recovered()
        return True


def _delegate(name: str) -> Any:
    def method(self: ResilientRedisCache, *args: Any, **kwargs: Any) -> Any:
        return self._call(name, *args, **kwargs)

    method.__name__ = name
    return method


for _name in OPERATIONS:
    setattr(ResilientRedisCache, _name, _delegate(_name))


def cache_state() -> str:
    """ "ok", "degraded" (Redis unreachable: the local fallback answers) or "local" (no Redis configured)."""
    from django.core.cache import caches

    target = caches["default"]
    if isinstance(target, ResilientRedisCache):
        return "ok" if target.ping() else "degraded"
    return "local"
