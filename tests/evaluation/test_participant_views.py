"""Participants' certification pages: the candidate's result and why, the filer's information form,
the enterprise's candidacies and self-assessment, the port's regional results and export, the expert's
tasks and scoring form. Each page per role: in scope 200, out of scope 404; who sees whom."""

import datetime as dt
import io
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from evaluation import methods
from evaluation.choices import CandidateStatus, Stage
from evaluation.models import AdditionalInfo, Assignment, Candidate, Indicator, MethodVersion, Round
from filings import workflow
from filings.models import ProductClass, ProductVersion
from patent_platform.choices import Role
from patent_platform.models import User
from tests.evaluation.conftest import INFO, SCORES

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PDF_WITH_JS = PDF.replace(b"/Type /Catalog", b"/Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >>")
# the demo panel of 广州云帆's robot (evaluation/demo.py: three disjoint panels of three)
EXPERT_NAMES = ("李文博", "周海燕", "吴志刚")
EXPERT_ORGS = ("武汉大学", "四川大学", "西安交通大学")
OBJECTOR = ("某竞争企业", "010-12345678", "核心专利已被宣告无效")


def candidate_of(product_name: str, round_: Round | None = None) -> Candidate:
    qs = Candidate.objects.filter(version__name=product_name)
    if round_ is not None:
        qs = qs.filter(round=round_)
    return qs.get()


def get(client: Any, user: User, url: str, **params: Any) -> Any:
    client.force_login(user)
    return client.get(url, params)


def text(response: Any) -> str:
    return response.content.decode()


def attr_values(response: Any, name: str, attr: str) -> list[str]:
    """The `data-<attr>` values of the elements with data-testid=name, in page order."""
    return re.findall(rf'data-testid="{name}"[^>]*?data-{attr}="([^"]*)"', text(response))


@pytest.fixture
def robot() -> Candidate:
    """The demo's certified candidate of 广州云帆 (广东省 · 广州市)."""
    return candidate_of("智能巡检机器人")


@pytest.fixture
def outsider_expert(make_user: Callable[..., User]) -> User:
    return make_user("expert-x@example.cn", Role.EXPERT)


# --------------------------------------------------------------------------------------------- candidate page


@pytest.mark.parametrize("who", ["national", "reviewer", "guangdong", "ent-gz", "expert5"])
def test_candidate_page_in_scope_explains_the_result(client: Any, users: dict, robot: Candidate, who: str) -> None:
    response = get(client, users[who], reverse("certification:candidate", args=[robot.pk]))
    assert response.status_code == 200
    body = text(response)
    method = robot.round.method
    assert method.code in body and method.statement.splitlines()[0] in body
    bset = robot.benchmark_set
    assert f"{bset.data_year} 年度 · 第 {bset.number} 版" in body
    # one row per indicator, with its formula text, and pass/fail as stored
    codes = attr_values(response, "result-row", "code")
    indicators = list(method.indicators.all())
    assert sorted(codes) == sorted(i.code for i in indicators)
    assert all(i.formula_text in body for i in indicators)
    stored = {r.indicator.code: r.passed for r in robot.results.select_related("indicator")}
    shown = dict(re.findall(r'data-testid="result-row" data-code="([^"]+)" data-passed="([01])"', body))
    assert shown == {code: "1" if ok else "0" for code, ok in stored.items()}
    assert f"合计达标 {robot.passed_total} 项" in body and "结论：通过专利性评价" in body
    assert robot.certificate_number in body
    assert reverse("certification:certificate", args=[robot.pk]) in body
    assert "合成得分" in body and str(robot.expert_score) in body


@pytest.mark.parametrize("who", ["ent-sz", "zhejiang", "shenzhen"])
def test_candidate_page_out_of_scope_is_404(client: Any, users: dict, robot: Candidate, who: str) -> None:
    assert get(client, users[who], reverse("certification:candidate", args=[robot.pk])).status_code == 404


def test_candidate_page_unassigned_expert_and_missing_are_404(
    client: Any, users: dict, robot: Candidate, outsider_expert: User
) -> None:
    assert get(client, outsider_expert, reverse("certification:candidate", args=[robot.pk])).status_code == 404
    assert get(client, users["national"], reverse("certification:candidate", args=[99999])).status_code == 404


