"""Certification rounds through their services: starting, the stage guards, expert conflicts, scoring,
objections during the publicity and the final list with its certificate numbers.

Most tests use the demo (a finished first round) and the `second_round(stage)` fixture of conftest.py.
"""

from __future__ import annotations

import datetime as dt
import itertools
import unicodedata
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluation import industry, publicity, rounds, workdays
from evaluation.choices import CandidateStatus, ObjectionStatus, ScoreRule, Stage
from evaluation.models import Assignment, Candidate, ExpertProfile, MethodVersion, Objection, Round
from evaluation.rounds import RoundError
from filings import workflow
from filings.models import FilingUnit, ProductClass
from patent_platform.choices import AuditAction, Role
from patent_platform.models import AuditEvent, User
from tests.evaluation.conftest import INFO, SCORES, YEAR, filer_of
from tests.evaluation.test_formulas import fixed_set, make_unit, make_version

pytestmark = pytest.mark.django_db

C = CandidateStatus
D = Decimal
Walk = Callable[..., Round]
_emails = itertools.count(1)


def code_of(exc: pytest.ExceptionInfo[ValidationError]) -> str | None:
    errors = exc.value.error_list if not hasattr(exc.value, "error_dict") else []
    return errors[0].code if errors else None


def make_expert(province: str, organisation: str, classes: list[ProductClass], *, active: bool = True) -> User:
    user = User.objects.create_user(
        f"expert-t{next(_emails)}@example.cn",
        None,
        role=Role.EXPERT,
        full_name="专家",
        email_confirmed_at=timezone.now(),
    )
    profile = ExpertProfile.objects.create(
        user=user, organisation=organisation, province_code=province, is_active=active
    )
    profile.classes.set(classes)
    return user


# --- starting a round ----------------------------------------------------------------------------


def test_start_round_refuses_without_benchmarks_and_names_the_class(reference: None, make_user: Any) -> None:
    national = make_user("national-t@example.cn", Role.NATIONAL_ADMIN)
    with_set, without = ProductClass.objects.order_by("code")[:2]
    unit = make_unit()
    fixed_set(MethodVersion.active(), with_set, 2024, {})
    make_version(unit, with_set, year=2024, sales=D(1))
    make_version(unit, without, year=2024, sales=D(1))
    kwargs = {"name": "批次", "data_year": 2024, "deadline": workflow.china_today()}
    with pytest.raises(RoundError) as exc:
        rounds.round_start(user=national, **kwargs)
    assert code_of(exc) == "missing_benchmarks"
    assert f"{without.code} {without.name}" in exc.value.messages[0]
    assert with_set.name not in exc.value.messages[0]
    with pytest.raises(RoundError) as nothing:
        rounds.round_start(user=national, **{**kwargs, "data_year": 2023})
    assert code_of(nothing) == "nothing_eligible"
    with pytest.raises(PermissionDenied):
        rounds.round_start(user=make_user("reviewer-t@example.cn", Role.REVIEWER), **kwargs)
    assert not Round.objects.exists()


def test_evaluating_while_an_evaluation_is_asked_for(second_round: Walk, users: dict[str, User]) -> None:
    rnd = second_round(Stage.PATENT)  # started, then evaluated by rounds.round_evaluate
    assert rnd.evaluation_requested_at is not None and rnd.evaluated_at > rnd.evaluation_requested_at
    assert not rnd.evaluating
    rounds.round_rerun_patent_evaluation(rnd=rnd, user=users["national"])
    rnd.refresh_from_db()
    assert rnd.evaluating  # queued: the task has not run yet
    before = sorted(rnd.candidates.values_list("version_id", "status", "passed_total"))
    rounds.round_evaluate(round_id=rnd.pk)
    rnd.refresh_from_db()
    assert not rnd.evaluating and rnd.evaluation_runs == 2
    assert sorted(rnd.candidates.values_list("version_id", "status", "passed_total")) == before
    assert not Round(evaluation_requested_at=None).evaluating


# --- stage guards and roles ----------------------------------------------------------------------


def any_candidate(rnd: Round) -> Candidate:
    return rnd.candidates.select_related("version__product__unit").order_by("pk").first()


