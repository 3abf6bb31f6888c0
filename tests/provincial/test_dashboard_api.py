"""/api/v1/provincial/dashboard/ and /national/ranking/: the page's figures, the same scope, per role."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from patent_platform.choices import Role
from patent_platform.models import User
from provincial.models import ManagementUnit
from provincial.services import port_add_admin
from tests.conftest import PASSWORD
from tests.provincial.live import CurrentAPIClient, CurrentClient

pytestmark = pytest.mark.django_db

DASHBOARD = "/api/v1/provincial/dashboard/"
RANKING = "/api/v1/provincial/national/ranking/"


def api(user: User | None = None) -> APIClient:
    client = CurrentAPIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def token_client(email: str) -> APIClient:
    client = CurrentAPIClient()
    answer = client.post("/api/v1/auth/token/", {"email": email, "password": PASSWORD}, format="json")
    assert answer.status_code == 200, answer.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {answer.json()['token']}")
    return client


def page_data(user: User, **params: str) -> dict[str, Any]:
    client = CurrentClient()
    client.force_login(user)
    url = reverse("national:home") if user.role == Role.NATIONAL_ADMIN and not params else reverse("port:home")
    answer = client.get(url, params)
    assert answer.status_code == 200
    return answer.context["data"]


def comparable(data: dict[str, Any]) -> dict[str, Any]:
    """The page's figures in the API's shape (links and drill-down filters are the page's own)."""
    totals = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in data["totals"].items()}
    totals["sales"] = f"{data['totals']['sales']:.2f}"
    totals["exports"] = f"{data['totals']['exports']:.2f}"
    keep = ("key", "label", "count")
    return {
        "level": data["level"],
        "totals": totals,
        "trend": [{"month": r["month"], "count": r["count"]} for r in data["trend"]],
        **{k: [{f: r[f] for f in keep} for r in data[k]] for k in ("by_region", "by_class", "by_section", "by_scale")},
        "ranking": [
            {
                f: (f"{r[f]:.2f}" if f == "sales" else r[f])
                for f in ("rank", "tied", "code", "name", "units", "filed", "approved", "growth", "sales")
            }
            for r in data["ranking"]
        ],
    }


@pytest.mark.parametrize("who", ["guangdong", "shenzhen", "zhejiang", "national"])
def test_the_api_returns_the_figures_the_page_shows(demo_users: dict[str, User], who: str) -> None:
    user = demo_users[who]
    answer = token_client(user.email).get(DASHBOARD)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    page = comparable(page_data(user))
    seen = {k: body[k] for k in page}  # the API's answer cut to the page's keys (it adds the comparison)
    seen["totals"] = {k: body["totals"][k] for k in page["totals"]}
    for key in page:
        if isinstance(page[key], list) and page[key]:
            seen[key] = [{f: row[f] for f in page[key][0]} for row in body[key]]
    assert seen == page
    assert body["totals"]["certified"] == page_data(user)["totals"]["certified"] > 0
    assert "as_of" in body


def test_scope_of_each_port(demo_users: dict[str, User]) -> None:
    expected = {"guangdong": (2, 8, 5), "shenzhen": (1, 5, 3), "zhejiang": (1, 3, 2), "national": (3, 11, 7)}
    for who, figures in expected.items():
        totals = api(demo_users[who]).get(DASHBOARD).json()["totals"]
        assert (totals["units"], totals["filed"], totals["approved"]) == figures, who
    gd = api(demo_users["guangdong"]).get(DASHBOARD).json()
    assert gd["port"] == {"code": "440000", "name": "广东省", "kind": "province"}
    assert {r["label"] for r in gd["by_region"]} == {"广州市", "深圳市"}
    assert Decimal(gd["totals"]["sales"]) == Decimal(5200 + 3100 + 26800 + 8700 + 1500)


