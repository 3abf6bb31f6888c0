"""The port and national dashboards on the demo data, per role: figures, drill-down lists, exports, scope.

Demo data (`load_demo`): 广州 (天河区) 4 products, 3 filed, 2 approved; 深圳 (南山区) 5 filed, 3 approved;
杭州 (西湖区) 3 filed, 2 approved; one filing unit in each city.
"""

import html
import re
from collections.abc import Callable
from io import BytesIO
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from filings.models import FilingUnit
from patent_platform.choices import AuditAction, Role
from patent_platform.models import AuditEvent, User
from provincial import dashboards
from provincial.models import ManagementUnit, PortMembership
from provincial.services import port_add_admin
from provincial.views.dashboard import mask_email, mask_name, mask_phone
from tests.provincial.live import CurrentClient
from tests.provincial.test_figures_as_of import shift
from tests.provincial.test_period_dashboards import new_in

pytestmark = pytest.mark.django_db

# port admin → (units, filed, approved, unit names seen)
EXPECTED = {
    "guangdong": (2, 8, 5, {"广州云帆智能装备有限公司", "深圳鹏芯微电子有限公司"}),
    "shenzhen": (1, 5, 3, {"深圳鹏芯微电子有限公司"}),
    "zhejiang": (1, 3, 2, {"杭州西溪新材料科技有限公司"}),
    "national": (3, 11, 7, {"广州云帆智能装备有限公司", "深圳鹏芯微电子有限公司", "杭州西溪新材料科技有限公司"}),
}
# the demo's finished round certified one product of each demo enterprise
CERTIFIED = {"guangdong": 2, "shenzhen": 1, "zhejiang": 1, "national": 3}
PAGES = [
    "port:home",
    "port:products",
    "port:units",
    "port:products_export",
    "port:units_export",
    "port:dashboard_export",
]
DRILL = re.compile(r'<a[^>]*href="([^"]+)"[^>]*data-testid="(drill|drill-units|figure-\w+)"[^>]*>\s*([0-9]+)\s*</a>')


def client_for(user: User) -> Client:
    client = CurrentClient()
    client.force_login(user)
    return client


def home_url(user: User) -> str:
    return reverse("national:home") if user.role == Role.NATIONAL_ADMIN else reverse("port:home")


def list_names(client: Client, url: str) -> tuple[int, set[str]]:
    answer = client.get(url)
    assert answer.status_code == 200, url
    rows = answer.context["rows"]
    names = {row["cells"][4] if "product" in row else row["cells"][0] for row in rows}
    return answer.context["paginator"].count, names


def sheet_rows(answer: Any) -> list[tuple[Any, ...]]:
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(BytesIO(answer.content), read_only=True)
    return list(book.worksheets[0].iter_rows(values_only=True))


@pytest.mark.parametrize("who", list(EXPECTED))
def test_each_role_sees_its_own_figures(demo_users: dict[str, User], who: str) -> None:
    units, filed, approved, unit_names = EXPECTED[who]
    client = client_for(demo_users[who])
    answer = client.get(home_url(demo_users[who]))
    assert answer.status_code == 200
    totals = answer.context["data"]["totals"]
    expected = (units, filed, approved, CERTIFIED[who])
    assert (totals["units"], totals["filed"], totals["approved"], totals["certified"]) == expected
    page = answer.content.decode()
    assert f'data-testid="figure-approved">{approved}</a>' in page
    assert "数据截至" in page and f'data-testid="figure-certified">{CERTIFIED[who]}<' in page
    assert 'id="dashboard-data"' in page and "<script>" not in page  # data as JSON, no inline script
    assert "vendor/echarts/echarts.min.js" in page and "js/dashboard.js" in page
    # the units list shows exactly the units in scope, and no other
    count, names = list_names(client, reverse("port:units"))
    assert (count, names) == (units, unit_names)
    count, names = list_names(client, reverse("port:products") + "?status=approved")
    assert count == approved and names <= unit_names