def guarded_calls(rnd: Round, users: dict[str, User]) -> dict[str, tuple[str, Callable[[], Any]]]:
    """Every stage action of the round, keyed by the stage it needs."""
    national = users["national"]
    candidate = any_candidate(rnd)
    assignment = candidate.assignments.first() or Assignment.objects.create(
        candidate=candidate, expert=users["expert1"]
    )
    objection = Objection.objects.create(candidate=candidate, name="甲", contact="1", reasons="理由" * 5)
    today = workflow.china_today()
    filer = filer_of(candidate.version)
    return {
        "rerun": (Stage.PATENT, lambda: rounds.round_rerun_patent_evaluation(rnd=rnd, user=national)),
        "request_information": (
            Stage.PATENT,
            lambda: rounds.round_request_information(rnd=rnd, user=national, due=today),
        ),
        "submit_information": (
            Stage.INFO,
            lambda: rounds.information_submit(candidate_id=candidate.pk, user=filer, data=INFO),
        ),
        "start_industry": (
            Stage.INFO,
            lambda: industry.industry_evaluation_start(
                rnd=rnd, user=national, reason="全部企业已提交补充材料，提前开始。"
            ),
        ),
        "submit_score": (
            Stage.INDUSTRY,
            lambda: industry.score_submit(
                assignment_id=assignment.pk, user=assignment.expert, scores=SCORES, comments="意见"
            ),
        ),
        "start_publicity": (Stage.INDUSTRY, lambda: publicity.round_publicity_start(rnd=rnd, user=national, days=5)),
        "decide_objection": (
            Stage.PUBLICITY,
            lambda: publicity.objection_decide(objection_id=objection.pk, user=national, uphold=False, decision="否"),
        ),
        "finalize": (
            Stage.PUBLICITY,
            lambda: rounds.round_finalize(rnd=rnd, user=national, today=today + dt.timedelta(days=400)),
        ),
    }


@pytest.mark.parametrize("stage", [Stage.PATENT, Stage.INFO, Stage.INDUSTRY, Stage.PUBLICITY, Stage.FINAL])
def test_every_service_refuses_the_wrong_stage(second_round: Walk, users: dict[str, User], stage: str) -> None:
    rnd = second_round(stage)
    before = (rnd.stage, sorted(rnd.candidates.values_list("pk", "status")))
    refused = []
    for name, (needs, call) in guarded_calls(rnd, users).items():
        if needs == stage:
            continue
        with pytest.raises(RoundError) as exc:
            call()
        assert code_of(exc) == "wrong_stage", name
        refused.append(name)
    assert len(refused) >= 6
    rnd.refresh_from_db()
    assert (rnd.stage, sorted(rnd.candidates.values_list("pk", "status"))) == before
    if stage != Stage.PATENT:  # the evaluation task does nothing after the first stage
        rounds.round_evaluate(round_id=rnd.pk)
        assert sorted(rnd.candidates.values_list("pk", "status")) == before[1]


def test_only_the_right_role_acts(second_round: Walk, users: dict[str, User]) -> None:
    rnd = second_round(Stage.PATENT)
    candidate = any_candidate(rnd)
    today = workflow.china_today()
    national_only = [
        lambda u: rounds.round_start(user=u, name="x", data_year=YEAR, deadline=today),
        lambda u: rounds.round_rerun_patent_evaluation(rnd=rnd, user=u),
        lambda u: rounds.round_request_information(rnd=rnd, user=u, due=today),
        lambda u: industry.industry_evaluation_start(rnd=rnd, user=u, reason="全部企业已提交补充材料，提前开始。"),
        lambda u: publicity.round_publicity_start(rnd=rnd, user=u, days=5),
        lambda u: rounds.round_finalize(rnd=rnd, user=u),
        lambda u: publicity.objection_decide(objection_id=1, user=u, uphold=True, decision="x"),
    ]
    for who in ("reviewer", "guangdong", "ent-gz", "expert1"):
        for call in national_only:
            with pytest.raises(PermissionDenied):
                call(users[who])
    for who in ("national", "reviewer", "expert1"):
        with pytest.raises(PermissionDenied):
            rounds.information_submit(candidate_id=candidate.pk, user=users[who], data=INFO)
    for who in ("national", "ent-gz"):
        with pytest.raises(PermissionDenied):
            industry.score_submit(assignment_id=1, user=users[who], scores=SCORES, comments="意见")


