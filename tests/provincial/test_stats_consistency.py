"""Consistency of the statistics on random filings (hypothesis).

For every port: the dashboard's totals equal what an independent count of the generated rows says, the
number of rows of the drill-down lists and what the API returns; every breakdown sums to its total; the
provinces add up to the national total; a city port never exceeds its province; nothing outside a port's
regions is counted. Rows are written directly with the ORM (FilingUnit.save and Product.save keep the
region codes consistent) and rolled back after each example.
"""

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.http import QueryDict
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from filings.choices import FilingStatus
from filings.identifiers import build_uscc
from filings.models import FilingFlag, FilingUnit, Patent, Product, ProductClass, ProductVersion
from patent_platform.choices import Role
from patent_platform.models import User
from provincial import dashboards
from provincial.models import ManagementUnit
from provincial.services import port_add_admin
from provincial.views.dashboard import ListFilterForm, ProductFilterForm
from tests.provincial.live import CurrentAPIClient, CurrentClient

# embedded (CI runs it on SQLite too): the dashboards' date and group functions are SQLite's
pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

S = FilingStatus
# Unit regions: counties of 广州, 深圳 (and 深圳 itself, a city-level unit), 佛山, 杭州, 宁波, 温州, 乌鲁木齐,
# the XPCC's 石河子, and 广东 itself (a unit with no city code).
REGIONS = ["440106", "440305", "440304", "440300", "440604", "440000", "330106", "330108", "330203", "330302"]
REGIONS += ["650102", "659001"]
INDUSTRIES = ["", "C", "26", "39", "A", "01", "I", "65"]
SCALES = ["", "large", "medium", "small", "micro"]
STORIES = [
    "draft",
    "withdrawn_draft",
    "submitted",
    "returned",
    "resubmitted",
    "approved",
    "approved_then_draft",
    "approved_twice",
    "revoked",
    "withdrawn_after_approval",
]
APPROVED_STORIES = {"approved", "approved_then_draft", "approved_twice"}
# port code → a test of the unit's region code (independent of the scoping code under test)
PORTS: dict[str, Callable[[str], bool]] = {
    "440000": lambda code: code.startswith("44"),
    "440300": lambda code: code.startswith("4403"),
    "440100": lambda code: code.startswith("4401"),
    "330000": lambda code: code.startswith("33"),
    "330100": lambda code: code.startswith("3301"),
    "330200": lambda code: code.startswith("3302"),
    "650000": lambda code: code.startswith("65"),
    "XPCC": lambda code: code.startswith("6590") and code != "659000",
}
CITY_IN_PROVINCE = {"440300": "440000", "440100": "440000", "330100": "330000", "330200": "330000", "XPCC": "650000"}

_orgs = itertools.count(1)
_numbers = itertools.count(1)

product_strategy = st.tuples(
    st.sampled_from(STORIES),
    st.integers(min_value=0, max_value=6),  # product class
    st.integers(min_value=0, max_value=500),  # days since the (first) approval
    st.integers(min_value=0, max_value=90_000),  # sales
    st.booleans(),  # a patent of the product lapsed: an open flag on a version (counted if that one is approved)
)
unit_strategy = st.tuples(
    st.sampled_from(REGIONS),
    st.sampled_from(INDUSTRIES),
    st.sampled_from(SCALES),
    st.lists(product_strategy, max_size=4),
)


@dataclass
class Expected:
    region: str
    filed: bool
    approved: bool
    first_approval: dt.datetime | None
    sales: Decimal
    product_id: int
    flagged: bool = False


def make_unit(region: str, industry: str, scale: str) -> FilingUnit:
    unit = FilingUnit(
        uscc=build_uscc(region_code=region, org_body=f"MA{next(_orgs):06d}"),
        name=f"测试单位{region}",
        region_id=region,
        industry=industry,
        scale=scale,
        contact_name="张三",
        contact_phone="13900001111",
        contact_email="zhang@example.cn",
    )
    unit.save()
    return unit


