"""The yearly calendar of a round (evaluation/schedule.py), each rule before and after its deadline: the
filing cut-off on every opt-in path, information closing as not supplied (on read and by the daily task),
lock exceptions, stage moves before a deadline, working days, reminders sent once.

Embedded (CI runs it on SQLite too): the overdue query compares dates computed in SQL (COALESCE).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from evaluation import engine, industry, rounds, schedule, workdays
from evaluation.choices import CandidateStatus, LockKind, Stage
from evaluation.models import Candidate, Holiday, Round
from evaluation.rounds import RoundError
from filings import services, workflow
from filings.choices import FilingStatus
from filings.models import ProductVersion
from patent_platform.choices import AuditAction
from patent_platform.models import AuditEvent, Notice, User
from tests.evaluation.conftest import INFO, SCORES, YEAR, filer_of

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
C = CandidateStatus
Walk = Callable[..., Round]
REASON = "企业因系统故障未能按期提交，经核实准予。"


def code_of(exc: pytest.ExceptionInfo[ValidationError]) -> str | None:
    errors = exc.value.error_list if not hasattr(exc.value, "error_dict") else []
    return errors[0].code if errors else None


def fields_of(exc: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return set(exc.value.message_dict) if hasattr(exc.value, "error_dict") else set()


def today() -> dt.date:
    return workflow.china_today()


def not_opted_in() -> ProductVersion:
    """An approved product-year of the demo's data year that has not opted in and is in no round."""
    return (
        ProductVersion.objects.filter(
            data_year=YEAR, status=FilingStatus.APPROVED, certification_opt_in=False, candidacies__isnull=True
        )
        .select_related("product__unit")
        .order_by("pk")
        .first()
    )


# --- the filing cut-off --------------------------------------------------------------------------


def test_the_cutoff_closes_candidacy_on_every_path_and_a_lock_exception_reopens_it(
    demo_users: dict[str, User],
) -> None:
    national = demo_users["national"]
    version = not_opted_in()
    filer = filer_of(version)
    demo_round = Round.objects.get(data_year=YEAR)
    # on the cut-off day itself the candidacy is open
    Round.objects.filter(pk=demo_round.pk).update(deadline=today())
    assert schedule.opt_in_refusal(YEAR, version.pk) is None
    # the day after, closed: the service, the page, the API, a new product's form all refuse
    Round.objects.filter(pk=demo_round.pk).update(deadline=today() - dt.timedelta(days=1))
    with pytest.raises(ValidationError) as refused:
        workflow.version_set_certification_opt_in(version=version, user=filer, opt_in=True)
    assert code_of(refused) == "opt_in_cutoff" and "截止申报" in refused.value.messages[0]
    page = Client()
    page.force_login(filer)
    answer = page.post(reverse("enterprise:version_opt_in", args=[version.pk]), {"opt_in": "1"}, follow=True)
    assert "截止申报" in answer.content.decode()
    api = APIClient()
    api.force_authenticate(filer)
    answer = api.post(f"/api/v1/products/{version.product_id}/opt-in/", {"opt_in": True}, format="json")
    assert answer.status_code == 400 and "截止申报" in answer.content.decode()
    with pytest.raises(ValidationError) as form:
        services.product_create(
            unit=version.product.unit,
            user=filer,
            data={"certification_opt_in": True, "sales": Decimal(100), "output_value": Decimal(100)},
            links=[],
            data_year=YEAR,
        )
    assert "certification_opt_in" in form.value.message_dict
    version.refresh_from_db()
    assert not version.certification_opt_in
    # opting out stays possible; another data year is not concerned
    assert schedule.opt_in_refusal(YEAR + 1, None) is None
    # the national office admits this product after the cut-off, with a reason: it may opt in, and the
    # evaluation of a round still in its first stage takes it in even if approved after the cut-off
    rnd = Round.objects.create(
        name="第二批",
        data_year=YEAR,
        method=demo_round.method,
        deadline=today() - dt.timedelta(days=1),
        created_by=national,
    )
    with pytest.raises(RoundError) as no_reason:
        schedule.lock_exception_grant(
            rnd=rnd, user=national, kind=LockKind.CUTOFF, reason=" ", filing_number=version.product.filing_number
        )
    assert "reason" in fields_of(no_reason)
    exception = schedule.lock_exception_grant(
        rnd=rnd, user=national, kind=LockKind.CUTOFF, reason=REASON, filing_number=version.product.filing_number.lower()
    )
    assert AuditEvent.objects.filter(object_id=str(exception.pk), action=AuditAction.CREATE).exists()
    workflow.version_set_certification_opt_in(version=version, user=filer, opt_in=True)
    ProductVersion.objects.filter(pk=version.pk).update(decided_at=rnd.deadline + dt.timedelta(days=30))
    assert engine.eligible_versions(rnd).filter(pk=version.pk).exists()