# --- expert conflicts ----------------------------------------------------------------------------


@pytest.fixture
def info_round(second_round: Walk) -> Round:
    """The second round with every passing product's information in (once per test, not per example)."""
    return second_round(Stage.INFO)


def key(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).split())


def test_conflicting(second_round: Walk, users: dict[str, User]) -> None:
    rnd = second_round(Stage.INFO)
    candidate = rnd.candidates.select_related("unit").filter(status=C.INFO_SUBMITTED).first()
    classes = [candidate.product_class]
    elsewhere = "510000" if candidate.province_code != "510000" else "520000"
    assert industry.conflicting(candidate, make_expert(elsewhere, "四川大学", classes)) is None
    assert industry.conflicting(candidate, make_expert(candidate.province_code, "四川大学", classes)) == "与企业同省"
    same_unit = f" {candidate.unit.name.replace('有限公司', ' 有限公司')} "
    assert industry.conflicting(candidate, make_expert(elsewhere, same_unit, classes)) == "与企业同单位"
    assert industry.conflicting(candidate, make_expert(elsewhere, "四川大学", classes, active=False)) == "不在专家库中"
    gone = make_expert(elsewhere, "四川大学", classes)
    gone.is_active = False
    gone.save()
    assert industry.conflicting(candidate, gone) == "不在专家库中"
    assert industry.conflicting(candidate, users["reviewer"]) == "不在专家库中"
    # the panel offers exactly the experts of the product's class without a conflict
    of_class = User.objects.filter(expert_profile__classes=candidate.product_class).select_related("expert_profile")
    expected = {e.pk for e in of_class if industry.conflicting(candidate, e) is None}
    assert {e.pk for e in industry.panel(candidate)} == expected
    assert len(expected) == 10  # the nine demo experts and 四川大学


def test_not_enough_experts_writes_nothing(second_round: Walk, users: dict[str, User]) -> None:
    rnd = second_round(Stage.INFO)
    # two experts left in the pool
    ExpertProfile.objects.exclude(user__in=[users["expert1"], users["expert2"]]).update(is_active=False)
    before = sorted(rnd.candidates.values_list("pk", "status"))
    events = AuditEvent.objects.count()
    with pytest.raises(RoundError) as exc:
        industry.industry_evaluation_start(rnd=rnd, user=users["national"], reason="全部企业已提交补充材料，提前开始。")
    assert code_of(exc) == "not_enough_experts"
    assert "可用专家 2 位" in exc.value.messages[0]
    rnd.refresh_from_db()
    assert rnd.stage == Stage.INFO
    assert not Assignment.objects.filter(candidate__round=rnd).exists()
    assert sorted(rnd.candidates.values_list("pk", "status")) == before
    assert AuditEvent.objects.count() == events


