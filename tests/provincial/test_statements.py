"""Filing statements (备案情况证明): the snapshot against the database, the number, the PDF read back with
poppler, who may see and issue which, the USCC lookup, and the public verification page with what changed."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from evaluation.choices import CandidateStatus, Stage
from evaluation.models import Candidate
from filings import workflow
from filings.choices import FilingStatus
from filings.identifiers import build_uscc
from filings.models import FilingUnit, ProductVersion
from patent_platform.choices import AuditAction
from patent_platform.models import AuditEvent, User
from provincial import statements as svc
from provincial.models import FilingStatement
from tests.evaluation.test_certificate import pdf_fonts, pdf_text

pytestmark = pytest.mark.django_db

SITE = "https://beian.example.cn"
GZ = "广州云帆"
SZ = "深圳鹏芯"
HZ = "杭州西溪"


@pytest.fixture(autouse=True)
def _site(settings: Any) -> None:
    settings.SITE_URL = SITE


def unit_of(name_part: str) -> FilingUnit:
    return FilingUnit.objects.get(name__contains=name_part)


def issue(name_part: str, users: dict[str, User], who: str = "national") -> FilingStatement:
    return svc.statement_issue(unit=unit_of(name_part), user=users[who])


def rows(content: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for year in content["years"] for r in year[kind]]


# --- the snapshot ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name_part", [GZ, SZ, HZ])
def test_the_snapshot_lists_what_the_database_holds(demo: None, name_part: str) -> None:
    unit = unit_of(name_part)
    content = svc.build_content(unit)
    assert content["unit"] == {
        "id": unit.pk,
        "name": unit.name,
        "uscc": unit.uscc,
        "region_code": unit.region_id,
        "region": unit.region.full_name,
    }
    approved = ProductVersion.objects.filter(
        product__unit=unit, status=FilingStatus.APPROVED, product__filing_number__isnull=False
    ).select_related("product")
    assert approved.exists()
    assert sorted((r["filing_number"], r["data_year"], r["name"]) for r in rows(content, "filed")) == sorted(
        (v.product.filing_number, v.data_year, v.name) for v in approved
    )
    certified = Candidate.objects.filter(
        unit=unit, status=CandidateStatus.CERTIFIED, round__stage=Stage.FINAL, certificate_number__isnull=False
    )
    assert sorted(r["certificate_number"] for r in rows(content, "certified")) == sorted(
        c.certificate_number for c in certified
    )
    # totals per year equal the lists, and the years are those of the rows
    for year in content["years"]:
        assert (
            year["filed_count"]
            == ProductVersion.objects.filter(pk__in=[v.pk for v in approved], data_year=year["data_year"]).count()
        )
        assert year["certified_count"] == certified.filter(round__data_year=year["data_year"]).count()
    assert content["totals"]["filed_versions"] == approved.count()
    assert content["totals"]["certified"] == certified.count()
    assert content["covers"]["years"] == sorted(
        {v.data_year for v in approved} | set(certified.values_list("round__data_year", flat=True)), reverse=True
    )


def test_the_snapshot_groups_by_data_year_and_leaves_out_pending_filings(demo: None) -> None:
    content = svc.build_content(unit_of(GZ))
    last = workflow.default_data_year()
    by_year = {y["data_year"]: {r["name"] for r in y["filed"]} for y in content["years"]}
    # 工业协作机器人: approved for the year before, its yearly update for the last year is still submitted
    assert "工业协作机器人" in by_year[last - 1]
    assert "工业协作机器人" not in by_year.get(last, set())
    assert "智能巡检机器人" in by_year[last]
    names = {r["name"] for r in rows(content, "filed")}
    assert not names & {"精密摆线减速器", "视觉引导分拣系统"}  # submitted, draft
    assert {r["name"] for r in rows(content, "certified")} == {"智能巡检机器人"}
    assert all(re.fullmatch(r"RD\d{4}\d{5}", r["certificate_number"]) for r in rows(content, "certified"))


def test_issuing_writes_number_digest_and_audit(demo_users: dict[str, User]) -> None:
    statement = issue(GZ, demo_users, "ent-gz")
    year = workflow.china_today().year
    assert re.fullmatch(rf"BZ{year}\d{{8}}", statement.number)
    assert re.fullmatch(r"[0-9a-f]{32}", statement.token)
    assert statement.sha256 == svc.digest(statement.content)
    assert statement.generated_by == demo_users["ent-gz"]
    assert statement.data_as_of <= statement.generated_at
    event = AuditEvent.objects.get(action=AuditAction.CREATE, object_type="provincial.FilingStatement")
    assert event.object_id == str(statement.pk) and statement.number in event.message
    assert event.actor_id == demo_users["ent-gz"].pk


def test_numbers_are_unique_even_when_the_random_draw_collides(
    demo_users: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    draws = iter(["00000042", "00000042", "00000042", "00000043"])
    monkeypatch.setattr(svc, "random_serial", lambda: next(draws))
    first = issue(GZ, demo_users)
    second = issue(SZ, demo_users)  # draws 42 twice (taken), then 43
    assert first.number.endswith("00000042") and second.number.endswith("00000043")
    assert FilingStatement.objects.count() == 2


def test_many_statements_have_distinct_numbers(demo_users: dict[str, User]) -> None:
    numbers = {issue(HZ, demo_users).number for _ in range(20)}
    assert len(numbers) == 20


def test_an_issuer_out_of_scope_cannot_issue(demo_users: dict[str, User]) -> None:
    from django.http import Http404

    for who in ("zhejiang", "shenzhen", "ent-sz", "reviewer", "expert1"):
        with pytest.raises(Http404):
            issue(GZ, demo_users, who)
    assert not FilingStatement.objects.exists()


# --- the PDF -----------------------------------------------------------------------------------------------------


def test_the_enterprise_downloads_a_pdf_with_number_unit_filing_numbers_and_verify_url(
    client: Any, demo_users: dict[str, User], tmp_path: Path
) -> None:
    client.force_login(demo_users["ent-gz"])
    response = client.post(reverse("statements:mine"))
    assert response.status_code == 302
    statement = FilingStatement.objects.get()
    listing = client.get(reverse("statements:mine"))
    assert statement.number in listing.content.decode()
    response = client.get(reverse("statements:pdf", args=[statement.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    text = pdf_text(response.content, tmp_path)
    compact = re.sub(r"\s+", "", text)
    verify_url = SITE + reverse("statements:verify", args=[statement.token])
    unit = unit_of(GZ)
    for expected in ("备案情况证明", statement.number, unit.name, unit.uscc, verify_url, "数据截至", "生成时间"):
        assert expected in compact, expected
    for row in rows(statement.content, "filed"):
        assert row["filing_number"] in compact
    for row in rows(statement.content, "certified"):
        assert row["certificate_number"] in compact
    fonts = pdf_fonts(response.content, tmp_path)
    assert any("Noto-Sans-CJK-SC" in row["name"] for row in fonts), fonts
    assert all(row["emb"] == "yes" for row in fonts), fonts
    event = AuditEvent.objects.get(action=AuditAction.DOWNLOAD)
    assert event.actor_id == demo_users["ent-gz"].pk and statement.number in event.message


def test_the_qr_code_encodes_the_verify_url(demo_users: dict[str, User]) -> None:
    import segno

    statement = issue(SZ, demo_users)
    html = svc.render_html(statement)
    url = svc.verify_url(statement)
    assert url == f"{SITE}/verify/statement/{statement.token}/"
    assert segno.make(url, error="m").svg_data_uri(scale=4, border=2) in html.replace("&amp;", "&")


# --- who sees what -----------------------------------------------------------------------------------------------

# (role, unit of the statement, answer)
MATRIX = [
    ("ent-gz", GZ, 200),
    ("ent-gz", SZ, 404),  # another enterprise's statement
    ("ent-sz", GZ, 404),
    ("guangdong", GZ, 200),  # a province port sees its cities
    ("guangdong", SZ, 200),
    ("guangdong", HZ, 404),
    ("zhejiang", GZ, 404),  # another province
    ("zhejiang", HZ, 200),
    ("shenzhen", SZ, 200),
    ("shenzhen", GZ, 404),  # a city port sees its city only
    ("national", GZ, 200),
    ("national", HZ, 200),
    ("reviewer", GZ, 404),  # statements are administrative documents: not the reviewers'
    ("expert1", GZ, 404),
    ("sysadmin", GZ, 404),
]


@pytest.mark.parametrize(("who", "name_part", "expected"), MATRIX)
def test_pdf_download_scope(client: Any, demo_users: dict[str, User], who: str, name_part: str, expected: int) -> None:
    statement = issue(name_part, demo_users)
    client.force_login(demo_users[who])
    assert client.get(reverse("statements:pdf", args=[statement.pk])).status_code == expected


ADMIN_MATRIX = [(w, u, e) for w, u, e in MATRIX if not w.startswith("ent-")] + [("ent-gz", GZ, 404)]


@pytest.mark.parametrize(("who", "name_part", "expected"), ADMIN_MATRIX)
def test_unit_page_and_issuing_scope(
    client: Any, demo_users: dict[str, User], who: str, name_part: str, expected: int
) -> None:
    unit = unit_of(name_part)
    client.force_login(demo_users[who])
    url = reverse("statements:unit", args=[unit.pk])
    assert client.get(url).status_code == expected
    response = client.post(url)
    assert response.status_code == (302 if expected == 200 else 404)
    assert FilingStatement.objects.filter(unit=unit).count() == (1 if expected == 200 else 0)


def test_the_enterprise_list_shows_its_own_only_and_an_empty_state(client: Any, demo_users: dict[str, User]) -> None:
    other = issue(SZ, demo_users)
    client.force_login(demo_users["ent-gz"])
    page = client.get(reverse("statements:mine")).content.decode()
    assert 'data-testid="statements-empty"' in page and other.number not in page
    assert reverse("statements:mine") in page  # in the navigation
    for who in ("guangdong", "national", "reviewer"):
        client.force_login(demo_users[who])
        assert client.get(reverse("statements:mine")).status_code == 404


def test_the_list_in_scope_and_its_excel_export(client: Any, demo_users: dict[str, User]) -> None:
    gz, sz, hz = issue(GZ, demo_users), issue(SZ, demo_users), issue(HZ, demo_users)
    client.force_login(demo_users["guangdong"])
    page = client.get(reverse("statements:list")).content.decode()
    assert gz.number in page and sz.number in page and hz.number not in page
    response = client.get(reverse("statements:export"))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    numbers = {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert numbers == {gz.number, sz.number}
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, object_type="provincial.FilingStatement").exists()
    client.force_login(demo_users["shenzhen"])
    page = client.get(reverse("statements:list")).content.decode()
    assert sz.number in page and gz.number not in page
    for who in ("ent-gz", "reviewer", "expert1"):
        client.force_login(demo_users[who])
        assert client.get(reverse("statements:list")).status_code == 404
        assert client.get(reverse("statements:export")).status_code == 404


# --- the USCC lookup ---------------------------------------------------------------------------------------------


def test_lookup_finds_a_unit_in_scope(client: Any, demo_users: dict[str, User]) -> None:
    unit = unit_of(GZ)
    client.force_login(demo_users["guangdong"])
    spaced = f"{unit.uscc[:6]} {unit.uscc[6:12]} {unit.uscc[12:]}".lower()
    response = client.get(reverse("statements:list"), {"uscc": spaced})
    assert response.status_code == 302
    assert response["Location"] == reverse("statements:unit", args=[unit.pk])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "请输入要查找的统一社会信用代码"),
        ("9144010", "应为 18 位"),
        ("91440106MA59GD01OI", "无效"),  # I and O are not in the alphabet
    ],
)
def test_lookup_rejects_a_malformed_uscc_with_a_field_error(
    client: Any, demo_users: dict[str, User], value: str, message: str
) -> None:
    client.force_login(demo_users["guangdong"])
    response = client.get(reverse("statements:list"), {"uscc": value})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-testid="uscc-error"' in page and message in page
    assert f'value="{value}"' in page  # the input is kept


def test_lookup_of_a_check_digit_error_names_the_expected_character(client: Any, demo_users: dict[str, User]) -> None:
    uscc = unit_of(GZ).uscc
    wrong = uscc[:17] + ("0" if uscc[17] != "0" else "1")
    client.force_login(demo_users["guangdong"])
    response = client.get(reverse("statements:list"), {"uscc": wrong})
    assert response.status_code == 400
    assert f"应为 {uscc[17]}" in response.content.decode()


def test_a_unit_out_of_scope_answers_exactly_like_an_unknown_one(client: Any, demo_users: dict[str, User]) -> None:
    outside = unit_of(GZ).uscc
    unknown = build_uscc(region_code="330106", org_body="MA2HC099")
    assert not FilingUnit.objects.filter(uscc=unknown).exists()
    client.force_login(demo_users["zhejiang"])
    answers = []
    for code in (outside, unknown):
        response = client.get(reverse("statements:list"), {"uscc": code})
        assert response.status_code == 404
        page = response.content.decode()
        assert f"未找到统一社会信用代码为 {code} 的备案单位" in page
        answers.append(re.sub(r"csrfmiddlewaretoken\" value=\"[^\"]+\"", "", page.replace(code, "CODE")))
    assert answers[0] == answers[1]
    client.force_login(demo_users["shenzhen"])
    assert client.get(reverse("statements:list"), {"uscc": outside}).status_code == 404


# --- the public verification page -------------------------------------------------------------------------------


def verify_page(client: Any, statement: FilingStatement) -> tuple[int, str]:
    client.logout()
    response = client.get(reverse("statements:verify", args=[statement.token]))
    return response.status_code, response.content.decode()


def test_verification_shows_the_snapshot_without_login(client: Any, demo_users: dict[str, User]) -> None:
    statement = issue(GZ, demo_users, "ent-gz")
    status, page = verify_page(client, statement)
    assert status == 200
    assert "有效" in page and statement.number in page and "广州云帆智能装备有限公司" in page
    for row in rows(statement.content, "filed"):
        assert row["filing_number"] in page and row["name"] in page
    assert 'data-testid="verify-unchanged"' in page


def test_an_unknown_token_is_a_404_page_in_chinese(client: Any, demo: None) -> None:
    response = client.get(reverse("statements:verify", args=["0" * 32]))
    assert response.status_code == 404
    assert "未找到该备案情况证明" in response.content.decode()


def test_verification_shows_a_filing_revoked_since_and_one_approved_since(
    client: Any, demo_users: dict[str, User]
) -> None:
    statement = issue(GZ, demo_users, "ent-gz")
    revoked = ProductVersion.objects.get(name="智能巡检机器人", status=FilingStatus.APPROVED)
    workflow.version_revoke(version=revoked, user=demo_users["reviewer"], reason="核心专利已失效。")
    pending = ProductVersion.objects.get(name="精密摆线减速器")
    workflow.version_approve(version=pending, user=demo_users["reviewer"])
    status, page = verify_page(client, statement)
    assert status == 200 and "有效" in page  # the statement itself is genuine
    assert 'data-testid="change-removed"' in page
    assert "智能巡检机器人" in page and "已撤销" in page
    assert 'data-testid="change-added"' in page and "精密摆线减速器" in page
    assert 'data-testid="change-cert-lapsed"' in page  # its certificate's filing is no longer in force
    # the snapshot itself is unchanged: the revoked product is still listed as it was
    assert "智能巡检机器人" in {r["name"] for r in rows(FilingStatement.objects.get().content, "filed")}


def test_a_tampered_snapshot_is_not_shown_as_valid(client: Any, demo_users: dict[str, User]) -> None:
    statement = issue(GZ, demo_users)
    content = statement.content
    content["totals"]["filed_versions"] += 5
    FilingStatement.objects.filter(pk=statement.pk).update(content=content)
    status, page = verify_page(client, statement)
    assert status == 200 and "有效" not in page.split('data-testid="verify-status"')[1].split("</div>")[0]
    assert "请勿采信" in page


def test_the_verification_page_is_rate_limited(client: Any, demo_users: dict[str, User], settings: Any) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "search": "3/min"}
    statement = issue(GZ, demo_users)
    url = reverse("statements:verify", args=[statement.token])
    assert [client.get(url).status_code for _ in range(4)] == [200, 200, 200, 429]
