"""One area rule for derived figures (issue 17, mechanism 3): a region's figures are the same whichever port
whose area contains it looks.

For every port and every port nested in it (全国 ⊃ 省 ⊃ 市, 新疆 ⊃ 兵团; there are no county ports), the outer
port's figures restricted to the inner port's area equal the inner port's own figures:

- restricted by `?port=<inner>` (the dashboards, the API, the lists and every export) and by
  `?region=<inner code>` (the lists and their exports, for a port of one region);
- restricted by the outer port's own breakdown: its ranking row and region bar for the inner region, the
  national port ranking's row for the inner port, the outer port's roster coverage row for it;
- the figures: the totals (units, filed, approved, growth, sales, exports, certified, flagged), the 12-month
  trend, the breakdowns by region, class, section and scale, the ranking of the inner port's own regions, the
  rows of the product and unit lists and of their Excel exports (same ids, same cells), the dashboard export,
  the month-end figures (`?as_of=YYYY-MM`, `dashboards.state_at`), the ranking positions among siblings (the order
  of two ports in the outer port's region ranking is their order in the national port ranking), roster
  entries, coverage and the list of roster enterprises without a filing, certification results;
- read through the service functions and through the real pages, API and exports, logged in as each port's
  administrator.

Two worlds: the demo (广东, 深圳, 浙江 and the national office, the demo accounts) and generated ones (a seeded
generator under hypothesis: units in provinces, cities and counties, filings approved last month, three months
ago or now, returned, revoked and withdrawn, units moved between cities before and after the month's end,
rosters uploaded by the nation, provinces and cities), each example in its own savepoint.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
from collections.abc import Iterator
from decimal import Decimal
from io import BytesIO
from typing import Any
from unittest import mock

import pytest
from django.db import transaction
from django.http import QueryDict
from django.urls import reverse
from django.utils.http import urlencode
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from evaluation.models import Candidate
from filings import workflow
from filings.identifiers import build_uscc
from filings.models import FilingUnit
from patent_platform.choices import Role
from patent_platform.models import User
from provincial import dashboards, rosters
from provincial.choices import RosterCategory
from provincial.models import ManagementUnit, PortMembership
from provincial.views.dashboard import ListFilterForm, ProductFilterForm
from tests.factories import MemberFactory, PortAdminFactory, ProductVersionFactory, UserFactory, filer_of
from tests.provincial.live import CurrentClient
from tests.provincial.test_permission_matrix import roster_file

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]  # the area rule on both engines

URL_KEYS = {"url", "urls", "as_of"}


# ---------------------------------------------------------------------------------------------------------------
# Who looks


class Viewer:
    """A port's (or the nation's) administrator, signed in to the pages and the API."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.client = CurrentClient()
        self.client.force_login(user)
        membership = PortMembership.objects.filter(user=user).select_related("unit").first()
        self.unit: ManagementUnit | None = membership.unit if membership else None

    @property
    def name(self) -> str:
        return self.unit.code if self.unit else "national"

    def get(self, name: str, params: dict[str, str] | None = None, *, status: int = 200) -> Any:
        answer = self.client.get(reverse(name) if not name.startswith("/") else name, params or {})
        assert answer.status_code == status, (self.name, name, params, answer.status_code)
        return answer


def nested_pairs(viewers: list[Viewer]) -> list[tuple[Viewer, Viewer]]:
    """(outer, inner) for every port whose area lies inside another viewer's (the national office included)."""
    pairs = []
    for outer in viewers:
        inside = set(ManagementUnit.objects.visible_to(outer.user).values_list("code", flat=True))
        for inner in viewers:
            nested = inner is not outer and inner.unit is not None and inner.unit.code in inside
            if nested and (outer.unit is None or inner.unit.code != outer.unit.code):
                pairs.append((outer, inner))
    return pairs


def single_region(unit: ManagementUnit) -> str:
    """The code of a port of one region (`?region=` can name its area), else ""."""
    codes = list(unit.regions.values_list("code", flat=True))
    return codes[0] if len(codes) == 1 else ""


# ---------------------------------------------------------------------------------------------------------------
# What they see