PROVINCES = ["440000", "330000", "110000", "310000", "510000"]
expert_strategy = st.tuples(
    st.sampled_from(PROVINCES),
    st.integers(0, 6),  # organisation (see ORGS below)
    st.booleans(),  # profile active
    st.booleans(),  # user active
    st.booleans(),  # covers the round's classes
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pool=st.lists(expert_strategy, max_size=9), keep_demo=st.booleans(), size=st.integers(3, 4))
def test_panels_never_hold_a_conflict(
    info_round: Round, users: dict[str, User], pool: list[tuple[str, int, bool, bool, bool]], keep_demo: bool, size: int
) -> None:
    rnd = info_round
    with transaction.atomic():
        Round.objects.filter(pk=rnd.pk).update(experts_per_product=size)
        rnd.refresh_from_db()
        waiting = list(rnd.candidates.filter(status=C.INFO_SUBMITTED).select_related("unit", "product_class"))
        units = sorted({c.unit.name for c in waiting})
        orgs = [*units, f" {units[0]} ", "清华大学", "清华 大学", "北京大学", "四川大学"][:7]
        orgs += ["浙江大学"] * (7 - len(orgs))
        classes = list(ProductClass.objects.filter(pk__in=[c.product_class_id for c in waiting]))
        if not keep_demo:
            ExpertProfile.objects.filter(user__email__in=[f"expert{i}@example.cn" for i in (1, 2, 3)]).update(
                is_active=False
            )
        for province, org, profile_active, user_active, covers in pool:
            expert = make_expert(province, orgs[org], classes if covers else [], active=profile_active)
            if not user_active:
                User.objects.filter(pk=expert.pk).update(is_active=False)
        experts = list(User.objects.filter(role=Role.EXPERT).select_related("expert_profile"))

        def possible(c: Candidate) -> int:
            """Distinct organisations among the experts who may score c (worked out here, not by rounds)."""
            ok = {
                key(e.expert_profile.organisation)
                for e in experts
                if e.is_active
                and e.expert_profile.is_active
                and e.expert_profile.classes.filter(pk=c.product_class_id).exists()
                and e.expert_profile.province_code != c.province_code
                and key(e.expert_profile.organisation) != key(c.unit.name)
            }
            return len(ok)

        enough = all(possible(c) >= size for c in waiting)
        if not enough:
            with pytest.raises(RoundError) as exc:
                industry.industry_evaluation_start(
                    rnd=rnd, user=users["national"], reason="全部企业已提交补充材料，提前开始。"
                )
            assert code_of(exc) == "not_enough_experts"
            assert not Assignment.objects.filter(candidate__round=rnd).exists()
            assert set(rnd.candidates.values_list("status", flat=True)) <= {C.INFO_SUBMITTED, C.PATENT_FAILED}
        else:
            counts = industry.industry_evaluation_start(
                rnd=rnd, user=users["national"], reason="全部企业已提交补充材料，提前开始。"
            )
            assert counts["assigned"] == size * len(waiting)
            for c in waiting:
                chosen = list(Assignment.objects.filter(candidate=c).select_related("expert__expert_profile"))
                assert len(chosen) == size
                profiles = [a.expert.expert_profile for a in chosen]
                assert all(p.province_code != c.province_code for p in profiles)
                assert all(key(p.organisation) != key(c.unit.name) for p in profiles)
                assert len({key(p.organisation) for p in profiles}) == size  # no two of one organisation
                assert all(p.is_active and a.expert.is_active for p, a in zip(profiles, chosen, strict=True))
                assert all(p.classes.filter(pk=c.product_class_id).exists() for p in profiles)
        transaction.set_rollback(True)


# --- scoring -------------------------------------------------------------------------------------


ALL = frozenset({"technology", "market", "patent", "benefit"})


@pytest.mark.parametrize(
    ("scores", "wrong"),
    [
        ({"technology": "30", "market": "0", "patent": "25", "benefit": "15"}, set()),
        ({"technology": "0.01", "market": "29.99", "patent": " 12.5 ", "benefit": "7.25"}, set()),
        ({"technology": "30.01", "market": "-1", "patent": "25", "benefit": "15"}, {"technology", "market"}),
        ({"technology": "abc", "market": None, "patent": "", "benefit": "15.001"}, set(ALL)),
        ({"technology": "NaN", "market": "Infinity", "patent": "1e1", "benefit": "16"}, ALL - {"patent"}),
        ({"patent": "1"}, {"technology", "market", "benefit"}),
    ],
)  # fmt: skip
def test_score_errors(scores: dict[str, Any], wrong: set[str]) -> None:
    assert set(industry.score_errors(scores)) == wrong


