"""Counting right (issue 17, mechanism 4): every ranked figure uses standard competition ranking with the
tie shown (patent_platform/ranking.py), and no count is multiplied by a join.

- the rule itself, property-based: a rank is 1 + the number of rows that score strictly better, and a row
  is `tied` exactly when another row scores the same;
- each ranking of the platform with ties: the national port ranking (page, API, export), a port's region
  ranking, the year-end evaluation's ranking and cards — 47 ports that all score 0 are all first, tied;
- counts over two to-many relations: a progress report with 2 attachments and 1 comment shows 1 条意见,
  and a scan of the code refuses any annotate/aggregate whose counts over different relations lack
  `distinct=True` (the join of the two multiplies the rows each counts).
"""

from __future__ import annotations

import ast
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from filings.workflow import china_today
from patent_platform.choices import Role
from patent_platform.ranking import competition_rank, rank_label
from provincial import dashboards
from provincial.models import ManagementUnit, ProgressReport, ProgressReportAttachment, ProgressReportComment
from provincial.publications import documents, figures
from tests.factories import FilingUnitFactory, PortAdminFactory, ProductVersionFactory, UserFactory, approve
from tests.provincial.live import CurrentAPIClient, CurrentClient

ROOT = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


# ---------------------------------------------------------------------------------------------------------------
# The rule


@given(st.lists(st.integers(min_value=0, max_value=4), max_size=30))
def test_competition_ranking_property(scores: list[int]) -> None:
    rows = [{"score": s, "code": f"{i:02d}"} for i, s in enumerate(scores)]
    rows.sort(key=lambda r: (-r["score"], r["code"]))
    competition_rank(rows, key=lambda r: r["score"])
    for row in rows:
        assert row["rank"] == 1 + sum(1 for other in rows if other["score"] > row["score"])
        assert row["tied"] == (sum(1 for other in rows if other["score"] == row["score"]) > 1)


def test_examples_and_the_label() -> None:
    rows = [{"s": s} for s in (9, 7, 7, 5)]
    competition_rank(rows, key=lambda r: r["s"])
    assert [(r["rank"], r["tied"]) for r in rows] == [(1, False), (2, True), (2, True), (4, False)]
    assert [rank_label(r) for r in rows] == ["1", "2（并列）", "2（并列）", "4"]


def test_rows_of_equal_score_apart_are_refused() -> None:
    with pytest.raises(ValueError, match="next to each other"):
        competition_rank([{"s": 1}, {"s": 2}, {"s": 1}], key=lambda r: r["s"])


# ---------------------------------------------------------------------------------------------------------------
# The rankings of the platform


def national_admin() -> Any:
    return UserFactory(role=Role.NATIONAL_ADMIN)


@pytest.mark.django_db
def test_47_ports_without_filings_are_all_first_tied_on_the_page_the_api_and_the_export(reference: None) -> None:
    national = national_admin()
    rows = dashboards.national_ranking(national)
    assert len(rows) == ManagementUnit.objects.count() == 47
    assert {(r["rank"], r["tied"]) for r in rows} == {(1, True)}
    api = CurrentAPIClient()
    api.force_authenticate(national)
    answer = api.get("/api/v1/provincial/national/ranking/")
    assert answer.status_code == 200
    assert {(r["rank"], r["tied"]) for r in answer.json()} == {(1, True)}
    client = CurrentClient()
    client.force_login(national)
    page = client.get(reverse("national:home")).content.decode()
    assert page.count('1<small class="text-body-secondary">（并列）</small>') >= 47
    export = client.get(reverse("port:dashboard_export"))
    assert export.status_code == 200
    sheet = load_workbook(BytesIO(export.content)).active
    ports = [row[1] for row in sheet.iter_rows(values_only=True) if row[0] == "端口排名"]
    assert len(ports) == 47 and all(str(p).startswith("1（并列）. ") for p in ports)


@pytest.mark.django_db
def test_one_port_ahead_and_the_rest_tied_second(reference: None) -> None:
    approve(ProductVersionFactory(unit=FilingUnitFactory(region_id="440305")))  # 深圳南山: 广东 and 深圳 lead
    rows = {r["code"]: r for r in dashboards.national_ranking(national_admin())}
    assert (rows["440000"]["rank"], rows["440000"]["tied"]) == (1, True)  # 广东 and 深圳 the same figures
    assert (rows["440300"]["rank"], rows["440300"]["tied"]) == (1, True)
    assert {(r["rank"], r["tied"]) for code, r in rows.items() if code not in ("440000", "440300")} == {(3, True)}


