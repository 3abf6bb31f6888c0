"""The year-end evaluation as of the year's end (issue 17, mechanism 2): the cards report the state at
31 December 24:00 (Asia/Shanghai) through `dashboards.state_at`, whatever day they are built, as the monthly
publication reports the month's end. Helpers (`clock`, `new_product`, `submit_at`, `approve_at`) are those of
tests/provincial/test_figures_as_of.py.
"""

from __future__ import annotations

import datetime as dt
from io import BytesIO
from typing import Any

import pytest
from openpyxl import load_workbook

from filings import workflow
from filings.models import FilingUnit, ProductVersion
from patent_platform.choices import Role
from patent_platform.clock import CHINA_TZ, month_start
from provincial import dashboards
from provincial.choices import RosterCategory
from provincial.models import ManagementUnit, Roster, RosterEntry
from provincial.publications import documents, figures
from tests.factories import UserFactory, add_patent, filer_of
from tests.provincial.test_figures_as_of import approve_at, clock, filer_of_unit, new_product, submit_at

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]  # history read on both engines

CHINA = CHINA_TZ
PORTS = ("440000", "440100", "440300")


def _data(cards: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in cards.items() if k not in figures.BUILD_KEYS}


def _cells(cards: dict[str, Any], unit: ManagementUnit | None) -> dict[str, list[tuple[Any, ...]]]:
    buffer = BytesIO()
    documents.write_yearend_xlsx(cards, buffer, unit=unit)
    book = load_workbook(BytesIO(buffer.getvalue()), read_only=True)
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}


def _card_figures(cards: dict[str, Any], code: str) -> dict[str, Any]:
    card = cards["national"] if code == "NATIONAL" else figures.card_for(cards, ManagementUnit.objects.get(code=code))
    keys = ("approved", "approved_previous", "new", "new_previous", "invention", "rank", "score")
    return {k: card[k] for k in keys} | {"covered": card["coverage_total"]["covered"]}


def _utility_only(region: str) -> ProductVersion:
    """A product backed by a utility-model patent only (not counted as 'with an invention patent')."""
    from tests.factories import MemberFactory, ProductVersionFactory

    unit = MemberFactory(unit__region_id=region).unit
    user = filer_of_unit(unit)
    right = add_patent(unit, user, type_digit="2")
    links = [{"right": right.pk, "is_core": True, "contribution": 50, "embodiment": ""}]
    return ProductVersionFactory(unit=unit, user=user, links=links)


