"""One area rule for the ports' lists (issue 17, mechanism 3, first part): a region filter outside the viewer's
area answers 404 on every list and export, as a port outside it does (`/port/?port=…`), and never adds the
foreign region to the filter's choices.

Found: as 深圳, `/port/units/?region=440100` (广州) answered 200 with 共 0 个备案单位 and offered 广州市 among
the filter's choices, while `/port/?port=440000` answered 404.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from patent_platform.models import Region, User
from patent_platform.scoping import scope_of
from tests.provincial.live import CurrentClient

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]  # the area rule on both engines

LISTS = ["port:products", "port:products_export", "port:units", "port:units_export"]


def client_for(user: User) -> Client:
    client = CurrentClient()
    client.force_login(user)
    return client


def test_shenzhen_filtering_by_guangzhou_answers_404_like_the_port_parameter(demo_users: dict[str, User]) -> None:
    shenzhen = client_for(demo_users["shenzhen"])
    assert shenzhen.get(reverse("port:home"), {"port": "440000"}).status_code == 404
    for name in LISTS:
        assert shenzhen.get(reverse(name), {"region": "440100"}).status_code == 404, name
        assert shenzhen.get(reverse(name), {"region": "440305"}).status_code == 200, name  # 南山, its own
    page = shenzhen.get(reverse("port:units"), {"region": "440305"}).content.decode()
    assert "广州市" not in page


def test_every_port_answers_inside_its_area_and_404_outside_it(demo_users: dict[str, User]) -> None:
    """For every port of the demo and every province and city of 广东 and 浙江 (and a few elsewhere): the
    lists answer 200 exactly when the port's area holds the region, 404 otherwise."""
    regions = list(
        Region.objects.filter(level__in=["province", "city"], province_code__in=["440000", "330000", "110000"])
    )
    assert len(regions) > 20
    checked = 0
    for key in ("guangdong", "shenzhen", "zhejiang", "national"):
        user = demo_users[key]
        client = client_for(user)
        scope = scope_of(user)
        for region in regions:
            inside = scope.everything or scope.covers_region(region.code)
            for name in ("port:products", "port:units"):
                url = reverse(name)
                expected = 200 if inside else 404
                answer = client.get(url, {"region": region.code})
                if key == "national" and answer.status_code == 302:  # the national office's own pages
                    answer = client.get(answer["Location"].split("?")[0], {"region": region.code})
                assert answer.status_code == expected, (key, region.code, name)
                checked += 1
    assert checked > 100


# ---------------------------------------------------------------------------------------------------------------
# Rosters: what a province uploads is counted by its city ports as the province counts those cities

NESTED = [("guangdong", "440300", "shenzhen"), ("national", "440000", "guangdong"), ("national", "440300", "shenzhen")]


def test_every_nested_port_counts_its_roster_coverage_as_the_outer_port_counts_it(demo_users: dict[str, User]) -> None:
    """Found: 广东's coverage showed 深圳市 with 3 roster enterprises, 1 filed; 深圳's own page 2 and 1 — the
    roster 广东 uploaded was invisible to 深圳. For each nested pair, the outer port's row for the inner port
    equals the inner port's own total, for the whole and per category."""
    from filings.models import FilingUnit
    from provincial import rosters
    from tests.provincial.test_permission_matrix import BAOAN, NANHAI, upload_roster

    shenzhen_unit = FilingUnit.objects.get(name="深圳鹏芯微电子有限公司")  # filed and approved in the demo
    upload_roster(demo_users["guangdong"], "广东名单", [(BAOAN, "深圳宝安示例"), (shenzhen_unit.uscc, "深圳鹏芯"),
                                                       (NANHAI, "佛山南海示例")])  # fmt: skip
    for outer, code, inner in NESTED:
        outer_rows = {row.key: row for row in rosters.coverage_by_port(demo_users[outer])}
        _rows, inner_total = rosters.coverage_by_category(demo_users[inner])
        assert (outer_rows[code].entries, outer_rows[code].covered) == (inner_total.entries, inner_total.covered), (
            outer,
            inner,
        )
    _rows, shenzhen_total = rosters.coverage_by_category(demo_users["shenzhen"])
    assert shenzhen_total.entries >= 2 and shenzhen_total.covered >= 1  # the province's 深圳 enterprises count
    missing = {row["uscc"] for row in rosters.missing_entries(demo_users["shenzhen"])}
    assert BAOAN in missing and NANHAI not in missing  # 佛山 is not 深圳's
    client = client_for(demo_users["shenzhen"])
    listed = client.get(reverse("rosters:list")).content.decode()
    assert "广东名单" in listed
