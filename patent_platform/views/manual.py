"""The rules and the user manual (patent_platform/manual.py) as public pages and as PDFs.

Pages: `/rules/`, `/manual/`, `/manual/<role>/`; PDFs: `/rules.pdf`, `/manual/<role>.pdf`,
`/manual/all.pdf`. The PDFs are rendered by WeasyPrint like the receipts (filings/receipts.py): the CSS
names "Noto Sans CJK SC", the screenshots are embedded as data: URIs read from the static files, and
the renderer may fetch nothing else. A PDF is rendered once per registry text, screenshot set and
language and then served from the cache, so the public address cannot be used to load the server.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any, ClassVar

from django.core.cache import caches
from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone, translation
from django.views import View

from patent_platform import manual
from patent_platform.views.base import PublicTemplateView

PDF_CACHE_SECONDS = 24 * 3600


def generated_at() -> dt.datetime | None:
    """When the browser test took the screenshots (the manifest it wrote), in local time."""
    stamp = manual.manifest().get("generated_at")
    if not stamp:
        return None
    try:
        return timezone.localtime(dt.datetime.fromisoformat(stamp))
    except ValueError:
        return None


def doc_urls(doc: manual.Manual) -> dict[str, str]:
    if doc.slug == manual.RULES.slug:
        return {"page": reverse("manual:rules"), "pdf": reverse("manual:rules_pdf")}
    return {"page": reverse(f"manual:{doc.slug}"), "pdf": reverse(f"manual:{doc.slug}_pdf")}


def data_uri(shot: manual.Screenshot) -> str | None:
    raw = manual.read_static(shot.static_path)
    if raw is None:
        return None
    return "data:image/png;base64," + base64.b64encode(raw).decode("ascii")


def document_context(doc: manual.Manual, *, embed: bool, figure_start: int = 1) -> dict[str, Any]:
    """A document's sections ready for the templates, with anchors and numbered figures.

    `embed`: images as data: URIs (PDF) instead of static URLs (pages)."""
    screens = manual.manifest().get("screens", {})
    sections = []
    figure = figure_start
    for index, section in enumerate(doc.sections, start=1):
        item: dict[str, Any] = {"section": section, "anchor": f"{doc.slug}-{index}", "number": index}
        shot = section.shot
        if shot is not None:
            present = manual.read_static(shot.static_path) is not None
            src = (data_uri(shot) if embed else static(shot.static_path)) if present else None
            item.update(shot=shot, figure=figure, src=src, taken=screens.get(shot.name))
            figure += 1
        sections.append(item)
    return {"doc": doc, "sections": sections, "urls": doc_urls(doc), "next_figure": figure}


class ManualIndexView(PublicTemplateView):
    template_name = "manual/index.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["rules"] = {"doc": manual.RULES, "urls": doc_urls(manual.RULES)}
        context["manuals"] = [{"doc": m, "urls": doc_urls(m)} for m in manual.MANUALS]
        context["all_pdf"] = reverse("manual:all_pdf")
        context["generated_at"] = generated_at()
        return context


class ManualDocumentView(PublicTemplateView):
    """The rules or one role's manual; the document comes from the route (`slug` in its kwargs)."""

    template_name = "manual/document.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        slug = kwargs["slug"]
        doc = manual.RULES if slug == manual.RULES.slug else manual.MANUAL.get(slug)
        if doc is None:
            raise Http404
        context.update(document_context(doc, embed=False))
        context["generated_at"] = generated_at()
        context["index_url"] = reverse("manual:index")
        context["rules_url"] = reverse("manual:rules")
        context["other_manuals"] = [{"doc": m, "urls": doc_urls(m)} for m in manual.MANUALS if m.slug != slug]
        return context


def build_pdf(slug: str) -> bytes:
    """The PDF of the rules, of one manual or of all of them ("all"), with a table of contents."""
    import weasyprint

    docs, figure = [], 1
    for doc in manual.documents(slug):
        item = document_context(doc, embed=True, figure_start=figure)
        figure = item["next_figure"]
        docs.append(item)
    title = docs[0]["doc"].title if len(docs) == 1 else manual.ALL_TITLE
    html = render_to_string(
        "manual/pdf.html", {"docs": docs, "title": title, "generated_at": generated_at(), "now": timezone.localtime()}
    )
    fetcher = weasyprint.URLFetcher(allowed_protocols={"data"})
    pdf: bytes = weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf()  # weasyprint is untyped
    return pdf


def cached_pdf(slug: str) -> bytes:
    stamp = manual.manifest().get("generated_at") or "none"
    key = f"manual-pdf:{slug}:{translation.get_language()}:{manual.registry_fingerprint()}:{stamp}"
    documents = caches["documents"]
    pdf: bytes | None = documents.get(key)
    if pdf is None:
        pdf = build_pdf(slug)
        documents.set(key, pdf, PDF_CACHE_SECONDS)
    return pdf


class ManualPdfView(View):
    scope_policy: ClassVar[str] = "public"
    http_method_names = ["get", "head"]  # noqa: RUF012  (django-stubs: an instance variable of View)

    def get(self, request: HttpRequest, slug: str) -> HttpResponse:
        if slug not in {"all", manual.RULES.slug, *manual.MANUAL}:
            raise Http404
        response = HttpResponse(cached_pdf(slug), content_type="application/pdf")
        name = "rules" if slug == manual.RULES.slug else f"manual-{slug}"
        response["Content-Disposition"] = f'inline; filename="{name}.pdf"'
        return response
