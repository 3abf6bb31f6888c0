"""The demo has a history (issue 20, provincial/management/commands/load_demo.py `HISTORY`): a bureau that logs
into `make run` sees figures for the default period (the latest complete month), the last quarter and the last
year, beside the year before, and the month's dashboard is that month's publication (one truth).

The history is made through the workflow at past moments, so every figure here is also counted from the base
tables (when each version was submitted and decided), and the summary cells (the live dashboard's trend)
agree with them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from filings.models import FilingUnit, Product, ProductVersion, Transition
from patent_platform import clock
from provincial import dashboards, periods
from provincial.models import ManagementUnit
from provincial.publications import figures

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]  # as-of figures and the summary on both engines

# who → (the dashboard's URL name, the port's code, the area as a filter on products and units)
PORTS = {
    "national": ("national:home", None, {}),
    "guangdong": ("port:home", "440000", {"province_code": "440000"}),
    "shenzhen": ("port:home", "440300", {"city_code": "440300"}),
}


def cards(answer: Any) -> dict[str, dict[str, Any]]:
    assert answer.status_code == 200, answer.content[:500]
    return {card["key"]: card for card in answer.context["cards"]}


def dashboard(user: Any, who: str, **params: str) -> Any:
    client = Client()
    client.force_login(user)
    return client.get(reverse(PORTS[who][0]), params)


def approved_at(area: dict[str, str], end: dt.datetime) -> int:
    """Products with a version approved before `end`, from the base tables (the demo revokes nothing)."""
    return Product.objects.filter(**area, versions__status="approved", versions__decided_at__lt=end).distinct().count()


def first_approvals(area: dict[str, str]) -> dict[int, dt.datetime]:
    firsts: dict[int, dt.datetime] = {}
    for version in ProductVersion.objects.filter(**{f"product__{k}": v for k, v in area.items()}, status="approved"):
        firsts[version.product_id] = min(firsts.get(version.product_id, version.decided_at), version.decided_at)
    return firsts


def new_in(area: dict[str, str], period: periods.Period) -> int:
    return sum(1 for first in first_approvals(area).values() if period.start <= first < period.end)


def units_at(area: dict[str, str], end: dt.datetime) -> int:
    return FilingUnit.objects.filter(**area, created_at__lt=end).count()


def test_the_approvals_happened_over_two_years_each_in_the_year_after_its_data_year(demo: None) -> None:
    now = clock.china_now()
    approved = ProductVersion.objects.filter(status="approved")
    moments = [v.decided_at.astimezone(clock.CHINA_TZ) for v in approved]
    # spread over the past 24 months, not all of today
    assert min(moments) < clock.shift_month(now, -23) and len({(m.year, m.month) for m in moments}) >= 8
    for version in approved:
        decided = version.decided_at.astimezone(clock.CHINA_TZ)
        assert decided.year == version.data_year + 1 or decided.year == now.year, version
        assert version.submitted_at < version.decided_at <= clock.china_now()
        # the workflow recorded it when it happened: the approval's transition is the decision
        assert Transition.objects.get(version=version, action="approve").at == version.decided_at
    # the units registered before their first filing
    first = min(ProductVersion.objects.values_list("created_at", flat=True))
    assert FilingUnit.objects.filter(created_at__lt=first).count() == FilingUnit.objects.count() == 3
    # what the demo promises today stays: 12 products, 7 of them approved, the pending ones and a draft
    assert Product.objects.count() == 12
    assert Product.objects.filter(published_version__isnull=False).count() == 7
    statuses = set(ProductVersion.objects.values_list("status", flat=True))
    assert statuses == {"approved", "submitted", "returned", "resubmitted", "draft"}


@pytest.mark.parametrize("who", list(PORTS))
def test_the_default_month_last_quarter_and_last_year_show_figures_beside_the_year_before(
    demo_users: dict[str, Any], who: str
) -> None:
    area = PORTS[who][2]
    user = demo_users[who]
    default = dashboard(user, who)
    month = periods.latest_complete_month()
    assert default.context["figures"].period == month
    shown = cards(default)
    assert shown["approved"]["value"] == approved_at(area, month.end) > 0
    assert shown["approved"]["before"] == approved_at(area, month.year_before().end) > 0
    assert shown["units"]["value"] == units_at(area, month.end) > 0
    assert shown["new"]["value"] == new_in(area, month)
    # (each closed period asked once: a second request is served from the dashboard's body cache, without a
    # template context to read)
    for period in (periods.latest_complete_quarter(), periods.latest_complete_year()):
        shown = cards(dashboard(user, who, period=period.key))
        before = period.year_before()
        assert shown["approved"]["value"] == approved_at(area, period.end) > 0, period
        assert shown["approved"]["before"] == approved_at(area, before.end) > 0, period
        assert shown["new"]["value"] == new_in(area, period), period
        assert shown["new"]["before"] == new_in(area, before), period
    # the last year (the loop's last): new filings in it and in the year before it, so the change is a real
    # comparison
    assert shown["new"]["value"] > 0 and shown["new"]["before"] > 0
    assert shown["new"]["change"]["percent"] is not None


@pytest.mark.parametrize("who", list(PORTS))
def test_the_default_months_dashboard_is_that_months_publication(demo_users: dict[str, Any], who: str) -> None:
    month = periods.latest_complete_month()
    answer = dashboard(demo_users[who], who)
    data = answer.context["data"]
    code = PORTS[who][1]
    published = figures.monthly_figures(ManagementUnit.objects.get(code=code) if code else None, month.first)
    assert data["totals"]["approved"] > 0
    for key in ("units", "filed", "approved", "growth", "certified"):
        assert data["totals"][key] == published["totals"][key], key
    assert f"{data['totals']['sales']:.2f}" == published["totals"]["sales"]
    assert data["new"] == published["new"]["count"]
    assert cards(answer)["new"]["before"] == published["comparison"]["last_year"]["count"]
    assert [r["count"] for r in data["trend"]] == [r["count"] for r in published["trend"]]
    assert sum(r["count"] for r in data["trend"]) > 0
    assert [(r["code"], r["approved"], r["units"]) for r in data["ranking"]] == [
        (r["code"], r["approved"], r["units"]) for r in published["by_region"]
    ]
    assert data["as_of"] == month.end


@pytest.mark.parametrize("who", list(PORTS))
def test_the_summary_cells_count_the_history_in_the_months_it_happened(demo_users: dict[str, Any], who: str) -> None:
    """The live dashboard reads the summary cells: its trend (first approvals per month) and totals are the
    base tables' history, and the same as the as-of figures of now."""
    area = PORTS[who][2]
    user = demo_users[who]
    live = dashboard(user, who, period="current")
    data = live.context["data"]
    firsts = first_approvals(area)
    expected = {}
    for moment in firsts.values():
        key = moment.astimezone(clock.CHINA_TZ).strftime("%Y-%m")
        expected[key] = expected.get(key, 0) + 1
    trend = {row["month"]: row["count"] for row in data["trend"]}
    assert trend == {month: expected.get(month, 0) for month in trend}
    assert sum(trend.values()) >= (3 if who == "national" else 1)  # 高速接口芯片 last month; 2 more elsewhere
    assert data["totals"]["approved"] == len(firsts) == approved_at(area, clock.china_now() + dt.timedelta(1))
    state = dashboards.state_at(dashboards.area_for(user), clock.next_month(clock.china_now()))
    assert state["totals"]["approved"] == data["totals"]["approved"]