def plain(value: Any) -> Any:
    """Figures without the links (they carry `port=`) and the computation time."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k not in URL_KEYS}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def sheet_rows(answer: Any) -> list[tuple[Any, ...]]:
    book = load_workbook(BytesIO(answer.content), read_only=True)
    return [tuple(row) for row in book.worksheets[0].iter_rows(values_only=True)]


def last_month_end() -> dt.datetime:
    """The end of last month (Asia/Shanghai): the latest `?as_of=` month."""
    return dashboards.trend_months()[-1]


def as_of_param() -> str:
    return (last_month_end() - dt.timedelta(days=1)).strftime("%Y-%m")


class Memo:
    """Figures read once per viewer and world (an outer port has several inner ports, an inner port several
    outer ones); `sample`: how many of an inner port's drill-down lists a pair compares (None: all)."""

    def __init__(self, rng: random.Random | None = None, sample: int | None = None, months: float = 1.0) -> None:
        self.values: dict[tuple[Any, ...], Any] = {}
        self.rng = rng or random.Random(0)
        self.sample = sample
        self.months = months  # the share of pairs whose narrowed month-end figures are recomputed (they cost)

    def get(self, key: tuple[Any, ...], compute: Any) -> Any:
        if key not in self.values:
            self.values[key] = compute()
        return self.values[key]


def service_figures(area: dashboards.Area, *, month_end: bool = True) -> dict[str, Any]:
    figures = {"dashboard": plain(dashboards.dashboard(area)), "live": plain(dashboards.live_dashboard(area))}
    if month_end:
        figures["state_at"] = plain(dashboards.state_at(area, last_month_end()))
    return figures


def drill_filters(figures: dict[str, Any]) -> list[dict[str, str]]:
    """Every list a dashboard links to (the cards, every breakdown row, every month, every ranking row), and
    the lists by status, section and scale."""
    found: list[dict[str, str]] = [{}, {"status": dashboards.FILED}, {"status": dashboards.APPROVED}]
    for key in ("by_region", "by_class", "by_section", "by_scale"):
        found += [row["filters"] for row in figures[key]]
    found += [{"status": dashboards.APPROVED, "month": row["month"]} for row in figures["trend"] if row["count"]]
    found.append({"status": dashboards.APPROVED, "since": figures["trend"][0]["month"]})
    for row in figures["ranking"]:
        if row["filed"] or row["units"]:
            found += [row["filters"]["approved"], row["filters"]["filed"]]
    for section in ("C", "I", dashboards.BLANK):
        found.append({"status": dashboards.FILED, "section": section})
    for scale in ("large", "small", dashboards.BLANK):
        found.append({"status": dashboards.APPROVED, "scale": scale})
    unique = {tuple(sorted(f.items())) for f in found}
    return [dict(f) for f in sorted(unique)]


def product_ids(area: dashboards.Area, params: dict[str, str]) -> list[int]:
    filters = ProductFilterForm(QueryDict(urlencode(params))).filters()
    return sorted(dashboards.filter_products(area, filters).values_list("pk", flat=True))


def unit_ids(area: dashboards.Area, params: dict[str, str]) -> list[int]:
    filters = ListFilterForm(QueryDict(urlencode(params))).filters()
    return sorted(dashboards.filter_units(area, filters).values_list("pk", flat=True))


def ranking_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["units"], row["filed"], row["approved"], row["growth"], row["sales"])


def totals_key(totals: dict[str, Any]) -> tuple[Any, ...]:
    return (totals["units"], totals["filed"], totals["approved"], totals["growth"], totals["sales"])


def _most_specific(row: dict[str, Any]) -> str:
    return row["county"] or row["city"] or row["province"]


# ---------------------------------------------------------------------------------------------------------------
# The property


