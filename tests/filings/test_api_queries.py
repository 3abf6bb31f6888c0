"""The product list API (`GET /api/v1/products/`) at scale: a fixed number of queries whatever the page size,
and rows identical to what the detail serializer gives for the same product (issue 7: the list builds its
rows from a few value queries instead of a ModelSerializer per product).

The catalogue is built through the services and the workflow: 20 products of one unit with one to three
data years each, three patents per version (one right shared by every product), and current versions in
every state the list shows differently (returned twice, approved and published, a draft after two approved
years, submitted, revoked).
"""

import decimal
import zoneinfo
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import serializers
from rest_framework.test import APIClient

from filings import services, workflow
from filings.api import rendered
from filings.api.rendered import moment_sql
from filings.api.serializers import representation_of
from filings.models import FilingUnit, PatentRight, Product, ProductClass, ProductVersion
from patent_platform.models import User

pytestmark = pytest.mark.django_db

URL = "/api/v1/products/"
# PostgreSQL renders the page to JSON (filings/api/rendered.py): the page's product ids, then its JSON in one
# query. Elsewhere the page is built in Python: the products of the page; their versions (with the class
# codes); the current versions' links (with the rights' patents); the current returned versions' reasons.
# Scope, session and user are not counted: the client authenticates without a session and the user's scope is
# computed once per user object.
RENDERED = connection.vendor == "postgresql"
PAGE_QUERIES = 2 if RENDERED else 4
PRODUCTS = 20


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def catalogue(
    unit_a: FilingUnit,
    filer_a: User,
    reviewer: User,
    add_right: Callable[..., PatentRight],
    product_class: ProductClass,
) -> list[int]:
    """20 products, newest first by id; every fourth (from the newest) has a returned current version, so
    every page of five holds one."""
    shared = add_right(unit_a, filer_a)
    other_class = ProductClass.objects.filter(is_active=True).exclude(pk=product_class.pk).first()
    year = workflow.default_data_year()
    ids = []
    for i in range(PRODUCTS):
        own = [add_right(unit_a, filer_a), add_right(unit_a, filer_a)]
        links = [
            {"right": own[0].pk, "is_core": True, "contribution": Decimal(60), "embodiment": "主体结构"},
            {"right": shared.pk, "is_core": False, "contribution": Decimal("12.5"), "embodiment": ""},
            {"right": own[1].pk, "is_core": i % 2 == 0, "contribution": Decimal(25), "embodiment": "控制模块"},
        ]
        kind = i % 4
        data = {
            "name": f"产品{i:02d}",
            "model": f"M-{i}",
            "product_class": other_class if i % 3 else product_class,
            "description": "" if i % 5 else f"第 {i} 号产品的简介",
            "first_sale_date": date(2020, 1 + i % 12, 1) if i % 2 else None,
            "sales": Decimal("1000.5") + i,
            "exports": Decimal(i),
            "output_value": Decimal("1234.56"),
        }
        first_year = year - 2 if kind in (1, 2) else year
        version = services.product_create(unit=unit_a, user=filer_a, data=data, links=links, data_year=first_year)
        product = version.product
        if kind == 0:  # returned twice: only the latest round's reasons are shown
            workflow.version_submit(version=version, user=filer_a)
            workflow.version_return(version=version, user=reviewer, reasons={"sales": f"请核对{i}。", "": "材料不全。"})
            workflow.version_submit(version=version, user=filer_a)
            workflow.version_return(version=version, user=reviewer, reasons={"patents": f"第二轮{i}"})
        elif kind in (1, 2):  # approved two years running, then a draft (1) or a submitted version (2)
            workflow.version_submit(version=version, user=filer_a)
            workflow.version_approve(version=version, user=reviewer)
            second = workflow.product_yearly_update_start(product=product, user=filer_a, data_year=year - 1)
            if kind == 1:
                workflow.version_submit(version=second, user=filer_a)
                workflow.version_approve(version=second, user=reviewer)
                workflow.product_yearly_update_start(product=product, user=filer_a, data_year=year)
            else:
                workflow.version_submit(version=second, user=filer_a)
        else:  # approved (published) or approved then revoked (a filing number, no public page)
            workflow.version_submit(version=version, user=filer_a)
            workflow.version_approve(version=version, user=reviewer)
            if i % 8 == 7:
                workflow.version_revoke(version=version, user=reviewer, reason="数据不实")
        ids.append(product.pk)
    return sorted(ids, reverse=True)