def test_province_sees_its_cities_and_the_city_only_itself(demo_users: dict[str, User]) -> None:
    gd = client_for(demo_users["guangdong"]).get(reverse("port:home")).context["data"]
    assert gd["level"] == "city"
    by_city = {row["label"]: row["count"] for row in gd["by_region"]}
    assert by_city == {"深圳市": 3, "广州市": 2}
    assert len(gd["ranking"]) == 21  # every city of 广东 is a tile, zeros included
    assert [r["name"] for r in gd["ranking"][:2]] == ["深圳市", "广州市"]
    sz = client_for(demo_users["shenzhen"]).get(reverse("port:home")).context["data"]
    assert sz["level"] == "county"
    assert {row["label"]: row["count"] for row in sz["by_region"]} == {"南山区": 3}
    assert all(r["code"].startswith("4403") for r in sz["ranking"])
    zj = client_for(demo_users["zhejiang"]).get(reverse("port:home")).context["data"]
    assert {row["label"]: row["count"] for row in zj["by_region"]} == {"杭州市": 2}
    assert {row["label"]: row["count"] for row in zj["by_class"]} == {"04 新材料制造业": 2}
    assert {row["key"]: row["count"] for row in zj["by_section"]} == {"C": 2}  # division 26 → section C
    assert {row["key"]: row["count"] for row in zj["by_scale"]} == {"small": 2}


@pytest.mark.parametrize("who", ["ent-gz", "reviewer"])
def test_enterprise_users_and_reviewers_get_404_on_every_port_page(demo_users: dict[str, User], who: str) -> None:
    client = client_for(demo_users[who])
    for name in [*PAGES, "national:home"]:
        assert client.get(reverse(name)).status_code == 404, name


def test_port_admins_get_404_on_the_national_page_and_anonymous_users_log_in(demo_users: dict[str, User]) -> None:
    assert client_for(demo_users["guangdong"]).get(reverse("national:home")).status_code == 404
    for name in [*PAGES, "national:home"]:
        answer = CurrentClient().get(reverse(name))
        assert answer.status_code == 302 and reverse("login") in answer["Location"], name


def test_every_figure_links_to_a_list_with_exactly_that_many_rows(demo_users: dict[str, User]) -> None:
    for who in ("guangdong", "shenzhen", "national"):
        client = client_for(demo_users[who])
        page = client.get(home_url(demo_users[who])).content.decode()
        links = DRILL.findall(page)
        assert len(links) > 20, who
        for href, _kind, shown in links:
            url = html.unescape(href)
            answer = client.get(url)
            assert answer.status_code == 200, url
            assert answer.context["paginator"].count == int(shown), (who, url)


def test_trend_and_month_drill_down(demo_users: dict[str, User]) -> None:
    client = client_for(demo_users["guangdong"])
    data = client.get(reverse("port:home")).context["data"]
    assert len(data["trend"]) == 12
    # the demo's first approvals over the last 12 months (load_demo approves over the past two years), counted
    # from the base tables
    this_month = dashboards.trend_months()[-1]
    grown = new_in("44", shift(this_month, -11), shift(this_month, 1))
    assert grown > 0
    assert sum(r["count"] for r in data["trend"]) == data["totals"]["growth"] == grown
    month = next(r for r in data["trend"] if r["count"])
    answer = client.get(reverse("port:products"), {"month": month["month"]})
    assert answer.context["paginator"].count == month["count"]


def test_province_port_may_open_a_city_port_inside_it_and_nothing_outside(demo_users: dict[str, User]) -> None:
    gd = client_for(demo_users["guangdong"])
    answer = gd.get(reverse("port:home"), {"port": "440300"})
    assert answer.status_code == 200
    assert answer.context["data"]["totals"]["approved"] == 3
    assert answer.context["data"]["port"]["name"] == "深圳市"
    # the drill-down links keep the port
    assert "port=440300" in answer.context["cards"][2]["url"]
    assert gd.get(reverse("port:products"), {"port": "440300", "status": "approved"}).context["paginator"].count == 3
    for code in ("330000", "330100", "NOPE"):
        assert gd.get(reverse("port:home"), {"port": code}).status_code == 404
        assert gd.get(reverse("port:products"), {"port": code}).status_code == 404
    sz = client_for(demo_users["shenzhen"])
    assert sz.get(reverse("port:home"), {"port": "440000"}).status_code == 404
    assert sz.get(reverse("port:home"), {"port": "440100"}).status_code == 404