@pytest.mark.parametrize(
    ("totals", "rule", "expected"),
    [
        (["70", "80", "90"], ScoreRule.MEAN, "80.00"),
        (["70", "71"], ScoreRule.MEAN, "70.50"),
        (["1", "1", "2"], ScoreRule.MEAN, "1.33"),  # 4 / 3
        (["1", "2", "2"], ScoreRule.MEAN, "1.67"),  # 5 / 3
        (["60", "70", "80", "100"], ScoreRule.TRIMMED_MEAN, "77.50"),  # fewer than 5: the plain mean
        (["10", "70", "80", "90", "100"], ScoreRule.TRIMMED_MEAN, "80.00"),  # without 10 and 100
        (["10", "70", "80", "90", "100"], ScoreRule.MEAN, "70.00"),
        (["50", "50", "60", "99", "99", "100"], ScoreRule.TRIMMED_MEAN, "77.00"),  # (50 + 60 + 99 + 99) / 4
    ],
)
def test_combine(totals: list[str], rule: str, expected: str) -> None:
    assert industry.combine([D(t) for t in totals], rule) == D(expected)


def test_combine_needs_scores() -> None:
    with pytest.raises(ValueError, match="no scores"):
        industry.combine([], ScoreRule.MEAN)


def test_submit_score(second_round: Walk, users: dict[str, User]) -> None:
    rnd = second_round(Stage.INDUSTRY)
    expert = users["expert1"]
    assignment = Assignment.objects.filter(candidate__round=rnd, expert=expert).first()
    scores = {"technology": "25.5", "market": "24", "patent": "20.25", "benefit": "12"}
    saved = industry.score_submit(assignment_id=assignment.pk, user=expert, scores=scores, comments="  技术先进。 ")
    assert (saved.total, saved.comments, saved.technology) == (D("81.75"), "技术先进。", D("25.5"))
    assert AuditEvent.objects.filter(object_type="evaluation.Assignment", action=AuditAction.SCORE).exists()
    with pytest.raises(RoundError) as invalid:
        industry.score_submit(assignment_id=assignment.pk, user=expert, scores={**scores, "market": "31"}, comments="")
    assert set(invalid.value.message_dict) == {"market", "comments"}
    # an expert not assigned to it sees no such task
    other = make_expert("510000", "四川大学", list(ProductClass.objects.all()))
    with pytest.raises(Http404):
        industry.score_submit(assignment_id=assignment.pk, user=other, scores=scores, comments="意见")
    with pytest.raises(Http404):
        industry.score_submit(assignment_id=999_999, user=expert, scores=scores, comments="意见")
    assignment.refresh_from_db()
    assert assignment.total == D("81.75")


def test_publicity_combines_the_scores(second_round: Walk, users: dict[str, User]) -> None:
    national = users["national"]
    rnd = second_round(Stage.INDUSTRY)
    candidate = rnd.candidates.get(status=C.EXPERT_REVIEW)
    assignments = list(Assignment.objects.filter(candidate=candidate).select_related("expert").order_by("pk"))
    assert len(assignments) == 3
    with pytest.raises(RoundError) as unscored:
        publicity.round_publicity_start(rnd=rnd, user=national, days=7)
    assert code_of(unscored) == "unscored"

    def score_all(sheets: list[tuple[str, str, str, str]]) -> None:
        for assignment, sheet in zip(assignments, sheets, strict=True):
            scores = dict(zip(("technology", "market", "patent", "benefit"), sheet, strict=True))
            industry.score_submit(assignment_id=assignment.pk, user=assignment.expert, scores=scores, comments="意见")

    # 65 + 69 + 75 = 209; 209 / 3 = 69.67 < 70: nobody on the list, nothing changes
    score_all([("20", "20", "15", "10"), ("20", "20", "19", "10"), ("25", "20", "20", "10")])
    with pytest.raises(RoundError) as nobody:
        publicity.round_publicity_start(rnd=rnd, user=national, days=7)
    assert code_of(nobody) == "nobody_proposed"
    candidate.refresh_from_db()
    assert (candidate.status, candidate.expert_score) == (C.EXPERT_REVIEW, None)
    # 65 + 69 + 76.5 = 210.5; / 3 = 70.1666… → 70.17 ≥ 70
    score_all([("20", "20", "15", "10"), ("20", "20", "19", "10"), ("26.5", "20", "20", "10")])
    with pytest.raises(RoundError) as days:
        publicity.round_publicity_start(rnd=rnd, user=national, days=0)
    assert "days" in days.value.message_dict
    assert publicity.round_publicity_start(rnd=rnd, user=national, days=7, start=dt.date(2030, 1, 1)) == {
        "proposed": 1,
        "failed": 0,
    }
    candidate.refresh_from_db()
    assert (candidate.expert_score, candidate.status) == (D("70.17"), C.PROPOSED)
    rnd.refresh_from_db()
    # seven working days from Tuesday 2030-01-01: the weekend of the 5th and 6th is not counted
    assert (rnd.publicity_start, rnd.publicity_end) == (dt.date(2030, 1, 1), dt.date(2030, 1, 9))