def rows(client: APIClient, **params: Any) -> list[dict[str, Any]]:
    answer = client.get(URL, params)
    assert answer.status_code == 200, answer.content
    return answer.json()["results"]


def test_the_catalogue_covers_what_the_list_shows(catalogue: list[int]) -> None:
    statuses = {p.pk: p.latest_version().status for p in Product.objects.filter(pk__in=catalogue)}
    assert set(statuses.values()) == {"returned", "approved", "draft", "submitted", "revoked"}
    assert ProductVersion.objects.filter(product_id__in=catalogue).count() == 5 * 1 + 5 * 3 + 5 * 2 + 5 * 1
    returned = {pid for pid, s in statuses.items() if s == "returned"}
    assert all(returned & set(catalogue[start : start + 5]) for start in range(0, PRODUCTS, 5))


def test_the_query_count_does_not_grow_with_the_page(
    catalogue: list[int], filer_a: User, django_assert_num_queries: Any
) -> None:
    client = api(filer_a)
    client.get(URL)  # the user's scope (memberships) is computed once per user object
    with django_assert_num_queries(PAGE_QUERIES):
        twenty = rows(client, page_size=PRODUCTS)
    assert [row["id"] for row in twenty] == catalogue
    assert sum(1 for row in twenty if len(row["versions"]) == 3) == 5
    assert sum(len(row["current_version"]["links"]) for row in twenty) == 3 * PRODUCTS

    with django_assert_num_queries(PAGE_QUERIES):
        five = rows(client, page_size=5)
    assert [row["id"] for row in five] == catalogue[:5]

    # the next page through the cursor, and a filter: the same count
    following = client.get(URL, {"page_size": 5}).json()["next"]
    with django_assert_num_queries(PAGE_QUERIES):
        second = client.get(following).json()["results"]
    assert [row["id"] for row in second] == catalogue[5:10]
    with django_assert_num_queries(PAGE_QUERIES):
        returned = rows(client, status="returned")
    assert len(returned) == 5 and all(row["current_version"]["return_reasons"] for row in returned)


def test_a_page_without_returned_versions_or_products_runs_fewer(
    catalogue: list[int], filer_a: User, filer_b: User, django_assert_num_queries: Any
) -> None:
    client = api(filer_a)
    client.get(URL)
    with django_assert_num_queries(PAGE_QUERIES if RENDERED else PAGE_QUERIES - 1):  # no reasons to read
        approved = rows(client, status="approved", page_size=PRODUCTS)
    assert approved and not any(row["current_version"]["return_reasons"] for row in approved)
    other = api(filer_b)
    other.get(URL)
    with django_assert_num_queries(1):  # another unit: no product, nothing more to read
        assert rows(other) == []


@pytest.mark.parametrize("who", ["filer", "reviewer", "guangdong", "national"])
def test_every_row_equals_the_detail_serializers(
    who: str, catalogue: list[int], filer_a: User, reviewer: User, demo_users: dict[str, User]
) -> None:
    """Same keys in the same order and the same values as GET /api/v1/products/{id}/ (ProductSerializer),
    for every role that reads products (allowed actions differ by role)."""
    user = {"filer": filer_a, "reviewer": reviewer}.get(who) or demo_users[who]
    client = api(user)
    listed = rows(client, page_size=500)
    assert set(catalogue) <= {row["id"] for row in listed}
    for row in listed:
        detail = client.get(f"{URL}{row['id']}/")
        assert detail.status_code == 200
        assert list(row) == list(detail.json())
        if row["current_version"] is not None:
            assert list(row["current_version"]) == list(detail.json()["current_version"])
        assert row == detail.json(), row["id"]


def test_rows_show_the_latest_round_and_the_public_page(catalogue: list[int], filer_a: User, reviewer: User) -> None:
    by_id = {row["id"]: row for row in rows(api(reviewer), page_size=PRODUCTS)}
    returned = by_id[catalogue[PRODUCTS - 1 - 16]]  # i = 16: returned twice
    assert returned["current_version"]["return_reasons"] == {"patents": ["第二轮16"]}
    assert returned["current_version"]["allowed_actions"] == []  # a returned version is the filer's
    assert api(filer_a).get(f"{URL}{returned['id']}/").json()["current_version"]["allowed_actions"]
    draft = by_id[catalogue[PRODUCTS - 1 - 17]]  # i = 17: approved 2 years, then a draft
    assert [v["status"] for v in draft["versions"]] == ["draft", "approved", "approved"]
    assert draft["public_url"] == f"http://testserver/products/{draft['filing_number']}/"
    links = draft["current_version"]["links"]
    assert [(link["is_core"], link["contribution"]) for link in links] == [
        (True, "60.00"),
        (False, "25.00"),
        (False, "12.50"),
    ]
    assert all(link["patent_number"].startswith("ZL") for link in links)
    revoked = by_id[catalogue[PRODUCTS - 1 - 15]]  # i = 15: approved, then revoked
    assert revoked["filing_number"] and revoked["public_url"] is None


