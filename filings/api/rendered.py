"""The product list's page rendered to JSON by PostgreSQL: one query, one text value, no Python per row.

`product_list_json(ids, context)` gives the same JSON array as `product_list_data` (and so as
`ProductSerializer(many=True)`) for a page of product ids that came from the scoped, filtered, paginated
queryset of the list: the same keys in the same order and the same values in the same formats. Each value's
format is the serializer field's, written in SQL once here:

- integers, booleans and texts as they are (CharField, ChoiceField, IntegerField, BooleanField give them back
  unchanged); the class code (SlugRelatedField); a link's `patent_number` is `Patent.patent_number`, "ZL" and
  the application number;
- decimals (DecimalField, `decimal_places` 2, as strings): the numeric column's text; the columns have the
  field's scale (numeric(max_digits, decimal_places)), so PostgreSQL writes exactly that many places;
- dates (DateField): ISO 8601, `YYYY-MM-DD`;
- moments (DateTimeField, ISO 8601 in the current time zone): Python's `isoformat()` — microseconds only when
  there are any, the zone's offset as ±HH:MM (±HH:MM:SS for an offset of seconds), `Z` for +00:00;
- `allowed_actions`: `workflow.allowed_actions` computed in Python for every status (it depends on the status
  and the user's role only) and passed in as one JSON object;
- `return_reasons`: for a returned current version, the reasons of its latest round by field, in the order
  the fields first appear (as `workflow.current_return_reasons`), otherwise {};
- `public_url`: the public page's absolute URL (reversed once in Python, its two halves passed in) for a
  published product with a filing number.

No encrypted or masked value is in the list (the unit is its id), so nothing needs Python after the query.
Scope: the ids come from `Product.objects.visible_to(user)`; a product's versions, links and return reasons are
in scope exactly when the product is (their `visible_to` filters on the product's codes and unit,
ProductVersionQuerySet and PatentLinkQuerySet), so they are read by product id here.

It answers None when it cannot give the serializer's JSON, and the caller builds the page in Python: a
database other than PostgreSQL, a current time zone without an IANA name, or a published filing number that
is not plain letters and digits (the URL would need quoting), or an answer that is not JSON (the browsable API).
tests/filings/test_api_queries.py compares the list with the detail serializer row by row for every role, and
the SQL's moments and decimals with the serializer fields' on random values.

The query is put together from table names and the serializers' field names, once; every value goes as a
parameter (hence the S608 noqa). On a persistent database connection it is a prepared statement, planned once
per connection (`prepared_statement`, below).
"""

from __future__ import annotations

import functools
import hashlib
import json
import weakref
import zoneinfo
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, ProgrammingError, connections
from django.urls import reverse
from django.utils import timezone

from filings import workflow
from filings.api.serializers import (
    FILING_NUMBER_PLACEHOLDER,
    PatentLinkSerializer,
    ProductSerializer,
    VersionSerializer,
    VersionSummarySerializer,
)
from filings.choices import FilingStatus
from filings.models import Patent, PatentLink, PatentRight, Product, ProductClass, ProductVersion, ReturnReason


def moment_sql(column: str) -> str:
    """SQL: DRF's DateTimeField text of a timestamptz in the zone %(zone)s (Python's isoformat, Z for UTC). The
    local time and the offset are computed once each (OFFSET 0 keeps PostgreSQL from inlining them back)."""
    sign = "CASE WHEN m.o < 0 THEN '-' ELSE '+' END"
    hours_minutes = "lpad((abs(m.o) / 3600)::text, 2, '0') || ':' || lpad((mod(abs(m.o), 3600) / 60)::text, 2, '0')"
    seconds = "CASE WHEN mod(m.o, 60) <> 0 THEN ':' || lpad(mod(abs(m.o), 60)::text, 2, '0') ELSE '' END"
    return (
        f"(SELECT m.t || CASE WHEN m.o = 0 THEN 'Z' ELSE {sign} || {hours_minutes} || {seconds} END FROM ("  # noqa: S608
        "SELECT replace(to_char(a.l, 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), '.000000', '') AS t,"
        f" extract(epoch FROM a.l - ({column} AT TIME ZONE 'UTC'))::integer AS o"
        f" FROM (SELECT {column} AT TIME ZONE %(zone)s AS l OFFSET 0) a OFFSET 0) m)"
    )


def _row(pairs: Sequence[tuple[str, str]]) -> str:
    """A LATERAL subquery `x` whose one row is these (key, SQL) pairs in order: `x` as a whole (json_agg(x),
    row_to_json(x)) is the JSON object with these keys. (PostgreSQL writes a row's JSON several times faster than
    json_build_object's.)"""
    return "CROSS JOIN LATERAL (SELECT " + ", ".join(f'{sql} AS "{name}"' for name, sql in pairs) + ") x"