def test_national_overview_ranks_all_47_ports(demo_users: dict[str, User]) -> None:
    client = client_for(demo_users["national"])
    answer = client.get(reverse("national:home"))
    ports = {row["code"]: row for row in answer.context["ports"]}
    assert len(ports) == ManagementUnit.objects.count() == 47
    assert (ports["440000"]["approved"], ports["440000"]["units"]) == (5, 2)
    assert (ports["440300"]["approved"], ports["440100"]["approved"], ports["330100"]["approved"]) == (3, 2, 2)
    assert ports["440000"]["rank"] == 1 and ports["XPCC"]["approved"] == 0
    assert sum(r["approved"] for r in ports.values() if r["kind"] == "province") == 7
    assert answer.content.decode().count('data-testid="port-row"') == 47
    # the national admin looks at one port; /port/ without one leads to the national overview
    one = client.get(reverse("port:home"), {"port": "330000"})
    assert one.context["data"]["totals"]["approved"] == 2
    assert client.get(reverse("port:home"))["Location"] == reverse("national:home") + "?period=current"


def test_products_export_holds_the_list_rows(demo_users: dict[str, User]) -> None:
    client = client_for(demo_users["guangdong"])
    listed = client.get(reverse("port:products"), {"status": "approved"})
    rows = sheet_rows(client.get(reverse("port:products_export"), {"status": "approved"}))
    assert rows[0][0] == "产品备案号" and rows[0][-1] == "状态"
    assert len(rows) - 1 == listed.context["paginator"].count == 5
    assert {r[0] for r in rows[1:]} == {row["cells"][0] for row in listed.context["rows"]}
    assert all(r[0].startswith("BA") and r[-1] == "已通过备案" for r in rows[1:])
    assert {r[4] for r in rows[1:]} == {"广州云帆智能装备有限公司", "深圳鹏芯微电子有限公司"}
    event = AuditEvent.objects.filter(action=AuditAction.EXPORT).latest("id")
    assert event.changes["rows"] == 5 and event.actor_email == "guangdong@example.cn"


def test_units_list_and_export_mask_contacts(demo_users: dict[str, User]) -> None:
    unit = FilingUnit.objects.get(name="深圳鹏芯微电子有限公司")
    unit.contact_phone = "13812345678"
    unit.save()
    client = client_for(demo_users["shenzhen"])
    page = client.get(reverse("port:units")).content.decode()
    assert "138****5678" in page and "13812345678" not in page
    assert "e***@example.cn" in page and "ent-sz@example.cn" not in page
    rows = sheet_rows(client.get(reverse("port:units_export")))
    assert len(rows) == 2
    assert rows[1][:2] == ("深圳鹏芯微电子有限公司", unit.uscc)
    assert rows[1][5] == 3  # approved products of the unit
    assert rows[1][6:] == ("李*", "138****5678", "e***@example.cn")
    assert "13812345678" not in str(rows) and "ent-sz@example.cn" not in str(rows)


def test_masks() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("020-88880001") == "020*****0001"
    assert mask_phone("12345") == "*****"
    assert mask_email("alice@example.cn") == "a***@example.cn"
    assert mask_name("王杭") == "王*"


def test_dashboard_export_holds_every_table(demo_users: dict[str, User]) -> None:
    rows = sheet_rows(client_for(demo_users["national"]).get(reverse("port:dashboard_export")))
    tables = {r[0] for r in rows[1:]}
    assert {
        "总体",
        "按月通过备案",
        "按地区",
        "按产品分类",
        "按行业门类",
        "按企业规模",
        "地区排名",
        "端口排名",
    } <= tables
    assert ("总体", "通过备案产品", 7) in [r[:3] for r in rows]
    assert sum(1 for r in rows if r[0] == "端口排名") == 47


def test_list_filters_and_invalid_input(demo_users: dict[str, User]) -> None:
    client = client_for(demo_users["guangdong"])
    url = reverse("port:products")
    assert client.get(url, {"status": "approved", "region": "440100"}).context["paginator"].count == 2
    assert client.get(url, {"status": "approved", "scale": "large"}).context["paginator"].count == 3
    assert client.get(url, {"status": "filed", "section": "C"}).context["paginator"].count == 8
    assert client.get(url, {"status": "filed", "section": "A"}).context["paginator"].count == 0
    bad = client.get(url, {"month": "2025-13"})
    assert bad.status_code == 200 and bad.context["filter_form"].errors["month"]
    assert bad.context["paginator"].count == 8  # the invalid filter is ignored, and shown as an error
    # the export link carries the same filters as the page
    filtered = client.get(url, {"status": "approved", "region": "440100"})
    export = parse_qs(urlsplit(filtered.context["export_url"]).query)
    assert export == {"status": ["approved"], "region": ["440100"], "period": ["current"]}


