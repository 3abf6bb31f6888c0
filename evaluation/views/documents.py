"""Documents of a candidate: the certificate PDF and the attachment of its additional information.

Both are scoped by `Candidate.objects.visible_to` (national administrators and reviewers, the owning
enterprise, the ports of its region, the experts assigned to it); anything else answers 404. Every
download writes an audit record.
"""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views import View

from evaluation.certificates import build_certificate_pdf, marking_path
from evaluation.choices import CandidateStatus, Stage
from evaluation.models import AdditionalInfo, Candidate
from filings.views.documents import attachment_header
from patent_platform import audit
from patent_platform.choices import AuditAction
from patent_platform.views.base import ScopedViewMixin


class CertificateView(ScopedViewMixin, View):
    """The certificate of a certified product (round published as final)."""

    model = Candidate

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        qs = self.scoped_queryset().select_related("round__method", "version", "unit", "product_class", "product")
        candidate = get_object_or_404(
            qs, pk=pk, status=CandidateStatus.CERTIFIED, round__stage=Stage.FINAL, certificate_number__isnull=False
        )
        number = candidate.certificate_number
        verify_url = request.build_absolute_uri(reverse("certified:verify", args=[number]))
        marking_url = request.build_absolute_uri(marking_path(candidate)) if candidate.product.filing_number else None
        pdf = build_certificate_pdf(candidate, verify_url, marking_url)
        audit.audit_event(
            action=AuditAction.DOWNLOAD, obj=candidate, actor=request.user, message=f"certificate {number}"
        )
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = attachment_header(f"认定证书-{number}.pdf", f"certificate-{number}.pdf")
        response["Cache-Control"] = "private, no-store"
        return response


class AttachmentView(ScopedViewMixin, View):
    """The PDF a filer attached to its additional information (for the experts and the office)."""

    model = AdditionalInfo

    def get(self, request: HttpRequest, pk: int) -> FileResponse:
        info = get_object_or_404(self.scoped_queryset().select_related("candidate"), candidate_id=pk)
        if not info.attachment:
            raise Http404
        try:
            handle = info.attachment.open("rb")
        except (FileNotFoundError, ValueError) as exc:
            raise Http404 from exc
        audit.audit_event(action=AuditAction.DOWNLOAD, obj=info, actor=request.user, message=f"attachment {pk}")
        response = FileResponse(handle, content_type="application/pdf")
        response["Content-Disposition"] = content_disposition_header(False, f"证明材料-{pk}.pdf") or ""
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response
