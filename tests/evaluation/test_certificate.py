"""The certificate PDF (its content read back with poppler, its font, its QR code) and the attachment of
the additional information: who may fetch each, and that every download is audited."""

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from evaluation.certificates import build_certificate_pdf, render_certificate_html
from evaluation.choices import CandidateStatus, Stage
from evaluation.models import AdditionalInfo, Candidate, Round
from patent_platform.choices import AuditAction, Role
from patent_platform.models import AuditEvent, User

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _run(tool: str, path: Path, *args: str) -> str:
    result = subprocess.run(
        [shutil.which(tool) or tool, *args, str(path), *(["-"] if tool == "pdftotext" else [])],
        capture_output=True,
        check=True,
        text=True,
    )
    return result.stdout


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    return _run("pdftotext", path, "-layout")


def pdf_fonts(pdf: bytes, tmp_path: Path) -> list[dict[str, str]]:
    """pdffonts' table as rows of {column: value}; columns are cut by the widths of its dashed rule."""
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    header, rule, *lines = _run("pdffonts", path).splitlines()
    spans, start = [], 0
    for dashes in rule.split(" "):
        spans.append((start, start + len(dashes)))
        start += len(dashes) + 1
    names = [header[a:b].strip() for a, b in spans]
    return [{n: line[a:b].strip() for n, (a, b) in zip(names, spans, strict=True)} for line in lines if line.strip()]


def of_unit(name_part: str) -> Candidate:
    return Candidate.objects.select_related("version", "unit", "product_class", "round").get(
        status=CandidateStatus.CERTIFIED, unit__name__contains=name_part
    )


def certificate_url(candidate: Candidate) -> str:
    return reverse("certification:certificate", args=[candidate.pk])


def attachment_url(candidate: Candidate) -> str:
    return reverse("certification:attachment", args=[candidate.pk])


# --- the certificate -----------------------------------------------------------------------------


def test_url_shapes() -> None:
    assert reverse("certification:certificate", args=[7]) == "/certification/candidates/7/certificate.pdf"
    assert reverse("certification:attachment", args=[7]) == "/certification/candidates/7/attachment/"


def test_the_owner_downloads_a_certificate_with_number_product_unit_and_an_embedded_cjk_font(
    client: Any, demo_users: dict[str, User], tmp_path: Path
) -> None:
    candidate = of_unit("深圳鹏芯")
    client.force_login(demo_users["ent-sz"])
    response = client.get(certificate_url(candidate))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    number = candidate.certificate_number
    assert f"filename*=UTF-8''{quote(f'认定证书-{number}.pdf')}" in response["Content-Disposition"]
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    assert response.content.startswith(b"%PDF-")

    text = pdf_text(response.content, tmp_path)
    verify_url = "http://testserver" + reverse("certified:verify", args=[number])
    for expected in (
        "专利密集型产品认定证书",
        number,
        candidate.version.name,  # 车规级微控制器
        candidate.unit.name,  # 深圳鹏芯微电子有限公司
        candidate.product_class.name,
        str(candidate.version.data_year),
        candidate.round.name,
        "T/PPAC 402-2022",
        "企业专利密集型产品评价方法",
        candidate.round.method.code,  # the method version the round ran under
        "国家知识产权局",  # the issuing authority
        f"{candidate.valid_from:%Y-%m-%d} 至 {candidate.valid_until:%Y-%m-%d}",  # the validity period
        verify_url,
    ):
        assert expected in text, expected

    fonts = pdf_fonts(response.content, tmp_path)
    assert any("Noto-Sans-CJK-SC" in row["name"] for row in fonts), fonts
    assert all(row["emb"] == "yes" for row in fonts), fonts

    event = AuditEvent.objects.get(action=AuditAction.DOWNLOAD)
    assert event.actor_id == demo_users["ent-sz"].pk and event.object_id == str(candidate.pk)
    assert number in event.message


def test_certificate_html_carries_the_qr_code_of_the_product_page_and_prints_the_verification_page(
    demo: None,
) -> None:
    import segno

    candidate = of_unit("广州云帆")
    url = "https://example.cn" + reverse("certified:verify", args=[candidate.certificate_number])
    marking = (
        f"https://example.cn/products/{candidate.product.filing_number}/#certificate-{candidate.certificate_number}"
    )
    html = render_certificate_html(candidate, url, marking)
    assert 'data-testid="certificate-qr"' in html
    assert segno.make(marking, error="m").svg_data_uri(scale=4, border=2) in html.replace("&amp;", "&")
    assert segno.make(url, error="m").svg_data_uri(scale=4, border=2) not in html.replace("&amp;", "&")
    assert url in html
    # the rule that produced the verdict: the round's standard and method version
    assert "T/PPAC 402-2022《企业专利密集型产品评价方法》" in html
    assert f"评价方法版本 {candidate.round.method.code}" in html
    assert build_certificate_pdf(candidate, url, marking).startswith(b"%PDF-")


