"""Figures as of a moment (issue 17, mechanism 2): a publication for a period reports the state at the
period's end, whatever day it is built, and the dashboards show any past month-end with the same function.

Time travels with `clock`: `django.utils.timezone.now` patched, so the workflow's decision times, the
transitions' and the audit log's timestamps are those of the moment chosen (as if the writes happened then).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from io import BytesIO
from typing import Any
from unittest import mock

import pytest
from django.core.files.storage import default_storage
from openpyxl import load_workbook

from filings import workflow
from filings.models import FilingUnit, ProductVersion
from patent_platform.choices import Role
from patent_platform.clock import CHINA_TZ, month_start, next_month
from provincial import dashboards
from provincial.models import ManagementUnit
from provincial.publications import documents, figures
from tests.factories import MemberFactory, ProductVersionFactory, UserFactory, filer_of

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]  # history read on both engines

CHINA = CHINA_TZ


@contextlib.contextmanager
def clock(moment: dt.datetime) -> Iterator[None]:
    """Every `timezone.now()` answers `moment` (the workflow, auto_now_add fields, the audit log)."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def shift(start: dt.datetime, months: int) -> dt.datetime:
    index = start.year * 12 + start.month - 1 + months
    return month_start(index // 12, index % 12 + 1)


def last_month() -> dt.datetime:
    return shift(dashboards.trend_months()[-1], -1)


def new_product(region: str = "440106", **data: Any) -> ProductVersion:
    unit = MemberFactory(unit__region_id=region).unit
    return ProductVersionFactory(unit=unit, user=filer_of_unit(unit), **data)


def filer_of_unit(unit: FilingUnit) -> Any:
    return unit.memberships.select_related("user").first().user  # type: ignore[union-attr]


def submit_at(version: ProductVersion, moment: dt.datetime) -> None:
    with clock(moment):
        workflow.version_submit(version=version, user=filer_of(version))


def approve_at(version: ProductVersion, moment: dt.datetime, reviewer: Any) -> None:
    with clock(moment):
        workflow.version_approve(version=version, user=reviewer)


def workbook_cells(figs: dict[str, Any]) -> dict[str, list[tuple[Any, ...]]]:
    """Every cell of the monthly workbook, but the build's own time (数据截至)."""
    buffer = BytesIO()
    documents.write_monthly_xlsx(figs, buffer)
    book = load_workbook(BytesIO(buffer.getvalue()), read_only=True)
    return {
        sheet.title: [row for row in sheet.iter_rows(values_only=True) if row[0] != "数据截至"]
        for sheet in book.worksheets
    }


# ---------------------------------------------------------------------------------------------
# The reported defect


def test_a_month_built_in_the_next_month_reports_that_months_end_not_the_build_time(reference: None) -> None:
    """November's publication built in December, every approval in December: November's figures are 0."""
    november = last_month()
    december = next_month(november)
    reviewer = UserFactory(role=Role.REVIEWER)
    versions = []
    with clock(november + dt.timedelta(days=3)):
        versions = [new_product() for _ in range(7)]
    for version in versions:
        submit_at(version, november + dt.timedelta(days=4))
    for version in versions:
        approve_at(version, december + dt.timedelta(days=2), reviewer)

    with clock(december + dt.timedelta(days=4)):
        figs = figures.monthly_figures(ManagementUnit.objects.get(code="440000"), november.date())
    # before the change this read {'units': 7, 'filed': 7, 'approved': 7, 'growth': 7} beside a 12-month
    # chart of zeros and no new approval in the month: the totals were the state at build time
    assert [r["count"] for r in figs["trend"]] == [0] * 12
    assert figs["new"]["count"] == 0
    assert figs["totals"]["approved"] == 0
    assert figs["totals"]["growth"] == 0
    assert figs["totals"]["filed"] == 7  # submitted in November
    assert figs["totals"]["sales"] == "0.00"
    assert sum(r["approved"] for r in figs["by_region"]) == 0
    assert figs["by_class"] == figs["by_section"] == figs["by_scale"] == []


# ---------------------------------------------------------------------------------------------
# Built on the 1st, rebuilt 20 days later: the same figures


def _data(figs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in figs.items() if k not in figures.BUILD_KEYS}


@pytest.mark.parametrize("port", ["440000", "440100", "440300", None])
def test_a_month_rebuilt_twenty_days_later_is_identical(reference: None, port: str | None) -> None:
    """Month M: approvals in M and before it; built at 01:00 on the 1st of M+1. Then, before the rebuild on
    the 21st: new approvals, a revocation of a product approved in M, a withdrawal, a unit moved from 广州 to
    深圳 and its scale changed, a new unit. The rebuild of M is identical, cell by cell."""
    month = last_month()
    after = next_month(month)
    reviewer = UserFactory(role=Role.REVIEWER)
    with clock(shift(month, -2)):
        early = [new_product("440106"), new_product("440305")]
        in_month = [new_product("440106"), new_product("440106"), new_product("440305"), new_product("440106")]
        later = [new_product("440106"), new_product("440305")]
    for v in early + in_month + later:
        submit_at(v, shift(month, -1) + dt.timedelta(days=3))
    for v in early:
        approve_at(v, shift(month, -1) + dt.timedelta(days=10), reviewer)
    for i, v in enumerate(in_month):
        approve_at(v, month + dt.timedelta(days=5 + i, hours=3), reviewer)
    unit = ManagementUnit.objects.get(code=port) if port else None

    with clock(after + dt.timedelta(hours=1)):
        first = figures.stamp(figures.monthly_figures(unit, month.date()), revision=0, previous=None)
    assert first["totals"]["approved"] == 6 if port in ("440000", None) else first["totals"]["approved"] > 0

    # between the two builds
    for v in later:
        approve_at(v, after + dt.timedelta(days=3), reviewer)
    with clock(after + dt.timedelta(days=5)):
        workflow.version_revoke(version=in_month[0], user=reviewer, reason="核查发现不符合备案条件")
        workflow.version_withdraw(version=early[1], user=filer_of(early[1]), reason="")
    moved = FilingUnit.objects.get(pk=in_month[1].product.unit_id)
    with clock(after + dt.timedelta(days=8)):
        moved.region_id = "440305"  # 广州天河 → 深圳南山
        moved.scale = "large" if moved.scale != "large" else "small"
        moved.full_clean()
        moved.save()
        new_product("440305")

    with clock(after + dt.timedelta(days=20)):
        second = figures.stamp(figures.monthly_figures(unit, month.date()), revision=1, previous=first)
    assert _data(second) == _data(first)
    assert second["changes"] == [] and second["previous_edition"] == 1 and second["edition_label"] == "第 2 版"
    build_rows = ("版次", "生成时间", "与上一版相比")
    cells = [
        {k: [r for r in rows if r[0] not in build_rows] for k, rows in workbook_cells(f).items()}
        for f in (first, second)
    ]
    assert cells[0] == cells[1]
    # and today's dashboard does see what happened since
    today = dashboards.live_dashboard(dashboards.area_for_unit(unit))
    figure = ("units", "approved", "growth")
    assert [today["totals"][k] for k in figure] != [first["totals"][k] for k in figure]


def test_a_correction_of_the_month_shows_in_the_next_edition(reference: None) -> None:
    month = last_month()
    after = next_month(month)
    reviewer = UserFactory(role=Role.REVIEWER)
    with clock(month + dt.timedelta(days=1)):
        versions = [new_product("440106") for _ in range(2)]
    for v in versions:
        submit_at(v, month + dt.timedelta(days=2))
        approve_at(v, month + dt.timedelta(days=3), reviewer)
    guangdong = ManagementUnit.objects.get(code="440000")
    with clock(after + dt.timedelta(hours=1)):
        first = figures.stamp(figures.monthly_figures(guangdong, month.date()), revision=0, previous=None)
    # a correction of the month: the approval of one of them recorded a day later than it was
    ProductVersion.objects.filter(pk=versions[1].pk).update(decided_at=after + dt.timedelta(days=1))
    with clock(after + dt.timedelta(days=10)):
        second = figures.stamp(figures.monthly_figures(guangdong, month.date()), revision=1, previous=first)
    assert second["totals"]["approved"] == 1
    changed = {c["item"]: (c["before"], c["after"]) for c in second["changes"]}
    assert changed["通过备案产品"] == (2, 1)
    assert changed["本月新增通过备案产品"] == (2, 1)
    sheets = workbook_cells(second)
    assert ("通过备案产品", 2, 1, "-1") in sheets["更正说明"]
    assert ("与上一版相比", "3 项数据有更正，见“更正说明”") in sheets["概况"] or any(
        r[0] == "与上一版相比" and "更正说明" in r[1] for r in sheets["概况"]
    )


# ---------------------------------------------------------------------------------------------
# One function for the publication and the dashboards


def test_the_state_now_is_the_live_dashboard(demo: None) -> None:
    """`state_at(area, now)` and the live figures agree (one set of definitions)."""
    from django.utils import timezone

    for code in ("440000", "440300", "330000", None):
        area = dashboards.area_for_unit(ManagementUnit.objects.get(code=code) if code else None)
        live = dashboards.live_dashboard(area)
        state = dashboards.state_at(area, timezone.now() + dt.timedelta(seconds=1))
        for key in ("totals", "trend", "by_class", "by_section", "by_scale", "ranking", "by_region"):
            assert state[key] == live[key], (code, key)


def test_the_dashboard_as_of_a_month_shows_the_publications_figures(demo_users: dict[str, Any]) -> None:
    from django.test import Client
    from django.urls import reverse

    month = last_month()
    reviewer = UserFactory(role=Role.REVIEWER)
    with clock(month + dt.timedelta(days=1)):
        v = new_product("440305")
    submit_at(v, month + dt.timedelta(days=2))
    approve_at(v, next_month(month) + dt.timedelta(days=1), reviewer)  # after the month
    client = Client()
    client.force_login(demo_users["guangdong"])
    page = client.get(reverse("port:home"), {"as_of": month.strftime("%Y-%m")})
    assert page.status_code == 200 and page.context["figures"].period.key == month.strftime("%Y-%m")
    figs = figures.monthly_figures(ManagementUnit.objects.get(code="440000"), month.date())
    data = page.context["data"]
    for key in ("units", "filed", "approved", "growth"):
        assert data["totals"][key] == figs["totals"][key], key
    assert [r["count"] for r in data["trend"]] == [r["count"] for r in figs["trend"]]
    assert [(r["code"], r["approved"], r["units"]) for r in data["ranking"]] == [
        (r["code"], r["approved"], r["units"]) for r in figs["by_region"]
    ]
    now = client.get(reverse("port:home"), {"period": "current"}).context["data"]
    assert now["totals"]["approved"] >= data["totals"]["approved"] + 1  # ours was approved after the month
    api = client.get("/api/v1/provincial/dashboard/", {"as_of": month.strftime("%Y-%m")})
    assert api.status_code == 200 and api.json()["totals"]["approved"] == figs["totals"]["approved"]
    for bad in ("2026-13", "x", "1999-12", dashboards.trend_months()[-1].strftime("%Y-%m")):
        assert client.get("/api/v1/provincial/dashboard/", {"as_of": bad}).status_code == 400, bad
        refused = client.get(reverse("port:home"), {"as_of": bad})  # the chooser with its message (issue 20)
        assert refused.status_code == 400 and refused.context["period_form"].errors["period"], bad


# ---------------------------------------------------------------------------------------------
# The edition label: one number in the file name, the file, the page and the notice


def test_the_first_build_is_the_first_edition_everywhere(
    reference: None, settings: Any, tmp_path: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The reported case: November first built in December through a rebuild request (the row existed,
    pending, never built) was labelled 第 2 版 while its file said r1."""
    from django.test import Client
    from django.urls import reverse

    from provincial.models import Publication
    from provincial.publications import build, files, mail, services
    from provincial.views.publications import ascii_name

    settings.MEDIA_ROOT = str(tmp_path)
    national = UserFactory(role=Role.NATIONAL_ADMIN)
    november = last_month().date()
    shenzhen = ManagementUnit.objects.get(code="440300")
    ManagementUnit.objects.filter(pk=shenzhen.pk).update(is_open=True)
    shenzhen.refresh_from_db()
    services.ensure_publications("monthly", november)
    services.publication_rebuild_request(user=national, kind="monthly", period=november, unit=shenzhen)
    row = Publication.objects.get(scope_key="440300", kind="monthly", period=november)
    assert row.revision == 0  # never built: still the first edition
    build.build_publication(row.pk)
    row.refresh_from_db()

    def labels(row: Publication) -> dict[str, Any]:
        figs = row.figures
        with default_storage.open(row.xlsx_file) as fh:  # MEDIA_ROOT, or the object store
            book = load_workbook(BytesIO(fh.read()), read_only=True)
        summary = {r[0]: r[1] for r in book["概况"].iter_rows(values_only=True)}
        client = Client()
        client.force_login(national)
        page = client.get(reverse("national:publications"), {"period": f"{november:%Y-%m}"})
        return {
            "disk": row.xlsx_file.rsplit("-", 2)[-2],
            "ascii": ascii_name(row, "xlsx"),
            "download": files.download_name(row, "xlsx"),
            "figures": figs["edition_label"],
            "xlsx": summary["版次"],
            "page": row.edition_label in page.content.decode(),
        }

    assert labels(row) == {
        "disk": "r1",
        "ascii": f"monthly-440300-{november:%Y-%m}.xlsx",  # the first edition's names carry no number
        "download": f"深圳市-{november:%Y}年{november:%m}月-月度备案数据.xlsx",
        "figures": "第 1 版",
        "xlsx": "第 1 版",
        "page": True,
    }
    services.publication_rebuild_request(user=national, kind="monthly", period=november, unit=shenzhen)
    build.build_publication(row.pk)
    row.refresh_from_db()
    assert labels(row) == {
        "disk": "r2",
        "ascii": f"monthly-440300-{november:%Y-%m}-r2.xlsx",
        "download": f"深圳市-{november:%Y}年{november:%m}月-月度备案数据-第2版.xlsx",
        "figures": "第 2 版",
        "xlsx": "第 2 版",
        "page": True,
    }
    assert row.figures["changes"] == []  # nothing of November changed
    with (
        mock.patch.object(mail, "recipients_for", return_value=["a@example.cn"]),
        mock.patch.object(mail.outbox, "enqueue", side_effect=lambda *a, **k: k) as enqueue,
    ):
        mail.queue_publication_notice(row)
    assert "本期为重新生成的第 2 版" in enqueue.call_args.kwargs["body"]