def test_filer_and_port_see_scores_as_numbered_experts_never_their_names(
    client: Any, users: dict, robot: Candidate
) -> None:
    for who in ("ent-gz", "guangdong"):
        response = get(client, users[who], reverse("certification:candidate", args=[robot.pk]))
        body = text(response)
        assert body.count('data-testid="score-row"') == 3
        assert "专家 1" in body and "专家 2" in body and "专家 3" in body
        totals = sorted(str(a.total) for a in robot.assignments.all())
        assert all(t in body for t in totals)
        assert not any(name in body for name in EXPERT_NAMES), who
        assert not any(org in body for org in EXPERT_ORGS), who


def test_national_sees_each_expert_with_scores_and_comments(client: Any, users: dict, robot: Candidate) -> None:
    body = text(get(client, users["national"], reverse("certification:candidate", args=[robot.pk])))
    assert all(name in body for name in EXPERT_NAMES)
    assert all(org in body for org in EXPERT_ORGS)
    assert body.count('data-testid="score-comments"') == 3


def test_expert_sees_only_their_own_score(client: Any, users: dict, robot: Candidate) -> None:
    body = text(get(client, users["expert5"], reverse("certification:candidate", args=[robot.pk])))
    own = robot.assignments.get(expert=users["expert5"])
    table = body[
        body.index('data-testid="scores-table"') : body.index("</table>", body.index('data-testid="scores-table"'))
    ]
    assert table.count('data-testid="score-row"') == 1
    assert "我的评分" in table and str(own.technology) in table
    others = robot.assignments.exclude(expert=users["expert5"])
    assert not any(str(a.technology) in table for a in others)  # the demo's experts gave 26, 24 and 27
    assert not any(name in body for name in EXPERT_NAMES[1:])  # the others (their own name is in the menu)


def test_scores_stay_hidden_from_the_filer_while_experts_are_scoring(
    client: Any, users: dict, second_round: Callable[..., Round]
) -> None:
    rnd = second_round(Stage.INDUSTRY)
    chip = candidate_of("电源管理芯片", rnd)
    body = text(get(client, users["ent-sz"], reverse("certification:candidate", args=[chip.pk])))
    assert 'data-testid="scores-pending"' in body and 'data-testid="score-row"' not in body


def test_objections_port_sees_count_and_decision_never_the_objector(
    client: Any, users: dict, second_round: Callable[..., Round]
) -> None:
    rnd = second_round(Stage.PUBLICITY, objections=1)
    chip = candidate_of("电源管理芯片", rnd)
    url = reverse("certification:candidate", args=[chip.pk])
    for who in ("guangdong", "ent-sz"):
        body = text(get(client, users[who], url))
        assert "收到异议 1 项" in body and "待处理" in body
        assert not any(part in body for part in OBJECTOR), who
        assert 'data-testid="decide-form"' not in body
    # the national office sees who objected, why, and decides on the page
    response = get(client, users["national"], url)
    body = text(response)
    assert all(part in body for part in OBJECTOR)
    objection = chip.objections.get()
    assert f'action="{reverse("certification:objection_decide", args=[objection.pk])}"' in body
    assert 'name="uphold" value="1"' in body and 'name="uphold" value="0"' in body
    assert f'name="next" value="{url}"' in body


def test_decided_objection_shows_the_decision_to_the_port(
    client: Any, users: dict, second_round: Callable[..., Round]
) -> None:
    rnd = second_round(Stage.FINAL, objections=1)
    chip = candidate_of("电源管理芯片", rnd)
    body = text(get(client, users["shenzhen"], reverse("certification:candidate", args=[chip.pk])))
    assert "异议不成立" in body and "经核实，该专利仍有效" in body
    assert not any(part in body for part in OBJECTOR)
    assert chip.certificate_number and chip.certificate_number in body


# --------------------------------------------------------------------------------------------- information form


@pytest.fixture
def info_round(second_round: Callable[..., Round]) -> Candidate:
    """The second round in its information stage, the chip's filer not having answered yet."""
    rnd = second_round(Stage.INFO)
    chip = candidate_of("电源管理芯片", rnd)
    AdditionalInfo.objects.filter(candidate=chip).delete()
    Candidate.objects.filter(pk=chip.pk).update(status=CandidateStatus.INFO_REQUESTED)
    return Candidate.objects.select_related("round").get(pk=chip.pk)