def test_a_port_without_filings_shows_what_to_do(demo_users: dict[str, User], make_user: Callable[..., User]) -> None:
    admin = make_user("beijing-port@example.cn", Role.PORT_ADMIN)
    port_add_admin(unit=ManagementUnit.objects.get(code="110000"), user=admin)
    client = client_for(admin)
    page = client.get(reverse("port:home")).content.decode()
    assert 'data-testid="dashboard-empty"' in page
    assert 'data-testid="figure-approved">0</a>' in page
    assert "北京市" in page
    data = client.get(reverse("port:home")).context["data"]
    assert data["level"] == "county"  # a municipality counts its districts, not its placeholder 市辖区
    assert "朝阳区" in {row["name"] for row in data["ranking"]}
    assert all(row["approved"] == 0 for row in data["ranking"])
    assert client.get(reverse("port:products")).context["paginator"].count == 0
    assert 'data-testid="list-empty"' in client.get(reverse("port:units")).content.decode()


@pytest.mark.parametrize(("who", "limit"), [("guangdong", 16), ("shenzhen", 16), ("national", 20)])
def test_dashboard_query_count_is_pinned(
    demo_users: dict[str, User], django_assert_max_num_queries: Any, who: str, limit: int
) -> None:
    client = client_for(demo_users[who])
    client.get(home_url(demo_users[who]))  # warm caches (sessions, content types)
    with django_assert_max_num_queries(limit):
        assert client.get(home_url(demo_users[who])).status_code == 200


@pytest.mark.parametrize("who", ["guangdong", "shenzhen", "zhejiang", "national"])
def test_a_task_reading_for_a_port_sees_what_its_administrators_see(demo_users: dict[str, User], who: str) -> None:
    """`area_for_unit` reads through the scoping rule with a Principal holding the port's regions."""
    user = demo_users[who]
    unit = None if who == "national" else PortMembership.objects.get(user=user).unit
    task_area = dashboards.area_for_unit(unit)
    admin_area = dashboards.area_for(user)
    assert set(task_area.products().values_list("pk", flat=True)) == set(
        admin_area.products().values_list("pk", flat=True)
    )
    assert dashboards.totals(task_area) == dashboards.totals(admin_area)
    assert dashboards.by_region(dashboards.ranking(task_area)) == dashboards.by_region(dashboards.ranking(admin_area))
    if unit is not None:
        assert (
            not ManagementUnit.objects.visible_to(task_area.user)
            .exclude(pk__in=ManagementUnit.objects.visible_to(user))
            .exists()
        )


# patent status drift: the patent of 深圳鹏芯's 电源管理芯片 lapses; 高速接口芯片 uses it too → two flagged
# approved products, both in 深圳
FLAGGED = {"guangdong": 2, "shenzhen": 2, "zhejiang": 0, "national": 2}


@pytest.mark.parametrize("who", list(FLAGGED))
def test_flagged_filings_count_in_the_region_of_the_filing(demo_users: dict[str, User], who: str) -> None:
    from filings import drift
    from filings.models import FilingFlag, ProductVersion

    version = ProductVersion.objects.filter(name="电源管理芯片", status="approved").latest("data_year")
    patent = version.links.get().right.patent
    drift.legal_status_apply(rows=[drift.Row(1, patent.number, "lapsed")], source=None, user=demo_users["reviewer"])
    user = demo_users[who]
    area = dashboards.area_for(user)
    direct = (
        area.products()
        .filter(published_version__isnull=False, versions__flags__in=FilingFlag.objects.open())
        .distinct()
        .count()
    )
    client = client_for(user)
    answer = client.get(home_url(user))
    assert answer.context["data"]["totals"]["flagged"] == direct == FLAGGED[who]
    assert f'data-testid="figure-flagged">{FLAGGED[who]}<' in answer.content.decode()
    rows = sheet_rows(client.get(reverse("port:dashboard_export")))
    assert ("总体", "关联专利失效待处理的备案产品", FLAGGED[who]) in [row[:3] for row in rows]
    assert client.get("/api/v1/provincial/dashboard/").json()["totals"]["flagged"] == FLAGGED[who]