@functools.cache
def _sql() -> str:
    """The page's query, built once from the serializers' field lists: a field without an expression here
    (a new one in the serializer) is a KeyError, not a silently missing key."""
    t = {
        m: m._meta.db_table
        for m in (Product, ProductVersion, ProductClass, PatentLink, PatentRight, Patent, ReturnReason)
    }
    link_sql = {
        "right": "l.right_id",
        "patent_number": "'ZL' || pt.number",
        "is_core": "l.is_core",
        "contribution": "l.contribution::text",
        "embodiment": "l.embodiment",
    }
    version_sql = {
        "id": "v.id",
        "data_year": "v.data_year",
        "status": "v.status",
        "name": "v.name",
        "model": "v.model",
        "product_class": "c.code",
        "description": "v.description",
        "first_sale_date": "to_char(v.first_sale_date, 'YYYY-MM-DD')",
        **{name: f"v.{name}::text" for name in ("sales", "exports", "output_value")},
        "certification_opt_in": "v.certification_opt_in",
        "submitted_at": moment_sql("v.submitted_at"),
        "decided_at": moment_sql("v.decided_at"),
        "links": (
            f"coalesce((SELECT json_agg(x ORDER BY {_order(PatentLink, 'l')})"  # noqa: S608
            f" FROM {t[PatentLink]} l JOIN {t[PatentRight]} r ON r.id = l.right_id"
            f" JOIN {t[Patent]} pt ON pt.id = r.patent_id "
            + _row([(name, link_sql[name]) for name in PatentLinkSerializer.Meta.fields])
            + " WHERE l.version_id = v.id), '[]'::json)"
        ),
        "return_reasons": (
            f"CASE WHEN v.status = '{FilingStatus.RETURNED}' THEN coalesce(("  # noqa: S608
            "SELECT json_object_agg(g.field, g.messages ORDER BY g.first) FROM ("
            f"SELECT rr.field, json_agg(rr.message ORDER BY {_order(ReturnReason, 'rr')}) AS messages,"
            f" min(rr.id) AS first FROM {t[ReturnReason]} rr"
            " WHERE rr.version_id = v.id AND rr.review_round = v.review_round GROUP BY rr.field) g"
            "), '{}'::json) ELSE '{}'::json END"
        ),
        "allowed_actions": "coalesce(%(actions)s::json -> v.status, '[]'::json)",
    }
    summary_sql = {"id": "v.id", "data_year": "v.data_year", "status": "v.status"}
    version_order = _order(ProductVersion, "v")  # newest first: the first is the current version
    product_sql = {
        "id": "p.id",
        "filing_number": "p.filing_number",
        "unit": "p.unit_id",
        "public_url": (
            "CASE WHEN p.published_version_id IS NOT NULL AND p.filing_number <> ''"
            " THEN %(head)s || p.filing_number || %(tail)s END"
        ),
        "current_version": (
            f"(SELECT row_to_json(x) FROM (SELECT * FROM {t[ProductVersion]} v WHERE v.product_id = p.id"  # noqa: S608
            f" ORDER BY {version_order} LIMIT 1) v JOIN {t[ProductClass]} c ON c.id = v.product_class_id "
            + _row([(name, version_sql[name]) for name in VersionSerializer.Meta.fields])
            + ")"
        ),
        "versions": (
            f"coalesce((SELECT json_agg(x ORDER BY {version_order}) FROM {t[ProductVersion]} v "  # noqa: S608
            + _row([(name, summary_sql[name]) for name in VersionSummarySerializer.Meta.fields])
            + " WHERE v.product_id = p.id), '[]'::json)"
        ),
        "created_at": moment_sql("p.created_at"),
    }
    # a published filing number that needs quoting in a URL: the page is built in Python instead
    unplain = "p.published_version_id IS NOT NULL AND p.filing_number <> '' AND p.filing_number !~ '^[A-Z0-9]+$'"
    return (
        "SELECT coalesce(json_agg(x ORDER BY array_position(%(ids)s::bigint[], p.id)), '[]'::json)::text,"  # noqa: S608
        f" coalesce(bool_or({unplain}), false) FROM {t[Product]} p "
        + _row([(name, product_sql[name]) for name in ProductSerializer.Meta.fields])
        + " WHERE p.id = ANY(%(ids)s::bigint[])"
    )


def _order(model: Any, alias: str) -> str:
    """The model's Meta.ordering as SQL on `alias` (the order the Python list reads in)."""
    parts = []
    for name in model._meta.ordering:
        column = model._meta.get_field(name.lstrip("-")).column
        parts.append(f"{alias}.{column}{' DESC' if name.startswith('-') else ''}")
    return ", ".join(parts)


@functools.cache
def _actions(role: Any) -> str:
    """`allowed_actions` for every status, as a JSON object: the status is all of the version it reads and the
    role all of the user (`workflow.actions_for`), so once per role."""
    return json.dumps({status: workflow.actions_for(status, role) for status in FilingStatus.values})