# --- information ---------------------------------------------------------------------------------


def info_round(second_round: Walk, national: User, due: dt.date) -> tuple[Round, list[Candidate]]:
    """A second round asking for information by `due`, nobody has answered yet."""
    rnd = second_round(Stage.PATENT)
    rounds.round_request_information(rnd=rnd, user=national, due=due)
    asked = list(rnd.candidates.filter(status=C.INFO_REQUESTED).select_related("version", "round", "unit"))
    assert asked
    return rnd, asked


def test_information_past_its_deadline_closes_as_not_supplied_on_read_and_by_the_task(
    second_round: Walk, demo_users: dict[str, User]
) -> None:
    national = demo_users["national"]
    rnd, asked = info_round(second_round, national, today())
    late = asked[0]
    # the last day: still open, the task closes nothing
    assert late.status_on(today()) == C.INFO_REQUESTED
    assert schedule.close_overdue_information(today()) == 0
    # the day after: read as not supplied at once, the filer can no longer answer
    tomorrow = today() + dt.timedelta(days=1)
    assert late.status_on(tomorrow) == C.INFO_MISSING
    Round.objects.filter(pk=rnd.pk).update(info_due=today() - dt.timedelta(days=1))
    late = Candidate.objects.select_related("round").get(pk=late.pk)
    assert (late.status, late.current_status) == (C.INFO_REQUESTED, C.INFO_MISSING)
    client = Client()
    client.force_login(filer_of(late.version))
    page = client.get(reverse("certification:candidate", args=[late.pk])).content.decode()
    assert "未按期补充材料" in page and 'data-testid="info-link"' not in page
    api = APIClient()
    api.force_authenticate(filer_of(late.version))
    assert api.get(f"/api/v1/evaluation/results/{late.pk}/").json()["status"] == C.INFO_MISSING
    with pytest.raises(RoundError) as overdue:
        rounds.information_submit(candidate_id=late.pk, user=filer_of(late.version), data=INFO)
    assert code_of(overdue) == "info_overdue"
    # the daily task writes it, once
    assert schedule.close_overdue_information() == len(asked)
    assert schedule.close_overdue_information() == 0
    assert Candidate.objects.get(pk=late.pk).status == C.INFO_MISSING


def test_a_lock_exception_admits_late_information_with_a_reason_shown_on_the_result(
    second_round: Walk, demo_users: dict[str, User]
) -> None:
    national = demo_users["national"]
    rnd, asked = info_round(second_round, national, today())
    Round.objects.filter(pk=rnd.pk).update(info_due=today() - dt.timedelta(days=1))
    schedule.close_overdue_information()
    late = asked[0]
    until = today() + dt.timedelta(days=3)
    with pytest.raises(RoundError) as no_reason:
        schedule.lock_exception_grant(
            rnd=rnd, user=national, kind=LockKind.INFO, candidate_id=late.pk, until=until, reason=""
        )
    assert "reason" in fields_of(no_reason)
    with pytest.raises(RoundError) as past:
        schedule.lock_exception_grant(
            rnd=rnd,
            user=national,
            kind=LockKind.INFO,
            candidate_id=late.pk,
            until=today() - dt.timedelta(days=1),
            reason=REASON,
        )
    assert "until" in fields_of(past)
    schedule.lock_exception_grant(
        rnd=rnd, user=national, kind=LockKind.INFO, candidate_id=late.pk, until=until, reason=REASON
    )
    late.refresh_from_db()
    assert (late.status, late.info_due) == (C.INFO_REQUESTED, until)
    assert schedule.close_overdue_information() == 0  # its own deadline has not passed
    rounds.information_submit(candidate_id=late.pk, user=filer_of(late.version), data=INFO)
    client = Client()
    client.force_login(filer_of(late.version))
    page = client.get(reverse("certification:candidate", args=[late.pk])).content.decode()
    assert 'data-testid="lock-exception"' in page and REASON in page
    # the stage cannot move on while the admitted product's time runs, unless the office confirms
    with pytest.raises(RoundError) as early:
        industry.industry_evaluation_start(rnd=rnd, user=national)
    assert code_of(early) is None and "reason" in fields_of(early)
    industry.industry_evaluation_start(rnd=rnd, user=national, reason="材料均已提交。")
    moved = AuditEvent.objects.filter(object_id=str(rnd.pk), action=AuditAction.TRANSITION).order_by("-pk").first()
    assert moved.changes["early_reason"] == [None, "材料均已提交。"]


