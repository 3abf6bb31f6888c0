"""Fixtures of the certification tests: a second round of the demo's data year, walked to any stage.

The demo (tests/conftest.py `demo`) already holds a finished first round with three certified products.
`second_round(stage)` opts in the demo's other approved products of that year, fixes a second benchmark
set per class at the 10th percentile (so that they pass the patent evaluation), starts "第二批" and walks
it through the services to the stage asked for. Everything goes through the same services the pages use.
"""

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from evaluation import industry, methods, publicity, rounds
from evaluation.choices import CandidateStatus, MethodStatus, Stage
from evaluation.models import MethodVersion, Objection, Round
from filings import workflow
from filings.choices import FilingStatus
from filings.models import ProductClass, ProductVersion
from patent_platform.models import User

YEAR = workflow.default_data_year()
INFO = {
    "market_position": "国内市场占有率约 12%，位居前三。",
    "technology": "关键指标优于同类进口产品。",
    "patent_use": "核心专利均已实施并形成专利组合。",
}
SCORES = {"technology": "25", "market": "24", "patent": "20", "benefit": "12"}  # 81


def filer_of(version: ProductVersion) -> User:
    return version.product.unit.memberships.select_related("user").first().user


@pytest.fixture
def method(demo: None) -> MethodVersion:
    return MethodVersion.objects.get(status=MethodStatus.ACTIVE)


def walk_second_round(national: User, stage: str = Stage.PATENT, *, percentile: int = 10, objections: int = 0) -> Round:
    """The second round of the demo's data year, walked through the services to `stage` (the demo loaded)."""
    today = workflow.china_today()
    versions = ProductVersion.objects.filter(
        data_year=YEAR, status=FilingStatus.APPROVED, certification_opt_in=False
    ).select_related("product__unit")
    for version in versions:
        workflow.version_set_certification_opt_in(version=version, user=filer_of(version), opt_in=True)
    active = MethodVersion.active()
    for product_class in ProductClass.objects.filter(
        pk__in=ProductVersion.objects.filter(data_year=YEAR, certification_opt_in=True).values("product_class")
    ):
        bset = methods.benchmark_set_create(
            method=active, product_class=product_class, data_year=YEAR, user=national, percentile=percentile
        )
        for b in bset.values.filter(value__isnull=True):
            methods.benchmark_set_update_values(bset=bset, user=national, values={b.indicator_id: 0})
        methods.benchmark_set_fix(bset=bset, user=national)
    rnd = rounds.round_start(user=national, name=f"{YEAR} 年度认定（第二批）", data_year=YEAR, deadline=today)
    rounds.round_evaluate(round_id=rnd.pk)
    rnd.refresh_from_db()
    if stage == Stage.PATENT:
        return rnd
    rounds.round_request_information(rnd=rnd, user=national, due=today + dt.timedelta(days=10))
    for candidate in rnd.candidates.filter(status=CandidateStatus.INFO_REQUESTED).select_related("version"):
        rounds.information_submit(candidate_id=candidate.pk, user=filer_of(candidate.version), data=INFO)
    rnd.refresh_from_db()
    if stage == Stage.INFO:
        return rnd
    industry.industry_evaluation_start(rnd=rnd, user=national, reason="全部企业已提交补充材料，提前开始产业性评价。")
    rnd.refresh_from_db()
    if stage == Stage.INDUSTRY:
        return rnd
    for expert in User.objects.filter(assignments__candidate__round=rnd).distinct():
        for assignment in expert.assignments.filter(candidate__round=rnd):
            industry.score_submit(
                assignment_id=assignment.pk, user=expert, scores=SCORES, comments="技术先进，专利支撑作用明显。"
            )
    publicity.round_publicity_start(rnd=rnd, user=national, days=5)
    rnd.refresh_from_db()
    for candidate in rnd.candidates.filter(status=CandidateStatus.PROPOSED)[:objections]:
        publicity.objection_lodge(
            candidate_id=candidate.pk,
            name="某竞争企业",
            contact="010-12345678",
            reasons="该产品的核心专利已被宣告无效，请核实。",
        )
    if stage == Stage.PUBLICITY:
        return rnd
    for objection in Objection.objects.filter(candidate__round=rnd, status="pending"):
        publicity.objection_decide(
            objection_id=objection.pk, user=national, uphold=False, decision="经核实，该专利仍有效，异议不成立。"
        )
    rounds.round_finalize(rnd=rnd, user=national, today=rnd.publicity_end + dt.timedelta(days=1))
    rnd.refresh_from_db()
    return rnd


@pytest.fixture
def second_round(demo: None, demo_users: dict[str, User]) -> Callable[..., Round]:
    national = demo_users["national"]

    def make(stage: str = Stage.PATENT, *, percentile: int = 10, objections: int = 0) -> Round:
        return walk_second_round(national, stage, percentile=percentile, objections=objections)

    return make


@pytest.fixture
def users(demo_users: dict[str, User]) -> dict[str, Any]:
    return demo_users