def test_a_proposed_product_has_no_certificate_yet(
    client: Any, demo_users: dict[str, User], second_round: Callable[..., Round]
) -> None:
    rnd = second_round(Stage.PUBLICITY)
    proposed = rnd.candidates.filter(status=CandidateStatus.PROPOSED).first()
    client.force_login(demo_users["national"])
    assert client.get(certificate_url(proposed)).status_code == 404
    with pytest.raises(ValueError):
        render_certificate_html(proposed, "https://example.cn/")


# who sees which of the demo's certified products (深圳 / 广州 / 杭州)
MATRIX = [
    ("national", "深圳鹏芯", 200),
    ("reviewer", "杭州西溪", 200),
    ("ent-sz", "深圳鹏芯", 200),
    ("ent-sz", "广州云帆", 404),  # another enterprise's product
    ("ent-hz", "深圳鹏芯", 404),
    ("guangdong", "深圳鹏芯", 200),  # a province port sees its cities
    ("guangdong", "广州云帆", 200),
    ("guangdong", "杭州西溪", 404),  # out of region
    ("shenzhen", "深圳鹏芯", 200),
    ("shenzhen", "广州云帆", 404),  # a city port sees its city only
    ("zhejiang", "杭州西溪", 200),
    ("zhejiang", "广州云帆", 404),
    ("expert5", "广州云帆", 200),  # on its panel
    ("outsider-expert", "广州云帆", 404),  # an expert not assigned
]


def user_for(who: str, demo_users: dict[str, User], make_user: Callable[..., User]) -> User:
    if who == "outsider-expert":
        return make_user("expert4@example.cn", Role.EXPERT)
    return demo_users[who]


@pytest.mark.parametrize(("who", "unit", "status"), MATRIX)
def test_certificate_scoping(
    client: Any,
    demo_users: dict[str, User],
    make_user: Callable[..., User],
    who: str,
    unit: str,
    status: int,
) -> None:
    client.force_login(user_for(who, demo_users, make_user))
    response = client.get(certificate_url(of_unit(unit)))
    assert response.status_code == status
    assert AuditEvent.objects.filter(action=AuditAction.DOWNLOAD).exists() == (status == 200)


def test_anonymous_is_sent_to_login_for_certificate_and_attachment(client: Any, demo: None) -> None:
    candidate = of_unit("广州云帆")
    for url in (certificate_url(candidate), attachment_url(candidate)):
        response = client.get(url)
        assert response.status_code == 302 and reverse("login") in response["Location"], url


# --- the attachment of the additional information --------------------------------------------------


@pytest.fixture
def attached(demo: None, media_root: str) -> Candidate:
    """The 广州 candidate's additional information with a PDF attached (the demo attaches none)."""
    candidate = of_unit("广州云帆")
    info = AdditionalInfo.objects.get(candidate=candidate)
    info.attachment.save("proof.pdf", ContentFile(PDF), save=True)
    return candidate


def test_the_owner_opens_the_attachment_not_cached_and_audited(
    client: Any, demo_users: dict[str, User], attached: Candidate
) -> None:
    client.force_login(demo_users["ent-gz"])
    response = client.get(attachment_url(attached))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == PDF
    assert "no-store" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"
    event = AuditEvent.objects.get(action=AuditAction.DOWNLOAD)
    assert event.actor_id == demo_users["ent-gz"].pk


def test_no_attachment_answers_404(client: Any, demo_users: dict[str, User]) -> None:
    candidate = of_unit("深圳鹏芯")  # information without a file
    assert AdditionalInfo.objects.filter(candidate=candidate, attachment="").exists()
    client.force_login(demo_users["ent-sz"])
    assert client.get(attachment_url(candidate)).status_code == 404
    assert client.get(reverse("certification:attachment", args=[999999])).status_code == 404


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("national", 200),
        ("ent-gz", 200),
        ("ent-sz", 404),
        ("guangdong", 200),
        ("shenzhen", 404),
        ("zhejiang", 404),
        ("expert6", 200),
        ("outsider-expert", 404),
    ],
)
def test_attachment_scoping(
    client: Any,
    demo_users: dict[str, User],
    make_user: Callable[..., User],
    attached: Candidate,
    who: str,
    status: int,
) -> None:
    client.force_login(user_for(who, demo_users, make_user))
    assert client.get(attachment_url(attached)).status_code == status
    assert AuditEvent.objects.filter(action=AuditAction.DOWNLOAD).exists() == (status == 200)
