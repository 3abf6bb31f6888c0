"""The filing receipt PDF: its content read back with poppler, its font, its QR code, and who may fetch it."""

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.urls import reverse

from filings import workflow
from filings.models import FilingUnit, ProductVersion
from filings.receipts import build_receipt_pdf, render_receipt_html
from patent_platform.choices import AuditAction, Role
from patent_platform.models import AuditEvent, User

pytestmark = pytest.mark.django_db


def _port_admin(make_user: Callable[..., User], email: str, port_code: str) -> User:
    from provincial.models import ManagementUnit
    from provincial.services import port_add_admin

    user = make_user(email, Role.PORT_ADMIN)
    port_add_admin(unit=ManagementUnit.objects.get(code=port_code), user=user)
    return User.objects.get(pk=user.pk)


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "receipt.pdf"
    path.write_bytes(pdf)
    result = subprocess.run(
        [shutil.which("pdftotext") or "pdftotext", "-layout", str(path), "-"],
        capture_output=True,
        check=True,
        text=True,
    )
    return result.stdout


def _pdf_fonts(pdf: bytes, tmp_path: Path) -> list[dict[str, str]]:
    """pdffonts' table as rows of {column: value}; columns are cut by the widths of its dashed rule."""
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    result = subprocess.run(
        [shutil.which("pdffonts") or "pdffonts", str(path)], capture_output=True, check=True, text=True
    )
    header, rule, *lines = result.stdout.splitlines()
    spans, start = [], 0
    for dashes in rule.split(" "):
        spans.append((start, start + len(dashes)))
        start += len(dashes) + 1
    names = [header[a:b].strip() for a, b in spans]
    return [{n: line[a:b].strip() for n, (a, b) in zip(names, spans, strict=True)} for line in lines if line.strip()]


def _url(version: ProductVersion) -> str:
    return reverse("documents:receipt", args=[version.product_id])


def test_url_shape(approved_version: ProductVersion) -> None:
    assert _url(approved_version) == f"/documents/receipts/{approved_version.product_id}.pdf"


def test_the_filer_downloads_a_receipt_with_number_names_patents_and_public_url(
    client: Any, filer_a: User, unit_a: FilingUnit, approved_version: ProductVersion, tmp_path: Path
) -> None:
    client.force_login(filer_a)
    response = client.get(_url(approved_version))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    number = approved_version.product.filing_number
    assert f"filename*=UTF-8''{quote(f'备案回执-{number}.pdf')}" in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF-")

    text = _pdf_text(response.content, tmp_path)
    public_url = "http://testserver" + reverse("public:product", args=[number])
    patent = approved_version.links.get().right.patent
    for expected in (
        "专利产品备案回执",
        number,
        approved_version.name,  # 测试产品
        unit_a.name,  # 广州测试智能装备有限公司
        unit_a.uscc,
        "广东省广州市天河区",
        "ZL" + patent.number,
        public_url,
    ):
        assert expected in text, expected

    fonts = _pdf_fonts(response.content, tmp_path)
    assert fonts, "the PDF names no font"
    assert any("Noto-Sans-CJK-SC" in row["name"] for row in fonts), fonts
    assert all(row["emb"] == "yes" for row in fonts), fonts  # every font is embedded

    event = AuditEvent.objects.get(action=AuditAction.DOWNLOAD)
    assert event.actor_id == filer_a.pk and event.object_id == str(approved_version.product_id)


def test_receipt_html_carries_the_qr_code_of_the_public_url(approved_version: ProductVersion) -> None:
    import segno

    product = approved_version.product
    url = "https://example.cn" + reverse("public:product", args=[product.filing_number])
    html = render_receipt_html(product, url)
    assert 'data-testid="receipt-qr"' in html
    assert 'src="data:image/svg+xml' in html
    assert segno.make(url, error="m").svg_data_uri(scale=4, border=2) in html.replace("&amp;", "&")
    assert url in html
    assert build_receipt_pdf(product, url).startswith(b"%PDF-")


@pytest.mark.parametrize("who", ["reviewer", "national", "port_guangdong"])
def test_reviewers_national_admins_and_the_regions_port_may_download(
    client: Any, who: str, request: pytest.FixtureRequest, make_user: Callable[..., User], approved_version: Any
) -> None:
    users = {
        "reviewer": lambda: request.getfixturevalue("reviewer"),
        "national": lambda: make_user("national-p@example.cn", Role.NATIONAL_ADMIN),
        "port_guangdong": lambda: _port_admin(make_user, "port-gd-p@example.cn", "440000"),
    }
    client.force_login(users[who]())
    response = client.get(_url(approved_version))
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")


@pytest.mark.parametrize("who", ["filer_b", "port_zhejiang"])
def test_other_units_and_other_provinces_get_404(
    client: Any, who: str, request: pytest.FixtureRequest, make_user: Callable[..., User], approved_version: Any
) -> None:
    user = (
        request.getfixturevalue("filer_b")
        if who == "filer_b"
        else _port_admin(make_user, "port-zj-p@example.cn", "330000")
    )
    client.force_login(user)
    assert client.get(_url(approved_version)).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.DOWNLOAD).exists()


def test_anonymous_is_sent_to_login(client: Any, approved_version: ProductVersion) -> None:
    response = client.get(_url(approved_version))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_a_product_without_filing_number_answers_404(
    client: Any, filer_a: User, unit_a: FilingUnit, new_version: Callable[..., ProductVersion]
) -> None:
    version = new_version(unit_a, filer_a)
    workflow.version_submit(version=version, user=filer_a)
    client.force_login(filer_a)
    assert client.get(_url(version)).status_code == 404


def test_a_revoked_product_has_no_receipt(
    client: Any, filer_a: User, reviewer: User, approved_version: ProductVersion
) -> None:
    workflow.version_revoke(version=approved_version, user=reviewer, reason="专利失效")
    client.force_login(filer_a)
    assert client.get(_url(approved_version)).status_code == 404