def _url_halves(request: Any) -> tuple[str, str]:
    template = reverse("public:product", kwargs={"filing_number": FILING_NUMBER_PLACEHOLDER})
    if request is not None:
        template = request.build_absolute_uri(template)
    head, _sep, tail = template.partition(FILING_NUMBER_PLACEHOLDER)
    return head, tail


def product_list_json(ids: Sequence[int], context: Mapping[str, Any], using: str = DEFAULT_DB_ALIAS) -> str | None:
    """The JSON array of `product_list_data` for the products `ids` (in that order), as text, read from the
    database `using` (the one the ids came from); None when only Python can build it (the module's docstring)."""
    connection = connections[using]
    if connection.vendor != "postgresql" or not settings.USE_TZ:
        return None
    zone = timezone.get_current_timezone()
    if not isinstance(zone, zoneinfo.ZoneInfo) or not zone.key:
        return None
    if not ids:
        return "[]"
    request = context.get("request")
    user = getattr(request, "user", None)
    head, tail = _url_halves(request)
    # the ids as an array's text ('{3,2,1}': a quarter of the time psycopg takes to write a list as an array)
    array = "{" + ",".join(str(int(pk)) for pk in ids) + "}"
    params = {
        "ids": array,
        "zone": zone.key,
        "actions": _actions(getattr(user, "role", None)),
        "head": head,
        "tail": tail,
    }
    with connection.cursor() as cursor:
        if _may_prepare(connection):
            _execute_prepared(connection, cursor, params)
        else:
            cursor.execute(_sql(), params)
        text, unplain = cursor.fetchone()
    return None if unplain else text


# The page's query as a prepared statement (PREPARE once per database connection, then EXECUTE): PostgreSQL
# plans it once per connection, not on every request (the planning was ~40 % of the query's CPU, 1.5–2 ms of a
# 4.5 ms query at 10k products; docs/PERFORMANCE.md). After five executions PostgreSQL keeps the generic plan,
# the same for any page (the ids are a parameter). A prepared statement belongs to the server session, so this
# only on persistent connections (CONN_MAX_AGE other than 0, or Django's pool): behind PgBouncer in transaction
# mode (CONN_MAX_AGE=0, docs/DEPLOY.md) consecutive statements may reach different server sessions, and the
# query is sent as it is. The parameters' names and types, in the order of the statement's $1…$5:
PREPARED_PARAMETERS = (("ids", "bigint[]"), ("zone", "text"), ("actions", "text"), ("head", "text"), ("tail", "text"))
# the connections (psycopg's) on which the statement was prepared: a new connection prepares it again
_prepared_on: weakref.WeakSet[Any] = weakref.WeakSet()
DUPLICATE_PREPARED_STATEMENT, UNDEFINED_PREPARED_STATEMENT = "42P05", "26000"


def _may_prepare(connection: Any) -> bool:
    persistent = connection.settings_dict.get("CONN_MAX_AGE", 0) != 0
    return persistent or "pool" in connection.settings_dict.get("OPTIONS", {})


@functools.cache
def prepared_statement() -> tuple[str, str]:
    """(PREPARE …, EXECUTE …) of `_sql()`: the statement is named after the query's text, so that a process
    running other code on the same session never executes another version of it."""
    sql = _sql()
    name = "filings_product_list_" + hashlib.sha256(sql.encode()).hexdigest()[:16]
    body = sql
    for number, (parameter, _type) in enumerate(PREPARED_PARAMETERS, 1):
        body = body.replace(f"%({parameter})s", f"${number}")
    types = ", ".join(kind for _name, kind in PREPARED_PARAMETERS)
    arguments = ", ".join(f"%({parameter})s" for parameter, _type in PREPARED_PARAMETERS)
    return f"PREPARE {name}({types}) AS {body}", f"EXECUTE {name}({arguments})"


def _execute_prepared(connection: Any, cursor: Any, params: dict[str, Any]) -> None:
    """EXECUTE the page's statement, with its PREPARE in the same round trip (one query) the first time on this
    connection. Should the server's session not hold what this process thinks (prepared or not), outside a
    transaction the other way is taken once; inside one the error stands (the transaction is aborted)."""
    prepare, execute = prepared_statement()
    raw = connection.connection
    prepared = raw in _prepared_on
    try:
        _run(cursor, prepare, execute, params, prepared)
    except ProgrammingError as exc:
        state = getattr(exc.__cause__, "sqlstate", None)
        wanted = {DUPLICATE_PREPARED_STATEMENT: True, UNDEFINED_PREPARED_STATEMENT: False}.get(state or "")
        if wanted is None or wanted is prepared or connection.in_atomic_block:
            raise
        _run(cursor, prepare, execute, params, wanted)
    _prepared_on.add(raw)


def _run(cursor: Any, prepare: str, execute: str, params: dict[str, Any], prepared: bool) -> None:
    if prepared:
        cursor.execute(execute, params)
    else:
        # two statements in one query (one round trip): the EXECUTE's rows are the second result set
        cursor.execute(f"{prepare}; {execute}", params)
        cursor.nextset()
