"""The national office's pages for method versions, indicators and benchmark sets.

Uses the demo (tests/conftest.py): an active method used by the finished demo round (so frozen) and
fixed benchmark sets of the demo's data year. Every change on these pages goes through
evaluation/methods.py; the tests check what a national administrator sees and what is stored.
"""

import json
import re
from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from evaluation import engine, methods
from evaluation.choices import BenchmarkStatus, MethodStatus, Trait
from evaluation.models import Benchmark, BenchmarkSet, Indicator, MethodVersion
from filings.models import ProductClass
from patent_platform.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def national(client: Client, demo_users: dict[str, User]) -> Client:
    client.force_login(demo_users["national"])
    return client


@pytest.fixture
def active() -> MethodVersion:
    return MethodVersion.objects.get(status=MethodStatus.ACTIVE)


@pytest.fixture
def fixed_set(demo: None) -> BenchmarkSet:
    return BenchmarkSet.objects.filter(status=BenchmarkStatus.FIXED).order_by("pk").first()


@pytest.fixture
def draft(active: MethodVersion, demo_users: dict[str, User]) -> MethodVersion:
    return methods.method_copy(method=active, user=demo_users["national"], code="TEST-2", name="测试草稿")


@pytest.fixture
def draft_set(fixed_set: BenchmarkSet, demo_users: dict[str, User]) -> BenchmarkSet:
    """A revision of a fixed demo set: a draft starting from the fixed values."""
    return methods.benchmark_set_create(
        method=fixed_set.method,
        product_class=fixed_set.product_class,
        data_year=fixed_set.data_year,
        user=demo_users["national"],
    )


def text(response: Any) -> str:
    return response.content.decode()


def json_script(response: Any, element_id: str) -> Any:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', text(response), re.S)
    assert match, f"no json_script {element_id}"
    return json.loads(match.group(1))


# --- who may open the pages -----------------------------------------------------------------------


def _urls(active: MethodVersion, bset: BenchmarkSet) -> list[tuple[str, str]]:
    ind = active.indicators.first()
    return [
        ("get", reverse("certification:methods")),
        ("get", reverse("certification:method", args=[active.pk])),
        ("get", reverse("certification:indicator_new", args=[active.pk])),
        ("get", reverse("certification:indicator_edit", args=[ind.pk])),
        ("get", reverse("certification:benchmarks")),
        ("get", reverse("certification:benchmark_set", args=[bset.pk])),
        ("get", reverse("certification:benchmark_export", args=[bset.pk])),
        ("post", reverse("certification:method_copy", args=[active.pk])),
        ("post", reverse("certification:method_activate", args=[active.pk])),
        ("post", reverse("certification:indicator_delete", args=[ind.pk])),
    ]


def test_national_administrators_open_every_page(
    national: Client, active: MethodVersion, fixed_set: BenchmarkSet
) -> None:
    for method, url in _urls(active, fixed_set):
        if method == "get":
            assert national.get(url).status_code == 200, url


@pytest.mark.parametrize("who", ["reviewer", "guangdong", "shenzhen", "ent-gz", "expert1"])
def test_every_other_role_gets_404(
    client: Client, demo_users: dict[str, User], active: MethodVersion, fixed_set: BenchmarkSet, who: str
) -> None:
    client.force_login(demo_users[who])
    count = active.indicators.count()
    for method, url in _urls(active, fixed_set):
        answer = getattr(client, method)(url, {"code": "X-1", "action": "fix"} if method == "post" else None)
        assert answer.status_code == 404, (who, url)
    assert active.indicators.count() == count
    assert MethodVersion.objects.count() == 2  # the default T/PPAC 402-2022 version and the GB/T 46961 skeleton


def test_anonymous_visitors_are_sent_to_the_login_page(
    client: Client, active: MethodVersion, fixed_set: BenchmarkSet
) -> None:
    for method, url in _urls(active, fixed_set):
        answer = getattr(client, method)(url)
        assert answer.status_code == 302, url
        assert answer.url.startswith(reverse("login")), url


