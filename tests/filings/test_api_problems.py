"""The API as an integrator meets it (issue 24): one error model, auth that says what it is, JSON only,
filters for re-syncs.

Every error answer provoked here is validated against the one `Problem` schema of the published OpenAPI
document (jsonschema), so an error path that answers another shape fails.
"""

import datetime as dt
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from filings.models import FilingUnit, PatentRight, ProductClass, ProductVersion
from patent_platform.models import User
from tests.conftest import PASSWORD
from tests.problems import fields, pointers, problem

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def problem_schema(django_db_blocker: Any) -> dict[str, Any]:
    """The published `Problem` component, with the components it refers to, as a JSON schema."""
    with django_db_blocker.unblock():
        schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    components = schema["components"]["schemas"]
    return {"$ref": "#/components/schemas/Problem", "components": {"schemas": components}}


def check(answer: Any, schema: dict[str, Any], status: int, code: str) -> dict[str, Any]:
    body = problem(answer, status, code)
    jsonschema.validate(body, schema)
    return body


def token_of(email: str) -> str:
    answer = APIClient().post("/api/v1/auth/token/", {"email": email, "password": PASSWORD}, format="json")
    assert answer.status_code == 200, answer.content
    return answer.json()["token"]


def links_body(right_id: int, contribution: str) -> dict[str, Any]:
    return {
        "name": "智能分拣机",
        "product_class": "03",
        "sales": "1000",
        "exports": "100",
        "output_value": "1200",
        "links": [{"right": right_id, "is_core": True, "contribution": contribution, "embodiment": "主控"}],
    }


def test_a_bad_item_of_a_list_is_pointed_at(
    filer_a: User, unit_a: FilingUnit, add_right: Callable[..., PatentRight], problem_schema: dict[str, Any]
) -> None:
    right = add_right(unit_a, filer_a)
    client = APIClient()
    client.force_authenticate(filer_a)
    answer = client.post("/api/v1/products/", links_body(right.pk, "-5"), format="json")
    body = check(answer, problem_schema, 400, "validation")
    assert pointers(answer) == {"/links/0/contribution": "contribution_range"}
    assert body["errors"][0]["message"] == "第 1 项：贡献度须在 0 到 100 之间。"
    answer = client.post("/api/v1/products/", links_body(right.pk, "150"), format="json")
    assert pointers(answer) == {"/links/0/contribution": "contribution_range", "/links": "contribution_total"}
    two = links_body(right.pk, "60")
    second = add_right(unit_a, filer_a)
    two["links"].append({"right": second.pk, "is_core": False, "contribution": "50", "embodiment": ""})
    answer = client.post("/api/v1/products/", two, format="json")
    assert pointers(answer) == {"/links": "contribution_total"}
    two["links"][1]["right"] = right.pk
    two["links"][1]["contribution"] = "10"
    assert pointers(client.post("/api/v1/products/", two, format="json")) == {"/links/1/right": "duplicate_link"}
    # a field of the serializer itself: DRF's code, the field's pointer
    answer = client.post("/api/v1/products/", {**links_body(right.pk, "10"), "sales": "abc"}, format="json")
    assert pointers(answer) == {"/sales": "invalid"}
    assert not ProductVersion.objects.exists()


def test_messages_follow_the_request_language(
    filer_a: User, unit_a: FilingUnit, add_right: Callable[..., PatentRight], problem_schema: dict[str, Any]
) -> None:
    right = add_right(unit_a, filer_a)
    client = APIClient()
    client.force_authenticate(filer_a)
    answer = client.post("/api/v1/products/", links_body(right.pk, "-5"), format="json", HTTP_ACCEPT_LANGUAGE="en")
    body = check(answer, problem_schema, 400, "validation")
    assert body["errors"][0]["code"] == "contribution_range"  # the code does not change with the language
    assert "100" in body["errors"][0]["message"] and "贡献度" not in body["errors"][0]["message"], body
    assert "请求" not in body["title"]