def check_services(outer: Viewer, inner: Viewer, memo: Memo) -> None:
    """The service functions: the outer port's figures narrowed to the inner port (`area_for(…, port)`, the
    lists' region filter, its breakdown rows) equal the inner port's own."""
    assert inner.unit is not None
    code = inner.unit.code
    label = (outer.name, code)
    moment = last_month_end()
    own_area = dashboards.area_for(inner.user)
    narrowed = dashboards.area_for(outer.user, code)
    own = memo.get(("own", inner.name), lambda: service_figures(own_area))
    if memo.rng.random() < memo.months:
        assert service_figures(narrowed) == own, label
    else:
        assert service_figures(narrowed, month_end=False) == {k: v for k, v in own.items() if k != "state_at"}, label

    # the lists behind every figure: the same ids, by `?port=` and by `?region=`
    region = single_region(inner.unit)
    outer_area = dashboards.area_for(outer.user)
    filters = drill_filters(own["dashboard"])
    if memo.sample is not None:
        filters = memo.rng.sample(filters, k=min(len(filters), memo.sample))
    for params in filters:
        expected = memo.get(("products", inner.name, str(params)), lambda p=params: product_ids(own_area, p))
        assert product_ids(narrowed, params) == expected, (*label, params)
        if region and not params.get("region"):
            assert product_ids(outer_area, {**params, "region": region}) == expected, (*label, params)
        if params.get("status", dashboards.FILED) == dashboards.FILED and not {"month", "since", "product_class"} & set(
            params
        ):
            unit_params = {k: v for k, v in params.items() if k != "status"}
            expected_units = unit_ids(own_area, unit_params)
            assert unit_ids(narrowed, unit_params) == expected_units, (*label, params)
            if region and not params.get("region"):
                assert unit_ids(outer_area, {**unit_params, "region": region}) == expected_units, (*label, params)

    # the outer port's breakdown row for the inner region (when it breaks down at the inner port's level)
    outer_now = memo.get(("live", outer.name), lambda: plain(dashboards.live_dashboard(outer_area)))
    outer_then = memo.get(("at", outer.name), lambda: plain(dashboards.state_at(outer_area, moment)))
    for outer_figures, inner_figures in ((outer_now, own["live"]), (outer_then, own["state_at"])):
        rows = {row["code"]: row for row in outer_figures["ranking"]}
        if region and region in rows:
            assert ranking_key(rows[region]) == totals_key(inner_figures["totals"]), label
            bars = {row["key"]: row["count"] for row in outer_figures["by_region"]}
            assert bars.get(region, 0) == inner_figures["totals"]["approved"], label
    # the national port ranking's row for the inner port (from the summary, live, and at the month's end)
    if outer.unit is None:
        for name, ports, inner_figures in (
            ("summary", lambda: dashboards.national_ranking(outer.user), own["dashboard"]),
            ("live", lambda: dashboards.live_national_ranking(outer.user), own["live"]),
            ("at", lambda: dashboards.national_ranking_at(outer.user, moment), own["state_at"]),
        ):
            row = next(r for r in memo.get(("ports", name), ports) if r["code"] == code)
            assert ranking_key(row) == totals_key(inner_figures["totals"]), (*label, name)

    # rosters: the entries, coverage and the enterprises without a filing in the inner area
    scope = dashboards.unit_scope(inner.unit)
    entries = sorted(rosters.roster_entries(outer.user).filter(scope.region_q("")).values_list("roster_id", "uscc"))
    assert entries == sorted(rosters.roster_entries(inner.user).values_list("roster_id", "uscc")), label
    categories, total = rosters.coverage_by_category(inner.user)
    for category in (None, *(row.key for row in categories)):
        ports = memo.get(
            ("coverage", outer.name, category), lambda c=category: rosters.coverage_by_port(outer.user, category=c)
        )
        row = next(r for r in ports if r.key == code)
        expected_row = total if category is None else next(r for r in categories if r.key == category)
        assert (row.entries, row.covered) == (expected_row.entries, expected_row.covered), (*label, category)
    outer_missing = memo.get(
        ("missing", outer.name),
        lambda: rosters.describe_missing(outer.user, list(rosters.missing_entries(outer.user))),
    )
    inner_missing = rosters.describe_missing(inner.user, list(rosters.missing_entries(inner.user)))
    seen = [(r["uscc"], r["state"]) for r in outer_missing if scope.covers_region(_most_specific(r))]
    assert seen == [(r["uscc"], r["state"]) for r in inner_missing], label

    # certification results of the region
    outer_candidates = Candidate.objects.visible_to(outer.user).filter(scope.region_q(""))
    assert sorted(outer_candidates.values_list("pk", flat=True)) == sorted(
        Candidate.objects.visible_to(inner.user).values_list("pk", flat=True)
    ), label