def test_a_year_end_rebuilt_on_20_january_is_identical_to_the_one_built_on_2_january(reference: None) -> None:
    """Year Y: approvals in Y-1 and in Y, an enterprise on the Y roster covered during Y and one covered only
    in January. Built on 2 January Y+1 at 02:00 (the scheduled run). Then, before the rebuild on 20 January:
    approvals of filings submitted in December, a revocation of a product approved in Y, a withdrawal of one
    approved in Y-1, a unit moved from 广州 to 深圳, a new unit. The rebuild is identical, cell by cell."""
    year = workflow.china_today().year - 1
    end = month_start(year + 1, 1)
    reviewer = UserFactory(role=Role.REVIEWER)
    with clock(dt.datetime(year - 1, 3, 1, tzinfo=CHINA)):
        before = [new_product("440106"), new_product("440305")]
    with clock(dt.datetime(year, 2, 1, tzinfo=CHINA)):
        during = [new_product("440106"), new_product("440106"), new_product("440305"), _utility_only("440106")]
        late = [new_product("440106"), new_product("440305")]
    for v in before:
        submit_at(v, dt.datetime(year - 1, 3, 2, tzinfo=CHINA))
        approve_at(v, dt.datetime(year - 1, 6, 1, tzinfo=CHINA), reviewer)
    for i, v in enumerate(during):
        submit_at(v, dt.datetime(year, 2, 2, tzinfo=CHINA))
        approve_at(v, dt.datetime(year, 4 + i, 10, 9, tzinfo=CHINA), reviewer)
    for v in late:
        submit_at(v, dt.datetime(year, 12, 20, tzinfo=CHINA))
    # the Y roster: the enterprise of during[2] (深圳, covered in Y) and of late[1] (深圳, covered in January)
    roster = Roster.objects.create(category=RosterCategory.LITTLE_GIANT, year=year, title="小巨人", entry_count=2)
    for v in (during[2], late[1]):
        unit = v.product.unit
        RosterEntry.objects.create(
            roster=roster,
            uscc=unit.uscc,
            name=unit.name,
            province_code=unit.province_code,
            city_code=unit.city_code,
            county_code=unit.county_code,
        )

    with clock(dt.datetime(year + 1, 1, 2, 2, tzinfo=CHINA)):
        first = figures.stamp(figures.yearend_cards(year), revision=0, previous=None)
    assert first["data_as_of"] == end.isoformat()  # the year's end, not the build time
    gd, gz, sz = (_card_figures(first, code) for code in PORTS)
    assert gd == {**gd, "approved": 6, "approved_previous": 2, "new": 4, "new_previous": 2, "invention": 5}
    assert (gz["approved"], gz["new"], gz["invention"], sz["approved"], sz["new"], sz["covered"]) == (4, 3, 3, 2, 1, 1)

    # between the two builds
    for v in late:
        approve_at(v, dt.datetime(year + 1, 1, 5, 10, tzinfo=CHINA), reviewer)
    with clock(dt.datetime(year + 1, 1, 6, tzinfo=CHINA)):
        workflow.version_revoke(version=during[0], user=reviewer, reason="核查发现不符合备案条件")
        workflow.version_withdraw(version=before[1], user=filer_of(before[1]), reason="")
    moved = FilingUnit.objects.get(pk=during[1].product.unit_id)
    with clock(dt.datetime(year + 1, 1, 8, tzinfo=CHINA)):
        moved.region_id = "440305"  # 广州天河 → 深圳南山
        moved.full_clean()
        moved.save()
        new_product("440305")

    with clock(dt.datetime(year + 1, 1, 20, 10, tzinfo=CHINA)):
        second = figures.stamp(figures.yearend_cards(year), revision=1, previous=first)
    assert _data(second) == _data(first)
    assert second["changes"] == [] and second["edition_label"] == "第 2 版"
    build_rows = ("版次", "生成时间", "与上一版相比")
    for unit in (None, *(ManagementUnit.objects.get(code=c) for c in PORTS)):
        cells = [
            {k: [r for r in rows if r[0] not in build_rows] for k, rows in _cells(c, unit).items()}
            for c in (first, second)
        ]
        assert cells[0] == cells[1], unit
    # today's figures do see what happened since the year's end
    today = dashboards.live_dashboard(dashboards.area_for_unit(ManagementUnit.objects.get(code="440300")))
    assert today["totals"]["approved"] != sz["approved"]


def test_the_year_end_card_is_the_state_at_the_years_end(reference: None) -> None:
    """The card's figures are those of `state_at(area, 1 January Y+1)` (approved, new = its 12-month trend),
    and last year's from `state_at(area, 1 January Y)`: one set of definitions with the monthly files."""
    year = workflow.china_today().year - 1
    end = month_start(year + 1, 1)
    reviewer = UserFactory(role=Role.REVIEWER)
    with clock(dt.datetime(year, 1, 5, tzinfo=CHINA)):
        versions = [new_product("440106"), new_product("440305"), new_product("330106")]
    for i, v in enumerate(versions):
        submit_at(v, dt.datetime(year, 1, 6, tzinfo=CHINA))
        approve_at(v, dt.datetime(year, 3 + 4 * i, 1, tzinfo=CHINA), reviewer)
    cards = figures.yearend_cards(year)
    for code in ("440000", "440300", "330000", None):
        unit = ManagementUnit.objects.get(code=code) if code else None
        state = dashboards.state_at(dashboards.area_for_unit(unit), end)
        card = figures.card_for(cards, unit)
        assert card["approved"] == state["totals"]["approved"]
        assert card["new"] == sum(r["count"] for r in state["trend"]) == state["totals"]["growth"]
        december = figures.monthly_figures(unit, dt.date(year, 12, 1))
        assert card["approved"] == december["totals"]["approved"]  # December's file and the year-end agree