# --- method versions -------------------------------------------------------------------------------


def test_method_list_shows_the_active_version_first_and_says_what_it_is(
    national: Client, active: MethodVersion, draft: MethodVersion
) -> None:
    page = text(national.get(reverse("certification:methods")))
    assert page.index(f'method-row-{active.pk}"') < page.index(f'method-row-{draft.pk}"')
    assert "T/PPAC 402-2022" in page and "平台对该标准的解读" in page
    assert "修改总是形成新的版本" in page
    assert "现行" in page and "草稿" in page
    # the demo round used the active version: one round, frozen
    row = page[page.index(f'method-row-{active.pk}"') : page.index(f'method-row-{draft.pk}"')]
    assert "已冻结" in row


def test_method_detail_groups_indicators_by_trait_with_their_formula(national: Client, active: MethodVersion) -> None:
    page = text(national.get(reverse("certification:method", args=[active.pk])))
    for trait in Trait.values:
        assert f'data-testid="trait-{trait}"' in page
    ind = active.indicators.get(code="P3")
    assert ind.formula_text in page
    assert "每个特征至少 1 项指标达到基准值" in page and "不少于 5 项（共 10 项）" in page
    assert "已冻结" in page  # used by the demo round
    assert 'data-testid="indicator-add"' not in page and 'data-testid="rule-form"' not in page


def test_indicators_are_added_edited_and_deleted_on_a_draft(national: Client, draft: MethodVersion) -> None:
    data = {
        "code": "E4",
        "name": "出口占比测试",
        "trait": Trait.BENEFIT,
        "unit": "万元",
        "formula": "exports",
        "direction": "higher",
        "order": "20",
    }
    answer = national.post(reverse("certification:indicator_new", args=[draft.pk]), data)
    assert answer.status_code == 302
    ind = draft.indicators.get(code="E4")
    assert ind.name == "出口占比测试" and ind.formula == "exports"

    # the same code again: a field error, the input kept
    answer = national.post(reverse("certification:indicator_new", args=[draft.pk]), {**data, "name": "重复"})
    assert answer.status_code == 400
    page = text(answer)
    assert "指标代码 E4 已存在" in page and 'value="重复"' in page
    assert draft.indicators.filter(code="E4").count() == 1

    answer = national.post(
        reverse("certification:indicator_edit", args=[ind.pk]),
        {**data, "name": "年度出口额（改）", "direction": "lower"},
    )
    assert answer.status_code == 302
    ind.refresh_from_db()
    assert ind.name == "年度出口额（改）" and ind.direction == "lower"

    page = text(national.get(reverse("certification:method", args=[draft.pk])))
    assert "年度出口额（改）" in page and f'data-testid="indicator-delete-{ind.code}"' in page
    answer = national.post(reverse("certification:indicator_delete", args=[ind.pk]), follow=True)
    assert "已删除指标 E4" in text(answer)
    assert not Indicator.objects.filter(pk=ind.pk).exists()


def test_the_active_frozen_version_refuses_edits_with_the_message_shown(
    national: Client, active: MethodVersion
) -> None:
    count = active.indicators.count()
    data = {"code": "X1", "name": "不该保存", "trait": "value", "unit": "", "formula": "sales", "direction": "higher"}
    answer = national.post(reverse("certification:indicator_new", args=[active.pk]), {**data, "order": "1"})
    assert answer.status_code == 400
    assert "请复制为新版本后修改" in text(answer) and 'value="不该保存"' in text(answer)
    assert active.indicators.count() == count

    ind = active.indicators.get(code="P1")
    answer = national.post(reverse("certification:indicator_delete", args=[ind.pk]), follow=True)
    assert "请复制为新版本后修改" in text(answer)
    assert Indicator.objects.filter(pk=ind.pk).exists()

    rule = {
        "name": active.name,
        "statement": "改过的说明",
        "min_passed_per_trait": "2",
        "min_passed_total": "6",
        "default_percentile": "40",
        "score_rule": "mean",
        "expert_pass_score": "60",
    }
    answer = national.post(reverse("certification:method", args=[active.pk]), rule)
    assert answer.status_code == 400 and "请复制为新版本后修改" in text(answer)
    active.refresh_from_db()
    assert active.min_passed_total == 5 and active.statement != "改过的说明"


