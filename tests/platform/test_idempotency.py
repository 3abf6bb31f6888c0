# ruff: noqa: F811  (the filing fixtures are imported from tests/filings/conftest.py, then used as arguments)
"""`Idempotency-Key` on every POST of the API (patent_platform/api/idempotency.py; issue 24): a retry with the
same key gets the first answer (`Idempotent-Replayed: true`) and never creates twice, also when two requests
with one key run at once; the key belongs to its user; a failed (5xx) first attempt is not kept; keys are kept
24 h; a bad key answers 400 pointing at the header; every POST operation of the schema is covered.
"""

import json
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from filings import services
from filings.models import FilingUnit, PatentRight, Product, ProductVersion
from patent_platform.api import idempotency
from patent_platform.models import IdempotencyKey, IdempotencyState, User
from patent_platform.tasks import purge_idempotency_keys
from tests.filings.conftest import add_right, filer_a, filer_b, make_unit, unit_a, unit_b  # noqa: F401 (fixtures)

# the claim is an insert in a transaction of its own, which takes another path on SQLite (BEGIN IMMEDIATE)
pytestmark = pytest.mark.embedded

PRODUCTS = "/api/v1/products/"
PATENTS = "/api/v1/patents/"
PROBLEM = "application/problem+json"
REPLAYED = "Idempotent-Replayed"
# POST operations without an authenticated caller: the key is not recorded there (nobody to scope it to)
UNAUTHENTICATED_POSTS = {"/api/v1/auth/token/"}


def client_of(user: User) -> APIClient:
    """A client that authenticates as an enterprise system does: with its token."""
    token, _ = Token.objects.get_or_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def post(client: APIClient, path: str, body: Any, key: str | None = None, **extra: Any) -> Any:
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.generic(
        "POST", path, json.dumps(body, ensure_ascii=False), content_type="application/json", **headers, **extra
    )


def product_body(right_id: int, name: str = "智能分拣机") -> dict[str, Any]:
    return {
        "name": name,
        "model": "ZF-100",
        "product_class": "03",
        "sales": "1000",
        "exports": "100",
        "output_value": "1200",
        "links": [{"right": right_id, "is_core": True, "contribution": "70", "embodiment": "分拣机构"}],
    }


def products_of(unit: FilingUnit) -> int:
    return Product.objects.filter(unit=unit).count()


