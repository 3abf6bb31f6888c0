"""Periods and comparison on the management ports' dashboards (issue 20, docs/PORTS.md "Periods and
comparison"): a month, a quarter, a year or a range of months, the same months a year before beside it, and
the change; the dashboard of a month equals that month's publication; a bad period is a message, never a 500;
the scope holds for every role.

The world: filings made at chosen moments (`clock`, tests/provincial/test_figures_as_of.py) a year before the
latest complete month (Y) and in it (P), beside the demo world, whose approvals were made over the past two
years (load_demo `HISTORY`). Every expected value is counted in the test from the base tables; the figures
stated by hand are the world's filings on top of what the demo alone counted before them (`demo`).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from io import BytesIO
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from filings.models import FilingUnit, Product, ProductVersion
from patent_platform.choices import Role
from patent_platform.clock import CHINA_TZ, next_month
from provincial import periods
from provincial.models import ManagementUnit
from provincial.publications import figures
from tests.factories import UserFactory
from tests.provincial.test_figures_as_of import approve_at, clock, last_month, new_product, shift, submit_at

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]  # as-of figures and the cache on both engines

DASHBOARD_API = "/api/v1/provincial/dashboard/"
DRILL = re.compile(r'<a[^>]*href="([^"]+)"[^>]*data-testid="(drill|drill-units|figure-\w+)"[^>]*>\s*([0-9]+)\s*</a>')


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def filed_and_approved(region: str, submitted: dt.datetime, approved: dt.datetime | None, reviewer: Any) -> Any:
    with clock(submitted - dt.timedelta(hours=1)):
        version = new_product(region)
    submit_at(version, submitted)
    if approved is not None:
        approve_at(version, approved, reviewer)
    return version


@pytest.fixture
def world(demo_users: dict[str, Any]) -> dict[str, Any]:
    """Y = the latest complete month a year earlier, P = the latest complete month:
    广州 A approved in Y, 深圳 B approved in Y; 深圳 C and 广州 D approved in P; 深圳 E submitted in P and
    approved now; 杭州 F approved in P (another province)."""
    p = last_month()
    y = shift(p, -12)
    demo = demo_figures(p, y)
    reviewer = UserFactory(role=Role.REVIEWER)
    day = dt.timedelta(days=1)
    made = {
        "A": filed_and_approved("440106", y + 2 * day, y + 5 * day, reviewer),
        "B": filed_and_approved("440305", y + 3 * day, y + 9 * day, reviewer),
        "C": filed_and_approved("440305", p + 2 * day, p + 6 * day, reviewer),
        "D": filed_and_approved("440106", p + 3 * day, p + 7 * day, reviewer),
        "E": filed_and_approved("440305", p + 4 * day, None, reviewer),
        "F": filed_and_approved("330106", p + 4 * day, p + 8 * day, reviewer),
    }
    from filings import workflow

    workflow.version_approve(version=made["E"], user=reviewer)  # now: after P
    return {"P": p, "Y": y, **made, "users": demo_users, "demo": demo}


# ---------------------------------------------------------------------------------------------
# What the test counts itself, from the base tables


def region_q(prefix: str) -> dict[str, str]:
    """Filter kwargs of products / units in the area of a province ("44"), or a city ("4403")."""
    return {"province_code": f"{prefix}0000"} if len(prefix) == 2 else {"city_code": f"{prefix}00"}


def approved_at(prefix: str, end: dt.datetime) -> int:
    return (
        Product.objects.filter(**region_q(prefix), versions__status="approved", versions__decided_at__lt=end)
        .distinct()
        .count()
    )


def new_in(prefix: str, start: dt.datetime, end: dt.datetime) -> int:
    firsts = {}
    for version in ProductVersion.objects.filter(
        **{f"product__{k}": v for k, v in region_q(prefix).items()}, status="approved", decided_at__lt=end
    ):
        firsts[version.product_id] = min(firsts.get(version.product_id, version.decided_at), version.decided_at)
    return sum(1 for first in firsts.values() if start <= first < end)


def filed_at(prefix: str, end: dt.datetime) -> int:
    return Product.objects.filter(**region_q(prefix), versions__submitted_at__lt=end).distinct().count()


def units_at(prefix: str, end: dt.datetime) -> int:
    return FilingUnit.objects.filter(**region_q(prefix), created_at__lt=end).count()


def demo_figures(p: dt.datetime, y: dt.datetime) -> dict[tuple[str, str, str], int]:
    """What the demo alone counts (before the world's filings), per area prefix, figure and moment: at P's and
    Y's end, in the years of Y and before it, in the 12 months ending with Y, and now."""
    out = {}
    for prefix in ("44", "4403", "4401", "33"):
        for name, start in (("P", p), ("Y", y)):
            end = next_month(start)
            out[prefix, "approved", name] = approved_at(prefix, end)
            out[prefix, "filed", name] = filed_at(prefix, end)
            out[prefix, "new", name] = new_in(prefix, start, end)
        for name, year in (("year", y.year), ("year before", y.year - 1)):
            start, end = dt.datetime(year, 1, 1, tzinfo=CHINA_TZ), dt.datetime(year + 1, 1, 1, tzinfo=CHINA_TZ)
            out[prefix, "approved", name] = approved_at(prefix, end)
            out[prefix, "new", name] = new_in(prefix, start, end)
        out[prefix, "new", "12 months to Y"] = new_in(prefix, shift(y, -11), next_month(y))
        now = dt.datetime.now(tz=CHINA_TZ) + dt.timedelta(days=1)
        out[prefix, "approved", "now"] = approved_at(prefix, now)
        out[prefix, "new", "this month"] = new_in(prefix, next_month(p), now)
    return out


def change_text(now: int, before: int) -> str:
    """How the page shows a change (provincial/overview.py `shown_change`)."""
    ratio = percent(now, before)
    shown = f"{ratio:+.1f}%" if ratio else ("0.0%" if ratio is not None else "—")
    return f"{now - before:+,}（{shown}）" if now != before else f"0（{shown}）"


def percent(now: int, before: int) -> float | None:
    return round(100 * (now - before) / before, 1) if before else None


def expected(prefix: str, period: periods.Period) -> dict[str, tuple[int, int]]:
    before = period.year_before()
    return {
        "units": (units_at(prefix, period.end), units_at(prefix, before.end)),
        "filed": (filed_at(prefix, period.end), filed_at(prefix, before.end)),
        "approved": (approved_at(prefix, period.end), approved_at(prefix, before.end)),
        "new": (new_in(prefix, period.start, period.end), new_in(prefix, before.start, before.end)),
    }


def cards(answer: Any) -> dict[str, dict[str, Any]]:
    assert answer.status_code == 200, answer.content[:500]
    return {card["key"]: card for card in answer.context["cards"]}


def sheet_rows(answer: Any) -> list[tuple[Any, ...]]:
    assert answer.status_code == 200
    book = load_workbook(BytesIO(answer.content), read_only=True)
    return list(book.worksheets[0].iter_rows(values_only=True))


# ---------------------------------------------------------------------------------------------
# Each kind of period, beside the year before


def test_each_kind_of_period_shows_its_figures_beside_the_year_before(world: dict[str, Any]) -> None:
    p, y = world["P"], world["Y"]
    gd = client_for(world["users"]["guangdong"])
    month_p = periods.month(p.year, p.month)
    kinds = [
        month_p,
        periods.quarter(y.year, (y.month - 1) // 3 + 1),
        periods.year(y.year),
        periods.months_range(y.date(), p.date()),
    ]
    seen = {}  # a closed period's page is rendered once (then served from the cache, without a context)
    for period in kinds:
        shown = seen[period.key] = cards(gd.get(reverse("port:home"), {"period": period.key}))
        for key, (now, before) in expected("44", period).items():
            assert (shown[key]["value"], shown[key]["before"]) == (now, before), (period.key, key)
            change = shown[key]["change"]
            assert (change["difference"], change["percent"]) == (now - before, percent(now, before))
    # the month by hand, so that the counting above is checked too: A, B a year before; C, D new in P (on top
    # of the demo's own)
    demo = world["demo"]
    shown = seen[month_p.key]
    approved = (4 + demo["44", "approved", "P"], 2 + demo["44", "approved", "Y"])
    assert (shown["approved"]["value"], shown["approved"]["before"]) == approved
    assert shown["approved"]["change"]["text"] == change_text(*approved)
    assert (shown["new"]["value"], shown["new"]["before"]) == (2 + demo["44", "new", "P"], 2 + demo["44", "new", "Y"])
    assert shown["filed"]["value"] == 5 + demo["44", "filed", "P"]  # E was submitted in P, approved after it
    year = seen[periods.year(y.year).key]
    new_year = (2 + demo["44", "new", "year"], demo["44", "new", "year before"])
    assert (year["new"]["value"], year["new"]["before"]) == new_year
    assert year["new"]["change"]["percent"] == percent(*new_year)
    page = gd.get(reverse("port:home"), {"period": str(y.year)}).content.decode()
    assert change_text(*new_year) in page and f"{y.year}年" in page and f"{y.year - 1}年" in page


def test_the_trend_is_the_twelve_months_ending_with_the_period_beside_the_year_before(world: dict[str, Any]) -> None:
    p, y = world["P"], world["Y"]
    data = client_for(world["users"]["guangdong"]).get(reverse("port:home"), {"period": f"{p:%Y-%m}"}).context["data"]
    trend = data["trend"]
    assert len(trend) == 12 and trend[-1]["month"] == f"{p:%Y-%m}"
    assert (trend[-1]["count"], trend[-1]["before"]) == (new_in("44", p, next_month(p)), new_in("44", y, next_month(y)))
    demo = world["demo"]
    assert (trend[-1]["count"], trend[-1]["before"]) == (2 + demo["44", "new", "P"], 2 + demo["44", "new", "Y"])
    assert sum(r["before"] for r in trend) == 2 + demo["44", "new", "12 months to Y"]  # A and B, and the demo's


def test_the_dashboard_of_a_month_is_that_months_publication(world: dict[str, Any]) -> None:
    p = world["P"]
    for who, code in (("guangdong", "440000"), ("shenzhen", "440300"), ("national", None)):
        user = world["users"][who]
        url = reverse("national:home") if code is None else reverse("port:home")
        answer = client_for(user).get(url, {"period": f"{p:%Y-%m}"})
        data = answer.context["data"]
        unit = ManagementUnit.objects.get(code=code) if code else None
        published = figures.monthly_figures(unit, p.date())
        for key in ("units", "filed", "approved", "growth", "certified"):
            assert data["totals"][key] == published["totals"][key], (who, key)
        assert f"{data['totals']['sales']:.2f}" == published["totals"]["sales"]
        assert data["new"] == published["new"]["count"]
        assert cards(answer)["new"]["before"] == published["comparison"]["last_year"]["count"]
        assert [r["count"] for r in data["trend"]] == [r["count"] for r in published["trend"]]
        assert [(r["code"], r["approved"], r["units"]) for r in data["ranking"]] == [
            (r["code"], r["approved"], r["units"]) for r in published["by_region"]
        ]
        assert data["as_of"] == next_month(p)  # 数据截至: the month's end


def test_an_old_as_of_link_opens_that_month(world: dict[str, Any]) -> None:
    p = world["P"]
    gd = client_for(world["users"]["guangdong"])
    old = gd.get(reverse("port:home"), {"as_of": f"{p:%Y-%m}"})
    assert old.context["figures"].period == periods.month(p.year, p.month)
    assert cards(old) == cards(gd.get(reverse("port:home"), {"period": f"{p:%Y-%m}"}))


def test_the_default_is_the_latest_complete_month_and_current_is_the_live_state(world: dict[str, Any]) -> None:
    p = world["P"]
    gd = client_for(world["users"]["guangdong"])
    default = gd.get(reverse("port:home"))
    assert default.context["figures"].period.key == f"{p:%Y-%m}"
    demo = world["demo"]
    assert cards(default)["approved"]["value"] == approved_at("44", next_month(p)) == 4 + demo["44", "approved", "P"]
    live = gd.get(reverse("port:home"), {"period": "current"})
    assert live.context["figures"].period.is_current
    # now: the demo's 5 approved products, A–D and E (approved now)
    assert (
        cards(live)["approved"]["value"]
        == Product.objects.filter(province_code="440000", published_version__isnull=False).count()
        == 5 + demo["44", "approved", "now"]
        == 10
    )
    assert cards(live)["new"]["value"] == 1 + demo["44", "new", "this month"]  # this month: E and the demo's
    before = live.context["figures"].before_moment
    assert cards(live)["approved"]["before"] == approved_at("44", before)


# ---------------------------------------------------------------------------------------------
# Links, lists and exports keep the period


def test_every_figure_of_a_period_links_to_a_list_of_as_many_rows_with_the_period_kept(world: dict[str, Any]) -> None:
    p = world["P"]
    key = f"{p:%Y-%m}"
    for who in ("guangdong", "shenzhen"):
        client = client_for(world["users"][who])
        page = client.get(reverse("port:home"), {"period": key}).content.decode()
        links = DRILL.findall(page)
        assert len(links) > 20, who
        for href, _kind, shown in links:
            url = html.unescape(href)
            assert parse_qs(urlsplit(url).query)["period"] == [key], url
            answer = client.get(url)
            assert answer.status_code == 200, url
            assert answer.context["paginator"].count == int(shown), (who, url)
            # pagination, the export and the filter form keep the period too
            assert f"period={key}" in answer.context["export_url"]
            assert f'name="period" value="{key}"' in answer.content.decode()


def test_the_export_carries_the_period_and_the_comparison(world: dict[str, Any]) -> None:
    p = world["P"]
    gd = client_for(world["users"]["guangdong"])
    rows = sheet_rows(gd.get(reverse("port:dashboard_export"), {"period": f"{p:%Y-%m}"}))
    assert rows[0][:6] == ("统计表", "项目", "本期数值", "上年同期", "增减", "增减（%）")
    assert rows[1][:3] == ("统计期间", "本期", f"{p.year}年{p.month}月")
    assert rows[2][:3] == ("统计期间", "上年同期", f"{p.year - 1}年{p.month}月")
    demo = world["demo"]

    def row(label: str, now: int, before: int) -> tuple[Any, ...]:
        ratio = percent(now, before)
        return ("总体", label, now, before, now - before, "—" if ratio is None else ratio)

    approved = (4 + demo["44", "approved", "P"], 2 + demo["44", "approved", "Y"])
    assert row("通过备案产品", *approved) in [r[:6] for r in rows]
    assert row("已提交备案产品", 5 + demo["44", "filed", "P"], 2 + demo["44", "filed", "Y"]) in [r[:6] for r in rows]
    year = sheet_rows(gd.get(reverse("port:dashboard_export"), {"period": str(world["Y"].year)}))
    in_year = (2 + demo["44", "approved", "year"], demo["44", "approved", "year before"])
    assert [r[:6] for r in year if r[:2] == ("总体", "通过备案产品")] == [row("通过备案产品", *in_year)]
    listed = sheet_rows(gd.get(reverse("port:products_export"), {"period": f"{p:%Y-%m}", "status": "approved"}))
    assert len(listed) - 1 == approved[0]  # the products approved at P's end (A–D and the demo's), not E


def test_the_api_takes_the_period_and_gives_the_comparison(world: dict[str, Any]) -> None:
    from rest_framework.test import APIClient

    p = world["P"]
    api = APIClient()
    api.force_authenticate(world["users"]["guangdong"])
    body = api.get(DASHBOARD_API, {"period": f"{p:%Y-%m}"}).json()
    assert body["period"]["key"] == f"{p:%Y-%m}" and body["comparison"]["period"]["key"] == f"{p.year - 1}-{p:%m}"
    demo = world["demo"]
    approved = (4 + demo["44", "approved", "P"], 2 + demo["44", "approved", "Y"])
    assert (body["totals"]["approved"], body["comparison"]["totals"]["approved"]) == approved
    difference = approved[0] - approved[1]
    assert body["comparison"]["change"]["approved"] == {"difference": difference, "percent": percent(*approved)}
    assert body["totals"]["new"] == 2 + demo["44", "new", "P"]
    by_city = {row["key"]: (row["count"], row["before"], row["difference"]) for row in body["by_region"]}
    city = {
        code: (2 + demo[prefix, "approved", "P"], 1 + demo[prefix, "approved", "Y"])
        for code, prefix in (("440300", "4403"), ("440100", "4401"))
    }
    # B, C (深圳) and A, D (广州) at P's end, and the demo's
    assert by_city == {code: (now, before, now - before) for code, (now, before) in city.items()}
    for bad in ("2025-13", "abc", f"{periods.current().first:%Y-%m}", "1999"):
        answer = api.get(DASHBOARD_API, {"period": bad})
        assert answer.status_code == 400, bad
        assert "period" in str(answer.json()), answer.json()


# ---------------------------------------------------------------------------------------------
# A bad period, and the scope per role


@pytest.mark.parametrize("name", ["port:home", "port:products", "port:units", "port:dashboard_export"])
def test_a_bad_period_is_a_message_with_the_input_kept_never_a_500(world: dict[str, Any], name: str) -> None:
    gd = client_for(world["users"]["guangdong"])
    for bad, message in (
        ("2025-13", "月份应在 1 到 12 之间"),
        ("abc", "无法识别的期间"),
        (f"{periods.current().first:%Y-%m}", "期间尚未结束"),
        ("2025-06..2025-01", "结束月份早于开始月份"),
    ):
        answer = gd.get(reverse(name), {"period": bad, "status": "approved"})
        assert answer.status_code == 400, (name, bad)
        page = answer.content.decode()
        assert message in page and 'data-testid="period-error"' in page and f'value="{bad}"' in page
        assert 'name="status" value="approved"' in page  # the other parameters are kept


def test_the_scope_holds_for_every_role_and_period(world: dict[str, Any]) -> None:
    p = world["P"]
    key = f"{p:%Y-%m}"
    users = world["users"]
    sz = client_for(users["shenzhen"])
    shown = cards(sz.get(reverse("port:home"), {"period": key}))
    assert (
        (shown["approved"]["value"], shown["approved"]["before"])
        == (approved_at("4403", next_month(p)), approved_at("4403", next_month(world["Y"])))
        == (2 + world["demo"]["4403", "approved", "P"], 1 + world["demo"]["4403", "approved", "Y"])
    )
    zj = cards(client_for(users["zhejiang"]).get(reverse("port:home"), {"period": key}))
    # F, and the demo's
    assert (zj["approved"]["value"], zj["approved"]["before"]) == (
        1 + world["demo"]["33", "approved", "P"],
        world["demo"]["33", "approved", "Y"],
    )
    gd = client_for(users["guangdong"])
    seen = cards(gd.get(reverse("port:home"), {"period": key, "port": "440300"}))
    assert {k: (c["value"], c["before"]) for k, c in seen.items()} == {
        k: (c["value"], c["before"]) for k, c in shown.items()
    }
    for client, port in ((sz, "440000"), (sz, "440100"), (gd, "330000")):
        for name in ("port:home", "port:products", "port:dashboard_export"):
            # out of scope: 404, before the period is even looked at
            assert client.get(reverse(name), {"period": key, "port": port}).status_code == 404
            assert client.get(reverse(name), {"period": "bad", "port": port}).status_code == 404
    for who in ("ent-gz", "reviewer"):
        other = client_for(users[who])
        for name in ("port:home", "port:products", "port:dashboard_export", "national:home"):
            assert other.get(reverse(name), {"period": key}).status_code == 404
            assert other.get(reverse(name), {"period": "bad"}).status_code == 404
    assert client_for(users["guangdong"]).get(reverse("national:home"), {"period": key}).status_code == 404
    anonymous = Client().get(reverse("port:home"), {"period": key})
    assert anonymous.status_code == 302


def test_the_national_overview_ranks_the_ports_for_the_period(world: dict[str, Any]) -> None:
    p = world["P"]
    answer = client_for(world["users"]["national"]).get(reverse("national:home"), {"period": f"{p:%Y-%m}"})
    ports = {row["code"]: row for row in answer.context["ports"]}
    demo = world["demo"]
    for code, prefix, now, before in (("440000", "44", 4, 2), ("440300", "4403", 2, 1), ("330000", "33", 1, 0)):
        expected = (now + demo[prefix, "approved", "P"], before + demo[prefix, "approved", "Y"])
        assert (ports[code]["approved"], ports[code]["before"]) == expected, code
    assert f"period={p:%Y-%m}" in ports["440000"]["url"]
    assert answer.context["data"]["as_of"] == next_month(p).astimezone(CHINA_TZ)