# --- objections and the final list ---------------------------------------------------------------


def lodge(candidate: Candidate, **data: str) -> Objection:
    fields = {"name": "某竞争企业", "contact": "010-12345678", "reasons": "该产品的核心专利已被宣告无效，请核实。"}
    return publicity.objection_lodge(candidate_id=candidate.pk, **{**fields, **data})


def test_objections_only_while_the_publicity_lasts(second_round: Walk) -> None:
    rnd = second_round(Stage.PUBLICITY)  # publicity from today for 5 working days
    proposed = rnd.candidates.filter(status=C.PROPOSED).first()
    today = workflow.china_today()
    assert rnd.publicity_end == workdays.period_end(today, 5)
    assert publicity.publicity_open(rnd, today) and publicity.publicity_open(rnd, rnd.publicity_end)
    assert not publicity.publicity_open(rnd, rnd.publicity_end + dt.timedelta(days=1))
    assert not publicity.publicity_open(rnd, today - dt.timedelta(days=1))
    objection = lodge(proposed, name="  张三 ")
    assert (objection.name, objection.status) == ("张三", ObjectionStatus.PENDING)
    with pytest.raises(RoundError) as invalid:
        lodge(proposed, name=" ", contact="", reasons="太短了")
    assert set(invalid.value.message_dict) == {"name", "contact", "reasons"}
    # publicity over (it ended yesterday) or not begun yet: refused
    for start, end in (
        (today - dt.timedelta(days=5), today - dt.timedelta(days=1)),
        (today + dt.timedelta(days=1), today + dt.timedelta(days=5)),
    ):
        Round.objects.filter(pk=rnd.pk).update(publicity_start=start, publicity_end=end)
        with pytest.raises(RoundError) as closed:
            lodge(proposed)
        assert code_of(closed) == "publicity_closed"
    # a product not on a list under publicity (certified in the demo's first round): nothing to object to
    with pytest.raises(Http404):
        lodge(Candidate.objects.filter(status=C.CERTIFIED).first())
    assert Objection.objects.filter(candidate__round=rnd).count() == 1


def test_a_dismissed_objection_leaves_the_product_certified(second_round: Walk, users: dict[str, User]) -> None:
    national = users["national"]
    rnd = second_round(Stage.PUBLICITY)
    proposed = rnd.candidates.get(status=C.PROPOSED)
    objection = lodge(proposed)
    after_end = rnd.publicity_end + dt.timedelta(days=1)
    with pytest.raises(RoundError) as pending:
        rounds.round_finalize(rnd=rnd, user=national, today=after_end)
    assert code_of(pending) == "objections_pending"
    with pytest.raises(RoundError) as no_reason:
        publicity.objection_decide(objection_id=objection.pk, user=national, uphold=False, decision=" ")
    assert "decision" in no_reason.value.message_dict
    decided = publicity.objection_decide(
        objection_id=objection.pk, user=national, uphold=False, decision=" 经核实，专利仍有效。"
    )
    assert (decided.status, decided.decision, decided.decided_by) == ("dismissed", "经核实，专利仍有效。", national)
    with pytest.raises(RoundError) as twice:
        publicity.objection_decide(objection_id=objection.pk, user=national, uphold=True, decision="再改")
    assert code_of(twice) == "decided"
    proposed.refresh_from_db()
    assert proposed.status == C.PROPOSED
    with pytest.raises(RoundError) as running:
        rounds.round_finalize(rnd=rnd, user=national, today=rnd.publicity_end)  # the last day of the publicity
    assert code_of(running) == "publicity_running"

    assert rounds.round_finalize(rnd=rnd, user=national, today=after_end) == {"certified": 1}

    proposed.refresh_from_db()
    assert proposed.status == C.CERTIFIED and proposed.certificate_number and proposed.certified_at
    rnd.refresh_from_db()
    assert rnd.stage == Stage.FINAL and rnd.finalized_at is not None