def test_401_for_the_caller_403_for_the_role(filer_a: User, reviewer: User, problem_schema: dict[str, Any]) -> None:
    anonymous = APIClient().get("/api/v1/products/")
    check(anonymous, problem_schema, 401, "not_authenticated")
    assert anonymous["WWW-Authenticate"] == 'Bearer realm="api"'
    for header in ("Bearer nope", "Token " + "0" * 40, "Bearer a b", "Bearer " + "x" * 500, "Bearer \u00e9t\u00e9"):
        answer = APIClient().get("/api/v1/products/", HTTP_AUTHORIZATION=header)
        check(answer, problem_schema, 401, "authentication_failed")
        assert answer["WWW-Authenticate"].startswith("Bearer")
    token = token_of(filer_a.email)
    for scheme in ("Bearer", "Token", "bearer"):
        assert APIClient().get("/api/v1/products/", HTTP_AUTHORIZATION=f"{scheme} {token}").status_code == 200
    # a signed-in caller whose role may not act: 403, not 401
    desk = APIClient()
    desk.force_authenticate(reviewer)
    answer = desk.post("/api/v1/patents/", {"number": "201710601862.3", "title": "x"}, format="json")
    check(answer, problem_schema, 403, "permission_denied")
    assert "WWW-Authenticate" not in answer


def test_a_locked_account_says_so_without_revealing_the_address(
    filer_a: User, settings: Any, problem_schema: dict[str, Any]
) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "token": "1000/min", "token_account": "1000/min"}
    client = APIClient()
    for email in (filer_a.email, "nobody-here@example.cn"):
        answers = [
            client.post("/api/v1/auth/token/", {"email": email, "password": "wrong"}, format="json")
            for _ in range(settings.AXES_FAILURE_LIMIT)
        ]
        assert [a.status_code for a in answers[:-1]] == [400] * (settings.AXES_FAILURE_LIMIT - 1)
        check(answers[0], problem_schema, 400, "invalid_credentials")
        locked = client.post("/api/v1/auth/token/", {"email": email, "password": PASSWORD}, format="json")
        body = check(locked, problem_schema, 429, "account_locked")
        assert int(locked["Retry-After"]) > 0 and "锁定" in body["detail"]
    # an existing and an unknown address answer alike: the lock reveals nothing


def test_json_in_json_out(filer_a: User, problem_schema: dict[str, Any]) -> None:
    client = APIClient()
    client.force_authenticate(filer_a)
    answer = client.post("/api/v1/patents/", {"number": "201710601862.3", "title": "x"}, format="multipart")
    check(answer, problem_schema, 415, "unsupported_media_type")
    answer = client.generic("POST", "/api/v1/patents/", "{not json", content_type="application/json")
    check(answer, problem_schema, 400, "bad_request")
    assert not PatentRight.objects.exists()
    schema = client.get("/api/schema/", {"format": "json"}).json()
    bodies = {
        f"{method} {path}": sorted(op["requestBody"]["content"])
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
        if isinstance(op, dict) and "requestBody" in op
    }
    assert bodies and all(types == ["application/json"] for types in bodies.values()), bodies


def test_every_error_answer_of_the_schema_is_the_one_problem(filer_a: User) -> None:
    client = APIClient()
    client.force_authenticate(filer_a)
    schema = client.get("/api/schema/", {"format": "json"}).json()
    seen = 0
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            if not isinstance(op, dict):
                continue
            assert op["operationId"].replace("_", "").isalpha(), op["operationId"]
            assert op.get("tags"), (method, path)
            for code, answer in op["responses"].items():
                if code[0] in "45":
                    seen += 1
                    assert answer["content"] == {
                        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                    }, (method, path, code)
            if op.get("security") and {} not in op["security"]:
                assert "401" in op["responses"], (method, path)
    assert seen > 100
    assert schema["components"]["securitySchemes"]["tokenAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["tokenAuth"]["description"],
    }


