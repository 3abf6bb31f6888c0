"""Standards as data (issue 18, part 1): a method version names its standard, edition and clauses; an
incomplete version is refused for activation, for a round and for a what-if, and the page says exactly what
is missing; the GB/T 46961-2025 skeleton ships without invented values; every result shows its rule."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from evaluation import methods, rounds
from evaluation.choices import MethodStatus, Standard, Trait
from evaluation.defaults import CODE, GBT_CODE
from evaluation.models import Candidate, MethodVersion, Round
from patent_platform.choices import Role
from patent_platform.models import User
from tests.evaluation.test_api import api

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def national(make_user: Callable[..., User]) -> User:
    return make_user("std-national@example.cn", Role.NATIONAL_ADMIN)


def skeleton() -> MethodVersion:
    return MethodVersion.objects.get(code=GBT_CODE)


@pytest.mark.embedded
def test_the_platform_ships_t_ppac_402_as_today_and_a_gbt_46961_skeleton_without_values(reference: None) -> None:
    ppac = MethodVersion.objects.get(code=CODE)
    assert (ppac.standard, ppac.edition, ppac.status) == (Standard.PPAC_402_2022, "2022", MethodStatus.ACTIVE)
    assert ppac.indicators.count() == 10 and methods.gaps(ppac) == []
    # the group standard's text gives no clause numbers: none invented
    assert set(ppac.indicators.values_list("clause", flat=True)) == {""}

    gbt = skeleton()
    assert (gbt.standard, gbt.edition, gbt.status, gbt.clauses_required) == (
        Standard.GBT_46961_2025,
        "2025",
        MethodStatus.DRAFT,
        True,
    )
    assert gbt.indicators.count() == 0
    assert (gbt.min_passed_per_trait, gbt.min_passed_total, gbt.expert_pass_score, gbt.score_rule) == (
        None,
        None,
        None,
        "",
    )
    assert "有偿出版" in gbt.statement and "2025-12-31" in gbt.statement
    assert methods.gaps(gbt) == [
        "还没有任何指标：请依据标准原文逐项录入指标。",
        "未填写达标规则：每个特征至少达标指标数。",
        "未填写达标规则：合计至少达标指标数。",
        "未填写达标规则：产业性评价通过分数。",
        "未选择专家评分合成规则。",
    ]


@pytest.mark.embedded
def test_an_incomplete_method_is_refused_and_a_completed_one_is_accepted(national: User) -> None:
    gbt = skeleton()
    with pytest.raises(ValidationError) as refused:
        methods.method_activate(method=gbt, user=national)
    assert "还没有任何指标：请依据标准原文逐项录入指标。" in refused.value.messages
    assert skeleton().status == MethodStatus.DRAFT

    # the office enters the standard (values of this test, not of the standard)
    gbt = methods.method_update(
        method=gbt,
        user=national,
        data={"min_passed_per_trait": 1, "min_passed_total": 3, "score_rule": "mean", "expert_pass_score": 60},
    )
    formulas = {
        Trait.PROTECTION: "valid_invention_patents",
        Trait.VALUE: "total_contribution",
        Trait.DEPENDENCE: "invention_share",
    }
    for i, (trait, formula) in enumerate(formulas.items(), start=1):
        methods.indicator_save(
            method=gbt,
            user=national,
            data={
                "code": f"G{i}",
                "name": f"测试指标{i}",
                "trait": trait,
                "unit": "",
                "formula": formula,
                "clause": f"5.{i}",
            },
        )
    # an indicator without a formula nor a clause, and a trait without an indicator: each named
    methods.indicator_save(
        method=gbt,
        user=national,
        data={"code": "G4", "name": "测试指标4", "trait": Trait.PROTECTION, "formula": "", "clause": ""},
    )
    assert methods.gaps(gbt) == [
        "指标 G4 测试指标4：未选择计算公式。",
        "指标 G4 测试指标4：未填写所依据的标准条款。",
        "每个特征至少需要一项指标，缺少：经济效益",
    ]
    with pytest.raises(ValidationError):
        methods.method_activate(method=gbt, user=national)

    g4 = gbt.indicators.get(code="G4")
    methods.indicator_save(
        method=gbt,
        user=national,
        data={"code": "G4", "trait": Trait.BENEFIT, "formula": "sales", "clause": "5.4"},
        indicator=g4,
    )
    assert methods.gaps(gbt) == []
    assert methods.method_activate(method=gbt, user=national).status == MethodStatus.ACTIVE


@pytest.mark.embedded
def test_an_incomplete_method_cannot_run_a_round(national: User) -> None:
    gbt = skeleton()
    MethodVersion.objects.filter(status=MethodStatus.ACTIVE).update(status=MethodStatus.RETIRED)
    MethodVersion.objects.filter(pk=gbt.pk).update(status=MethodStatus.ACTIVE)  # as if entered before the rule
    gbt = skeleton()
    with pytest.raises(ValidationError) as refused:
        rounds.round_start(user=national, name="不该发起", data_year=2025, deadline=rounds.china_today(), method=gbt)
    assert refused.value.messages[0] == f"评价方法版本 {GBT_CODE} 不完整，不能用于认定批次："
    assert "还没有任何指标：请依据标准原文逐项录入指标。" in refused.value.messages
    assert not Round.objects.filter(name="不该发起").exists()


@pytest.mark.embedded
def test_another_standard_needs_its_number_and_edition(national: User) -> None:
    draft = methods.method_copy(method=MethodVersion.objects.get(code=CODE), user=national, code="OTHER-1", name="其他")
    draft = methods.method_update(
        method=draft, user=national, data={"standard": Standard.OTHER, "standard_other": "", "edition": ""}
    )
    assert methods.gaps(draft) == ["未填写所依据的其他标准的编号与名称。", "未填写标准版次。"]
    draft = methods.method_update(
        method=draft, user=national, data={"standard_other": "DB11/T 0000-2026 示例", "edition": "2026"}
    )
    assert methods.gaps(draft) == []
    assert draft.rule_label == "DB11/T 0000-2026 示例 · OTHER-1"


def test_the_method_pages_mark_the_skeleton_and_say_what_is_missing(national: User) -> None:
    client = Client()
    client.force_login(national)
    listing = client.get(reverse("certification:methods")).content.decode()
    assert 'data-testid="incomplete"' in listing and "GB/T 46961-2025" in listing
    page = client.get(reverse("certification:method", args=[skeleton().pk]))
    text = page.content.decode()
    assert 'data-testid="gaps"' in text and 'data-testid="gbt-skeleton"' in text
    assert "待国家局依据标准原文补全" in text
    for gap in methods.gaps(skeleton()):
        assert gap in text

    # the rule form of the draft takes the standard's fields and the office's entries
    answer = client.post(
        reverse("certification:method", args=[skeleton().pk]),
        {
            "name": skeleton().name,
            "statement": skeleton().statement,
            "standard": Standard.GBT_46961_2025,
            "standard_other": "",
            "edition": "2025",
            "clauses_required": "on",
            "min_passed_per_trait": "1",
            "min_passed_total": "",
            "default_percentile": "50",
            "score_rule": "",
            "expert_pass_score": "",
        },
    )
    assert answer.status_code == 302
    assert skeleton().min_passed_per_trait == 1 and skeleton().min_passed_total is None

    answer = client.post(
        reverse("certification:method_activate", args=[skeleton().pk]),
    )
    assert answer.status_code == 400
    assert "不能启用" in answer.content.decode() and "未填写达标规则：合计至少达标指标数。" in answer.content.decode()

    # the indicator form takes the clause and accepts an indicator whose formula is still to come
    answer = client.post(
        reverse("certification:indicator_new", args=[skeleton().pk]),
        {
            "code": "G1",
            "name": "待录入",
            "trait": "value",
            "unit": "",
            "formula": "",
            "clause": "6.1",
            "direction": "higher",
            "order": "1",
        },
    )
    assert answer.status_code == 302
    text = client.get(reverse("certification:method", args=[skeleton().pk])).content.decode()
    assert 'data-testid="formula-missing"' in text and "指标 G1 待录入：未选择计算公式。" in text


# --- which rule produced a verdict -----------------------------------------------------------------


def test_results_certificates_and_exports_name_the_method_version(client: Any, demo_users: dict[str, User]) -> None:
    candidate = Candidate.objects.visible_to(demo_users["ent-gz"]).select_related("round__method").first()
    assert candidate is not None
    code = candidate.round.method.code

    # the candidate's result page, for the filer
    client.force_login(demo_users["ent-gz"])
    page = client.get(reverse("certification:candidate", args=[candidate.pk])).content.decode()
    assert "T/PPAC 402-2022《企业专利密集型产品评价方法》" in page and code in page
    mine = client.get(reverse("certification:mine")).content.decode()
    assert f"T/PPAC 402-2022 · {code}" in mine

    # the port's list and its export
    client.force_login(demo_users["guangdong"])
    assert f"T/PPAC 402-2022 · {code}" in client.get(reverse("certification:region")).content.decode()
    sheet = load_workbook(io.BytesIO(client.get(reverse("certification:region_export")).content)).active
    lines = list(sheet.iter_rows(values_only=True))
    assert lines[0][-2:] == ("评价依据（标准）", "评价方法版本")
    assert len(lines) > 1 and {line[-2:] for line in lines[1:]} == {("T/PPAC 402-2022", code)}

    # the API's results
    answer = api(demo_users["national"]).get(f"/api/v1/evaluation/results/{candidate.pk}/")
    assert answer.status_code == 200, answer.content
    assert (answer.json()["method_code"], answer.json()["standard"]) == (code, "T/PPAC 402-2022")

    # the public verification page of a certificate and the public product page
    certified = Candidate.objects.filter(status="certified").select_related("round__method", "product").first()
    client.logout()
    verify = client.get(reverse("certified:verify", args=[certified.certificate_number])).content.decode()
    assert "T/PPAC 402-2022《企业专利密集型产品评价方法》" in verify and certified.round.method.code in verify
    listing = client.get(reverse("certified:list")).content.decode()
    assert certified.round.method.code in listing
    product = client.get(reverse("public:product", args=[certified.product.filing_number])).content.decode()
    assert 'data-testid="certificate-basis"' in product and "T/PPAC 402-2022" in product


@pytest.mark.embedded
def test_a_benchmark_set_of_a_draft_being_completed_leaves_an_indicator_without_formula_empty(national: User) -> None:
    from filings.models import ProductClass

    gbt = skeleton()
    methods.indicator_save(
        method=gbt,
        user=national,
        data={"code": "G1", "name": "公式待录入", "trait": Trait.VALUE, "formula": "", "clause": "6.1"},
    )
    methods.indicator_save(
        method=gbt,
        user=national,
        data={"code": "G2", "name": "销售额", "trait": Trait.BENEFIT, "formula": "sales", "clause": "6.2"},
    )
    bset = methods.benchmark_set_create(
        method=gbt, product_class=ProductClass.objects.order_by("code").first(), data_year=2024, user=national
    )
    assert {b.indicator.code: b.suggested for b in bset.values.select_related("indicator")}.get("G1") is None