def test_the_schema_still_describes_the_list(filer_a: User) -> None:
    schema = api(filer_a).get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"][URL]["get"]
    # the viewset's docstring, as before the list had its own method
    assert operation["description"] == (
        "A product, its current version (the latest data year) embedded, and the workflow on that version."
    )
    listing = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert listing == {"$ref": "#/components/schemas/PaginatedProductList"}
    page = schema["components"]["schemas"]["PaginatedProductList"]
    assert page["properties"]["results"]["items"] == {"$ref": "#/components/schemas/Product"}
    assert "count" not in page["properties"]  # a cursor page: no COUNT(*)
    product = schema["components"]["schemas"]["Product"]
    assert list(product["properties"]) == [
        "id",
        "filing_number",
        "unit",
        "public_url",
        "current_version",
        "versions",
        "created_at",
    ]


# The list formats decimals and moments with quicker functions equal to the serializer fields' own
# (filings/api/serializers.representation_of): on random values, both give the same text.
_DECIMAL_FIELDS = [
    serializers.DecimalField(max_digits=14, decimal_places=2),
    serializers.DecimalField(max_digits=5, decimal_places=2),
    serializers.DecimalField(max_digits=6, decimal_places=4, rounding="ROUND_HALF_UP"),
]


@given(
    st.sampled_from(range(len(_DECIMAL_FIELDS))),
    st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**12), max_value=10**12, places=4)
    | st.integers(-(10**6), 10**6),
)
@settings(max_examples=300, deadline=None)
def test_the_list_formats_a_decimal_as_its_field_does(which: int, value: Any) -> None:
    field = _DECIMAL_FIELDS[which]
    quick = representation_of(field)
    try:
        expected = field.to_representation(value)
    except decimal.InvalidOperation:  # more digits than the field holds: the same error from both
        with pytest.raises(decimal.InvalidOperation):
            quick(value)
        return
    assert quick(value) == expected


_EARLIEST, _LATEST = datetime(1900, 1, 2), datetime(9998, 12, 30)  # noqa: DTZ001 (hypothesis's bounds are naive)


@given(
    st.sampled_from(["Asia/Shanghai", "UTC", "America/New_York"]),
    st.datetimes(min_value=_EARLIEST, max_value=_LATEST, timezones=st.timezones())
    | st.datetimes(min_value=_EARLIEST, max_value=_LATEST),
)
@settings(max_examples=300, deadline=None)
def test_the_list_formats_a_moment_as_its_field_does(zone: str, value: datetime) -> None:
    field = serializers.DateTimeField()
    field.timezone = zoneinfo.ZoneInfo(zone)
    assert representation_of(field)(value) == field.to_representation(value)


# On PostgreSQL the page is rendered to JSON by the database (filings/api/rendered.py), which writes moments and
# decimals in SQL: on random values, its text equals the serializer fields' (the zones include one whose
# early offsets have seconds, Europe/Amsterdam's +00:19:32 before 1937, and one with summer time).


@pytest.mark.postgres
@given(
    st.sampled_from(["Asia/Shanghai", "UTC", "America/New_York", "Europe/Amsterdam"]),
    st.datetimes(min_value=_EARLIEST, max_value=_LATEST, timezones=st.timezones()),
)
@settings(max_examples=300, deadline=None)
def test_the_database_formats_a_moment_as_the_field_does(zone: str, value: datetime) -> None:
    field = serializers.DateTimeField()
    field.timezone = zoneinfo.ZoneInfo(zone)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT " + moment_sql("%(value)s::timestamptz") + ", " + moment_sql("NULL::timestamptz"),
            {
                "value": value,
                "zone": zone,
            },
        )
        text, null = cursor.fetchone()
    assert text == field.to_representation(value)
    assert null is None


@pytest.mark.postgres
@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**11), max_value=10**11, places=2))
@settings(max_examples=200, deadline=None)
def test_the_database_formats_a_stored_decimal_as_the_field_does(value: Decimal) -> None:
    # the columns are numeric(14, 2) (sales, exports, output value) and numeric(5, 2) (a link's contribution)
    with connection.cursor() as cursor:
        cursor.execute("SELECT CAST(CAST(%s AS text) AS numeric(14, 2))::text", [str(value)])
        text = cursor.fetchone()[0]
    assert text == serializers.DecimalField(max_digits=14, decimal_places=2).to_representation(value)


