"""The public pages of the certification, as an anonymous visitor sees them: the final list with its
search, the list under publicity with the objection form, the certificate verification, and the
certified mark on the public product page."""

import datetime as dt
from collections.abc import Callable
from io import BytesIO
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from evaluation.choices import CandidateStatus, Stage
from evaluation.models import Candidate, Objection, Round
from filings import workflow
from filings.choices import FilingStatus
from patent_platform.choices import AuditAction
from patent_platform.models import AuditEvent

pytestmark = pytest.mark.django_db

LIST = reverse("certified:list")


def certified() -> list[Candidate]:
    return list(
        Candidate.objects.filter(status=CandidateStatus.CERTIFIED)
        .select_related("version", "unit", "product", "product_class", "round")
        .order_by("certificate_number")
    )


def rows(response: Any) -> int:
    return response.content.decode().count('data-testid="certified-row"')


# --- the final list ------------------------------------------------------------------------------


def test_anonymous_visitor_sees_the_certified_products_without_figures_or_contacts(
    client: Any, demo: None, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(12):
        response = client.get(LIST)
    assert response.status_code == 200
    page = response.content.decode()
    candidates = certified()
    assert len(candidates) == 3 and rows(response) == 3
    for c in candidates:
        assert c.certificate_number in page
        assert c.version.name in page
        assert c.unit.name in page
        assert reverse("certified:verify", args=[c.certificate_number]) in page
        assert reverse("public:product", args=[c.product.filing_number]) in page
        # no contacts, no expert scores
        for secret in (c.unit.contact_phone, c.unit.contact_email, c.unit.contact_name):
            if secret:
                assert secret not in page
        assert str(c.expert_score) not in page
    assert "expert1@example.cn" not in page
    assert 'data-testid="publicity-box"' not in page  # no round is under publicity


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "车规级"}, {"RD202500001"}),  # product name
        ({"q": "杭州西溪"}, {"RD202500003"}),  # unit name
        ({"q": "rd2025 00002"}, {"RD202500002"}),  # certificate number, any case, spaces dropped
        ({"q": "filing number of RD202500003"}, {"RD202500003"}),  # its product's filing number (BA<year>33…)
        ({"province": "440000"}, {"RD202500001", "RD202500002"}),
        ({"province": "330000"}, {"RD202500003"}),
    ],
)
def test_search_by_name_unit_certificate_filing_number_and_province(
    client: Any, demo: None, query: dict[str, str], expected: set[str]
) -> None:
    by_number = {c.certificate_number: c for c in certified()}
    assert expected <= set(by_number), "the demo's certificates changed"
    if query.get("q", "").startswith("filing number of "):
        filing_number = by_number[query["q"].split()[-1]].version.product.filing_number
        assert filing_number and filing_number.startswith("BA20") and filing_number[6:8] == "33"
        query = {"q": filing_number}
    response = client.get(LIST, query)
    page = response.content.decode()
    assert rows(response) == len(expected)
    for number in by_number:
        assert (f">{number}</a>" in page) == (number in expected), number


def test_filter_by_product_class_and_data_year(client: Any, demo: None) -> None:
    c = certified()[0]
    same_class = sum(1 for x in certified() if x.product_class_id == c.product_class_id)
    assert rows(client.get(LIST, {"product_class": c.product_class_id})) == same_class
    year = c.round.data_year
    assert rows(client.get(LIST, {"year": year})) == 3
    # a year offered in the filter is one with certified products only
    page = client.get(LIST).content.decode()
    assert f'<option value="{year}"' in page and f'<option value="{year - 1}"' not in page
    empty = client.get(LIST, {"year": year - 1})  # not a choice: ignored, not an error page
    assert empty.status_code == 200


def test_nothing_found_says_so_and_how_to_search(client: Any, demo: None) -> None:
    response = client.get(LIST, {"q": "不存在的产品"})
    page = response.content.decode()
    assert rows(response) == 0
    assert 'data-testid="certified-empty"' in page and "没有找到符合条件的认定产品" in page


def test_before_any_final_list_the_page_says_nothing_is_certified_yet(client: Any, reference: None) -> None:
    page = client.get(LIST).content.decode()
    assert "目前还没有公布认定结果的产品" in page


def test_list_paginates(client: Any, demo: None, settings: Any) -> None:
    from evaluation.views.public import CertifiedListView

    CertifiedListView.paginate_by, before = 2, CertifiedListView.paginate_by
    try:
        first = client.get(LIST)
        second = client.get(LIST, {"page": 2})
    finally:
        CertifiedListView.paginate_by = before
    assert rows(first) == 2 and rows(second) == 1
    assert "第 1 / 2 页" in first.content.decode()