def problem_code(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(PROBLEM), response["Content-Type"]
    body = response.json()
    assert body["status"] == status
    return body


@pytest.fixture
def right_a(unit_a: FilingUnit, filer_a: User, add_right: Callable[..., PatentRight]) -> PatentRight:
    return add_right(unit_a, filer_a)


# ---------------------------------------------------------------------------------------------
# A retry gets the first answer


@pytest.mark.django_db
def test_a_retried_product_create_creates_once_and_answers_the_same(
    unit_a: FilingUnit, filer_a: User, right_a: PatentRight
) -> None:
    client = client_of(filer_a)
    first = post(client, PRODUCTS, product_body(right_a.pk), key="order-4711")
    assert first.status_code == 201, first.content
    assert REPLAYED not in first
    again = post(client, PRODUCTS, product_body(right_a.pk), key="order-4711")
    assert again.status_code == 201
    assert again[REPLAYED] == "true"
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"]
    assert products_of(unit_a) == 1
    row = IdempotencyKey.objects.get()
    assert (row.user_id, row.key, row.state, row.response_status) == (filer_a.pk, "order-4711", "done", 201)
    # without a key nothing changes: a second POST creates a second product
    assert post(client, PRODUCTS, product_body(right_a.pk)).status_code == 201
    assert products_of(unit_a) == 2
    assert IdempotencyKey.objects.count() == 1


@pytest.mark.django_db
def test_a_retried_patent_create_creates_once_and_answers_the_same(unit_a: FilingUnit, filer_a: User) -> None:
    client = client_of(filer_a)
    body = {"number": "201710601862.3", "title": "一种智能分拣装置"}
    first = post(client, PATENTS, body, key="patent-1")
    assert first.status_code == 201, first.content
    again = post(client, PATENTS, body, key="patent-1")
    assert (again.status_code, again[REPLAYED], again.content) == (201, "true", first.content)
    assert PatentRight.objects.filter(unit=unit_a).count() == 1
    # a 4xx is kept too: the same refused request with another key is refused, and replayed with its own key
    duplicate = post(client, PATENTS, body, key="patent-2")
    assert 400 <= duplicate.status_code < 500
    replayed = post(client, PATENTS, body, key="patent-2")
    assert (replayed.status_code, replayed[REPLAYED], replayed.content) == (
        duplicate.status_code,
        "true",
        duplicate.content,
    )


@pytest.mark.django_db
def test_a_session_caller_is_scoped_like_a_token_caller(unit_a: FilingUnit, filer_a: User) -> None:
    client = APIClient()
    client.force_login(filer_a)
    body = {"number": "201710601862.3", "title": "一种智能分拣装置"}
    assert post(client, PATENTS, body, key="s-1").status_code == 201
    assert post(client, PATENTS, body, key="s-1")[REPLAYED] == "true"
    assert IdempotencyKey.objects.get().user_id == filer_a.pk


@pytest.mark.django_db
def test_the_same_key_for_another_request_answers_422(unit_a: FilingUnit, filer_a: User, right_a: PatentRight) -> None:
    client = client_of(filer_a)
    assert post(client, PRODUCTS, product_body(right_a.pk), key="k").status_code == 201
    other_body = post(client, PRODUCTS, product_body(right_a.pk, name="另一产品"), key="k")
    assert problem_code(other_body, 422)["code"] == "idempotency_key_reused"
    other_query = post(client, PRODUCTS + "?x=1", product_body(right_a.pk), key="k")
    assert problem_code(other_query, 422)["code"] == "idempotency_key_reused"
    other_path = post(client, PATENTS, product_body(right_a.pk), key="k")
    assert problem_code(other_path, 422)["code"] == "idempotency_key_reused"
    assert products_of(unit_a) == 1


@pytest.mark.django_db
def test_two_users_with_the_same_key_are_independent(
    unit_a: FilingUnit,
    unit_b: FilingUnit,
    filer_a: User,
    filer_b: User,
    add_right: Callable[..., PatentRight],
) -> None:
    a, b = client_of(filer_a), client_of(filer_b)
    answer_a = post(a, PRODUCTS, product_body(add_right(unit_a, filer_a).pk), key="shared")
    answer_b = post(b, PRODUCTS, product_body(add_right(unit_b, filer_b).pk), key="shared")
    assert (answer_a.status_code, answer_b.status_code) == (201, 201)
    assert REPLAYED not in answer_b
    assert answer_a.json()["id"] != answer_b.json()["id"]
    assert (products_of(unit_a), products_of(unit_b)) == (1, 1)
    assert IdempotencyKey.objects.filter(key="shared").count() == 2


@pytest.mark.django_db
def test_a_failed_first_attempt_is_not_kept_and_the_retry_runs(
    unit_a: FilingUnit, filer_a: User, right_a: PatentRight, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = services.product_create
    calls: list[int] = []

    def fail_once(**kwargs: Any) -> ProductVersion:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the database went away half-way")
        return original(**kwargs)

    monkeypatch.setattr(services, "product_create", fail_once)
    client = client_of(filer_a)
    client.raise_request_exception = False
    assert post(client, PRODUCTS, product_body(right_a.pk), key="retry-me").status_code == 500
    assert not IdempotencyKey.objects.exists()
    retry = post(client, PRODUCTS, product_body(right_a.pk), key="retry-me")
    assert retry.status_code == 201, retry.content
    assert REPLAYED not in retry
    assert (len(calls), products_of(unit_a)) == (2, 1)
    assert IdempotencyKey.objects.get().state == IdempotencyState.DONE


@pytest.mark.django_db
def test_a_retry_while_the_first_runs_answers_409_after_waiting(
    unit_a: FilingUnit, filer_a: User, right_a: PatentRight, settings: Any
) -> None:
    settings.IDEMPOTENCY_WAIT_SECONDS = 0.2
    raw = json.dumps(product_body(right_a.pk)).encode()
    now = timezone.now()
    IdempotencyKey.objects.create(
        user=filer_a,
        key="busy",
        fingerprint=idempotency.fingerprint("POST", PRODUCTS, raw),
        path=PRODUCTS,
        created_at=now,
        started_at=now,
    )
    client = client_of(filer_a)
    answer = client.generic("POST", PRODUCTS, raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY="busy")
    assert problem_code(answer, 409)["code"] == "idempotency_in_progress"
    assert int(answer["Retry-After"]) >= 1
    assert products_of(unit_a) == 0
    # a row "in progress" past its lease was left by a request whose process died: the retry takes it over
    IdempotencyKey.objects.filter(key="busy").update(
        started_at=now - timedelta(seconds=settings.IDEMPOTENCY_LEASE_SECONDS + 1)
    )
    answer = client.generic("POST", PRODUCTS, raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY="busy")
    assert answer.status_code == 201, answer.content
    assert products_of(unit_a) == 1
    assert IdempotencyKey.objects.get(key="busy").state == IdempotencyState.DONE


@pytest.mark.parametrize("key", ["", "x" * 256, "ключ", "tab\there"])
@pytest.mark.django_db
def test_a_bad_key_answers_400_pointing_at_the_header(filer_a: User, key: str) -> None:
    answer = post(client_of(filer_a), PATENTS, {"number": "201710601862.3", "title": "x"}, key=key)
    body = problem_code(answer, 400)
    assert body["code"] == "bad_request"
    assert [item["pointer"] for item in body["errors"]] == ["/headers/Idempotency-Key"]
    assert not PatentRight.objects.exists()
    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db
def test_the_longest_key_is_accepted(filer_a: User) -> None:
    key = "~" + "k" * 253 + " "
    answer = post(client_of(filer_a), PATENTS, {"number": "201710601862.3", "title": "x"}, key=key)
    assert answer.status_code == 201, answer.content
    assert IdempotencyKey.objects.get().key == key


@pytest.mark.django_db
def test_without_an_authenticated_user_nothing_is_recorded(filer_a: User) -> None:
    client = APIClient()
    body = {"email": filer_a.email, "password": "Demo-2026!"}
    first = post(client, "/api/v1/auth/token/", body, key="login-1")
    second = post(client, "/api/v1/auth/token/", body, key="login-1")
    assert (first.status_code, second.status_code) == (200, 200)
    assert REPLAYED not in second
    anonymous = post(client, PATENTS, {"number": "201710601862.3", "title": "x"}, key="anon")
    assert anonymous.status_code in (401, 403)
    assert not IdempotencyKey.objects.exists()


# ---------------------------------------------------------------------------------------------
# 24 hours


@pytest.mark.django_db
def test_keys_older_than_24_hours_are_purged_and_no_longer_count(
    unit_a: FilingUnit, filer_a: User, right_a: PatentRight
) -> None:
    client = client_of(filer_a)
    assert post(client, PRODUCTS, product_body(right_a.pk), key="old").status_code == 201
    assert post(client, PRODUCTS, product_body(right_a.pk), key="fresh").status_code == 201
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=24, minutes=1))
    IdempotencyKey.objects.filter(key="fresh").update(created_at=timezone.now() - timedelta(hours=23, minutes=59))
    # an expired key that the purge has not reached yet counts no more: the request runs again
    again = post(client, PRODUCTS, product_body(right_a.pk), key="old")
    assert again.status_code == 201
    assert REPLAYED not in again
    assert products_of(unit_a) == 3
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    assert purge_idempotency_keys() == {"deleted": 1}
    assert set(IdempotencyKey.objects.values_list("key", flat=True)) == {"fresh"}
    assert post(client, PRODUCTS, product_body(right_a.pk), key="fresh")[REPLAYED] == "true"