def test_port_parameter_inside_the_scope_only(demo_users: dict[str, User]) -> None:
    gd = api(demo_users["guangdong"])
    sz = gd.get(DASHBOARD, {"port": "440300"}).json()
    assert sz["totals"]["approved"] == 3 and sz["port"]["code"] == "440300"
    assert {k: sz[k] for k in ("totals", "trend", "by_class")} == {
        k: api(demo_users["shenzhen"]).get(DASHBOARD).json()[k] for k in ("totals", "trend", "by_class")
    }
    assert gd.get(DASHBOARD, {"port": "330000"}).status_code == 404
    assert api(demo_users["shenzhen"]).get(DASHBOARD, {"port": "440000"}).status_code == 404
    assert api(demo_users["national"]).get(DASHBOARD, {"port": "330000"}).json()["totals"]["approved"] == 2


@pytest.mark.parametrize("who", ["ent-gz", "reviewer"])
def test_other_roles_get_404(demo_users: dict[str, User], who: str) -> None:
    client = api(demo_users[who])
    assert client.get(DASHBOARD).status_code == 404
    assert client.get(RANKING).status_code == 404


def test_anonymous_is_refused(demo: None) -> None:
    assert CurrentAPIClient().get(DASHBOARD).status_code in (401, 403)
    assert CurrentAPIClient().get(RANKING).status_code in (401, 403)


def test_national_ranking_for_national_admins_only(demo_users: dict[str, User]) -> None:
    for who in ("guangdong", "shenzhen", "zhejiang"):
        assert api(demo_users[who]).get(RANKING).status_code == 404
    answer = token_client("national@example.cn").get(RANKING)
    assert answer.status_code == 200
    rows = answer.json()
    assert len(rows) == ManagementUnit.objects.count() == 47
    # standard competition ranking: a rank is 1 + the ports with strictly better figures, shared ranks marked
    figures = [(r["approved"], r["units"], r["growth"]) for r in rows]
    assert figures == sorted(figures, reverse=True)
    assert [r["rank"] for r in rows] == [1 + sum(other > mine for other in figures) for mine in figures]
    assert [r["tied"] for r in rows] == [figures.count(mine) > 1 for mine in figures]
    assert sum(r["tied"] for r in rows) >= 40  # most ports have no filing: they share the last rank
    by_code = {r["code"]: r for r in rows}
    assert (by_code["440000"]["approved"], by_code["440000"]["units"], by_code["440000"]["filed"]) == (5, 2, 8)
    assert by_code["440000"]["rank"] == 1
    assert by_code["XPCC"]["kind"] == "xpcc" and by_code["XPCC"]["approved"] == 0
    assert by_code["440000"]["is_open"] and not by_code["110000"]["is_open"]
    # the page's ranking is the same
    client = CurrentClient()
    client.force_login(demo_users["national"])
    page = client.get(reverse("national:home")).context["ports"]
    assert [(r["rank"], r["tied"], r["code"], r["approved"], r["units"], r["growth"]) for r in page] == [
        (r["rank"], r["tied"], r["code"], r["approved"], r["units"], r["growth"]) for r in rows
    ]


def test_an_empty_port(reference: None, make_user: Callable[..., User]) -> None:
    admin = make_user("xpcc-port@example.cn", Role.PORT_ADMIN)
    port_add_admin(unit=ManagementUnit.objects.get(code="XPCC"), user=admin)
    body = api(admin).get(DASHBOARD).json()
    assert body["totals"]["approved"] == body["totals"]["units"] == 0
    assert body["level"] == "county"
    assert len(body["ranking"]) == 12  # the XPCC's county-level cities, as tiles
    assert body["by_region"] == [] and len(body["trend"]) == 12


def test_the_schema_documents_both_endpoints(demo_users: dict[str, User], tmp_path: Any) -> None:
    schema = api(demo_users["national"]).get("/api/schema/", {"format": "json"}).json()
    dashboard = schema["paths"][DASHBOARD]["get"]
    assert {"200", "403", "404"} <= set(dashboard["responses"])
    assert any(p["name"] == "port" for p in dashboard["parameters"])
    assert "Dashboard" in schema["components"]["schemas"]
    assert RANKING in schema["paths"]
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
