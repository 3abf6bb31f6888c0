"""The evaluation REST API under /api/v1/evaluation/: methods, benchmark sets, rounds and their stage actions,
results.

Checked per endpoint and role: what each role lists (compared with counts taken from the ORM by region codes,
filing unit or assignment, not through `visible_to`), 404 on a detail out of scope, 403 on a write by anyone but
a national administrator, 401/403 for an anonymous caller; each stage action moves the round; a bad action
answers 400 with a message on the field and writes nothing; the results list runs a fixed number of queries.
"""

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Q
from rest_framework.test import APIClient

from evaluation import industry, publicity, rounds, workdays
from evaluation.choices import BenchmarkStatus, CandidateStatus, MethodStatus, Stage
from evaluation.models import (
    Assignment,
    Benchmark,
    BenchmarkSet,
    Candidate,
    IndicatorResult,
    MethodVersion,
    Round,
)
from filings import workflow
from filings.choices import FilingStatus
from filings.models import ProductClass, ProductVersion
from patent_platform.choices import Role
from patent_platform.models import User
from tests.evaluation.conftest import INFO, SCORES, YEAR, filer_of
from tests.problems import fields, pointers

pytestmark = pytest.mark.django_db

BASE = "/api/v1/evaluation"
ROLES = [
    "national",
    "reviewer",
    "guangdong",
    "zhejiang",
    "shenzhen",
    "ent-sz",  # owns the second round's candidates
    "ent-gz",  # another enterprise: one certified product in the demo round only
    "expert1",  # assigned to every scored candidate
    "expert4",  # an expert with no assignment
    "anonymous",
]