def test_an_upheld_objection_keeps_the_product_from_the_list(second_round: Walk, users: dict[str, User]) -> None:
    national = users["national"]
    rnd = second_round(Stage.PUBLICITY)
    proposed = rnd.candidates.get(status=C.PROPOSED)
    first, second = lodge(proposed), lodge(proposed, name="另一企业")
    publicity.objection_decide(
        objection_id=first.pk, user=national, uphold=True, decision="经核实，核心专利已被宣告无效。"
    )
    proposed.refresh_from_db()
    assert proposed.status == C.OBJECTION_UPHELD
    with pytest.raises(Http404):  # off the list: no more objections to it
        lodge(proposed)
    publicity.objection_decide(objection_id=second.pk, user=national, uphold=False, decision="与前一异议重复。")
    proposed.refresh_from_db()
    assert proposed.status == C.OBJECTION_UPHELD  # dismissing another objection does not put it back

    assert rounds.round_finalize(rnd=rnd, user=national, today=rnd.publicity_end + dt.timedelta(days=1)) == {
        "certified": 0
    }

    proposed.refresh_from_db()
    assert (proposed.status, proposed.certificate_number, proposed.certified_at) == (C.OBJECTION_UPHELD, None, None)
    assert not Candidate.objects.public().filter(pk=proposed.pk).exists()


def serial(number: str, year: int) -> int:
    assert number.startswith(f"RD{year}") and len(number) == len(f"RD{year}") + 5, number
    return int(number[len(f"RD{year}") :])


def test_certificate_numbers_run_on_across_the_rounds_of_a_year(second_round: Walk) -> None:
    first = Round.objects.get(data_year=YEAR)  # the demo's finished round
    before = [c.certificate_number for c in first.candidates.filter(status=C.CERTIFIED).order_by("certificate_number")]
    assert [serial(n, YEAR) for n in before] == list(range(1, len(before) + 1))

    rnd = second_round(Stage.FINAL)

    numbers = list(
        rnd.candidates.filter(status=C.CERTIFIED)
        .order_by("product_class__code", "pk")
        .values_list("certificate_number", flat=True)
    )
    assert numbers
    assert [serial(n, YEAR) for n in numbers] == list(range(len(before) + 1, len(before) + len(numbers) + 1))
    everything = list(Candidate.objects.exclude(certificate_number=None).values_list("certificate_number", flat=True))
    assert len(everything) == len(set(everything)) == len(before) + len(numbers)
    # candidates that were not certified hold no number
    assert not rnd.candidates.exclude(status=C.CERTIFIED).exclude(certificate_number=None).exists()


def test_another_data_year_starts_its_own_series(reference: None, make_user: Any) -> None:
    """Certificates of another data year begin at 00001."""
    unit: FilingUnit = make_unit()
    cls = ProductClass.objects.get(code="03")
    method = MethodVersion.active()
    bset = fixed_set(method, cls, 2020, {})
    version = make_version(unit, cls, year=2020, sales=D(1))
    rnd = Round.objects.create(
        name="旧年度", data_year=2020, method=method, deadline=workflow.china_today(), stage=Stage.PUBLICITY,
        publicity_start=dt.date(2021, 1, 1), publicity_end=dt.date(2021, 1, 5),
    )  # fmt: skip
    Candidate.objects.create(
        round=rnd, version=version, product=version.product, unit=unit, product_class=cls,
        province_code=unit.province_code, benchmark_set=bset, status=C.PROPOSED,
    )  # fmt: skip
    rounds.round_finalize(
        rnd=rnd, user=make_user("national-t@example.cn", Role.NATIONAL_ADMIN), today=dt.date(2021, 1, 6)
    )
    assert list(rnd.candidates.values_list("certificate_number", flat=True)) == ["RD202000001"]