# ---------------------------------------------------------------------------------------------
# Every POST of the API


def post_operations() -> list[tuple[str, dict[str, Any]]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [(path, operations["post"]) for path, operations in schema["paths"].items() if "post" in operations]


@pytest.mark.django_db
def test_every_post_operation_takes_the_key_and_documents_it(filer_a: User) -> None:
    """Two identical POSTs with one key to every POST operation of the schema (ids that match nothing, an empty
    body: whatever the endpoint answers below 500): the second is the replay. A new endpoint is covered or
    this test fails."""
    operations = post_operations()
    assert len(operations) >= 15
    client = client_of(filer_a)
    seen_unauthenticated = set()
    for n, (path, operation) in enumerate(operations):
        header = [p for p in operation.get("parameters", []) if p["in"] == "header" and p["name"] == "Idempotency-Key"]
        assert header and header[0]["required"] is False, path
        url = path
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                url = url.replace("{" + parameter["name"] + "}", "987654321")
        assert "{" not in url, url
        first = post(client, url, {}, key=f"walk-{n}")
        assert first.status_code < 500, (path, first.status_code, first.content[:300])
        second = post(client, url, {}, key=f"walk-{n}")
        if path in UNAUTHENTICATED_POSTS:
            seen_unauthenticated.add(path)
            assert REPLAYED not in second, path
            continue
        assert second.get(REPLAYED) == "true", (path, first.status_code, second.status_code)
        assert (second.status_code, second.content) == (first.status_code, first.content), path
        responses = operation["responses"]
        for code in ("409", "422"):
            assert PROBLEM in responses[code]["content"], (path, code)
            assert responses[code]["content"][PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}
        assert "Retry-After" in responses["409"]["headers"], path
    assert seen_unauthenticated == UNAUTHENTICATED_POSTS
    assert IdempotencyKey.objects.count() == len(operations) - len(UNAUTHENTICATED_POSTS)


# ---------------------------------------------------------------------------------------------
# Concurrent retries (PostgreSQL: threads with their own connections, committed rows)


def _in_thread(results: dict[str, Any], name: str, call: Callable[[], Any]) -> threading.Thread:
    def run() -> None:
        try:
            results[name] = call()
        except BaseException as exc:  # reported by the assertion on results
            results[name] = exc
        finally:
            connection.close()

    return threading.Thread(target=run, name=name)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_create_once(
    unit_a: FilingUnit, filer_a: User, right_a: PatentRight, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(1) A retry that arrives while the first request runs waits for it and replays its answer; (2) four
    requests with one key released at the same moment: one runs, three replay. One transactional test for
    both (each costs a flush of the database)."""
    original_create, original_pause = services.product_create, idempotency._pause
    inside, waiting, release = threading.Event(), threading.Event(), threading.Event()
    hold = {"slow": True}

    def slow_create(**kwargs: Any) -> ProductVersion:
        if hold["slow"]:
            inside.set()
            assert release.wait(10)
        return original_create(**kwargs)

    def pause() -> None:
        waiting.set()
        original_pause()

    monkeypatch.setattr(services, "product_create", slow_create)
    monkeypatch.setattr(idempotency, "_pause", pause)
    body = product_body(right_a.pk)
    results: dict[str, Any] = {}
    one, two = client_of(filer_a), client_of(filer_a)  # one client per thread, the token made here
    first = _in_thread(results, "first", lambda: post(one, PRODUCTS, body, key="slow"))
    retry = _in_thread(results, "retry", lambda: post(two, PRODUCTS, body, key="slow"))
    first.start()
    assert inside.wait(10)
    retry.start()
    assert waiting.wait(10)  # the retry found the key in progress and waits for it
    release.set()
    first.join(15)
    retry.join(15)
    assert results["first"].status_code == 201, results["first"]
    assert results["retry"].status_code == 201, results["retry"]
    assert REPLAYED not in results["first"]
    assert results["retry"][REPLAYED] == "true"
    assert results["retry"].content == results["first"].content
    assert products_of(unit_a) == 1

    hold["slow"] = False
    start = threading.Barrier(4)

    def send(client: APIClient) -> Callable[[], Any]:
        def call() -> Any:
            start.wait(10)
            return post(client, PRODUCTS, body, key="burst")

        return call

    threads = [_in_thread(results, f"t{i}", send(client_of(filer_a))) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    answers = [results[f"t{i}"] for i in range(4)]
    assert [a.status_code for a in answers] == [201] * 4, answers
    assert sum(1 for a in answers if REPLAYED not in a) == 1
    assert len({a.content for a in answers}) == 1
    assert products_of(unit_a) == 2
    assert IdempotencyKey.objects.filter(state=IdempotencyState.DONE).count() == 2