def check_siblings(outer: Viewer, inners: list[Viewer], national: Viewer, memo: Memo) -> None:
    """Ranking positions among siblings: two ports of one region each, both ranked by the outer port's region
    ranking, stand in the same order (and tie alike) in the national port ranking — now and at the month's end."""
    codes = {single_region(i.unit): i.unit.code for i in inners if i.unit is not None and single_region(i.unit)}
    moment = last_month_end()
    area = dashboards.area_for(outer.user)
    for regional, ports in (
        (
            memo.get(("live", outer.name), lambda: plain(dashboards.live_dashboard(area)))["ranking"],
            memo.get(("ports", "live"), lambda: dashboards.live_national_ranking(national.user)),
        ),
        (
            memo.get(("at", outer.name), lambda: plain(dashboards.state_at(area, moment)))["ranking"],
            memo.get(("ports", "at"), lambda: dashboards.national_ranking_at(national.user, moment)),
        ),
    ):
        region_rank = {codes[r["code"]]: r["rank"] for r in regional if r["code"] in codes}
        port_rank = {r["code"]: r["rank"] for r in ports if r["code"] in region_rank}
        for a in region_rank:
            for b in region_rank:
                assert (region_rank[a] < region_rank[b]) == (port_rank[a] < port_rank[b]), (outer.name, a, b)
                assert (region_rank[a] == region_rank[b]) == (port_rank[a] == port_rank[b]), (outer.name, a, b)


def check_pages(outer: Viewer, inner: Viewer, *, exports: bool = True) -> None:
    """The real pages, API and exports: the outer port's, narrowed by `?port=` or `?region=`, equal the inner
    port's own (`exports` False: the API, the lists and coverage only)."""
    assert inner.unit is not None
    code = inner.unit.code
    label = (outer.name, code)
    port = {"port": code}
    month = {"as_of": as_of_param()}
    # the API dashboard, now and at the month's end
    for extra in ({}, month):
        own = inner.get("/api/v1/provincial/dashboard/", extra).json()
        seen = outer.get("/api/v1/provincial/dashboard/", {**port, **extra}).json()
        own.pop("as_of"), seen.pop("as_of")
        assert seen == own, (*label, extra)
    # the dashboard page: the cards and every table
    for extra in ({}, month) if exports else ():
        own_page = inner.get("port:home", extra).context
        seen_page = outer.get("port:home", {**port, **extra}).context
        assert plain(seen_page["data"]) == plain(own_page["data"]), (*label, extra)
        assert [(c["key"], c["value"]) for c in seen_page["cards"]] == [
            (c["key"], c["value"]) for c in own_page["cards"]
        ], label
    # the lists and their exports
    region = single_region(inner.unit)
    narrowings = [port, *([{"region": region}] if region else [])]
    for params in (
        ({"status": dashboards.FILED}, {"status": dashboards.APPROVED}) if exports else ({"status": dashboards.FILED},)
    ):
        own_ids = [p.pk for p in inner.get("port:products", params).context["products"]]
        for narrowing in narrowings:
            ids = [p.pk for p in outer.get("port:products", {**params, **narrowing}).context["products"]]
            assert ids == own_ids, (*label, params, narrowing)
        if exports:
            own_rows = sheet_rows(inner.get("port:products_export", params))
            for narrowing in narrowings:
                assert sheet_rows(outer.get("port:products_export", {**params, **narrowing})) == own_rows, label
    own_units = [u.pk for u in inner.get("port:units").context["units"]]
    for narrowing in narrowings:
        assert [u.pk for u in outer.get("port:units", narrowing).context["units"]] == own_units, (*label, narrowing)
    if exports:
        own_rows = sheet_rows(inner.get("port:units_export"))
        for narrowing in narrowings:
            assert sheet_rows(outer.get("port:units_export", narrowing)) == own_rows, (*label, narrowing)
        assert sheet_rows(outer.get("port:dashboard_export", port)) == sheet_rows(inner.get("port:dashboard_export"))
    # roster coverage: the outer port's row for the inner port is the inner port's total
    own_coverage = inner.get("/api/v1/provincial/coverage/").json()
    rows = {r["key"]: r for r in outer.get("/api/v1/provincial/coverage/").json()["ports"]}
    assert {k: rows[code][k] for k in ("entries", "covered")} == {
        k: own_coverage["total"][k] for k in ("entries", "covered")
    }, label


