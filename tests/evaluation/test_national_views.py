"""The national office's certification pages: rounds stage by stage, objections, the expert pool."""

import datetime as dt
import io
import re
from collections.abc import Callable

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from evaluation import industry, rounds
from evaluation.choices import CandidateStatus, ObjectionStatus, Stage
from evaluation.models import Candidate, ExpertProfile, IndicatorResult, MethodVersion, Objection, Round
from filings import workflow
from filings.models import ProductClass
from patent_platform.choices import Role
from patent_platform.models import AuditEvent, User
from tests.evaluation.conftest import INFO, SCORES, YEAR, filer_of

pytestmark = pytest.mark.django_db


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def national(users: dict[str, User]) -> Client:
    return client_for(users["national"])


def national_pages(rnd: Round, objection: Objection | None = None) -> list[str]:
    pages = [
        reverse("certification:rounds"),
        reverse("certification:round_new"),
        reverse("certification:round", args=[rnd.pk]),
        reverse("certification:round_progress", args=[rnd.pk]),
        reverse("certification:round_export", args=[rnd.pk]),
        reverse("certification:experts"),
        reverse("certification:expert_new"),
        reverse("certification:expert_export"),
    ]
    if objection is not None:
        pages.append(reverse("certification:objection_decide", args=[objection.pk]))
    return pages


@pytest.mark.parametrize("who", ["reviewer", "guangdong", "shenzhen", "ent-gz", "expert1"])
def test_other_roles_get_404_on_every_national_page(
    who: str, users: dict[str, User], second_round: Callable[..., Round]
) -> None:
    rnd = second_round(Stage.PUBLICITY, objections=1)
    objection = Objection.objects.get(candidate__round=rnd)
    client = client_for(users[who])
    for url in national_pages(rnd, objection):
        assert client.get(url).status_code == 404, url
    for action in ("evaluate", "request-information", "start-industry", "start-publicity", "finalize"):
        response = client.post(reverse("certification:round_action", args=[rnd.pk, action]))
        assert response.status_code == 404, action
    profile = ExpertProfile.objects.first()
    assert client.post(reverse("certification:expert_active", args=[profile.pk]), {"active": "0"}).status_code == 404
    assert Round.objects.get(pk=rnd.pk).stage == Stage.PUBLICITY
    assert ExpertProfile.objects.get(pk=profile.pk).is_active


def test_anonymous_visitors_are_sent_to_login(demo: None) -> None:
    rnd = Round.objects.get()
    for url in national_pages(rnd):
        response = Client().get(url)
        assert response.status_code == 302 and reverse("login") in response["Location"], url


def test_national_admin_opens_every_page(national: Client, second_round: Callable[..., Round]) -> None:
    rnd = second_round(Stage.PUBLICITY, objections=1)
    objection = Objection.objects.get(candidate__round=rnd)
    for url in national_pages(rnd, objection):
        assert national.get(url).status_code == 200, url
    listing = national.get(reverse("certification:rounds")).content.decode()
    assert rnd.name in listing and "第一批" in listing