@pytest.mark.django_db
def test_a_ports_region_ranking_shares_ranks(reference: None) -> None:
    for county in ("440106", "440305"):  # one approved product each in 广州 and 深圳
        approve(ProductVersionFactory(unit=FilingUnitFactory(region_id=county)))
    guangdong = PortAdminFactory(port_code="440000").user
    ranking = {r["code"]: r for r in dashboards.dashboard(dashboards.area_for(guangdong))["ranking"]}
    assert (ranking["440100"]["rank"], ranking["440100"]["tied"]) == (1, True)
    assert (ranking["440300"]["rank"], ranking["440300"]["tied"]) == (1, True)
    others = [r for code, r in ranking.items() if code not in ("440100", "440300")]
    assert others and {(r["rank"], r["tied"]) for r in others} == {(3, True)}
    client = CurrentClient()
    client.force_login(guangdong)
    page = client.get(reverse("port:home")).content.decode()
    assert "（并列）" in page


@pytest.mark.django_db
def test_the_yearend_ranking_of_ports_that_all_score_0(reference: None) -> None:
    year = china_today().year - 1
    cards = figures.yearend_cards(year)
    ranked = cards["cards"]
    assert len(ranked) == 47 and all(card["score"] == "0.00" for card in ranked)
    assert {(c["rank"], c["tied"]) for c in ranked} == {(1, True)}
    guangdong = next(c for c in ranked if c["code"] == "440000")
    rows = dict((str(k), v) for k, v in documents.card_rows(guangdong, len(ranked)))
    assert rows["全国排名"] == "1（并列） / 47"  # not "30 / 47"


# ---------------------------------------------------------------------------------------------------------------
# Counts over joins


@pytest.mark.django_db
def test_a_report_with_two_attachments_and_one_comment_shows_one_comment(reference: None) -> None:
    port = PortAdminFactory(port_code="440300")
    report = ProgressReport.objects.create(
        unit=port.unit, category="progress", title="两个附件一条意见", body="正文", submitted_by=port.user
    )
    for name in ("a.pdf", "b.pdf"):
        ProgressReportAttachment.objects.create(
            report=report, file=ContentFile(PDF, name=name), kind="pdf", original_name=name
        )
    ProgressReportComment.objects.create(report=report, author=national_admin(), body="收到。")
    client = CurrentClient()
    client.force_login(port.user)
    page = client.get(reverse("port:reports")).content.decode()
    assert "1 条意见" in page and "2 条意见" not in page


AGGREGATES = {"Count", "Sum", "Avg"}


def _to_many_names() -> set[str]:
    """The names by which a query can follow a to-many relation (reverse foreign keys, many-to-many)."""
    names = set()
    for model in apps.get_models(include_auto_created=True):
        for f in model._meta.get_fields():
            if f.one_to_many or f.many_to_many:
                names.add(f.name)  # a reverse relation's name is its query name
    return names


TO_MANY = _to_many_names()


def _relation(call: ast.Call) -> str | None:
    """The to-many relation an aggregate walks ('comments' of Count("comments__author")); None for the row's
    own fields and for foreign keys (they join one row)."""
    if not call.args or not isinstance(call.args[0], ast.Constant) or not isinstance(call.args[0].value, str):
        return None
    parts = call.args[0].value.split("__")
    return next(("__".join(parts[: i + 1]) for i, p in enumerate(parts) if p in TO_MANY), None)


def _aggregates(call: ast.Call) -> list[ast.Call]:
    found = []
    node: ast.AST = call
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr in {"annotate", "aggregate"}:
            found += [
                kw.value
                for kw in node.keywords
                if isinstance(kw.value, ast.Call)
                and isinstance(kw.value.func, ast.Name)
                and kw.value.func.id in AGGREGATES
            ]
        node = node.func.value
    return found


def test_no_count_over_two_relations_without_distinct() -> None:
    """An annotate/aggregate chain that counts along two different relations joins both: each Count must be
    distinct (and nothing may be summed over such a join)."""
    problems = []
    scanned = 0
    for package in ("patent_platform", "filings", "evaluation", "provincial"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                    continue
                if node.func.attr not in {"annotate", "aggregate"}:
                    continue
                scanned += 1
                calls = _aggregates(node)
                relations = {_relation(c) for c in calls} - {None}
                if len(relations) < 2:
                    continue
                for c in calls:
                    distinct = any(
                        kw.arg == "distinct" and isinstance(kw.value, ast.Constant) and kw.value.value
                        for kw in c.keywords
                    )
                    if _relation(c) and not (c.func.id == "Count" and distinct):  # type: ignore[attr-defined]
                        where = f"{path.relative_to(ROOT)}:{c.lineno}"
                        problems.append(f"{where} {ast.unparse(c)} over {sorted(relations)}")
    assert scanned > 20
    assert not problems, "counts multiplied by a join:\n" + "\n".join(sorted(set(problems)))