def check_world(viewers: list[Viewer], memo: Memo, *, pages: list[tuple[str, str, bool]] | None = None) -> int:
    """The property over every nested pair of these viewers; returns the number of pairs checked. `pages`:
    the (outer, inner, with exports) pairs read through the pages, API and exports (None: every pair)."""
    pairs = nested_pairs(viewers)
    national = next(v for v in viewers if v.unit is None)
    for outer, inner in pairs:
        check_services(outer, inner, memo)
    for outer in viewers:
        inners = [inner for o, inner in pairs if o is outer]
        if len(inners) > 1:
            check_siblings(outer, inners, national, memo)
    chosen = {(o.name, i.name): True for o, i in pairs} if pages is None else {(o, i): e for o, i, e in pages}
    for outer, inner in pairs:
        if (outer.name, inner.name) in chosen:
            check_pages(outer, inner, exports=chosen[outer.name, inner.name])
    return len(pairs)


# ---------------------------------------------------------------------------------------------------------------
# The discrepancies the property found


def test_siblings_stand_in_a_provinces_ranking_as_they_stand_among_the_47_ports(reference: None) -> None:
    """Found: 广州 (1 unit, 1 approved, 2 filed) and 深圳 (1 unit, 1 approved, 1 filed). 广东's ranking put 广州
    first and 深圳 second (its tie-break was the filed count), the national port ranking put both second, tied
    (its tie-break was the approvals of the last 12 months). One score now ranks both (`dashboards.rank_score`)."""
    reviewer = UserFactory(role=Role.REVIEWER)
    guangzhou = MemberFactory(unit__region_id="440106").unit
    workflow.version_approve(
        version=workflow.version_submit(
            version=ProductVersionFactory(unit=guangzhou, user=filer_of_unit(guangzhou)), user=filer_of_unit(guangzhou)
        ),
        user=reviewer,
    )
    workflow.version_submit(
        version=ProductVersionFactory(unit=guangzhou, user=filer_of_unit(guangzhou)), user=filer_of_unit(guangzhou)
    )
    shenzhen = MemberFactory(unit__region_id="440305").unit
    workflow.version_approve(
        version=workflow.version_submit(
            version=ProductVersionFactory(unit=shenzhen, user=filer_of_unit(shenzhen)), user=filer_of_unit(shenzhen)
        ),
        user=reviewer,
    )
    guangdong = PortAdminFactory(port_code="440000").user
    national = UserFactory(role=Role.NATIONAL_ADMIN)
    regions = {r["code"]: r for r in dashboards.dashboard(dashboards.area_for(guangdong))["ranking"]}
    ports = {r["code"]: r for r in dashboards.national_ranking(national)}
    assert (regions["440100"]["filed"], regions["440300"]["filed"]) == (2, 1)
    assert (regions["440100"]["rank"], regions["440300"]["rank"]) == (1, 1)  # before: (1, 2)
    assert regions["440100"]["tied"] and regions["440300"]["tied"]
    assert (ports["440100"]["rank"], ports["440300"]["rank"]) == (2, 2) and ports["440000"]["rank"] == 1
    # the national overview: its province ranking and its port ranking order 广东 and 浙江 alike
    zhejiang = MemberFactory(unit__region_id="330106").unit
    for _ in range(2):
        workflow.version_approve(
            version=workflow.version_submit(
                version=ProductVersionFactory(unit=zhejiang, user=filer_of_unit(zhejiang)), user=filer_of_unit(zhejiang)
            ),
            user=reviewer,
        )
    MemberFactory(unit__region_id="330108")
    provinces = {r["code"]: r for r in dashboards.dashboard(dashboards.area_for(national))["ranking"]}
    ports = {r["code"]: r for r in dashboards.national_ranking(national)}
    assert (provinces["440000"]["filed"], provinces["330000"]["filed"]) == (3, 2)
    assert provinces["440000"]["rank"] == provinces["330000"]["rank"] == 1  # before: 广东 1, 浙江 2
    assert ports["440000"]["rank"] == ports["330000"]["rank"] == 1