@pytest.mark.postgres
def test_a_page_the_database_cannot_render_is_built_in_python(
    catalogue: list[int], reviewer: User, django_assert_num_queries: Any
) -> None:
    """A published filing number that needs quoting in its URL, and an answer that is not JSON (the browsable
    API): the page is built by product_list_data, and still equals the detail serializer's rows."""
    client = api(reviewer)
    published = Product.objects.filter(pk__in=catalogue, published_version__isnull=False).order_by("-pk").first()
    Product.objects.filter(pk=published.pk).update(filing_number="BA 2025-1")
    client.get(URL)
    # the ids and the JSON's query, which says no; then the Python path's four (products, versions, links, reasons)
    with django_assert_num_queries(2 + 4):
        listed = {row["id"]: row for row in rows(client, page_size=PRODUCTS)}
    assert listed[published.pk]["public_url"] == "http://testserver/products/BA%202025-1/"
    assert listed[published.pk] == client.get(f"{URL}{published.pk}/").json()
    html = client.get(URL, HTTP_ACCEPT="text/html")
    assert html.status_code == 200 and html["Content-Type"].startswith("text/html")
    assert "BA 2025-1" in html.content.decode()


# On a persistent database connection (CONN_MAX_AGE other than 0 or Django's pool, as in production and the bench)
# the page's query is a prepared statement (filings/api/rendered.py): its PREPARE goes with the first EXECUTE in
# one query, then each page is one EXECUTE; with CONN_MAX_AGE=0 (behind PgBouncer) the query is sent as it is.


@pytest.fixture
def persistent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)


def _forget_prepared() -> None:
    """Neither the server's session nor this process holds the statement (a prepared statement outlives a rolled
    back transaction: DEALLOCATE drops it)."""
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    rendered._prepared_on.discard(connection.connection)


@pytest.mark.postgres
def test_a_persistent_connection_prepares_the_page_once(catalogue: list[int], reviewer: User, persistent: None) -> None:
    client = api(reviewer)
    client.get(URL)
    _forget_prepared()
    prepare, _execute = rendered.prepared_statement()
    name = prepare.split("(")[0].removeprefix("PREPARE ")
    with CaptureQueriesContext(connection) as first:
        prepared = rows(client, page_size=PRODUCTS)
    assert len(first) == PAGE_QUERIES
    assert first[-1]["sql"].startswith(f"PREPARE {name}(bigint[], text, text, text, text) AS SELECT")
    assert f"; EXECUTE {name}('{{" in first[-1]["sql"]
    for size in (PRODUCTS, 5):  # any page: the same statement, executed alone
        with CaptureQueriesContext(connection) as again:
            assert rows(client, page_size=size) == prepared[:size]
        assert len(again) == PAGE_QUERIES and again[-1]["sql"].startswith(f"EXECUTE {name}('{{")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name = %s", [name])
        assert cursor.fetchone() == (1,)
    # the same JSON as the query sent as it is (CONN_MAX_AGE=0) and as the detail serializer
    connection.settings_dict["CONN_MAX_AGE"] = 0
    with CaptureQueriesContext(connection) as plain:
        assert rows(client, page_size=PRODUCTS) == prepared
    assert plain[-1]["sql"].startswith("SELECT coalesce(json_agg(")
    assert [row["id"] for row in prepared] == catalogue
    assert prepared[0] == client.get(f"{URL}{catalogue[0]}/").json()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_statement_lost_or_left_on_the_session_is_prepared_or_executed_again(
    unit_a: FilingUnit, filer_a: User, new_version: Callable[..., ProductVersion], persistent: None
) -> None:
    """Outside a transaction (as a request runs), a session that lost the statement (DEALLOCATE, DISCARD ALL) gets
    it prepared again, and one that holds it unknown to this process gets it executed: the same page each time."""
    for i in range(3):
        new_version(unit_a, filer_a, name=f"产品{i}")
    client = api(filer_a)
    _forget_prepared()
    first = rows(client)
    assert len(first) == 3 and connection.connection in rendered._prepared_on
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # the session lost it; the process still thinks it is there
    assert rows(client) == first
    rendered._prepared_on.discard(connection.connection)  # the session holds it; the process forgot
    assert rows(client) == first
    assert connection.connection in rendered._prepared_on
