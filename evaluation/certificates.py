"""The certificate of a patent-intensive product (专利密集型产品认定证书): a PDF with the certificate
number, the product, the unit, the class, the data year, the round, the standard and the method version
that produced the verdict (the round's, `MethodVersion.standard_label` and `.code`), the validity period, the
issuing authority, the date, and a QR code to the product's public page (the virtual marking: its patents with
their legal status, its certificates with their status today); the address of the verification page is
printed beside it.

Rendered by WeasyPrint from `templates/evaluation/documents/certificate.html`, the same way as the
filing receipt (filings/receipts.py): the CSS names "Noto Sans CJK SC" (fonts-noto-cjk), embedded in the
PDF, and the renderer may fetch nothing but data: URIs, so a certificate never reaches the network or
the disk.

The certificate carries an SM2 signature of its facts (`certificate_facts`: number, product, unit, class, round,
method, validity, certification time, the verification address), embedded as `sm2-signature.json` and printed
with the key id (patent_platform/signing.py; `manage.py verify_document` checks a downloaded certificate).
"""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from evaluation.choices import CandidateStatus, Stage
from evaluation.models import Candidate
from filings.choices import FilingStatus
from filings.models import Product
from filings.receipts import qr_data_uri
from patent_platform import signing

TEMPLATE = "evaluation/documents/certificate.html"
# Who issues the certificates: the national office (CNIPA certifies, DOMAIN.md §1, §6).
ISSUER = _("国家知识产权局")


def marking_path(candidate: Candidate) -> str:
    """The product's public page, at this certificate (where the certificate's QR code leads)."""
    path = reverse("public:product", args=[candidate.product.filing_number])
    return f"{path}#certificate-{candidate.certificate_number}"


def is_certified(candidate: Candidate) -> bool:
    """Certified on a published final list, with a certificate number."""
    return (
        candidate.status == CandidateStatus.CERTIFIED
        and candidate.round.stage == Stage.FINAL
        and bool(candidate.certificate_number)
    )


def filing_in_force(candidate: Candidate) -> bool:
    """The certified product-year is still a filing in force (not revoked, product still public).

    `candidate.product_public` may be annotated by the caller; otherwise it is read."""
    if candidate.version.status == FilingStatus.REVOKED:
        return False
    public = getattr(candidate, "product_public", None)
    if public is None:
        public = Product.objects.public().filter(pk=candidate.product_id).exists()
    return bool(public)


def certificate_facts(candidate: Candidate, verify_url: str) -> dict[str, Any]:
    """What the certificate's signature covers (its canonical content); also read by the verification page
    to compare an uploaded certificate with the record, whatever the certificate's status today."""
    certified_at = timezone.localtime(candidate.certified_at) if candidate.certified_at else None
    return {
        "document": "certificate",
        "number": candidate.certificate_number,
        "filing_number": candidate.product.filing_number or None,
        "product": candidate.version.name,
        "model": candidate.version.model,
        "unit": candidate.unit.name,
        "uscc": candidate.unit.uscc,
        "product_class": candidate.product_class.code,
        "data_year": candidate.version.data_year,
        "round": candidate.round.name,
        "method": candidate.round.method.code,
        "valid_from": candidate.valid_from.isoformat() if candidate.valid_from else None,
        "valid_until": candidate.valid_until.isoformat() if candidate.valid_until else None,
        "certified_at": certified_at.isoformat(timespec="seconds") if certified_at else None,
        "url": verify_url,
    }


def certificate_context(candidate: Candidate, verify_url: str, marking_url: str | None = None) -> dict[str, Any]:
    """`verify_url` the verification page (printed); `marking_url` the product's public page (the QR code;
    without it, the QR code carries `verify_url`)."""
    if not is_certified(candidate):
        raise ValueError("a certificate needs a certified candidate of a final round")
    certified_at = timezone.localtime(candidate.certified_at) if candidate.certified_at else None
    qr_url = marking_url or verify_url
    return {
        "signed": signing.sign_facts(certificate_facts(candidate, verify_url)),
        "candidate": candidate,
        "number": candidate.certificate_number,
        "version": candidate.version,
        "unit": candidate.unit,
        "product_class": candidate.product_class,
        "round": candidate.round,
        "standard": candidate.round.method.standard_label,
        "method": candidate.round.method,
        "issuer": ISSUER,
        "valid_from": candidate.valid_from,
        "valid_until": candidate.valid_until,
        "certified_at": certified_at,
        "verify_url": verify_url,
        "qr_url": qr_url,
        "qr": qr_data_uri(qr_url),
    }


def render_certificate_html(candidate: Candidate, verify_url: str, marking_url: str | None = None) -> str:
    return render_to_string(TEMPLATE, certificate_context(candidate, verify_url, marking_url))


def build_certificate_pdf(candidate: Candidate, verify_url: str, marking_url: str | None = None) -> bytes:
    """The certificate of a certified `candidate` as PDF bytes; the QR code points at `marking_url` (the
    product's public page) or, without it, at `verify_url`."""
    import weasyprint

    context = certificate_context(candidate, verify_url, marking_url)
    html = render_to_string(TEMPLATE, context)
    fetcher = weasyprint.URLFetcher(allowed_protocols={"data"})
    return signing.write_signed_pdf(weasyprint.HTML(string=html, url_fetcher=fetcher), context["signed"])