def test_a_roster_enterprise_that_moved_away_has_one_state_for_every_port(reference: None) -> None:
    """Found: a 深圳 enterprise on 广东's roster (its USCC registered in 南山) whose unit moved to 广州: the national
    office and 广东 listed it as 已注册，尚未填报, 深圳 as 已注册（所在地不在本辖区）— another state of the same row.
    The state is now the enterprise's for every port; only the contacts stay with the ports that see the unit."""
    unit = MemberFactory(unit__region_id="440305").unit
    ProductVersionFactory(unit=unit, user=filer_of_unit(unit))  # a draft
    unit.region_id = "440106"
    unit.full_clean()
    unit.save()
    guangdong = PortAdminFactory(port_code="440000").user
    shenzhen = PortAdminFactory(port_code="440300").user
    national = UserFactory(role=Role.NATIONAL_ADMIN)
    rosters.roster_import(
        user=guangdong,
        category=RosterCategory.LITTLE_GIANT,
        year=workflow.china_today().year,
        title="广东名单",
        file=roster_file([(unit.uscc, unit.name)]),
        source_name="名单.xlsx",
    )
    rows = {
        who: rosters.describe_missing(user, list(rosters.missing_entries(user)))
        for who, user in (("national", national), ("guangdong", guangdong), ("shenzhen", shenzhen))
    }
    assert {who: [(r["uscc"], r["state"]) for r in found] for who, found in rows.items()} == {
        who: [(unit.uscc, rosters.STATE_DRAFT)] for who in rows
    }  # before: 深圳 "outside"
    assert [r["outside"] for r in rows["shenzhen"]] == [True] and rows["shenzhen"][0]["contact_email"] == ""
    assert [r["outside"] for r in rows["guangdong"]] == [False]
    assert rows["guangdong"][0]["contact_email"] == unit.contact_email


# ---------------------------------------------------------------------------------------------------------------
# The demo


def test_every_demo_port_sees_its_nested_ports_as_they_see_themselves(demo_users: dict[str, User]) -> None:
    """全国 ⊃ 广东 ⊃ 深圳, 全国 ⊃ 浙江, on the demo accounts (with the 广州 enterprise moved to 深圳 today): every
    figure, list and roster row; every page and export of two pairs, the API and the lists of the others."""
    moved = FilingUnit.objects.get(name="广州云帆智能装备有限公司")
    moved.region_id = "440305"
    moved.full_clean()
    moved.save()
    viewers = [Viewer(demo_users[key]) for key in ("national", "guangdong", "shenzhen", "zhejiang")]
    pages = [("440000", "440300", True), ("national", "440000", True), ("national", "440300", False)]
    pages.append(("national", "330000", False))
    assert check_world(viewers, Memo(), pages=pages) == 4  # 全国 ⊃ 广东, 深圳, 浙江; 广东 ⊃ 深圳


# ---------------------------------------------------------------------------------------------------------------
# Generated worlds

PORT_CODES = ["440000", "440100", "440300", "330000", "330200", "650000", "XPCC"]
# unit regions: counties of 广州, 深圳, 佛山, 杭州, 宁波, 温州, 乌鲁木齐 and 石河子 (XPCC); 深圳 itself (a city-level
# unit) and 广东 itself (a province-level unit)
REGIONS = ["440106", "440305", "440304", "440300", "440604", "440000", "330106", "330108", "330203", "330302"]
REGIONS += ["650102", "659001"]
MOVES = {"440106": "440305", "440305": "440106", "440304": "440604", "330106": "330203", "330203": "330106"}
INDUSTRIES = ["", "C", "26", "39", "I", "65"]
SCALES = ["", "large", "medium", "small"]
STORIES = ["draft", "submitted", "returned", "approved_now", "approved", "approved_old", "revoked", "withdrawn"]
CLASSES = ["03", "01", "05"]
_orgs = iter(range(1_000_000))


