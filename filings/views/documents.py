"""Documents generated for a filing: the filing receipt PDF."""

from __future__ import annotations

from urllib.parse import quote

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views import View

from filings.models import Product
from filings.receipts import build_receipt_pdf
from patent_platform import audit
from patent_platform.choices import AuditAction
from patent_platform.views.base import ScopedViewMixin


def attachment_header(filename: str, ascii_fallback: str) -> str:
    return f"attachment; filename=\"{ascii_fallback}\"; filename*=UTF-8''{quote(filename)}"


class ReceiptView(ScopedViewMixin, View):
    """The filing receipt of a product: its unit's users, reviewers, national admins and the ports of its
    region (the scoping rule); only products with a filing number and a published (approved) version."""

    model = Product

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        qs = self.scoped_queryset().select_related("unit__region__parent__parent", "published_version__product_class")
        product = get_object_or_404(qs, pk=pk, filing_number__isnull=False, published_version__isnull=False)
        public_url = request.build_absolute_uri(reverse("public:product", args=[product.filing_number]))
        pdf = build_receipt_pdf(product, public_url)
        audit.audit_event(
            action=AuditAction.DOWNLOAD,
            obj=product,
            actor=request.user,
            message=f"receipt {product.filing_number}",
        )
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = attachment_header(
            f"备案回执-{product.filing_number}.pdf", f"receipt-{product.filing_number}.pdf"
        )
        response["Cache-Control"] = "private, no-store"
        return response