# --- stage moves before a deadline ----------------------------------------------------------------


def test_the_office_moves_a_stage_before_its_deadline_only_with_confirm_and_reason(
    second_round: Walk, demo_users: dict[str, User]
) -> None:
    national = demo_users["national"]
    rnd = second_round(Stage.INDUSTRY)
    for expert in User.objects.filter(assignments__candidate__round=rnd).distinct():
        for assignment in expert.assignments.filter(candidate__round=rnd):
            industry.score_submit(assignment_id=assignment.pk, user=expert, scores=SCORES, comments="意见")
    Round.objects.filter(pk=rnd.pk).update(scoring_due=today())
    rnd.refresh_from_db()
    client = Client()
    client.force_login(national)
    url = reverse("certification:round_action", args=[rnd.pk, "start-publicity"])
    page = client.post(url, {"days": 5})
    assert page.status_code == 400 and "尚未届满" in page.content.decode()
    page = client.post(url, {"days": 5, "reason": "评分已全部完成。"})  # a reason without the confirmation
    assert page.status_code == 400
    assert Round.objects.get(pk=rnd.pk).stage == Stage.INDUSTRY
    assert client.post(url, {"days": 5, "confirm": "1", "reason": "评分已全部完成。"}).status_code == 302
    assert Round.objects.get(pk=rnd.pk).stage == Stage.PUBLICITY


def test_a_round_before_its_cutoff_waits_and_starts_after_it(
    demo_users: dict[str, User], django_capture_on_commit_callbacks: Callable[..., object]
) -> None:
    national = demo_users["national"]
    version = not_opted_in()
    cutoff = today() + dt.timedelta(days=5)
    with pytest.raises(RoundError) as order:
        rounds.round_start(
            user=national,
            name="2099",
            data_year=YEAR,
            deadline=cutoff,
            info_due=cutoff,
            scoring_due=cutoff - dt.timedelta(days=1),
            publicity_days=0,
        )
    assert fields_of(order) == {"info_due", "scoring_due", "publicity_days"}
    rnd = rounds.round_start(
        user=national,
        name=f"{YEAR} 年度认定（第二批）",
        data_year=YEAR,
        deadline=cutoff,
        info_due=cutoff + dt.timedelta(days=20),
        scoring_due=cutoff + dt.timedelta(days=40),
        publicity_days=5,
        objections_due=cutoff + dt.timedelta(days=60),
    )
    assert rnd.evaluation_requested_at is None
    # before the cut-off: filers still opt in; the evaluation needs the office's reason
    workflow.version_set_certification_opt_in(version=version, user=filer_of(version), opt_in=True)
    with pytest.raises(RoundError) as early:
        rounds.round_rerun_patent_evaluation(rnd=rnd, user=national)
    assert "reason" in fields_of(early)
    assert schedule.start_due_evaluations(cutoff) == 0
    # the day after the cut-off the daily task starts it
    assert schedule.start_due_evaluations(cutoff + dt.timedelta(days=1)) == 1
    rnd.refresh_from_db()
    assert rnd.evaluation_requested_at is not None
    assert schedule.start_due_evaluations(cutoff + dt.timedelta(days=2)) == 0


# --- working days and what participants see -----------------------------------------------------