def test_the_rule_of_a_draft_is_edited_with_field_errors(national: Client, draft: MethodVersion) -> None:
    rule = {
        "name": "测试草稿",
        "statement": "新的说明",
        "min_passed_per_trait": "2",
        "min_passed_total": "7",
        "default_percentile": "120",
        "score_rule": "trimmed_mean",
        "expert_pass_score": "75",
    }
    answer = national.post(reverse("certification:method", args=[draft.pk]), rule)
    assert answer.status_code == 400
    assert 'data-testid="error-default_percentile"' in text(answer) and "新的说明" in text(answer)
    draft.refresh_from_db()
    assert draft.min_passed_total == 5

    answer = national.post(reverse("certification:method", args=[draft.pk]), {**rule, "default_percentile": "40"})
    assert answer.status_code == 302
    draft.refresh_from_db()
    assert (draft.min_passed_per_trait, draft.min_passed_total, draft.default_percentile) == (2, 7, 40)
    assert draft.score_rule == "trimmed_mean" and draft.statement == "新的说明"


def test_copy_makes_a_draft_and_refuses_a_taken_code(national: Client, active: MethodVersion) -> None:
    url = reverse("certification:method_copy", args=[active.pk])
    answer = national.post(url, {"code": active.code, "name": "重名"})
    assert answer.status_code == 400
    assert f"版本号 {active.code} 已存在" in text(answer) and 'value="重名"' in text(answer)

    answer = national.post(url, {"code": "PPAC402-测试-2", "name": ""})
    new = MethodVersion.objects.get(code="PPAC402-测试-2")
    assert answer.status_code == 302 and answer.url == reverse("certification:method", args=[new.pk])
    assert new.status == MethodStatus.DRAFT and new.based_on == active and new.name == active.name
    assert sorted(new.indicators.values_list("code", flat=True)) == sorted(
        active.indicators.values_list("code", flat=True)
    )
    page = text(national.get(answer.url))
    assert 'data-testid="indicator-add"' in page and 'data-testid="activate"' in page


def test_activate_makes_the_draft_current_and_explains_a_refusal(
    national: Client, active: MethodVersion, draft: MethodVersion
) -> None:
    url = reverse("certification:method_activate", args=[draft.pk])
    draft.indicators.filter(trait=Trait.PROTECTION).delete()
    answer = national.post(url)
    assert answer.status_code == 400
    assert "每个特征至少需要一项指标" in text(answer) and "专利保护强度" in text(answer)
    draft.refresh_from_db()
    assert draft.status == MethodStatus.DRAFT

    Indicator.objects.create(method=draft, code="P9", name="核心专利数", trait=Trait.PROTECTION, formula="core_patents")
    answer = national.post(url, follow=True)
    assert "已启用" in text(answer)
    draft.refresh_from_db()
    active.refresh_from_db()
    assert draft.status == MethodStatus.ACTIVE and active.status == MethodStatus.RETIRED


# --- benchmark sets --------------------------------------------------------------------------------


def test_benchmark_list_shows_the_demo_sets_per_year(national: Client, fixed_set: BenchmarkSet) -> None:
    page = text(national.get(reverse("certification:benchmarks")))
    assert f'data-testid="year-{fixed_set.data_year}"' in page
    assert f'set-row-{fixed_set.pk}"' in page and "已确定" in page
    assert str(fixed_set.product_class) in page


