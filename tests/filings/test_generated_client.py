"""The integrator's test (issue 24): the API as an enterprise's ERP meets it.

The published schema is fetched from a running server, validated by an independent validator
(openapi-spec-validator), turned into a Python client by the most used generator (openapi-python-client),
every module of that client imported, and an ERP flow run with the generated client only, over HTTP:
log in, page through the rights, register a right (twice: the duplicate names the existing id), create a
product that fails validation and read the pointer, fix it, retry with an idempotency key, register a
webhook endpoint and verify it, submit, and receive the approval signed (a real HTTPS receiver on loopback,
tests/filings/test_webhooks.py). Every answer must parse into its generated model with no unknown field.
"""

import importlib
import inspect
import json
import os
import pkgutil
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from filings import webhooks, workflow
from filings.models import FilingUnit, PatentRight, Product, ProductVersion
from patent_platform.choices import Role
from patent_platform.models import User
from tests.conftest import PASSWORD
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)

PACKAGE = "erp_client"


def generator() -> str:
    found = Path(sys.executable).with_name("openapi-python-client")
    assert found.exists(), f"{found}: install the dev dependencies (make install-dev)"
    return str(found)


@pytest.fixture
def generated(tmp_path: Path, live_server: Any, filer_a: User) -> Iterator[tuple[Any, dict[str, Any]]]:
    """(the generated package, the schema) — fetched from the live server as an integrator would."""
    token = httpx.post(
        f"{live_server.url}/api/v1/auth/token/", json={"email": filer_a.email, "password": PASSWORD}
    ).json()["token"]
    answer = httpx.get(
        f"{live_server.url}/api/schema/", params={"format": "json"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text[:300]
    schema = answer.json()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        validate(schema)  # raises on any error
    assert not caught, [str(w.message) for w in caught]
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    run = subprocess.run(
        [generator(), "generate", "--path", str(path), "--meta", "none", "--output-path", str(tmp_path / PACKAGE)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    said = run.stdout + run.stderr
    assert run.returncode == 0, said
    assert "Warning" not in said and "warning" not in said, said
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE), schema
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def no_unknown_fields(value: Any, where: str = "") -> None:
    """The parsed answer knows every field the server sent: no `additional_properties` anywhere."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            no_unknown_fields(item, f"{where}[{i}]")
        return
    extra = getattr(value, "additional_properties", None)
    if extra is None:
        return
    assert extra == {}, f"{type(value).__name__}{where} has fields its model does not know: {sorted(extra)}"
    for name in getattr(type(value), "__attrs_attrs__", ()):
        if name.name != "additional_properties":
            no_unknown_fields(getattr(value, name.name), f"{where}.{name.name}")


# the list an operation that takes an object's id reads its id from
ID_FROM = {"webhook_deliveries_list": "webhooks_list"}


def read_everything(client: Any, operation_ids: list[str], out_of_scope: str = "") -> list[str]:
    """Call every read operation: those without an id first, then each detail with an id from its list; every
    answer must be a 200 that parses into its model with no unknown field, except the operations whose id
    starts with `out_of_scope`, which must answer the problem not_found. The operations called."""
    pages: dict[str, Any] = {}
    called = []
    with_id = []
    for name in operation_ids:
        module = importlib.import_module(f"{PACKAGE}.api.{tag_of(name)}.{name}")
        if "id" in inspect.signature(module.sync_detailed).parameters:
            with_id.append((name, module))
            continue
        answer = module.sync_detailed(client=client)
        called.append(name)
        if out_of_scope and name.startswith(out_of_scope):
            assert answer.status_code == 404 and answer.parsed.code == "not_found", (name, answer.status_code)
            continue
        assert answer.status_code == 200, (name, answer.status_code, answer.content[:300])
        no_unknown_fields(answer.parsed)
        pages[name] = answer.parsed
    for name, module in with_id:
        source = ID_FROM.get(name, name.removesuffix("_retrieve") + "_list")
        assert source in pages or source.startswith(out_of_scope or "-"), f"{name}: say in ID_FROM which list"
        rows = getattr(pages.get(source), "results", [])
        if rows:
            answer = module.sync_detailed(rows[0].id, client=client)
            assert answer.status_code == 200, (name, answer.status_code, answer.content[:300])
            no_unknown_fields(answer.parsed)
        called.append(name)
    return called


def tag_of(operation_id: str) -> str:
    return {"webhook": "webhooks"}.get(operation_id.split("_")[0], operation_id.split("_")[0])


def test_a_generated_client_works_out_of_the_box(
    generated: tuple[Any, dict[str, Any]],
    live_server: Any,
    filer_a: User,
    unit_a: FilingUnit,
    reviewer: User,
    add_right: Callable[..., PatentRight],
    receiver: Receiver,
    make_user: Callable[..., User],
) -> None:
    _package, schema = generated
    api = importlib.import_module(f"{PACKAGE}.api")
    modules = [m.name for m in pkgutil.walk_packages(api.__path__, f"{PACKAGE}.api.")]
    operations = sum(isinstance(op, dict) for ops in schema["paths"].values() for op in ops.values())
    endpoint_modules = [importlib.import_module(name) for name in modules]  # every module imports
    assert len([m for m in endpoint_modules if hasattr(m, "sync_detailed")]) == operations >= 45

    models = importlib.import_module(f"{PACKAGE}.models")
    client_module = importlib.import_module(f"{PACKAGE}.client")
    from_auth = importlib.import_module(f"{PACKAGE}.api.auth.auth_token_create")
    patents_list = importlib.import_module(f"{PACKAGE}.api.patents.patents_list")
    patents_create = importlib.import_module(f"{PACKAGE}.api.patents.patents_create")
    products_create = importlib.import_module(f"{PACKAGE}.api.products.products_create")
    products_submit = importlib.import_module(f"{PACKAGE}.api.products.products_submit")

    # log in
    anonymous = client_module.Client(base_url=live_server.url)
    token = from_auth.sync(client=anonymous, body=models.CredentialsRequest(email=filer_a.email, password=PASSWORD))
    assert isinstance(token, models.TokenResponse), token
    no_unknown_fields(token)
    wrong = from_auth.sync(client=anonymous, body=models.CredentialsRequest(email=filer_a.email, password="nope"))
    assert isinstance(wrong, models.Problem) and wrong.code == "invalid_credentials"
    erp = client_module.AuthenticatedClient(base_url=live_server.url, token=token.token)

    # page through the rights, with the cursor each page gives
    rights = {add_right(unit_a, filer_a).pk for _ in range(5)}
    seen: list[int] = []
    cursor: Any = None
    for _ in range(10):
        page = patents_list.sync(client=erp, page_size=2, **({"cursor": cursor} if cursor else {}))
        assert isinstance(page, models.PaginatedPatentRightList), page
        no_unknown_fields(page)
        seen += [row.id for row in page.results]
        cursor = page.next_cursor
        if not cursor:
            break
    assert sorted(seen) == sorted(rights)

    # register a right; the second time, the duplicate names the existing one
    body = models.PatentRightCreateRequest(number="201710601862.3", title="一种分拣装置")
    right = patents_create.sync(client=erp, body=body)
    assert isinstance(right, models.PatentRight), right
    no_unknown_fields(right)
    again = patents_create.sync(client=erp, body=models.PatentRightCreateRequest(number="ZL2017106018623"))
    assert isinstance(again, models.Problem) and again.code == "duplicate" and again.existing_id == right.id
    found = patents_list.sync(client=erp, number="CN201710601862.3")
    assert [row.id for row in found.results] == [right.id]

    # create a product that fails validation, read the pointer, fix it
    link = models.PatentLinkInputRequest(right=right.id, is_core=True, contribution="150", embodiment="主控")
    product = models.ProductCreateRequest(
        name="智能分拣机", product_class="03", sales="1000", exports="100", output_value="1200", links=[link]
    )
    refused = products_create.sync(client=erp, body=product)
    assert isinstance(refused, models.Problem) and refused.code == "validation", refused
    no_unknown_fields(refused)
    pointers = {item.pointer: item.code for item in refused.errors}
    assert pointers == {"/links/0/contribution": "contribution_range", "/links": "contribution_total"}
    item = next(e for e in refused.errors if e.code == "contribution_range")
    _, field, index, member = item.pointer.split("/")  # "/links/0/contribution": the ERP's own field
    setattr(getattr(product, field)[int(index)], member, "60")

    # a retry after a timeout: the same idempotency key creates once
    created = products_create.sync(client=erp, body=product, idempotency_key="erp-order-4711")
    retried = products_create.sync_detailed(client=erp, body=product, idempotency_key="erp-order-4711")
    assert isinstance(created, models.Product), created
    no_unknown_fields(created)
    assert retried.parsed.id == created.id and retried.headers.get("Idempotent-Replayed") == "true"
    assert Product.objects.filter(unit=unit_a).count() == 1
    assert created.current_version.links[0].contribution.startswith("60")

    # told, not polled: a webhook endpoint, verified, receives the approval signed
    webhooks_create = importlib.import_module(f"{PACKAGE}.api.webhooks.webhooks_create")
    webhooks_verify = importlib.import_module(f"{PACKAGE}.api.webhooks.webhooks_verify")
    webhooks_retrieve = importlib.import_module(f"{PACKAGE}.api.webhooks.webhooks_retrieve")
    deliveries_list = importlib.import_module(f"{PACKAGE}.api.webhooks.webhook_deliveries_list")
    hook = webhooks_create.sync(
        client=erp,
        body=models.WebhookEndpointCreateRequest(url=receiver.url, events=[models.EventsEnum("filing.approved")]),
    )
    assert isinstance(hook, models.WebhookEndpointCreated), hook
    no_unknown_fields(hook)
    receiver.secret = hook.secret  # the ERP keeps the secret it was given once
    assert isinstance(webhooks_verify.sync(hook.id, client=erp), models.WebhookDelivery)
    webhooks.deliver_due()  # what the worker does every minute (and after each commit)
    assert webhooks_retrieve.sync(hook.id, client=erp).status == "active"

    submitted = products_submit.sync(created.id, client=erp)
    assert isinstance(submitted, models.Product), submitted
    no_unknown_fields(submitted)
    assert submitted.current_version.status == "submitted"
    workflow.version_approve(
        version=ProductVersion.objects.get(pk=submitted.current_version.id), user=reviewer
    )  # at the platform
    webhooks.deliver_due()
    approved = receiver.events("filing.approved")
    assert len(approved) == 1 and approved[0]["signature_ok"], receiver.requests
    assert approved[0]["json"]["data"]["product_id"] == created.id
    log = deliveries_list.sync(hook.id, client=erp)
    assert isinstance(log, models.PaginatedWebhookDeliveryList), log
    no_unknown_fields(log)
    assert [(d.event_type, d.status) for d in log.results if d.event_type == "filing.approved"] == [
        ("filing.approved", "delivered")
    ]

    # every read operation, for the filer and for the national office, parses with no unknown field
    national = make_user("national-erp@example.cn", Role.NATIONAL_ADMIN)
    national_token = from_auth.sync(
        client=anonymous, body=models.CredentialsRequest(email=national.email, password=PASSWORD)
    )
    office = client_module.AuthenticatedClient(base_url=live_server.url, token=national_token.token)
    reads = sorted(
        op["operationId"]
        for ops in schema["paths"].values()
        for method, op in ops.items()
        if method == "get" and isinstance(op, dict)
    )
    assert sorted(read_everything(erp, reads, out_of_scope="provincial_")) == reads  # statistics: ports only
    assert sorted(read_everything(office, reads)) == reads
