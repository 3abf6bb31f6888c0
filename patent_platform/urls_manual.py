"""The rules and the user manual: public pages and PDFs (patent_platform/views/manual.py).

One route per document, so a URL names no object: `manual:<role>` and `manual:<role>_pdf` for each
manual of the registry, `manual:rules`, `manual:rules_pdf`, `manual:index`, `manual:all_pdf`."""

from django.urls import path

from patent_platform.manual import MANUALS, RULES
from patent_platform.views.manual import ManualDocumentView, ManualIndexView, ManualPdfView

urlpatterns = [
    path("rules/", ManualDocumentView.as_view(), {"slug": RULES.slug}, name="rules"),
    path("rules.pdf", ManualPdfView.as_view(), {"slug": RULES.slug}, name="rules_pdf"),
    path("manual/", ManualIndexView.as_view(), name="index"),
    path("manual/all.pdf", ManualPdfView.as_view(), {"slug": "all"}, name="all_pdf"),
    *(path(f"manual/{m.slug}/", ManualDocumentView.as_view(), {"slug": m.slug}, name=m.slug) for m in MANUALS),
    *(path(f"manual/{m.slug}.pdf", ManualPdfView.as_view(), {"slug": m.slug}, name=f"{m.slug}_pdf") for m in MANUALS),
]