def test_a_draft_set_is_created_from_the_form(national: Client, active: MethodVersion, fixed_set: BenchmarkSet) -> None:
    empty = ProductClass.objects.exclude(benchmark_sets__isnull=False).first()
    data = {"method": active.pk, "product_class": empty.pk, "data_year": fixed_set.data_year, "percentile": "30"}
    answer = national.post(reverse("certification:benchmarks"), data)
    bset = BenchmarkSet.objects.get(product_class=empty, data_year=fixed_set.data_year)
    assert answer.status_code == 302 and answer.url == reverse("certification:benchmark_set", args=[bset.pk])
    assert bset.status == BenchmarkStatus.DRAFT and bset.percentile == 30 and bset.number == 1

    # a second draft for the same class and year is refused, the form keeps the choices
    answer = national.post(reverse("certification:benchmarks"), data)
    assert answer.status_code == 400
    assert "已有一个草稿" in text(answer) and 'value="30"' in text(answer)
    assert BenchmarkSet.objects.filter(product_class=empty).count() == 1


def test_a_bad_number_is_shown_on_its_field_and_nothing_is_saved(national: Client, draft_set: BenchmarkSet) -> None:
    url = reverse("certification:benchmark_set", args=[draft_set.pk])
    rows = list(draft_set.values.select_related("indicator"))
    before = {b.indicator_id: b.value for b in rows}
    data = {f"value_{b.indicator_id}": "7.5" for b in rows}
    bad = rows[0]
    data[f"value_{bad.indicator_id}"] = "12,x"
    answer = national.post(url, {**data, "note": "先试一下", "action": "save"})
    assert answer.status_code == 400
    page = text(answer)
    assert f'data-testid="error-value_{bad.indicator_id}"' in page and "请填写数字" in page
    assert 'value="12,x"' in page and 'value="先试一下"' in page
    assert {b.indicator_id: b.value for b in draft_set.values.all()} == before

    data[f"value_{bad.indicator_id}"] = "3.25"
    answer = national.post(url, {**data, "note": "手工调整", "action": "save"})
    assert answer.status_code == 302
    stored = {b.indicator_id: b.value for b in draft_set.values.all()}
    assert stored[bad.indicator_id] == Decimal("3.25")
    assert all(stored[b.indicator_id] == Decimal("7.5") for b in rows[1:])
    draft_set.refresh_from_db()
    assert draft_set.note == "手工调整"


def test_resuggest_takes_the_percentile_of_the_sample(national: Client, draft_set: BenchmarkSet) -> None:
    url = reverse("certification:benchmark_set", args=[draft_set.pk])
    answer = national.post(url, {"percentile": "0", "action": "resuggest"})
    assert answer.status_code == 400 and 'data-testid="error-percentile"' in text(answer)

    answer = national.post(url, {"percentile": "25", "action": "resuggest"})
    assert answer.status_code == 302
    draft_set.refresh_from_db()
    assert draft_set.percentile == 25
    dists = engine.distributions(draft_set)
    for b in draft_set.values.all():
        assert b.suggested == engine.percentile(dists[b.indicator_id], 25)
        if dists[b.indicator_id]:
            assert b.value == b.suggested


def test_fix_freezes_the_set_and_a_fixed_set_refuses_edits(
    national: Client, draft_set: BenchmarkSet, demo_users: dict[str, User]
) -> None:
    url = reverse("certification:benchmark_set", args=[draft_set.pk])
    empty = draft_set.values.filter(value__isnull=True).select_related("indicator").first()
    if empty is None:  # the demo filled them all: empty one so that the refusal shows
        empty = draft_set.values.select_related("indicator").first()
        Benchmark.objects.filter(pk=empty.pk).update(value=None)
    answer = national.post(url, {"action": "fix"})
    assert answer.status_code == 400 and "还没有基准值" in text(answer) and empty.indicator.name in text(answer)

    Benchmark.objects.filter(set=draft_set, value__isnull=True).update(value=Decimal(1))
    answer = national.post(url, {"action": "fix"}, follow=True)
    draft_set.refresh_from_db()
    assert draft_set.status == BenchmarkStatus.FIXED and draft_set.fixed_by == demo_users["national"]
    page = text(answer)
    assert 'data-testid="fixed-info"' in page and 'data-testid="values-save"' not in page

    before = {b.indicator_id: b.value for b in draft_set.values.all()}
    data = {f"value_{k}": "99" for k in before}
    answer = national.post(url, {**data, "action": "save"})
    assert answer.status_code == 400 and "已确定的基准值不能修改" in text(answer)
    assert {b.indicator_id: b.value for b in draft_set.values.all()} == before
    answer = national.post(url, {"action": "delete"})
    assert answer.status_code == 400 and BenchmarkSet.objects.filter(pk=draft_set.pk).exists()


