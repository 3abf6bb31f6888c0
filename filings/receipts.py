"""The filing receipt (专利产品备案回执): a PDF with the filing number, the published version, the unit,
its patents and a QR code to the product's public page.

Rendered by WeasyPrint from `templates/filings/documents/receipt.html`. The CSS names the CJK font
"Noto Sans CJK SC" (Debian package fonts-noto-cjk), found through fontconfig and embedded in the PDF.
The renderer may fetch nothing but data: URIs, so a receipt never reaches the network or the disk.

The receipt carries an SM2 signature of its facts (`receipt_facts`: filing number, product, unit, data year,
version, approval time, the public address): embedded as `sm2-signature.json` and printed with the key id
(patent_platform/signing.py; `manage.py verify_document` checks a downloaded receipt offline).
"""

from __future__ import annotations

from typing import Any

import segno
from django.template.loader import render_to_string
from django.utils import timezone

from filings.models import Product
from patent_platform import signing

TEMPLATE = "filings/documents/receipt.html"


def qr_data_uri(url: str) -> str:
    """The URL as a QR code, an SVG data: URI (medium error correction)."""
    return segno.make(url, error="m", micro=False).svg_data_uri(scale=4, border=2)


def _iso(value: Any) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def receipt_facts(product: Product, public_url: str) -> dict[str, Any]:
    """What the receipt's signature covers (its canonical content)."""
    version = product.published_version
    if version is None or not product.filing_number:
        raise ValueError("a receipt needs a product with a filing number and a published version")
    return {
        "document": "receipt",
        "filing_number": product.filing_number,
        "product": version.name,
        "model": version.model,
        "unit": product.unit.name,
        "uscc": product.unit.uscc,
        "data_year": version.data_year,
        "version": version.pk,
        "approved_at": _iso(version.approved_at or version.decided_at),
        "patents": sorted(link.right.patent.patent_number for link in version.links.select_related("right__patent")),
        "url": public_url,
    }


def receipt_context(product: Product, public_url: str) -> dict[str, Any]:
    version = product.published_version
    if version is None or not product.filing_number:
        raise ValueError("a receipt needs a product with a filing number and a published version")
    links = version.links.select_related("right__patent")
    signed = signing.sign_facts(receipt_facts(product, public_url))
    return {
        "signed": signed,
        "product": product,
        "version": version,
        "unit": product.unit,
        "links": links,
        "public_url": public_url,
        "qr": qr_data_uri(public_url),
        "issued_at": timezone.localtime(),
    }


def render_receipt_html(product: Product, public_url: str) -> str:
    return render_to_string(TEMPLATE, receipt_context(product, public_url))


def build_receipt_pdf(product: Product, public_url: str) -> bytes:
    """The receipt of `product` (which must have a filing number and a published version) as PDF bytes."""
    import weasyprint

    context = receipt_context(product, public_url)
    html = render_to_string(TEMPLATE, context)
    fetcher = weasyprint.URLFetcher(allowed_protocols={"data"})
    return signing.write_signed_pdf(weasyprint.HTML(string=html, url_fetcher=fetcher), context["signed"])