def test_the_list_exports_to_excel_what_it_shows(client: Any, demo: None) -> None:
    from openpyxl import load_workbook

    response = client.get(LIST, {"province": "440000", "export": "xlsx"})
    assert response.status_code == 200
    assert "spreadsheetml" in response["Content-Type"]
    sheet = load_workbook(BytesIO(response.content)).active
    values = list(sheet.values)
    assert values[0][0] == "证书编号"
    assert sorted(r[0] for r in values[1:]) == ["RD202500001", "RD202500002"]
    assert values[0][-5:] == ("评价依据（标准）", "评价方法版本", "证书状态", "状态说明", "有效期至")
    assert {r[-5:-3] for r in values[1:]} == {("T/PPAC 402-2022", "PPAC402-平台解读-1")}
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


# --- publicity -----------------------------------------------------------------------------------


def test_a_round_under_publicity_is_listed_with_its_dates_and_proposed_products(
    client: Any, second_round: Callable[..., Round]
) -> None:
    rnd = second_round(Stage.PUBLICITY, objections=1)
    proposed = list(rnd.candidates.filter(status=CandidateStatus.PROPOSED).select_related("version", "unit"))
    others = list(rnd.candidates.exclude(status=CandidateStatus.PROPOSED).select_related("version"))
    assert proposed

    box = client.get(LIST).content.decode()
    assert 'data-testid="publicity-box"' in box
    assert reverse("certified:publicity", args=[rnd.pk]) in box and rnd.name in box

    response = client.get(reverse("certified:publicity", args=[rnd.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert rnd.publicity_start.isoformat() in page and rnd.publicity_end.isoformat() in page
    assert "任何单位或个人" in page  # the rule
    assert page.count('data-testid="publicity-row"') == len(proposed)
    for c in proposed:
        assert c.version.name in page and c.unit.name in page
        assert reverse("certified:objection", args=[c.pk]) in page
    for c in others:
        assert reverse("certified:objection", args=[c.pk]) not in page
    # nothing about the evaluation itself, nor about who objected
    assert "某竞争企业" not in page and "010-12345678" not in page
    for c in proposed:
        assert str(c.expert_score) not in page


def test_the_publicity_page_exists_only_for_a_round_under_publicity(
    client: Any, second_round: Callable[..., Round]
) -> None:
    final = Round.objects.get(stage=Stage.FINAL)  # the demo round
    assert client.get(reverse("certified:publicity", args=[final.pk])).status_code == 404
    industry = second_round(Stage.INDUSTRY)
    assert client.get(reverse("certified:publicity", args=[industry.pk])).status_code == 404
    assert client.get(reverse("certified:publicity", args=[999999])).status_code == 404


def test_after_the_publicity_ends_the_page_offers_no_objection_links(
    client: Any, second_round: Callable[..., Round]
) -> None:
    rnd = second_round(Stage.PUBLICITY)
    today = workflow.china_today()
    Round.objects.filter(pk=rnd.pk).update(
        publicity_start=today - dt.timedelta(days=8), publicity_end=today - dt.timedelta(days=2)
    )
    page = client.get(reverse("certified:publicity", args=[rnd.pk])).content.decode()
    assert 'data-testid="object-link"' not in page
    assert "公示期已结束，不再受理异议" in page


# --- objections ----------------------------------------------------------------------------------


def proposed_of(rnd: Round) -> Candidate:
    return rnd.candidates.filter(status=CandidateStatus.PROPOSED).select_related("version").first()


def test_objection_form_errors_are_shown_per_field_and_the_input_is_kept(
    client: Any, second_round: Callable[..., Round]
) -> None:
    rnd = second_round(Stage.PUBLICITY)
    candidate = proposed_of(rnd)
    url = reverse("certified:objection", args=[candidate.pk])
    form = client.get(url)
    assert form.status_code == 200 and 'data-testid="objection-form"' in form.content.decode()
    assert candidate.version.name in form.content.decode()

    response = client.post(url, {"name": "北京某科技有限公司", "contact": "", "reasons": "太短"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-testid="error-contact"' in page and "请填写联系方式" in page
    assert 'data-testid="error-reasons"' in page and "不少于 10 个字" in page
    assert 'data-testid="error-name"' not in page
    assert 'value="北京某科技有限公司"' in page  # kept
    assert "太短</textarea>" in page
    assert not Objection.objects.exists()

    too_long = client.post(url, {"name": "x" * 201, "contact": "1", "reasons": "理由" * 10})
    assert too_long.status_code == 400 and 'data-testid="error-name"' in too_long.content.decode()
    assert not Objection.objects.exists()


def test_a_lodged_objection_is_recorded_and_confirmed_once(client: Any, second_round: Callable[..., Round]) -> None:
    rnd = second_round(Stage.PUBLICITY)
    candidate = proposed_of(rnd)
    url = reverse("certified:objection", args=[candidate.pk])
    data = {"name": "张三", "contact": "zhangsan@example.com", "reasons": "该产品的核心专利已于去年被宣告全部无效。"}
    response = client.post(url, data, REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 302 and response["Location"] == url
    objection = Objection.objects.get()
    assert objection.candidate_id == candidate.pk
    assert (objection.name, objection.contact, objection.status) == ("张三", "zhangsan@example.com", "pending")
    assert objection.reasons == data["reasons"]
    assert objection.ip == "203.0.113.7"

    done = client.get(url)
    assert 'data-testid="objection-done"' in done.content.decode()
    # a reload shows the form again, it does not lodge anything twice
    again = client.get(url)
    assert 'data-testid="objection-form"' in again.content.decode()
    assert Objection.objects.count() == 1


def test_after_the_publicity_objections_are_refused_with_a_clear_message(
    client: Any, second_round: Callable[..., Round]
) -> None:
    rnd = second_round(Stage.PUBLICITY)
    candidate = proposed_of(rnd)
    today = workflow.china_today()
    Round.objects.filter(pk=rnd.pk).update(
        publicity_start=today - dt.timedelta(days=8), publicity_end=today - dt.timedelta(days=1)
    )
    url = reverse("certified:objection", args=[candidate.pk])
    form = client.get(url).content.decode()
    assert 'data-testid="publicity-closed"' in form and 'data-testid="objection-form"' not in form
    response = client.post(url, {"name": "张三", "contact": "13800000000", "reasons": "该产品的核心专利已被宣告无效。"})
    assert response.status_code == 409
    assert "公示期已结束，不再受理异议" in response.content.decode()
    assert not Objection.objects.exists()


def test_no_objection_against_a_product_not_under_publicity(client: Any, demo: None) -> None:
    certified_one = certified()[0]
    url = reverse("certified:objection", args=[certified_one.pk])
    assert client.get(url).status_code == 404
    data = {"name": "张三", "contact": "13800000000", "reasons": "该产品的核心专利已被宣告无效。"}
    assert client.post(url, data).status_code == 404
    assert not Objection.objects.exists()


# --- verification --------------------------------------------------------------------------------


def test_verify_shows_the_certificate_and_that_it_is_valid(client: Any, demo: None) -> None:
    c = certified()[0]
    response = client.get(reverse("certified:verify", args=[c.certificate_number]))
    assert response.status_code == 200
    page = response.content.decode()
    for expected in (c.certificate_number, c.version.name, c.unit.name, c.product_class.name, c.round.name, "有效"):
        assert expected in page, expected
    # the date as the page shows it: in Asia/Shanghai (after 16:00 UTC that is already the next day)
    assert timezone.localtime(c.certified_at).strftime("%Y-%m-%d") in page
    assert "T/PPAC 402-2022" in page
    # lower case from a hand-typed address works too
    assert client.get(reverse("certified:verify", args=[c.certificate_number.lower()])).status_code == 200


def test_an_unknown_certificate_number_is_plainly_not_found(client: Any, demo: None) -> None:
    response = client.get(reverse("certified:verify", args=["RD209900001"]))
    assert response.status_code == 404
    page = response.content.decode()
    assert "未找到编号为 RD209900001 的认定证书" in page


def test_a_proposed_product_has_no_certificate_to_verify(client: Any, second_round: Callable[..., Round]) -> None:
    rnd = second_round(Stage.PUBLICITY)
    Candidate.objects.filter(pk=proposed_of(rnd).pk).update(certificate_number="RD209900009")
    assert client.get(reverse("certified:verify", args=["RD209900009"])).status_code == 404


def test_verify_says_revoked_when_the_certified_filing_was_revoked(client: Any, demo: None, demo_users: Any) -> None:
    c = certified()[0]
    workflow.version_revoke(version=c.version, user=demo_users["reviewer"], reason="核心专利已失效。")
    c.version.refresh_from_db()
    assert c.version.status == FilingStatus.REVOKED
    page = client.get(reverse("certified:verify", args=[c.certificate_number])).content.decode()
    assert 'data-status="revoked"' in page and "今日状态：撤销" in page
    assert "产品备案被撤销" in page and "核心专利已失效。" in page and 'data-status="valid"' not in page


# --- the certified mark on the public product page ----------------------------------------------


def test_the_public_product_page_carries_the_certified_mark(client: Any, demo: None) -> None:
    c = certified()[0]
    page = client.get(reverse("public:product", args=[c.product.filing_number])).content.decode()
    assert 'data-testid="certified-mark"' in page and "专利密集型产品" in page
    assert c.certificate_number in page
    assert reverse("certified:verify", args=[c.certificate_number]) in page
    assert f"{c.round.data_year} 年度认定" in page


def test_an_uncertified_product_has_no_mark_not_even_while_proposed(
    client: Any, second_round: Callable[..., Round]
) -> None:
    rnd = second_round(Stage.PUBLICITY)
    proposed = proposed_of(rnd).product
    assert not proposed.candidacies.filter(status=CandidateStatus.CERTIFIED).exists()
    page = client.get(reverse("public:product", args=[proposed.filing_number])).content.decode()
    assert 'data-testid="certified-mark"' not in page