def test_edge_answers_are_problems(filer_a: User, problem_schema: dict[str, Any]) -> None:
    client = APIClient()
    client.force_authenticate(filer_a)
    check(client.get("/api/v1/products/?q=a%00b"), problem_schema, 400, "bad_request")
    check(client.get("/api/v1/no-such-thing/"), problem_schema, 404, "not_found")
    check(client.get("/api/v1/products/999999/"), problem_schema, 404, "not_found")
    check(client.delete("/api/v1/products/"), problem_schema, 405, "method_not_allowed")
    answer = client.get("/api/v1/products/", {"data_year": "last"})
    body = check(answer, problem_schema, 400, "validation")
    assert body["errors"][0]["parameter"] == "data_year" and body["errors"][0]["pointer"] == ""
    assert fields(answer) == {"data_year": [body["errors"][0]["message"]]}
    # the pages keep their own rendering
    assert "text/html" in Client().get("/no-such-page/")["Content-Type"]


def test_filters_for_a_resync(
    filer_a: User,
    unit_a: FilingUnit,
    add_right: Callable[..., PatentRight],
    new_version: Callable[..., ProductVersion],
    product_class: ProductClass,
    problem_schema: dict[str, Any],
) -> None:
    client = APIClient()
    client.force_authenticate(filer_a)
    right = add_right(unit_a, filer_a)
    add_right(unit_a, filer_a)
    number = right.patent.number
    for spelled in (number, "ZL" + number.replace(".", ""), "CN" + number):
        answer = client.get("/api/v1/patents/", {"number": spelled})
        assert [r["id"] for r in answer.json()["results"]] == [right.pk], spelled
    check(client.get("/api/v1/patents/", {"number": "12x"}), problem_schema, 400, "validation")

    old = new_version(unit_a, filer_a)
    ProductVersion.objects.filter(pk=old.pk).update(updated_at=timezone.now() - dt.timedelta(days=3))
    fresh = new_version(unit_a, filer_a)
    since = (timezone.now() - dt.timedelta(days=1)).astimezone(dt.UTC).isoformat()
    answer = client.get("/api/v1/products/", {"updated_since": since})
    assert [r["id"] for r in answer.json()["results"]] == [fresh.product_id]
    answer = client.get("/api/v1/products/", {"updated_since": (timezone.localdate() - dt.timedelta(days=5))})
    assert {r["id"] for r in answer.json()["results"]} == {old.product_id, fresh.product_id}
    body = check(client.get("/api/v1/products/", {"updated_since": "yesterday"}), problem_schema, 400, "validation")
    assert body["errors"][0]["parameter"] == "updated_since"


def test_an_expired_token_answers_401_and_the_endpoint_issues_a_new_one(
    filer_a: User, settings: Any, problem_schema: dict[str, Any]
) -> None:
    settings.API_TOKEN_MAX_AGE_DAYS = 90
    old = token_of(filer_a.email)
    assert APIClient().get("/api/v1/products/", HTTP_AUTHORIZATION=f"Bearer {old}").status_code == 200
    Token.objects.filter(key=old).update(created=timezone.now() - dt.timedelta(days=91))
    answer = APIClient().get("/api/v1/products/", HTTP_AUTHORIZATION=f"Bearer {old}")
    body = check(answer, problem_schema, 401, "authentication_failed")
    assert "过期" in body["detail"] and answer["WWW-Authenticate"].startswith("Bearer")
    new = token_of(filer_a.email)
    assert new != old and not Token.objects.filter(key=old).exists()
    assert APIClient().get("/api/v1/products/", HTTP_AUTHORIZATION=f"Bearer {new}").status_code == 200
    settings.API_TOKEN_MAX_AGE_DAYS = 0  # never
    Token.objects.filter(key=new).update(created=timezone.now() - dt.timedelta(days=3650))
    assert APIClient().get("/api/v1/products/", HTTP_AUTHORIZATION=f"Bearer {new}").status_code == 200