def test_the_publicity_counts_working_days_less_the_offices_holidays(demo_users: dict[str, User]) -> None:
    friday = dt.date(2031, 1, 3)
    assert friday.weekday() == 4
    assert workdays.period_end(friday, 1) == friday
    assert workdays.period_end(friday, 2) == dt.date(2031, 1, 6)  # over the weekend
    schedule.holiday_set(user=demo_users["national"], date=dt.date(2031, 1, 6), name="假日")
    assert workdays.period_end(friday, 2) == dt.date(2031, 1, 7)
    schedule.holiday_set(user=demo_users["national"], date=dt.date(2031, 1, 4), name="调休上班", is_workday=True)
    assert workdays.period_end(friday, 2) == dt.date(2031, 1, 4)
    assert workdays.working_days_between(friday, dt.date(2031, 1, 7)) == 3
    assert Holiday.objects.count() == 2


def test_every_participant_sees_the_deadlines_with_the_time_left(
    second_round: Walk, demo_users: dict[str, User]
) -> None:
    rnd = second_round(Stage.INDUSTRY)
    Round.objects.filter(pk=rnd.pk).update(scoring_due=today() + dt.timedelta(days=2))
    candidate = rnd.candidates.filter(status=C.EXPERT_REVIEW).select_related("version").first()
    expert = candidate.assignments.first().expert
    pages = {
        filer_of(candidate.version): reverse("certification:mine"),
        expert: reverse("certification:expert_home"),
        demo_users["guangdong"]: reverse("certification:region"),
        demo_users["national"]: reverse("certification:round", args=[rnd.pk]),
    }
    for user, url in pages.items():
        client = Client()
        client.force_login(user)
        html = client.get(url).content.decode()
        assert 'data-testid="deadline-scoring"' in html, user
        assert "还剩 2 天" in html, user


# --- reminders -----------------------------------------------------------------------------------


def test_reminders_go_once_per_participant_and_deadline(second_round: Walk, demo_users: dict[str, User]) -> None:
    national = demo_users["national"]
    rnd, asked = info_round(second_round, national, today() + dt.timedelta(days=10))
    assert schedule.send_reminders() == 0  # ten days ahead: too early
    Round.objects.filter(pk=rnd.pk).update(info_due=today() + dt.timedelta(days=2))
    sent = schedule.send_reminders()
    reminders = Notice.objects.filter(kind="evaluation.reminder")
    assert sent == reminders.count() >= len({c.unit_id for c in asked})
    bodies = " ".join(reminders.values_list("body", flat=True))
    assert all(c.version.name in bodies for c in asked)
    assert schedule.send_reminders() == 0 and reminders.count() == sent  # the second run writes nothing
    # who has answered is not reminded again, even of a new deadline
    for c in asked:
        rounds.information_submit(candidate_id=c.pk, user=filer_of(c.version), data=INFO)
    Round.objects.filter(pk=rnd.pk).update(info_due=today() + dt.timedelta(days=1))
    assert schedule.send_reminders() == 0
    # the experts: one reminder each before the scoring deadline, none for whom has scored everything
    industry.industry_evaluation_start(rnd=rnd, user=national, reason="材料均已提交。")
    Round.objects.filter(pk=rnd.pk).update(scoring_due=today() + dt.timedelta(days=1))
    experts = list(User.objects.filter(assignments__candidate__round=rnd).distinct().order_by("pk"))
    done = experts[0]
    for assignment in done.assignments.filter(candidate__round=rnd):
        industry.score_submit(assignment_id=assignment.pk, user=done, scores=SCORES, comments="意见")
    schedule.send_reminders()
    schedule.send_reminders()
    scoring = Notice.objects.filter(kind="evaluation.reminder", subject__contains="专家评分")
    assert sorted(scoring.values_list("recipient", flat=True)) == sorted(e.email for e in experts[1:])


def test_the_national_office_enters_holidays_on_their_page(demo_users: dict[str, User]) -> None:
    client = Client()
    client.force_login(demo_users["national"])
    url = reverse("certification:holidays")
    assert "尚未登记节假日" in client.get(url).content.decode()
    answer = client.post(url, {"date": "2031-10-01", "name": ""})
    assert answer.status_code == 400 and 'data-testid="error-name"' in answer.content.decode()
    assert client.post(url, {"date": "2031-10-01", "name": "国庆节"}).status_code == 302
    assert "国庆节" in client.get(url).content.decode()
    other = Client()
    other.force_login(demo_users["ent-sz"])
    assert other.get(url).status_code == 404
    assert other.post(url, {"date": "2031-10-02", "name": "国庆节"}).status_code == 404
    assert Holiday.objects.count() == 1