def test_a_draft_is_deleted(national: Client, draft_set: BenchmarkSet) -> None:
    answer = national.post(reverse("certification:benchmark_set", args=[draft_set.pk]), {"action": "delete"})
    assert answer.status_code == 302 and answer.url == reverse("certification:benchmarks")
    assert not BenchmarkSet.objects.filter(pk=draft_set.pk).exists()


def test_a_revision_starts_from_the_fixed_values(national: Client, fixed_set: BenchmarkSet) -> None:
    page = text(national.get(reverse("certification:benchmark_set", args=[fixed_set.pk])))
    assert "新建修订版" in page and fixed_set.fixed_by.get_full_name() in page
    answer = national.post(reverse("certification:benchmark_set", args=[fixed_set.pk]), {"action": "revise"})
    new = BenchmarkSet.objects.get(
        method=fixed_set.method,
        product_class=fixed_set.product_class,
        data_year=fixed_set.data_year,
        number=fixed_set.number + 1,
    )
    assert answer.status_code == 302 and answer.url == reverse("certification:benchmark_set", args=[new.pk])
    assert new.status == BenchmarkStatus.DRAFT
    assert {b.indicator_id: b.value for b in new.values.all()} == {
        b.indicator_id: b.value for b in fixed_set.values.all()
    }
    # with the draft there, the fixed set no longer offers another revision
    assert 'data-testid="revise"' not in text(national.get(reverse("certification:benchmark_set", args=[fixed_set.pk])))


def test_the_export_rows_are_the_values_of_the_set(national: Client, fixed_set: BenchmarkSet) -> None:
    answer = national.get(reverse("certification:benchmark_export", args=[fixed_set.pk]))
    assert answer.status_code == 200
    sheet = load_workbook(BytesIO(answer.content), read_only=True).active
    header, *rows = list(sheet.iter_rows(values_only=True))
    assert header[:7] == ("指标代码", "指标名称", "所属特征", "单位", "方向", "建议值", "基准值")
    expected = {b.indicator.code: b for b in fixed_set.values.select_related("indicator")}
    assert sorted(r[0] for r in rows) == sorted(expected)
    dists = engine.distributions(fixed_set)
    for row in rows:
        b = expected[row[0]]
        assert row[1] == b.indicator.name
        assert (Decimal(str(row[6])) if row[6] != "" else None) == b.value
        assert row[7] == len(dists[b.indicator_id])


def test_the_chart_data_holds_the_distribution_of_the_sample(national: Client, fixed_set: BenchmarkSet) -> None:
    answer = national.get(reverse("certification:benchmark_set", args=[fixed_set.pk]))
    data = json_script(answer, "benchmark-data")
    dists = engine.distributions(fixed_set)
    values = {b.indicator_id: b.value for b in fixed_set.values.all()}
    assert {item["id"] for item in data["indicators"]} == set(values)
    assert any(item["values"] for item in data["indicators"])
    for item in data["indicators"]:
        assert item["values"] == [float(v) for v in dists[item["id"]]]
        assert item["value"] == (float(values[item["id"]]) if values[item["id"]] is not None else None)
        if item["values"]:
            assert item["box"][0] == min(item["values"]) and item["box"][4] == max(item["values"])
            assert f'data-benchmark-chart="{item["id"]}"' in text(answer)
    assert "js/benchmarks.js" in text(answer)
