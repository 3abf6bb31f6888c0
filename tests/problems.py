"""Reading the API's problem answers (patent_platform/api/problems.py) in tests."""

from typing import Any

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def problem(response: Any, status: int | None = None, code: str | None = None) -> dict[str, Any]:
    """The problem body of `response`, checked to be one (content type, members, status)."""
    assert response["Content-Type"].startswith("application/problem+json"), (
        response.status_code,
        response["Content-Type"],
        response.content[:300],
    )
    body = response.json()
    assert set(body) >= PROBLEM_KEYS, body
    assert body["status"] == response.status_code
    assert body["type"].endswith("/" + body["code"])
    if status is not None:
        assert response.status_code == status, (response.status_code, body)
    if code is not None:
        assert body["code"] == code, body
    return body


def fields(response: Any) -> dict[str, list[str]]:
    """The messages of a validation problem by the request field they point at (the first segment of the
    pointer; a query parameter by its name; the whole request as "non_field_errors")."""
    body = problem(response)
    out: dict[str, list[str]] = {}
    for item in body.get("errors", []):
        name = item.get("parameter") or (item["pointer"].split("/")[1] if item["pointer"] else "non_field_errors")
        out.setdefault(name, []).append(item["message"])
    return out


def pointers(response: Any) -> dict[str, str]:
    """{pointer: code} of a validation problem."""
    return {item["pointer"]: item["code"] for item in problem(response).get("errors", [])}