@contextlib.contextmanager
def clock(moment: dt.datetime) -> Iterator[None]:
    """Every `timezone.now()` answers `moment` (the workflow's decisions, the transitions, the audit log)."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def build_world(rng: random.Random, reviewer: User, ports: dict[str, User], national: User) -> None:
    """Units, filings with a history around last month's end, moves, rosters."""
    end = last_month_end()
    old, before, after = end - dt.timedelta(days=100), end - dt.timedelta(days=10), end + dt.timedelta(minutes=5)
    units: list[FilingUnit] = []
    with clock(old):
        for _ in range(rng.randint(4, 8)):
            region = rng.choice(REGIONS)
            unit = MemberFactory(
                unit__region_id=region,
                unit__industry=rng.choice(INDUSTRIES),
                unit__scale=rng.choice(SCALES),
                unit__uscc=build_uscc(region_code=region, org_body=f"MH{next(_orgs):06d}"),
            ).unit
            units.append(unit)
    for unit in units:
        for _ in range(rng.randint(0, 3)):
            story = rng.choice(STORIES)
            with clock(old):
                version = ProductVersionFactory(
                    unit=unit,
                    user=filer_of_unit(unit),
                    product_class_code=rng.choice(CLASSES),
                    sales=Decimal(rng.randint(0, 9000)),
                    exports=Decimal(0),
                )
            if story == "draft":
                continue
            with clock(old + dt.timedelta(days=1)):
                workflow.version_submit(version=version, user=filer_of(version))
            if story == "submitted":
                continue
            if story == "returned":
                with clock(before):
                    workflow.version_return(version=version, user=reviewer, reasons={"name": "请补充型号"})
                continue
            approved_at = {"approved_now": after, "approved_old": old + dt.timedelta(days=2)}.get(story, before)
            with clock(approved_at):
                workflow.version_approve(version=version, user=reviewer)
            if story in ("revoked", "withdrawn"):
                with clock(rng.choice([before + dt.timedelta(days=1), after])):
                    if story == "revoked":
                        workflow.version_revoke(version=version, user=reviewer, reason="专利已失效")
                    else:
                        workflow.version_withdraw(version=version, user=filer_of(version), reason="停产")
    # units moved between cities, before the month's end or after it
    for unit in rng.sample(units, k=min(len(units), rng.randint(0, 3))):
        if unit.region_id in MOVES:
            with clock(rng.choice([before + dt.timedelta(days=2), after])):
                unit.region_id = MOVES[unit.region_id]
                unit.scale = rng.choice(SCALES)
                unit.full_clean()
                unit.save()
    # rosters: the nation's, provinces' and cities' (their own enterprises, a few never registered)
    for uploader, prefix in (
        (national, ""),
        (ports["440000"], "44"),
        (ports["440300"], "4403"),
        (ports["330000"], "33"),
    ):
        known = [(u.uscc, u.name) for u in units if u.uscc[2:8].startswith(prefix)]
        extra = [r for r in REGIONS if r.startswith(prefix) and r != "440000"]
        rows = rng.sample(known, k=min(len(known), rng.randint(0, 3)))
        rows += [(build_uscc(region_code=rng.choice(extra), org_body=f"MR{next(_orgs):06d}"), "名单企业")]
        rosters.roster_import(
            user=uploader,
            category=rng.choice([RosterCategory.LITTLE_GIANT, RosterCategory.values[0]]),
            year=workflow.china_today().year,
            title=f"名单{prefix or '全国'}",
            file=roster_file(rows),
            source_name="名单.xlsx",
        )


def filer_of_unit(unit: FilingUnit) -> User:
    return unit.memberships.select_related("user").first().user  # type: ignore[union-attr]


@pytest.fixture
def port_users(reference: None) -> dict[str, User]:
    users = {code: PortAdminFactory(port_code=code).user for code in PORT_CODES}
    users["national"] = UserFactory(role=Role.NATIONAL_ADMIN)
    return users


@settings(
    max_examples=int(os.environ.get("HIERARCHY_EXAMPLES", "3")),
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a world is a seed: shrinking it means nothing
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_in_a_generated_world_every_outer_port_sees_its_nested_ports_as_they_see_themselves(
    port_users: dict[str, User], seed: int
) -> None:
    rng = random.Random(seed)
    reviewer = UserFactory(role=Role.REVIEWER)
    viewers = [Viewer(port_users[code]) for code in ("national", *PORT_CODES)]
    with transaction.atomic():
        build_world(rng, reviewer, {c: port_users[c] for c in PORT_CODES}, port_users["national"])
        # 全国 ⊃ 7 ports; 广东 ⊃ 广州, 深圳; 浙江 ⊃ 宁波; 新疆 ⊃ 兵团
        # the API and the lists of two pairs per world (a port in its province, a port in the nation); the demo
        # reads every page and export of every pair
        pages = [
            (
                *rng.choice([("440000", "440100"), ("440000", "440300"), ("330000", "330200"), ("650000", "XPCC")]),
                False,
            ),
            ("national", rng.choice(PORT_CODES), False),
        ]
        assert check_world(viewers, Memo(rng, sample=6, months=0.3), pages=pages) == 11
        transaction.set_rollback(True)