def make_product(
    unit: FilingUnit, story: str, cls: ProductClass, days: int, sales: int, flag: Patent | None = None
) -> Expected:
    now = timezone.now()
    product = Product(unit=unit)
    product.save()
    first = now - dt.timedelta(days=days, minutes=7)
    money = {"sales": Decimal(sales), "exports": Decimal(sales // 3)}

    def version(year: int, status: str, submitted: dt.datetime | None, decided: dt.datetime | None) -> ProductVersion:
        return ProductVersion.objects.create(
            product=product,
            data_year=year,
            status=status,
            name=f"产品{product.pk}-{year}",
            product_class=cls,
            submitted_at=submitted,
            decided_at=decided,
            **money,
        )

    submitted = first - dt.timedelta(days=1)
    published = None
    flagged_version = None
    if story == "draft":
        version(2024, S.DRAFT, None, None)
    elif story == "withdrawn_draft":
        version(2024, S.WITHDRAWN, None, None)
    elif story in ("submitted", "resubmitted"):
        version(2024, S.SUBMITTED if story == "submitted" else S.RESUBMITTED, submitted, None)
    elif story == "returned":
        version(2024, S.RETURNED, submitted, first)
    elif story in ("approved", "approved_then_draft"):
        published = version(2024, S.APPROVED, submitted, first)
        if story == "approved_then_draft":
            version(2025, S.DRAFT, None, None)
    elif story == "approved_twice":
        flagged_version = version(2023, S.APPROVED, submitted, first)  # an older approved year counts too
        published = version(
            2024, S.APPROVED, now - dt.timedelta(days=days // 2 + 1), now - dt.timedelta(days=days // 2)
        )
    elif story == "revoked":
        flagged_version = version(2024, S.REVOKED, submitted, first)  # not approved: not counted
    elif story == "withdrawn_after_approval":
        version(2024, S.WITHDRAWN, submitted, first)
    if published is not None or story in ("revoked", "withdrawn_after_approval"):
        product.filing_number = f"BA2099{next(_numbers):08d}"
        product.published_version = published
        product.save(update_fields=["filing_number", "published_version"])
    approved = story in APPROVED_STORIES
    flagged_version = flagged_version or published
    if flag is not None and flagged_version is not None:
        FilingFlag.objects.create(version=flagged_version, patent=flag, legal_status="lapsed")
    return Expected(
        region=unit.region_id,
        filed=story not in ("draft", "withdrawn_draft"),
        approved=approved,
        first_approval=first if approved else None,
        sales=Decimal(sales) if approved else Decimal(0),
        product_id=product.pk,
        flagged=approved and flag is not None,
    )


@pytest.fixture
def admins(reference: None, make_user: Callable[..., User]) -> dict[str, User]:
    users = {"national": make_user("national-h@example.cn", Role.NATIONAL_ADMIN)}
    for code in PORTS:
        user = make_user(f"port-{code.lower()}@example.cn", Role.PORT_ADMIN)
        port_add_admin(unit=ManagementUnit.objects.get(code=code), user=user)
        users[code] = user
    return users


def logged_in(user: User) -> tuple[Client, APIClient]:
    client = CurrentClient()
    client.force_login(user)
    api = CurrentAPIClient()
    api.force_authenticate(user)
    return client, api


def list_count(client: Client, name: str, params: dict[str, str]) -> int:
    answer = client.get(reverse(name), params)
    assert answer.status_code == 200
    return answer.context["paginator"].count


def drill_count(area: dashboards.Area, params: dict[str, str], *, units: bool = False) -> int:
    """The row count of the list a figure links to, through the list's own form and filters."""
    query = QueryDict(urlencode(params))
    if units:
        return dashboards.filter_units(area, ListFilterForm(query).filters()).count()
    return dashboards.filter_products(area, ProductFilterForm(query).filters()).count()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.lists(unit_strategy, max_size=8))
def test_every_port_agrees_with_its_lists_its_api_and_the_rows(
    admins: dict[str, User], data: list[tuple[str, str, str, list[Any]]]
) -> None:
    classes = list(ProductClass.objects.order_by("code"))
    clients = {who: logged_in(user) for who, user in admins.items()}
    with transaction.atomic():
        units: list[FilingUnit] = []
        products: list[Expected] = []
        lapsed = Patent.objects.create(number="201710601862.3", kind="invention", title="失效的专利")
        for region, industry, scale, product_specs in data:
            unit = make_unit(region, industry, scale)
            units.append(unit)
            for story, cls, days, sales, flag in product_specs:
                products.append(make_product(unit, story, classes[cls], days, sales, lapsed if flag else None))
        start = dashboards.trend_start()

        figures: dict[str, dict[str, Any]] = {}
        for who, user in admins.items():
            inside = PORTS.get(who, lambda code: True)
            mine = [p for p in products if inside(p.region)]
            expected = {
                "units": sum(1 for u in units if inside(u.region_id)),
                "filed": sum(p.filed for p in mine),
                "approved": sum(p.approved for p in mine),
                "growth": sum(1 for p in mine if p.first_approval and p.first_approval >= start),
                "sales": sum((p.sales for p in mine), Decimal(0)),
                "flagged": sum(p.flagged for p in mine),
            }
            area = dashboards.area_for(user)
            data_ = dashboards.dashboard(area)
            totals = data_["totals"]
            # the figures count exactly the rows inside the port, nothing outside it
            assert {k: totals[k] for k in expected} == expected, who
            approved_ids = set(area.products().filter(published_version__isnull=False).values_list("pk", flat=True))
            assert approved_ids == {p.product_id for p in mine if p.approved}, who
            # every breakdown sums to its total; the trend to the growth
            for key in ("by_region", "by_class", "by_section", "by_scale"):
                assert sum(r["count"] for r in data_[key]) == totals["approved"], (who, key)
            assert sum(r["count"] for r in data_["trend"]) == totals["growth"], who
            for field in ("units", "filed", "approved", "growth"):
                assert sum(r[field] for r in data_["ranking"]) == totals[field], (who, field)
            # every breakdown row and trend month drills down to a list with exactly that many rows
            for key in ("by_region", "by_class", "by_section", "by_scale"):
                for row in data_[key]:
                    assert drill_count(area, row["filters"]) == row["count"], (who, key, row)
            for row in data_["trend"]:
                assert drill_count(area, {"month": row["month"]}) == row["count"], (who, row)
            for row in data_["ranking"]:
                assert drill_count(area, row["filters"]["filed"]) == row["filed"], (who, row)
                assert drill_count(area, row["filters"]["units"], units=True) == row["units"], (who, row)
            # the lists and the API (over HTTP) agree with the figures
            client, api = clients[who]
            assert list_count(client, "port:products", {"status": "approved"}) == totals["approved"], who
            assert list_count(client, "port:products", {"status": "filed"}) == totals["filed"], who
            assert list_count(client, "port:products", {"since": data_["trend"][0]["month"]}) == totals["growth"]
            assert list_count(client, "port:units", {}) == totals["units"], who
            body = api.get("/api/v1/provincial/dashboard/").json()
            assert {k: body["totals"][k] for k in ("units", "filed", "approved", "growth", "flagged")} == {
                k: totals[k] for k in ("units", "filed", "approved", "growth", "flagged")
            }, who
            assert Decimal(body["totals"]["sales"]) == totals["sales"]
            figures[who] = totals

        # a city port never exceeds its province
        for city, province in CITY_IN_PROVINCE.items():
            for field in ("units", "filed", "approved", "growth", "flagged"):
                assert figures[city][field] <= figures[province][field], (city, field)
        # the 47 ports: the ranking matches each port's own dashboard; the provinces add up to the country
        ranking = {row["code"]: row for row in dashboards.national_ranking(admins["national"])}
        assert len(ranking) == 47
        for code in PORTS:
            assert {f: ranking[code][f] for f in ("units", "filed", "approved", "growth")} == {
                f: figures[code][f] for f in ("units", "filed", "approved", "growth")
            }, code
        provinces = [row for row in ranking.values() if row["kind"] == "province"]
        assert len(provinces) == 31
        for field in ("units", "filed", "approved", "growth"):
            assert sum(row[field] for row in provinces) == figures["national"][field], field
        assert sum((row["sales"] for row in provinces), Decimal(0)) == figures["national"]["sales"]
        api_ranking = clients["national"][1].get("/api/v1/provincial/national/ranking/").json()
        assert [(r["code"], r["approved"]) for r in api_ranking] == [
            (r["code"], r["approved"]) for r in dashboards.national_ranking(admins["national"])
        ]
        transaction.set_rollback(True)
