"""Test clients that ask the dashboards, the lists behind them, their exports and the dashboard API for the
current state (`period=current`, issue 20) unless a request names its period (`period` or an old `as_of`).

The demo world is built on the day the tests run, so its filings exist only in the current month; the tests
written before periods existed check those live figures (the summary cells), which the dashboards showed by
default then. Since issue 20 the default is the latest complete month; the tests of periods themselves
(tests/provincial/test_period_dashboards.py) use plain clients.
"""

from __future__ import annotations

from typing import Any

from django.test import Client
from rest_framework.test import APIClient

CURRENT = {"period": "current"}
# the pages that take the dashboards' period (others, such as the publications, have a `period` of their own)
PATHS = frozenset(
    {
        "/port/",
        "/port/export/",
        "/port/products/",
        "/port/products/export/",
        "/port/units/",
        "/port/units/export/",
        "/national/",
        "/api/v1/provincial/dashboard/",
    }
)


def with_current(path: str, data: Any) -> tuple[str, Any]:
    if path.split("?")[0] not in PATHS:
        return path, data
    named = "period=" in path or "as_of=" in path or (isinstance(data, dict) and ("period" in data or "as_of" in data))
    if named or not (data is None or isinstance(data, dict)):
        return path, data
    if not data and "?" in path:
        return f"{path}&period=current", None
    return path, {**(data or {}), **CURRENT}


class CurrentClient(Client):
    def get(self, path: str, data: Any = None, **extra: Any) -> Any:
        path, data = with_current(path, data)
        return super().get(path, data, **extra)


class CurrentAPIClient(APIClient):
    def get(self, path: str, data: Any = None, **extra: Any) -> Any:
        path, data = with_current(path, data)
        return super().get(path, data, **extra)
