"""A suspended certificate seen from its QR code: the demo's 深圳鹏芯 certificate is suspended by a legal-status
change of its core patent (what the import applies); its filer downloads the certificate PDF in the browser;
the QR code printed on it is decoded from a picture of the page (poppler's pdftoppm, then zbar's zbarimg);
a visitor without an account opens the decoded address and sees the product's page with the certificate
suspended and why, the patent's status and when it was checked, and from there the verification page."""

import io
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from playwright.sync_api import expect

from evaluation.models import Candidate
from filings import drift
from patent_platform.models import User
from tests.browser.test_filing_journey import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Demo-2026!"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def candidate(reference: None) -> Candidate:
    call_command("load_demo", verbosity=0, stdout=io.StringIO())
    return Candidate.objects.select_related("product", "version").get(
        status="certified", unit__name__contains="深圳鹏芯"
    )


def decode_qr(pdf: bytes, tmp_path: Path) -> str:
    """The text of the QR code on the PDF's first page, read from a picture of it by zbar."""
    (tmp_path / "certificate.pdf").write_bytes(pdf)
    subprocess.run(
        [
            shutil.which("pdftoppm") or "pdftoppm",
            "-r",
            "200",
            "-png",
            "-singlefile",
            "-f",
            "1",
            "-l",
            "1",
            str(tmp_path / "certificate.pdf"),
            str(tmp_path / "page"),
        ],
        check=True,
    )
    result = subprocess.run(
        [
            shutil.which("zbarimg") or "zbarimg",
            "--raw",
            "-q",
            "-Sdisable",
            "-Sqrcode.enable",
            str(tmp_path / "page.png"),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    codes = result.stdout.strip().splitlines()
    assert len(codes) == 1, codes
    return codes[0]


def test_a_suspended_certificates_qr_code_opens_its_public_page_with_the_suspension_and_its_reason(  # type: ignore[no-untyped-def]
    browser, page, live_server, candidate: Candidate, tmp_path: Path
) -> None:
    patent = candidate.version.links.filter(is_core=True).select_related("right__patent").first().right.patent
    reviewer = User.objects.get(email="reviewer@example.cn")
    with transaction.atomic():  # what the legal-status import applies for the row "失效"
        drift.legal_status_apply(
            rows=[drift.Row(number=2, patent=patent.number, status="lapsed")], source=None, user=reviewer
        )

    # the filer downloads its certificate in the browser
    log_in(page, "ent-sz@example.cn", PASSWORD, "/enterprise/")
    response = page.request.get(reverse("certification:certificate", args=[candidate.pk]))
    assert response.ok and response.headers["content-type"] == "application/pdf"
    url = decode_qr(response.body(), tmp_path)
    number, filing_number = candidate.certificate_number, candidate.product.filing_number
    assert url == f"{live_server.url}/products/{filing_number}/#certificate-{number}"

    # anyone who scans it: no account
    visitor = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})  # a phone
    scan = visitor.new_page()
    scan.goto(url)
    certificate = scan.locator(f"#certificate-{number}")
    expect(certificate).to_be_visible()
    expect(certificate).to_have_attribute("data-status", "suspended")
    expect(certificate.locator("[data-testid=certificate-status]")).to_have_text("暂停")
    expect(certificate.locator("[data-testid=certificate-reasons]")).to_contain_text(
        f"核心专利 {patent.number} 失效、期限届满或被宣告无效"
    )
    row = scan.locator("[data-testid=public-patent]", has_text=patent.number)
    expect(row.locator("[data-testid=patent-status]")).to_have_attribute("data-status", "lapsed")
    expect(row.locator("[data-testid=patent-checked]")).not_to_be_empty()

    # and from there the verification page says the same
    certificate.locator("[data-testid=certificate-link]").click()
    scan.wait_for_url(f"**{reverse('certified:verify', args=[number])}")
    expect(scan.locator("[data-testid=verify-status]")).to_have_attribute("data-status", "suspended")
    expect(scan.locator("[data-testid=verify-reasons]")).to_contain_text(patent.number)
    expect(scan.locator("[data-testid=verify-history]")).to_contain_text("核心专利失效、期限届满或被宣告无效")
    assert urlsplit(scan.url).path == reverse("certified:verify", args=[number])
    visitor.close()