def test_info_form_shows_due_date_and_is_scoped(
    client: Any, users: dict, info_round: Candidate, robot: Candidate
) -> None:
    url = reverse("certification:candidate_info", args=[info_round.pk])
    response = get(client, users["ent-sz"], url)
    assert response.status_code == 200
    assert f"截止日期：{info_round.round.info_due.isoformat()}" in text(response)
    assert 'data-testid="info-form"' in text(response)
    # the result page and the list point to it, with the date
    body = text(get(client, users["ent-sz"], reverse("certification:candidate", args=[info_round.pk])))
    assert url in body and info_round.round.info_due.isoformat() in body
    for who in ("ent-gz", "guangdong", "national", "expert1"):
        assert get(client, users[who], url).status_code == 404, who


def test_info_form_errors_keep_the_input(client: Any, users: dict, info_round: Candidate) -> None:
    client.force_login(users["ent-sz"])
    url = reverse("certification:candidate_info", args=[info_round.pk])
    response = client.post(url, {"market_position": "", "technology": "领先的技术说明", "patent_use": "专利组合"})
    assert response.status_code == 400
    body = text(response)
    assert 'data-testid="error-market_position"' in body
    assert "领先的技术说明" in body and "专利组合" in body
    assert not AdditionalInfo.objects.filter(candidate=info_round).exists()


def test_info_form_refuses_a_pdf_with_javascript(client: Any, users: dict, info_round: Candidate) -> None:
    client.force_login(users["ent-sz"])
    data = {**INFO, "attachment": SimpleUploadedFile("proof.pdf", PDF_WITH_JS, content_type="application/pdf")}
    response = client.post(reverse("certification:candidate_info", args=[info_round.pk]), data)
    assert response.status_code == 400
    body = text(response)
    assert 'data-testid="error-attachment"' in body and "含有脚本或嵌入文件" in body
    assert INFO["technology"] in body
    assert not AdditionalInfo.objects.filter(candidate=info_round).exists()


def test_info_form_success_with_attachment(
    client: Any, users: dict, info_round: Candidate, media_root: str, settings: Any
) -> None:
    settings.MEDIA_ROOT = media_root
    client.force_login(users["ent-sz"])
    data = {**INFO, "attachment": SimpleUploadedFile("proof.pdf", PDF, content_type="application/pdf")}
    response = client.post(reverse("certification:candidate_info", args=[info_round.pk]), data)
    assert response.status_code == 302
    assert response["Location"] == reverse("certification:candidate", args=[info_round.pk])
    info = AdditionalInfo.objects.get(candidate=info_round)
    assert info.market_position == INFO["market_position"] and info.attachment
    with info.attachment.open("rb") as f:
        assert f.read() == PDF
    info_round.refresh_from_db()
    assert info_round.status == CandidateStatus.INFO_SUBMITTED
    # answering again without a new file keeps the attachment, the form shows the saved text
    page = text(client.get(reverse("certification:candidate_info", args=[info_round.pk])))
    assert INFO["patent_use"] in page and 'data-testid="current-attachment"' in page
    client.post(reverse("certification:candidate_info", args=[info_round.pk]), {**INFO, "technology": "更新后的说明"})
    info.refresh_from_db()
    assert info.technology == "更新后的说明" and info.attachment


