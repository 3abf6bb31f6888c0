"""PostgreSQL down (issue 25, "nothing lost when a part fails"): a clear 503, nothing half-written.

A real server process (gunicorn, as in production, on the WSGI application) whose DATABASE_URL points at a
loopback port nothing listens on, so PostgreSQL is really unreachable: every page answers 503 with the
static bilingual page, the API answers 503 JSON, a POST (a form with a file) writes nothing, and `/healthz`
says the database is down. In-process: a connection lost after the request started reaches the same
answer through the 500 handler; any other error still answers 500.

Found: pages that need the database answered Django's bare 500 page ("Server Error (500)"), the API too (an
HTML 500), and pages that need none (the home page, the login form) answered 200 as if all were well.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import OperationalError
from django.test import Client

from patent_platform.views import home
from tests.processes import free_port, start_web, stop

TIMEOUT = 10


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str


def call(url: str, *, method: str = "GET", data: bytes | None = None, headers: dict[str, str] | None = None) -> Answer:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310  (loopback)
            return Answer(response.status, dict(response.headers), response.read().decode())
    except urllib.error.HTTPError as error:
        return Answer(error.code, dict(error.headers), error.read().decode())


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """gunicorn on the platform's WSGI application, its database a closed loopback port; (address, media)."""
    media = tmp_path / "media"
    media.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "patent_platform.settings.test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/unreachable",  # nothing listens there
        "MEDIA_ROOT": str(media),
    }
    proc, address = start_web(env, args=["--timeout", "30"])
    try:
        yield address, media
    finally:
        stop([proc])


def assert_unavailable_page(answer: Answer) -> None:
    assert answer.status == 503
    assert answer.headers["Content-Type"].startswith("text/html")
    assert answer.headers["Retry-After"] == "30" and answer.headers["Cache-Control"] == "no-store"
    assert "服务暂时不可用" in answer.body and "Service temporarily unavailable" in answer.body
    assert 'data-testid="database-unavailable"' in answer.body
    assert "Traceback" not in answer.body and "OperationalError" not in answer.body


def assert_unavailable_json(answer: Answer) -> dict:
    assert answer.status == 503
    assert answer.headers["Content-Type"] == "application/problem+json"  # the API's one error model
    assert answer.headers["Retry-After"] == "30"
    payload = json.loads(answer.body)
    assert payload["code"] == "database_unavailable" and payload["detail"]
    return payload


def test_database_unreachable_every_page_503_api_json_nothing_written_healthz_down(server: tuple[str, Path]) -> None:
    address, media = server
    started = time.monotonic()
    # pages: one that needs no database (the home page), the login form, one behind a login (a session cookie)
    for path in ("/", "/accounts/login/", "/enterprise/", "/national/publications/"):
        assert_unavailable_page(call(address + path))
    assert_unavailable_page(call(address + "/enterprise/", headers={"Cookie": "sessionid=abcdefghijklmnop"}))
    # the API, in the client's language
    assert_unavailable_json(call(address + "/api/v1/products/"))
    english = assert_unavailable_json(call(address + "/api/v1/products/", headers={"Accept-Language": "en"}))
    assert "database" in english["detail"].lower()
    # writes: a login, an Excel upload (a file that must not land on disk), an API POST with a token
    login = call(address + "/accounts/login/", method="POST", data=b"username=a%40example.cn&password=x")
    assert_unavailable_page(login)
    boundary = "----pp-boundary"
    upload = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nproducts\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="products.xlsx"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n" + "x" * 4096 + f"\r\n--{boundary}--\r\n"
    ).encode()
    posted = call(
        address + "/enterprise/imports/upload/",
        method="POST",
        data=upload,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}", "Cookie": "sessionid=abcdefghijklmnop"},
    )
    assert_unavailable_page(posted)
    api_post = call(
        address + "/api/v1/products/",
        method="POST",
        data=b'{"name": "x"}',
        headers={"Content-Type": "application/json", "Authorization": "Token 0123456789abcdef"},
    )
    assert_unavailable_json(api_post)
    assert [p for p in media.rglob("*") if p.is_file()] == []  # nothing half-written: no uploaded file kept
    # the health check names the part that is down
    health = call(address + "/healthz")
    assert health.status == 503
    assert json.loads(health.body)["database"] == "down" and json.loads(health.body)["status"] == "down"
    assert time.monotonic() - started < 30  # refused connections: answers at once, no hanging requests


@pytest.mark.django_db
def test_a_connection_lost_during_a_request_answers_503_other_errors_500(monkeypatch: pytest.MonkeyPatch) -> None:
    client = Client(raise_request_exception=False)

    def lost(*args: object, **kwargs: object) -> None:
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(home.HomeView, "get", lost)
    answer = client.get("/")
    assert answer.status_code == 503 and answer["Retry-After"] == "30"
    assert "服务暂时不可用" in answer.content.decode() and "Service temporarily unavailable" in answer.content.decode()

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("a bug")

    monkeypatch.setattr(home.HomeView, "get", broken)
    assert client.get("/").status_code == 500