def api(user: User | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def ids(answer: Any) -> set[int]:
    assert answer.status_code == 200, answer.content
    return {row["id"] for row in answer.json()["results"]}


@pytest.fixture
def people(demo_users: dict[str, User], make_user: Callable[..., User]) -> dict[str, User | None]:
    return {**demo_users, "expert4": make_user("expert4@example.cn", role=Role.EXPERT), "anonymous": None}


def expected_candidates(key: str, user: User | None) -> set[int]:
    """Who should see which candidates, from the data itself (region codes, unit members, assignments)."""
    every = Candidate.objects.all()
    wanted = {
        "national": Q(),
        "reviewer": Q(),
        "guangdong": Q(province_code="440000"),
        "zhejiang": Q(province_code="330000"),
        "shenzhen": Q(city_code="440300"),
        "ent-sz": Q(unit__memberships__user=user),
        "ent-gz": Q(unit__memberships__user=user),
        "expert1": Q(assignments__expert=user),
        "expert4": Q(assignments__expert=user),
    }
    if key == "anonymous":
        return set()
    return set(every.filter(wanted[key]).values_list("pk", flat=True))


@pytest.fixture
def industry_round(second_round: Callable[..., Round]) -> Round:
    return second_round(Stage.INDUSTRY)


# ---------------------------------------------------------------------------------------------
# Results: the scoping rule, role by role


@pytest.mark.parametrize("key", ROLES)
def test_results_list_and_detail_follow_the_scope(
    key: str, people: dict[str, User | None], industry_round: Round
) -> None:
    user = people[key]
    client = api(user)
    expected = expected_candidates(key, user)
    everything = set(Candidate.objects.values_list("pk", flat=True))
    # the matrix means something: every role but national/reviewer misses some candidate, and most see some
    assert len(everything) == 6
    assert (expected == everything) == (key in ("national", "reviewer"))
    sizes = {"guangdong": 4, "zhejiang": 2, "shenzhen": 3, "ent-sz": 3, "ent-gz": 1, "expert1": 2, "expert4": 0}
    if key in sizes:
        assert len(expected) == sizes[key]

    answer = client.get(f"{BASE}/results/", {"page_size": 500})
    if user is None:
        assert answer.status_code in (401, 403)
        assert "results" not in answer.json()
    else:
        assert ids(answer) == expected
    for pk in everything:
        code = client.get(f"{BASE}/results/{pk}/").status_code
        if user is None:
            assert code in (401, 403)
        else:
            assert code == (200 if pk in expected else 404), (key, pk)
    # filters keep the scope
    if user is not None:
        second = ids(client.get(f"{BASE}/results/", {"round": industry_round.pk}))
        assert second == expected & set(industry_round.candidates.values_list("pk", flat=True))
        failed = ids(client.get(f"{BASE}/results/", {"status": CandidateStatus.PATENT_FAILED}))
        assert failed == expected & set(
            Candidate.objects.filter(status=CandidateStatus.PATENT_FAILED).values_list("pk", flat=True)
        )


def test_result_detail_shows_the_evaluation(people: dict[str, User | None], industry_round: Round) -> None:
    candidate = Candidate.objects.select_related("product", "unit", "version", "product_class").get(
        round=industry_round, status=CandidateStatus.EXPERT_REVIEW
    )
    row = api(people["ent-sz"]).get(f"{BASE}/results/{candidate.pk}/").json()
    assert row["round"] == industry_round.pk and row["round_name"] == industry_round.name
    assert row["stage"] == Stage.INDUSTRY
    assert row["product_name"] == candidate.version.name == "电源管理芯片"
    assert row["filing_number"] == candidate.product.filing_number and row["filing_number"]
    assert row["unit_name"] == "深圳鹏芯微电子有限公司"
    assert row["product_class"] == candidate.product_class.code
    assert row["status"] == "expert_review" and row["patent_passed"] is True
    assert row["passed"] == {
        "protection": candidate.passed_protection,
        "value": candidate.passed_value,
        "dependence": candidate.passed_dependence,
        "benefit": candidate.passed_benefit,
    }
    assert sum(row["passed"].values()) == row["passed_total"] == candidate.passed_total
    results = IndicatorResult.objects.filter(candidate=candidate).select_related("indicator")
    assert [r["code"] for r in row["indicators"]] == [r.indicator.code for r in results]
    first, stored = row["indicators"][0], results[0]
    assert Decimal(first["value"]) == stored.value and Decimal(first["benchmark"]) == stored.benchmark
    assert (first["trait"], first["direction"], first["passed"]) == (
        stored.indicator.trait,
        stored.indicator.direction,
        stored.passed,
    )
    assert sum(r["passed"] for r in row["indicators"]) == candidate.passed_total
    assert row["expert_score"] is None and row["certificate_number"] is None
    # a patent-failed product has its indicator results too, and nothing more
    failed = Candidate.objects.filter(round=industry_round, status=CandidateStatus.PATENT_FAILED).first()
    row = api(people["ent-sz"]).get(f"{BASE}/results/{failed.pk}/").json()
    assert row["patent_passed"] is False and len(row["indicators"]) == failed.results.count() > 0
    assert row["expert_scores"] == []


def test_expert_scores_depend_on_who_asks(people: dict[str, User | None], industry_round: Round) -> None:
    candidate = Candidate.objects.get(round=industry_round, status=CandidateStatus.EXPERT_REVIEW)
    given = {"expert1": "30", "expert2": "20", "expert3": "10"}  # totals 86, 76, 66
    for key, technology in given.items():
        assignment = Assignment.objects.get(candidate=candidate, expert=people[key])
        industry.score_submit(
            assignment_id=assignment.pk,
            user=people[key],
            scores={**SCORES, "technology": technology},
            comments="意见。",
        )
    url = f"{BASE}/results/{candidate.pk}/"

    # while the experts are at work, only the national office and each expert see scores
    assert api(people["ent-sz"]).get(url).json()["expert_scores"] == []
    assert api(people["shenzhen"]).get(url).json()["expert_scores"] == []
    own = api(people["expert1"]).get(url).json()["expert_scores"]
    assert [(s["expert"], s["total"], s["technology"]) for s in own] == [(people["expert1"].pk, "86.00", "30.00")]

    publicity.round_publicity_start(rnd=industry_round, user=people["national"], days=5)
    named = api(people["national"]).get(url).json()["expert_scores"]
    assert {(s["expert_name"], s["total"], s["comments"]) for s in named} == {
        (people[k].full_name, total, "意见。") for k, total in zip(given, ("86.00", "76.00", "66.00"), strict=True)
    }
    for key in ("ent-sz", "shenzhen", "guangdong", "reviewer"):
        scores = api(people[key]).get(url).json()["expert_scores"]
        assert [s["total"] for s in scores] == ["86.00", "76.00", "66.00"], key
        assert all(s["expert"] is None and s["expert_name"] is None and s["comments"] is None for s in scores)
        assert all(s["technology"] is None for s in scores)
    own = api(people["expert2"]).get(url).json()["expert_scores"]
    assert [(s["expert"], s["total"]) for s in own] == [(people["expert2"].pk, "76.00")]
    assert api(people["expert4"]).get(url).status_code == 404
    assert api(people["zhejiang"]).get(url).status_code == 404
    row = api(people["ent-sz"]).get(url).json()
    assert row["status"] == "proposed" and row["expert_score"] == "76.00"


def test_results_filters_are_checked(people: dict[str, User | None], demo: None) -> None:
    client = api(people["national"])
    assert "status" in client.get(f"{BASE}/results/", {"status": "nonsense"}).json()
    assert "round" in fields(client.get(f"{BASE}/results/", {"round": "first"}))


def test_results_list_runs_a_fixed_number_of_queries(
    people: dict[str, User | None], industry_round: Round, django_assert_max_num_queries: Any
) -> None:
    # candidates (with round, version, product, unit, class), their indicator results, their assignments
    queries = 3
    for key in ("national", "guangdong", "ent-sz", "expert1"):
        client = api(people[key])
        client.get(f"{BASE}/results/")  # the user's scope is computed once per user object
        with django_assert_max_num_queries(queries):
            one = client.get(f"{BASE}/results/", {"status": CandidateStatus.EXPERT_REVIEW}).json()["results"]
        assert len(one) == 1, key
        with django_assert_max_num_queries(queries):
            many = client.get(f"{BASE}/results/").json()["results"]
        assert len(many) == len(expected_candidates(key, people[key])) > 1, key
        assert all(row["indicators"] for row in many)


# ---------------------------------------------------------------------------------------------
# Reference data: methods, benchmark sets, rounds — every signed-in role reads, the counts are scoped


@pytest.mark.parametrize("key", ROLES)
def test_reference_endpoints_per_role(key: str, people: dict[str, User | None], industry_round: Round) -> None:
    user = people[key]
    client = api(user)
    lists = {
        "methods": MethodVersion.objects.count(),
        "benchmark-sets": BenchmarkSet.objects.count(),
        "rounds": Round.objects.count(),
    }
    first = {
        "methods": MethodVersion.objects.first().pk,
        "benchmark-sets": BenchmarkSet.objects.first().pk,
        "rounds": industry_round.pk,
    }
    for name, count in lists.items():
        answer = client.get(f"{BASE}/{name}/", {"page_size": 500})
        detail = client.get(f"{BASE}/{name}/{first[name]}/")
        if user is None:
            assert answer.status_code in (401, 403) and detail.status_code in (401, 403)
            continue
        assert len(ids(answer)) == count > 0, name
        assert detail.status_code == 200
        assert client.get(f"{BASE}/{name}/999999/").status_code == 404
    if user is None:
        return
    # the counts on a round are of the candidates the caller sees
    rows = {row["id"]: row for row in client.get(f"{BASE}/rounds/").json()["results"]}
    expected = expected_candidates(key, user)
    for rnd in Round.objects.all():
        mine = Candidate.objects.filter(round=rnd, pk__in=expected)
        counts = rows[rnd.pk]["counts"]
        assert counts.pop("total") == mine.count()
        assert counts == {s: mine.filter(status=s).count() for s in set(mine.values_list("status", flat=True))}


def test_methods_carry_their_indicators_and_rule(people: dict[str, User | None], demo: None) -> None:
    method = MethodVersion.objects.get(status=MethodStatus.ACTIVE)
    row = api(people["ent-gz"]).get(f"{BASE}/methods/{method.pk}/").json()
    assert (row["code"], row["status"], row["based_on"]) == (method.code, "active", None)
    assert (row["min_passed_per_trait"], row["min_passed_total"]) == (
        method.min_passed_per_trait,
        method.min_passed_total,
    )
    assert row["score_rule"] == method.score_rule and Decimal(row["expert_pass_score"]) == method.expert_pass_score
    indicators = list(method.indicators.order_by("order", "id"))
    assert [i["code"] for i in row["indicators"]] == [i.code for i in indicators]
    first = row["indicators"][0]
    assert first["formula"] == indicators[0].formula and first["formula_text"] == indicators[0].formula_text
    assert {"name", "trait", "unit", "direction", "order"} <= set(first)
    assert {i["trait"] for i in row["indicators"]} == {"protection", "value", "dependence", "benefit"}


def test_method_and_round_lists_run_a_fixed_number_of_queries(
    people: dict[str, User | None], industry_round: Round, django_assert_max_num_queries: Any
) -> None:
    client = api(people["guangdong"])
    client.get(f"{BASE}/rounds/")
    with django_assert_max_num_queries(2):  # methods (with based_on), indicators
        assert client.get(f"{BASE}/methods/").status_code == 200
    with django_assert_max_num_queries(2):  # sets (with method, class), values (with indicators)
        assert client.get(f"{BASE}/benchmark-sets/").status_code == 200
    with django_assert_max_num_queries(2):  # rounds (with method), candidate counts
        assert len(client.get(f"{BASE}/rounds/").json()["results"]) == 2


def test_benchmark_set_filters(people: dict[str, User | None], industry_round: Round) -> None:
    client = api(people["zhejiang"])
    url = f"{BASE}/benchmark-sets/"
    assert ids(client.get(url, {"data_year": YEAR})) == set(
        BenchmarkSet.objects.filter(data_year=YEAR).values_list("pk", flat=True)
    )
    assert ids(client.get(url, {"data_year": YEAR - 3})) == set()
    assert ids(client.get(url, {"product_class": "04"})) == set(
        BenchmarkSet.objects.filter(product_class__code="04").values_list("pk", flat=True)
    )
    fixed = ids(client.get(url, {"status": "fixed", "product_class": "04"}))
    assert len(fixed) == BenchmarkSet.objects.filter(product_class__code="04").count() == 2
    assert "status" in client.get(url, {"status": "frozen"}).json()
    assert "data_year" in fields(client.get(url, {"data_year": "last"}))
    row = client.get(f"{url}{min(fixed)}/").json()
    assert row["product_class"] == "04" and row["status"] == "fixed" and row["number"] == 1
    stored = Benchmark.objects.filter(set_id=row["id"]).select_related("indicator")
    assert {(v["code"], v["value"]) for v in row["values"]} == {(b.indicator.code, f"{b.value:.4f}") for b in stored}
    assert {"suggested", "indicator", "name"} <= set(row["values"][0])


# ---------------------------------------------------------------------------------------------
# Writes: benchmark sets, then a round started and walked through every stage through the API


def _opt_in_the_rest() -> list[ProductClass]:
    versions = ProductVersion.objects.filter(
        data_year=YEAR, status=FilingStatus.APPROVED, certification_opt_in=False
    ).select_related("product__unit")
    for version in versions:
        workflow.version_set_certification_opt_in(version=version, user=filer_of(version), opt_in=True)
    return list(
        ProductClass.objects.filter(
            pk__in=ProductVersion.objects.filter(data_year=YEAR, certification_opt_in=True).values("product_class")
        )
    )


def test_a_round_through_the_api(
    people: dict[str, User | None], django_capture_on_commit_callbacks: Any, demo: None
) -> None:
    national = api(people["national"])
    today = workflow.china_today()

    # new benchmark sets: suggested, a value set by hand, fixed
    for product_class in _opt_in_the_rest():
        answer = national.post(
            f"{BASE}/benchmark-sets/",
            {"product_class": product_class.code, "data_year": YEAR, "percentile": 10},
            format="json",
        )
        assert answer.status_code == 201, answer.content
        bset = answer.json()
        assert (bset["status"], bset["number"], bset["percentile"]) == ("draft", 2, 10)
        empty = {v["code"]: "0" for v in bset["values"] if v["value"] is None}
        code = bset["values"][0]["code"]
        answer = national.patch(
            f"{BASE}/benchmark-sets/{bset['id']}/", {"values": {**empty, code: "0.5"}, "note": "手工"}, format="json"
        )
        assert answer.status_code == 200, answer.content
        patched = {v["code"]: v["value"] for v in answer.json()["values"]}
        assert patched[code] == "0.5000" and answer.json()["note"] == "手工"
        answer = national.post(f"{BASE}/benchmark-sets/{bset['id']}/resuggest/", {"percentile": 10}, format="json")
        assert answer.status_code == 200, answer.content
        empty = {v["code"]: "0" for v in answer.json()["values"] if v["value"] is None}
        if empty:
            national.patch(f"{BASE}/benchmark-sets/{bset['id']}/", {"values": empty}, format="json")
        answer = national.post(f"{BASE}/benchmark-sets/{bset['id']}/fix/", format="json")
        assert answer.status_code == 200, answer.content
        assert answer.json()["status"] == "fixed" and answer.json()["fixed_at"]

    # start: the patent evaluation runs after the commit
    body = {"name": "第二批（接口）", "data_year": YEAR, "deadline": today.isoformat()}
    with django_capture_on_commit_callbacks(execute=True):
        answer = national.post(f"{BASE}/rounds/", body, format="json")
    assert answer.status_code == 201, answer.content
    rnd = Round.objects.get(pk=answer.json()["id"])
    assert answer.json()["stage"] == "patent" and rnd.method == MethodVersion.active()
    row = national.get(f"{BASE}/rounds/{rnd.pk}/").json()
    assert row["evaluation_runs"] == 1 and row["evaluated_at"] and row["evaluating"] is False
    assert row["counts"]["total"] == rnd.candidates.count() == 3
    passing = rnd.candidates.filter(status=CandidateStatus.PATENT_PASSED).count()
    assert row["counts"]["patent_passed"] == passing > 0

    with django_capture_on_commit_callbacks(execute=False) as queued:
        answer = national.post(f"{BASE}/rounds/{rnd.pk}/evaluate/", format="json")
    assert answer.status_code == 202, answer.content
    assert answer.json()["evaluating"] is True and answer.json()["evaluation_runs"] == 1
    for callback in queued:
        callback()
    rnd.refresh_from_db()
    assert (rnd.stage, rnd.evaluation_runs) == (Stage.PATENT, 2)

    due = today + dt.timedelta(days=10)
    answer = national.post(f"{BASE}/rounds/{rnd.pk}/request-information/", {"info_due": due}, format="json")
    assert answer.status_code == 200, answer.content
    assert (answer.json()["stage"], answer.json()["info_due"]) == ("info", due.isoformat())
    assert answer.json()["counts"]["info_requested"] == passing
    for candidate in rnd.candidates.filter(status=CandidateStatus.INFO_REQUESTED).select_related("version"):
        rounds.information_submit(candidate_id=candidate.pk, user=filer_of(candidate.version), data=INFO)

    answer = national.post(f"{BASE}/rounds/{rnd.pk}/start-industry-evaluation/", format="json")
    assert answer.status_code == 400 and "reason" in fields(answer), answer.content  # information still due
    early = {"confirm": True, "reason": "全部企业已提交补充材料，提前开始。"}
    answer = national.post(f"{BASE}/rounds/{rnd.pk}/start-industry-evaluation/", early, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["stage"] == "industry" and answer.json()["counts"]["expert_review"] == passing
    for assignment in Assignment.objects.filter(candidate__round=rnd).select_related("expert"):
        industry.score_submit(assignment_id=assignment.pk, user=assignment.expert, scores=SCORES, comments="意见。")

    start = today - dt.timedelta(days=10)
    answer = national.post(f"{BASE}/rounds/{rnd.pk}/start-publicity/", {"days": 5, "start": start}, format="json")
    assert answer.status_code == 200, answer.content
    row = answer.json()
    assert (row["stage"], row["publicity_start"], row["publicity_end"]) == (
        "publicity",
        start.isoformat(),
        workdays.period_end(start, 5).isoformat(),  # five working days
    )
    assert row["counts"]["proposed"] == passing

    answer = national.post(f"{BASE}/rounds/{rnd.pk}/finalize/", format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["stage"] == "final" and answer.json()["finalized_at"]
    assert answer.json()["counts"]["certified"] == passing
    certified = api(people["ent-sz"]).get(f"{BASE}/results/", {"round": rnd.pk, "status": "certified"}).json()
    assert all(r["certificate_number"].startswith(f"RD{YEAR}") for r in certified["results"])
    assert (
        len(certified["results"])
        == rnd.candidates.filter(unit__memberships__user=people["ent-sz"])
        .filter(status=CandidateStatus.CERTIFIED)
        .count()
    )


def _stage_and_statuses(rnd: Round) -> tuple[str, list[str]]:
    rnd.refresh_from_db()
    return rnd.stage, list(rnd.candidates.order_by("pk").values_list("status", flat=True))


def test_bad_round_actions_answer_400_on_the_field_and_write_nothing(
    people: dict[str, User | None], second_round: Callable[..., Round]
) -> None:
    national = api(people["national"])
    rnd = second_round(Stage.PATENT)
    before = _stage_and_statuses(rnd)
    url = f"{BASE}/rounds/{rnd.pk}"
    yesterday = workflow.china_today() - dt.timedelta(days=1)

    cases = [
        ("request-information", {"info_due": yesterday.isoformat()}, "info_due"),
        ("request-information", {}, "info_due"),
        ("request-information", {"info_due": "tomorrow"}, "info_due"),
        ("start-industry-evaluation", {}, "non_field_errors"),  # wrong stage
        ("start-publicity", {"days": 5}, "non_field_errors"),  # wrong stage
        ("start-publicity", {"days": "five"}, "days"),
        ("finalize", {}, "non_field_errors"),
    ]
    for name, body, field in cases:
        answer = national.post(f"{url}/{name}/", body, format="json")
        assert answer.status_code == 400, (name, body, answer.content)
        assert fields(answer)[field] and all(isinstance(m, str) for m in fields(answer)[field]), (name, answer.json())
        assert _stage_and_statuses(rnd) == before, name
    assert "阶段" in fields(national.post(f"{url}/finalize/", format="json"))["non_field_errors"][0]

    # at the industry stage: days out of range, unscored panels
    rounds.round_request_information(
        rnd=rnd, user=people["national"], due=workflow.china_today() + dt.timedelta(days=3)
    )
    for candidate in rnd.candidates.filter(status=CandidateStatus.INFO_REQUESTED).select_related("version"):
        rounds.information_submit(candidate_id=candidate.pk, user=filer_of(candidate.version), data=INFO)
    industry.industry_evaluation_start(rnd=rnd, user=people["national"], reason="全部企业已提交补充材料，提前开始。")
    before = _stage_and_statuses(rnd)
    answer = national.post(f"{url}/start-publicity/", {"days": 0}, format="json")
    assert answer.status_code == 400 and fields(answer)["days"]
    answer = national.post(f"{url}/start-publicity/", {"days": 5}, format="json")
    assert answer.status_code == 400 and "评分" in fields(answer)["non_field_errors"][0]
    assert _stage_and_statuses(rnd) == before
    assert not Candidate.objects.filter(round=rnd, expert_score__isnull=False).exists()

    # a round that cannot start: too few experts, no benchmarks for a year
    count = Round.objects.count()
    body = {"name": "x", "data_year": YEAR, "deadline": workflow.china_today().isoformat()}
    answer = national.post(f"{BASE}/rounds/", {**body, "experts_per_product": 2}, format="json")
    assert answer.status_code == 400 and fields(answer)["experts_per_product"]
    answer = national.post(f"{BASE}/rounds/", {**body, "data_year": YEAR - 4}, format="json")
    assert answer.status_code == 400 and fields(answer)["non_field_errors"]
    answer = national.post(f"{BASE}/rounds/", {"name": "x"}, format="json")
    assert answer.status_code == 400 and {"data_year", "deadline"} <= set(fields(answer))
    assert Round.objects.count() == count


def test_bad_benchmark_writes_answer_400_and_write_nothing(
    people: dict[str, User | None], industry_round: Round
) -> None:
    national = api(people["national"])
    fixed = BenchmarkSet.objects.filter(status=BenchmarkStatus.FIXED).first()
    code = fixed.values.select_related("indicator").first().indicator.code
    values = dict(fixed.values.values_list("indicator_id", "value"))

    answer = national.patch(f"{BASE}/benchmark-sets/{fixed.pk}/", {"values": {code: "1"}}, format="json")
    assert answer.status_code == 400 and "新建" in fields(answer)["non_field_errors"][0]
    answer = national.post(f"{BASE}/benchmark-sets/{fixed.pk}/fix/", format="json")
    assert answer.status_code == 400 and fields(answer)["non_field_errors"]
    assert dict(fixed.values.values_list("indicator_id", "value")) == values

    answer = national.post(
        f"{BASE}/benchmark-sets/", {"product_class": fixed.product_class.code, "data_year": 2031}, format="json"
    )
    draft = BenchmarkSet.objects.get(pk=answer.json()["id"])
    assert draft.status == BenchmarkStatus.DRAFT and draft.sample_size == 0
    count = BenchmarkSet.objects.count()
    answer = national.post(
        f"{BASE}/benchmark-sets/", {"product_class": fixed.product_class.code, "data_year": 2031}, format="json"
    )
    assert answer.status_code == 400 and "草稿" in fields(answer)["non_field_errors"][0]
    answer = national.post(f"{BASE}/benchmark-sets/", {"product_class": "zz", "data_year": 2031}, format="json")
    assert answer.status_code == 400 and fields(answer)["product_class"]
    assert BenchmarkSet.objects.count() == count

    url = f"{BASE}/benchmark-sets/{draft.pk}/"
    draft_values = dict(draft.values.values_list("indicator_id", "value"))
    answer = national.patch(url, {"values": {code: "很多", "NOPE": "1"}}, format="json")
    assert answer.status_code == 400 and pointers(answer).get("/values/NOPE")
    answer = national.patch(url, {"values": {code: "很多"}}, format="json")
    assert answer.status_code == 400 and "数字" in fields(answer)["values"][0]
    answer = national.patch(url, {"values": {code: "1e30"}}, format="json")
    assert answer.status_code == 400 and pointers(answer).get(f"/values/{code}")
    answer = national.post(f"{url}resuggest/", {"percentile": 150}, format="json")
    assert answer.status_code == 400 and fields(answer)["percentile"]
    answer = national.post(f"{url}fix/", format="json")  # no sample for 2031: every value is empty
    assert answer.status_code == 400 and "基准值" in fields(answer)["non_field_errors"][0]
    draft.refresh_from_db()
    assert draft.status == BenchmarkStatus.DRAFT
    assert dict(draft.values.values_list("indicator_id", "value")) == draft_values

    # a PATCH changes the values it names and leaves the others
    answer = national.patch(url, {"values": {code: "2.5"}}, format="json")
    assert answer.status_code == 200
    after = {v["code"]: v["value"] for v in answer.json()["values"]}
    assert after[code] == "2.5000" and sum(v is not None for v in after.values()) == 1


WRITES = [
    ("post", "benchmark-sets/", {"product_class": "04", "data_year": 2031}),
    ("patch", "benchmark-sets/{draft}/", {"values": {}}),
    ("post", "benchmark-sets/{draft}/resuggest/", {"percentile": 20}),
    ("post", "benchmark-sets/{draft}/fix/", {}),
    ("post", "rounds/", {"name": "x", "data_year": YEAR, "deadline": "2030-01-01"}),
    ("post", "rounds/{round}/evaluate/", {}),
    ("post", "rounds/{round}/request-information/", {"info_due": "2099-01-01"}),
    ("post", "rounds/{round}/start-industry-evaluation/", {}),
    ("post", "rounds/{round}/start-publicity/", {"days": 5}),
    ("post", "rounds/{round}/finalize/", {}),
]


@pytest.mark.parametrize("key", [k for k in ROLES if k != "national"])
def test_writes_by_anyone_but_national_are_refused(
    key: str, people: dict[str, User | None], second_round: Callable[..., Round]
) -> None:
    rnd = second_round(Stage.PATENT)
    draft = BenchmarkSet.objects.create(
        method=rnd.method, product_class=ProductClass.objects.get(code="04"), data_year=2030
    )
    before = (_stage_and_statuses(rnd), Round.objects.count(), BenchmarkSet.objects.count(), rnd.evaluation_runs)
    client = api(people[key])
    for method, path, body in WRITES:
        url = f"{BASE}/{path.format(draft=draft.pk, round=rnd.pk)}"
        answer = getattr(client, method)(url, body, format="json")
        if people[key] is None:
            assert answer.status_code in (401, 403), (url, answer.status_code)
        else:
            assert answer.status_code == 403, (url, answer.status_code)
            assert answer.json()["detail"]
    rnd.refresh_from_db()
    assert (_stage_and_statuses(rnd), Round.objects.count(), BenchmarkSet.objects.count(), rnd.evaluation_runs) == (
        before
    )
    draft.refresh_from_db()
    assert draft.status == BenchmarkStatus.DRAFT and draft.percentile == 50
    # results are read-only for everyone
    candidate = Candidate.objects.first()
    assert api(people["national"]).post(f"{BASE}/results/", {}, format="json").status_code == 405
    assert api(people["national"]).patch(f"{BASE}/results/{candidate.pk}/", {}, format="json").status_code == 405


def test_schema_documents_the_evaluation_api(people: dict[str, User | None], demo: None) -> None:
    schema = api(people["national"]).get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    for name in ("methods", "benchmark-sets", "rounds", "results"):
        assert f"{BASE}/{name}/" in paths and f"{BASE}/{name}/{{id}}/" in paths
        assert paths[f"{BASE}/{name}/"]["get"]["summary"]
    for action in ("evaluate", "request-information", "start-industry-evaluation", "start-publicity", "finalize"):
        operation = paths[f"{BASE}/rounds/{{id}}/{action}/"]["post"]
        assert {"400", "403", "404"} <= set(operation["responses"]), action
        assert operation["summary"]
    assert "requestBody" in paths[f"{BASE}/rounds/{{id}}/start-publicity/"]["post"]
    for action in ("resuggest", "fix"):
        assert {"400", "403", "404"} <= set(paths[f"{BASE}/benchmark-sets/{{id}}/{action}/"]["post"]["responses"])
    assert {"status", "round"} <= {p["name"] for p in paths[f"{BASE}/results/"]["get"]["parameters"]}
    result = schema["components"]["schemas"]["Result"]["properties"]
    assert {"indicators", "expert_scores", "passed", "certificate_number", "filing_number"} <= set(result)
