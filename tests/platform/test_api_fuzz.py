"""Every API operation fuzzed from the app's own OpenAPI schema (等保 2.0 L3, input validation).

schemathesis loads `/api/schema/` from the WSGI application and, for each operation, generates a
bounded number of requests that fit the schema (positive) and that do not (negative), sent with a
national administrator's token and with an enterprise user's token. Each response must not be a
server error and must conform to the schema: a documented status code, a documented content type,
a body that validates. Path ids are drawn from the objects the user can list as well as at random,
so that the fuzzer reaches real objects and not only 404s.

Bounded and repeatable: MAX_EXAMPLES per operation and mode, no deadline, and a seed that changes from run
to run — printed in the run's header ("API fuzz seed: N") and in every failure; FUZZ_SEED=N repeats a run.
A server error found once becomes a fixed example in tests/platform/test_boundaries.py (API_REGRESSIONS).
"""

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.test import Client as WsgiClient

from patent_platform.models import User
from patent_platform.wsgi import application

MAX_EXAMPLES = 10
SEED = int(os.environ.get("FUZZ_SEED") or 0)  # set for the whole run by tests/conftest.py (pytest_configure)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
ROLES = ["national", "ent-gz"]


@pytest.fixture
def keep_test_connection() -> Iterator[None]:
    """The real WSGI handler closes the database connection after each request, which would end the
    test's transaction on PostgreSQL; Django's test client keeps it open the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def load_schema() -> Any:
    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


def visible_ids(operation: Any, headers: dict[str, str]) -> list[int]:
    """Ids the user can read, from the list operation of the same path (first page)."""
    list_path = operation.path.rsplit("{id}", 1)[0]
    if list_path == operation.path:
        return []
    # through the same WSGI app (Django's test client would connect close_old_connections again)
    response = WsgiClient(application).get(list_path, headers=headers)
    if response.status_code != 200:
        return []
    body = response.get_json()
    results = body.get("results", body) if isinstance(body, dict) else body
    return [item["id"] for item in results if isinstance(item, dict) and isinstance(item.get("id"), int)][:10]


def fuzz_operation(operation: Any, headers: dict[str, str], mode: GenerationMode) -> None:
    strategies = [operation.as_strategy(generation_mode=mode, headers=headers)]
    if "{id}" in operation.path and (ids := visible_ids(operation, headers)):
        strategies += [
            operation.as_strategy(generation_mode=mode, headers=headers, path_parameters={"id": pk}) for pk in ids[:3]
        ]

    @given(case=st.one_of(strategies))
    @seed(SEED)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


@pytest.mark.parametrize("role", ROLES)
def test_every_api_operation_survives_fuzzing(
    role: str, demo_users: dict[str, User], keep_test_connection: None
) -> None:
    schema = load_schema()
    token, _created = Token.objects.get_or_create(user=demo_users[role])
    headers = {"Authorization": f"Token {token.key}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30, "the schema lost its operations"
    failures = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz_operation(operation, headers, mode)
            except Unsatisfiable:
                # nothing to break: an operation without parameters or body has no negative case
                assert mode == GenerationMode.NEGATIVE, f"{operation.method.upper()} {operation.path}"
            except (Exception, BaseExceptionGroup) as exc:  # every operation's failure, not only the first
                failures.append(f"{operation.method.upper()} {operation.path} [{mode.value}]: {exc}")
    assert not failures, f"API fuzz seed {SEED} (FUZZ_SEED={SEED} repeats it):\n\n" + "\n\n".join(failures)