def test_info_form_after_the_due_date_says_so(client: Any, users: dict, info_round: Candidate) -> None:
    yesterday = workflow.china_today() - dt.timedelta(days=1)
    Round.objects.filter(pk=info_round.round_id).update(info_due=yesterday)
    client.force_login(users["ent-sz"])
    url = reverse("certification:candidate_info", args=[info_round.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert f"补充材料已于 {yesterday.isoformat()} 截止" in text(response)
    assert 'data-testid="info-form"' not in text(response)
    response = client.post(url, INFO)
    assert response.status_code == 400 and f"已于 {yesterday.isoformat()} 截止" in text(response)
    assert not AdditionalInfo.objects.filter(candidate=info_round).exists()


def test_info_form_of_a_finished_round_is_closed(client: Any, users: dict, robot: Candidate) -> None:
    response = get(client, users["ent-gz"], reverse("certification:candidate_info", args=[robot.pk]))
    assert response.status_code == 200
    assert 'data-testid="info-closed"' in text(response) and 'data-testid="info-form"' not in text(response)


# --------------------------------------------------------------------------------------------- mine


def test_mine_lists_candidacies_and_opted_in_products_not_yet_in_a_round(client: Any, users: dict) -> None:
    filer = users["ent-sz"]
    url = reverse("certification:mine")
    response = get(client, filer, url)
    assert response.status_code == 200
    mcu = candidate_of("车规级微控制器")
    assert attr_values(response, "mine-row", "candidate") == [str(mcu.pk)]
    assert reverse("certification:certificate", args=[mcu.pk]) in text(response)
    assert 'data-testid="waiting-empty"' in text(response)
    chip = ProductVersion.objects.filter(name="电源管理芯片").latest("data_year")  # its published version
    workflow.version_set_certification_opt_in(version=chip, user=filer, opt_in=True)
    response = client.get(url)
    assert attr_values(response, "waiting-row", "version") == [str(chip.pk)]
    assert reverse("certification:self_check", args=[chip.pk]) in text(response)


def test_mine_shows_what_to_do_next(client: Any, users: dict, info_round: Candidate) -> None:
    response = get(client, users["ent-sz"], reverse("certification:mine"))
    assert str(info_round.pk) in attr_values(response, "mine-row", "candidate")
    body = text(response)
    assert reverse("certification:candidate_info", args=[info_round.pk]) in body
    assert f"截止 {info_round.round.info_due.isoformat()}" in body


def test_mine_empty_state_and_roles(client: Any, users: dict, make_user: Callable[..., User]) -> None:
    response = get(client, make_user("no-unit@example.cn", Role.ENTERPRISE), reverse("certification:mine"))
    assert response.status_code == 200 and 'data-testid="mine-empty"' in text(response)
    for who in ("national", "guangdong", "expert1"):
        assert get(client, users[who], reverse("certification:mine")).status_code == 404


# --------------------------------------------------------------------------------------------- self-check


def _outcome(response: Any) -> str:
    return re.search(r'data-testid="outcome" data-passed="([01])"', text(response)).group(1)


def test_self_check_of_a_draft_against_hand_checked_benchmarks(client: Any, users: dict) -> None:
    """视觉引导分拣系统 (draft, class 03): against the demo's fixed set it meets P1 P2 P3 D1 D2 E2 — six in
    total, enough for the total of 5, but none of the two 专利价值贡献 indicators: it fails (k = 1 per trait)."""
    draft = ProductVersion.objects.get(name="视觉引导分拣系统")
    url = reverse("certification:self_check", args=[draft.pk])
    response = get(client, users["ent-gz"], url)
    assert response.status_code == 200
    assert _outcome(response) == "0"
    assert re.findall(r'<li data-code="([^"]+)"', text(response)) == ["V1", "V2", "E1", "E3"]
    assert "合计达标 6 项" in text(response)
    assert re.search(r'data-testid="trait-count-value">\s*达标 0 项', text(response))
    # a revised benchmark set (v2) with V1 = 40 and V2 = 240: the draft's own values now meet both
    national = users["national"]
    method = MethodVersion.active()
    bset = methods.benchmark_set_create(
        method=method, product_class=draft.product_class, data_year=draft.data_year, user=national
    )
    ids = {i.code: i.pk for i in Indicator.objects.filter(method=method, code__in=["V1", "V2"])}
    methods.benchmark_set_update_values(
        bset=bset, user=national, values={ids["V1"]: Decimal(40), ids["V2"]: Decimal(240)}
    )
    methods.benchmark_set_fix(bset=bset, user=national)
    response = client.get(url)
    assert _outcome(response) == "1"
    assert "合计达标 8 项" in text(response) and "第 2 版" in text(response)
    assert re.findall(r'<li data-code="([^"]+)"', text(response)) == ["E1", "E3"]


def test_self_check_without_a_fixed_benchmark_says_so(client: Any, users: dict) -> None:
    draft = ProductVersion.objects.get(name="视觉引导分拣系统")
    unbenched = ProductClass.objects.filter(benchmark_sets__isnull=True).first()
    ProductVersion.objects.filter(pk=draft.pk).update(product_class=unbenched)
    response = get(client, users["ent-gz"], reverse("certification:self_check", args=[draft.pk]))
    assert response.status_code == 200
    body = text(response)
    assert 'data-testid="no-benchmark"' in body and "尚无已确定的基准值" in body
    assert 'data-testid="outcome"' not in body


def test_self_check_scope_and_link_from_the_version_page(client: Any, users: dict) -> None:
    draft = ProductVersion.objects.get(name="视觉引导分拣系统")
    url = reverse("certification:self_check", args=[draft.pk])
    for who in ("ent-sz", "guangdong", "national", "expert1"):
        assert get(client, users[who], url).status_code == 404, who
    page = text(get(client, users["ent-gz"], reverse("enterprise:version", args=[draft.pk])))
    assert f'href="{url}"' in page
    approved = ProductVersion.objects.get(name="智能巡检机器人")
    page = text(client.get(reverse("enterprise:version", args=[approved.pk])))
    assert reverse("certification:self_check", args=[approved.pk]) in page
    assert reverse("certification:candidate", args=[candidate_of("智能巡检机器人").pk]) in page


# --------------------------------------------------------------------------------------------- region


def _region_rows(response: Any) -> list[int]:
    return [int(pk) for pk in attr_values(response, "region-row", "candidate")]


def test_region_lists_the_ports_candidates(client: Any, users: dict, second_round: Callable[..., Round]) -> None:
    rnd = second_round(Stage.PATENT)
    url = reverse("certification:region")
    gd = _region_rows(get(client, users["guangdong"], url))
    assert set(gd) == set(Candidate.objects.filter(province_code="440000").values_list("pk", flat=True))
    sz = _region_rows(get(client, users["shenzhen"], url))
    assert set(sz) == set(Candidate.objects.filter(city_code="440300").values_list("pk", flat=True)) and sz
    assert not set(sz) & set(Candidate.objects.filter(city_code="440100").values_list("pk", flat=True))
    everything = _region_rows(get(client, users["national"], url))
    assert set(everything) == set(Candidate.objects.values_list("pk", flat=True))
    # filters and counts by status
    response = client.get(url, {"round": rnd.pk, "status": CandidateStatus.PATENT_FAILED})
    assert set(_region_rows(response)) == set(
        rnd.candidates.filter(status=CandidateStatus.PATENT_FAILED).values_list("pk", flat=True)
    )
    body = text(response)
    n_passed = rnd.candidates.filter(status=CandidateStatus.PATENT_PASSED).count()
    assert re.search(rf'data-testid="count-patent_passed">通过专利性评价 {n_passed}<', body)
    assert re.search(rf'data-testid="count-all">{rnd.candidates.count()}<', body)
    materials = ProductClass.objects.get(code="04")
    assert set(_region_rows(client.get(url, {"product_class": materials.pk}))) == set(
        Candidate.objects.filter(product_class=materials).values_list("pk", flat=True)
    )
    for who in ("ent-gz", "expert1", "reviewer"):
        assert get(client, users[who], url).status_code == 404, who


def test_region_export_equals_the_page_rows(client: Any, users: dict, second_round: Callable[..., Round]) -> None:
    rnd = second_round(Stage.PATENT)
    params = {"round": rnd.pk}
    page = get(client, users["guangdong"], reverse("certification:region"), **params)
    rows = _region_rows(page)
    assert rows
    response = client.get(reverse("certification:region_export"), params)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    lines = list(sheet.iter_rows(values_only=True))
    assert lines[0][:3] == ("认定批次", "数据年度", "产品名称")
    expected = [Candidate.objects.select_related("version", "unit").get(pk=pk) for pk in rows]
    assert [(line[2], line[3], line[6]) for line in lines[1:]] == [
        (c.version.name, c.unit.name, c.get_status_display()) for c in expected
    ]
    assert get(client, users["ent-gz"], reverse("certification:region_export")).status_code == 404


# --------------------------------------------------------------------------------------------- experts


def test_expert_home_groups_assignments_by_round(
    client: Any, users: dict, second_round: Callable[..., Round], outsider_expert: User
) -> None:
    rnd = second_round(Stage.INDUSTRY)
    expert = users["expert1"]
    response = get(client, expert, reverse("certification:expert_home"))
    assert response.status_code == 200
    body = text(response)
    assert body.count('data-testid="round-group"') == 2
    shown = [int(pk) for pk in attr_values(response, "assignment-row", "assignment")]
    assert sorted(shown) == sorted(expert.assignments.values_list("pk", flat=True))
    todo = expert.assignments.filter(candidate__round=rnd, scored_at__isnull=True).count()
    assert todo and f"有 {todo} 个产品待评分" in body
    empty = get(client, outsider_expert, reverse("certification:expert_home"))
    assert 'data-testid="expert-empty"' in text(empty)
    for who in ("ent-gz", "national", "guangdong"):
        assert get(client, users[who], reverse("certification:expert_home")).status_code == 404


@pytest.fixture
def scoring(second_round: Callable[..., Round], users: dict) -> Assignment:
    rnd = second_round(Stage.INDUSTRY)
    return Assignment.objects.get(
        candidate__round=rnd, candidate__version__name="电源管理芯片", expert=users["expert1"]
    )


def test_scoring_form_shows_the_product_and_is_scoped(
    client: Any, users: dict, scoring: Assignment, outsider_expert: User
) -> None:
    url = reverse("certification:assignment", args=[scoring.pk])
    response = get(client, users["expert1"], url)
    assert response.status_code == 200
    body = text(response)
    assert 'data-testid="score-form"' in body
    assert "技术先进性（满分 30 分）" in body and "经济与社会效益（满分 15 分）" in body
    assert body.count('data-testid="result-row"') == scoring.candidate.results.count()
    assert INFO["market_position"] in body
    for user in (outsider_expert, users["ent-sz"], users["national"]):
        assert get(client, user, url).status_code == 404
    other = Assignment.objects.filter(candidate=scoring.candidate).exclude(expert=users["expert1"]).first()
    assert get(client, users["expert1"], reverse("certification:assignment", args=[other.pk])).status_code == 404


def test_scoring_form_bounds_keep_the_input(client: Any, users: dict, scoring: Assignment) -> None:
    client.force_login(users["expert1"])
    url = reverse("certification:assignment", args=[scoring.pk])
    data = {"technology": "31", "market": "-1", "patent": "abc", "benefit": "12.345", "comments": "意见保留在表单中"}
    response = client.post(url, data)
    assert response.status_code == 400
    body = text(response)
    for name in ("technology", "market", "patent", "benefit"):
        assert f'data-testid="error-{name}"' in body, name
    assert "分数须在 0–30 之间" in body and "最多两位小数" in body
    assert 'value="31"' in body and "意见保留在表单中" in body
    response = client.post(url, {**SCORES, "comments": ""})
    assert response.status_code == 400 and 'data-testid="error-comments"' in text(response)
    scoring.refresh_from_db()
    assert scoring.scored_at is None and scoring.total is None


def test_scoring_form_success(client: Any, users: dict, scoring: Assignment) -> None:
    client.force_login(users["expert1"])
    data = {"technology": "28.5", "market": "25", "patent": "20", "benefit": "10", "comments": "技术领先。"}
    response = client.post(reverse("certification:assignment", args=[scoring.pk]), data)
    assert response.status_code == 302 and response["Location"] == reverse("certification:expert_home")
    scoring.refresh_from_db()
    assert scoring.total == Decimal("83.5") and scoring.comments == "技术领先。" and scoring.scored_at
    page = text(client.get(reverse("certification:assignment", args=[scoring.pk])))
    assert 'value="28.50"' in page or 'value="28.5"' in page


def test_scoring_is_read_only_after_the_industry_stage(client: Any, users: dict, robot: Candidate) -> None:
    expert = users["expert5"]
    assignment = robot.assignments.get(expert=expert)
    url = reverse("certification:assignment", args=[assignment.pk])
    response = get(client, expert, url)
    assert response.status_code == 200
    body = text(response)
    assert 'data-testid="scoring-closed"' in body and 'data-testid="score-form"' not in body
    assert str(assignment.total) in body
    response = client.post(url, {**SCORES, "comments": "改分"}, follow=True)
    assert "评分不能再修改" in text(response)
    assignment.refresh_from_db()
    assert assignment.comments != "改分"
