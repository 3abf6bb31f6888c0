"""Before the publicity (公示) of a round, the national office sees the candidates whose unit is on a credit list
and must confirm before they are published; without the confirmation nothing is published and nothing saved."""

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from evaluation import industry
from evaluation.choices import CandidateStatus, Stage
from evaluation.models import Candidate, Round
from filings import credit_lists
from filings.choices import CreditListKind
from filings.models import CreditListImport
from patent_platform.models import AuditEvent, User
from tests.evaluation.conftest import SCORES

pytestmark = pytest.mark.django_db


def _list_unit(national: User, uscc: str, kind: str = CreditListKind.SERIOUS) -> CreditListImport:
    job = CreditListImport.objects.create(
        kind=kind, original_name="失信名单.xlsx", created_by=national, file="credit-lists/test.xlsx"
    )
    credit_lists.credit_list_apply(rows=[credit_lists.Row(2, uscc=uscc, reason="严重失信")], source=job)
    return job


def _score_all(rnd: Round) -> None:
    for expert in User.objects.filter(assignments__candidate__round=rnd).distinct():
        for assignment in expert.assignments.filter(candidate__round=rnd):
            industry.score_submit(
                assignment_id=assignment.pk, user=expert, scores=SCORES, comments="专利支撑作用明显。"
            )


def test_listed_candidates_are_shown_and_publicity_needs_a_confirmation(
    second_round: Callable[..., Round], demo_users: dict[str, User]
) -> None:
    national = demo_users["national"]
    rnd = second_round(Stage.INDUSTRY)
    _score_all(rnd)
    listed = rnd.candidates.filter(status=CandidateStatus.EXPERT_REVIEW).select_related("unit").first()
    job = _list_unit(national, listed.unit.uscc)
    client = Client()
    client.force_login(national)
    page = client.get(reverse("certification:round", args=[rnd.pk])).content.decode()
    assert f'data-candidate="{listed.pk}"' in page and 'data-testid="confirm-listed"' in page

    url = reverse("certification:round_action", args=[rnd.pk, "start-publicity"])
    response = client.post(url, {"days": 5})
    assert response.status_code == 400 and "信用名单" in response.content.decode()
    assert Round.objects.get(pk=rnd.pk).stage == Stage.INDUSTRY
    assert not Candidate.objects.filter(round=rnd, status=CandidateStatus.PROPOSED).exists()  # rolled back

    assert client.post(url, {"days": 5, "confirm_listed": "on"}).status_code == 302
    assert Round.objects.get(pk=rnd.pk).stage == Stage.PUBLICITY
    event = AuditEvent.objects.filter(object_id=str(rnd.pk), message__contains="credit list").get()
    assert event.changes["listed_candidates"] == [listed.pk]

    # removed from the list: the round page no longer shows it
    credit_lists.credit_list_apply(
        rows=[], source=CreditListImport.objects.create(kind=job.kind, original_name="空.xlsx", file="x")
    )
    assert (
        f'data-candidate="{listed.pk}"'
        not in client.get(reverse("certification:round", args=[rnd.pk])).content.decode()
    )


def test_the_api_asks_the_same_confirmation(second_round: Callable[..., Round], demo_users: dict[str, User]) -> None:
    from rest_framework.test import APIClient

    from tests.problems import problem

    national = demo_users["national"]
    rnd = second_round(Stage.INDUSTRY)
    _score_all(rnd)
    listed = rnd.candidates.filter(status=CandidateStatus.EXPERT_REVIEW).select_related("unit").first()
    _list_unit(national, listed.unit.uscc)
    api = APIClient()
    api.force_authenticate(national)
    url = f"/api/v1/evaluation/rounds/{rnd.pk}/start-publicity/"
    refused = problem(api.post(url, {"days": 5}, format="json"), 400)
    assert [(e["pointer"], e["code"]) for e in refused["errors"]] == [("/confirm_listed", "listed_unconfirmed")]
    assert Round.objects.get(pk=rnd.pk).stage == Stage.INDUSTRY
    assert api.post(url, {"days": 5, "confirm_listed": True}, format="json").status_code == 200
    assert Round.objects.get(pk=rnd.pk).stage == Stage.PUBLICITY