def test_a_round_without_fixed_benchmarks_is_refused_with_the_class_named_and_the_input_kept(
    national: Client, users: dict[str, User]
) -> None:
    version = (
        workflow.ProductVersion.objects.filter(data_year=YEAR, status="approved", certification_opt_in=False)
        .select_related("product__unit")
        .first()
    )
    other = ProductClass.objects.exclude(benchmark_sets__data_year=YEAR).first()
    version.product_class = other
    version.save(update_fields=["product_class"])
    filer = version.product.unit.memberships.first().user
    workflow.version_set_certification_opt_in(version=version, user=filer, opt_in=True)
    before = Round.objects.count()

    preview = national.get(reverse("certification:round_new")).content.decode()
    assert other.name in preview  # the preview names the class that lacks benchmarks

    response = national.post(
        reverse("certification:round_new"),
        {
            "name": "第二批（测试）",
            "data_year": YEAR,
            "deadline": workflow.china_today().isoformat(),
            "method": MethodVersion.active().pk,
            "experts_per_product": 3,
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert other.name in page and "基准值" in page
    assert 'value="第二批（测试）"' in page
    assert Round.objects.count() == before


def test_starting_a_round_evaluates_it_and_shows_the_counts(
    national: Client, second_round: Callable[..., Round]
) -> None:
    rnd = second_round(Stage.PATENT)
    page = national.get(reverse("certification:round", args=[rnd.pk])).content.decode()
    total = Candidate.objects.filter(round=rnd).count()
    assert total > 0
    assert re.search(rf'data-testid="count-all">{total}<', page)
    assert page.count('data-testid="candidate-row"') == total
    assert 'data-testid="evaluation-done"' in page
    # the progress partial asks htmx to reload the page once the evaluation is done
    progress = national.get(reverse("certification:round_progress", args=[rnd.pk]), HTTP_HX_REQUEST="true")
    assert progress["HX-Refresh"] == "true"


def test_a_rerun_is_shown_as_running_until_the_worker_is_done(
    national: Client, second_round: Callable[..., Round]
) -> None:
    rnd = second_round(Stage.PATENT)
    Round.objects.filter(pk=rnd.pk).update(evaluation_requested_at=rnd.evaluated_at + dt.timedelta(seconds=1))
    page = national.get(reverse("certification:round", args=[rnd.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in page
    progress = national.get(reverse("certification:round_progress", args=[rnd.pk]), HTTP_HX_REQUEST="true")
    assert "HX-Refresh" not in progress


def test_stage_actions_walk_the_round_and_refuse_with_a_message(
    national: Client, users: dict[str, User], second_round: Callable[..., Round]
) -> None:
    rnd = second_round(Stage.PATENT)
    url = lambda action: reverse("certification:round_action", args=[rnd.pk, action])  # noqa: E731

    # a due date in the past: 400, the message on the page, the stage unchanged
    yesterday = workflow.china_today() - dt.timedelta(days=1)
    response = national.post(url("request-information"), {"info_due": yesterday.isoformat()})
    assert response.status_code == 400
    assert "补充材料截止日不能早于今天" in response.content.decode()
    assert Round.objects.get(pk=rnd.pk).stage == Stage.PATENT

    due = workflow.china_today() + dt.timedelta(days=7)
    assert national.post(url("request-information"), {"info_due": due.isoformat()}).status_code == 302
    rnd.refresh_from_db()
    assert rnd.stage == Stage.INFO and rnd.info_due == due

    # the wrong stage's action is refused
    response = national.post(url("finalize"))
    assert response.status_code == 400 and "不能执行该操作" in response.content.decode()

    for candidate in rnd.candidates.filter(status=CandidateStatus.INFO_REQUESTED).select_related("version"):
        rounds.information_submit(candidate_id=candidate.pk, user=filer_of(candidate.version), data=INFO)
    early = national.post(url("start-industry"))  # information still due: refused without confirm and reason
    assert early.status_code == 400 and "尚未届满" in early.content.decode()
    reason = {"confirm": "1", "reason": "全部企业已提交补充材料，提前开始。"}
    assert national.post(url("start-industry"), reason).status_code == 302
    rnd.refresh_from_db()
    assert rnd.stage == Stage.INDUSTRY

    # unscored assignments block the publicity
    response = national.post(url("start-publicity"), {"days": 5})
    assert response.status_code == 400 and "专家评分未完成" in response.content.decode()
    for expert in User.objects.filter(assignments__candidate__round=rnd).distinct():
        for assignment in expert.assignments.filter(candidate__round=rnd):
            industry.score_submit(
                assignment_id=assignment.pk, user=expert, scores=SCORES, comments="专利支撑作用明显。"
            )
    response = national.post(url("start-publicity"), {"days": "0"})
    assert response.status_code == 400
    assert national.post(url("start-publicity"), {"days": 5}).status_code == 302
    rnd.refresh_from_db()
    assert rnd.stage == Stage.PUBLICITY

    # finalising while the publicity runs is refused
    response = national.post(url("finalize"))
    assert response.status_code == 400 and "公示期至" in response.content.decode()
    assert Round.objects.get(pk=rnd.pk).stage == Stage.PUBLICITY


def test_an_objection_is_decided_on_its_page_with_the_input_kept_on_error(
    national: Client, second_round: Callable[..., Round]
) -> None:
    rnd = second_round(Stage.PUBLICITY, objections=1)
    objection = Objection.objects.get(candidate__round=rnd)
    url = reverse("certification:objection_decide", args=[objection.pk])
    page = national.get(url).content.decode()
    assert objection.reasons in page and objection.contact in page

    response = national.post(url, {"uphold": "0", "decision": ""})
    assert response.status_code == 400
    assert Objection.objects.get(pk=objection.pk).status == ObjectionStatus.PENDING

    round_page = reverse("certification:round", args=[rnd.pk])
    response = national.post(url, {"uphold": "0", "decision": "经核实专利有效，异议不成立。", "next": round_page})
    assert response.status_code == 302 and response["Location"] == round_page
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.DISMISSED and objection.decision.startswith("经核实")
    # a foreign address in `next` is ignored
    other = Objection.objects.create(candidate=objection.candidate, name="甲", contact="1", reasons="理由" * 6)
    response = national.post(
        reverse("certification:objection_decide", args=[other.pk]),
        {"uphold": "1", "decision": "成立。", "next": "https://evil.example.com/"},
    )
    assert response["Location"] == reverse("certification:round", args=[rnd.pk])
    assert Candidate.objects.get(pk=objection.candidate_id).status == CandidateStatus.OBJECTION_UPHELD


def test_the_round_export_has_every_candidate_with_every_indicator(
    national: Client, second_round: Callable[..., Round]
) -> None:
    rnd = second_round(Stage.PATENT)
    response = national.get(reverse("certification:round_export", args=[rnd.pk]))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    indicators = list(rnd.method.indicators.all())
    assert len(body) == rnd.candidates.count()
    assert len(header) == 9 + 2 * len(indicators) + 4
    # every row names the rule that produced it: the standard and the round's method version
    assert header[-2:] == ("评价依据（标准）", "评价方法版本")
    assert {row[-2:] for row in body} == {("T/PPAC 402-2022", rnd.method.code)}
    first = indicators[0]
    column = header.index(f"{first.code} {first.name}")
    stored = {
        (r.candidate.version.name, str(r.value) if r.value is not None else None)
        for r in IndicatorResult.objects.filter(candidate__round=rnd, indicator=first).select_related(
            "candidate__version"
        )
    }
    exported = {(row[0], None if row[column] in (None, "") else str(row[column])) for row in body}
    assert {name for name, _ in exported} == {name for name, _ in stored}
    assert AuditEvent.objects.filter(action="export", message="round export").exists()


def test_an_expert_is_added_invited_and_withdrawn(
    national: Client, users: dict[str, User], django_capture_on_commit_callbacks: Callable
) -> None:
    cls = ProductClass.objects.filter(is_active=True).first()
    data = {
        "email": "expert1@example.cn",
        "full_name": "李专家",
        "organisation": "中国科学院",
        "province_code": "110000",
        "classes": [cls.pk],
    }
    response = national.post(reverse("certification:expert_new"), data)
    assert response.status_code == 400
    assert "已被平台上的其他账号使用" in response.content.decode()
    assert 'value="中国科学院"' in response.content.decode()

    data["email"] = "new.expert@example.cn"
    with django_capture_on_commit_callbacks(execute=True):
        response = national.post(reverse("certification:expert_new"), data)
    assert response.status_code == 302
    expert = User.objects.get(email="new.expert@example.cn")
    assert expert.role == Role.EXPERT and not expert.has_usable_password()
    assert expert.expert_profile.organisation == "中国科学院"
    assert list(expert.expert_profile.classes.all()) == [cls]
    assert [m.to for m in mail.outbox] == [["new.expert@example.cn"]]
    assert "/accounts/activate/" in mail.outbox[0].body

    page = national.get(reverse("certification:experts")).content.decode()
    assert "李专家" in page and "中国科学院" in page
    response = national.post(reverse("certification:expert_active", args=[expert.expert_profile.pk]), {"active": "0"})
    assert response.status_code == 302
    assert not ExpertProfile.objects.get(user=expert).is_active
