"""The public side of the documents' SM2 signatures (patent_platform/signing.py): the public key at a stable
address (/.well-known/sm2-public-key.pem, and on /verify/signature/), and the check of an uploaded PDF, on
/verify/signature/ (any document) and on the verification pages of certificates and statements, which
also compare the signed facts with the record behind the page.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from patent_platform import signing
from patent_platform.uploads import validate_upload
from patent_platform.views.base import PublicTemplateView

MAX_PDF_BYTES = 5 * 1024 * 1024
FIELD_LABELS = {
    "document": gettext_lazy("文件类型"),
    "number": gettext_lazy("编号"),
    "filing_number": gettext_lazy("产品备案号"),
    "product": gettext_lazy("产品名称"),
    "model": gettext_lazy("型号规格"),
    "unit": gettext_lazy("单位名称"),
    "uscc": gettext_lazy("统一社会信用代码"),
    "data_year": gettext_lazy("数据年度"),
    "version": gettext_lazy("版本"),
    "approved_at": gettext_lazy("通过备案时间"),
    "patents": gettext_lazy("关联专利"),
    "product_class": gettext_lazy("产品分类"),
    "round": gettext_lazy("认定批次"),
    "method": gettext_lazy("评价方法版本"),
    "valid_from": gettext_lazy("有效期起"),
    "valid_until": gettext_lazy("有效期止"),
    "certified_at": gettext_lazy("认定时间"),
    "data_as_of": gettext_lazy("数据截至"),
    "totals": gettext_lazy("合计"),
    "sha256": gettext_lazy("内容摘要"),
    "url": gettext_lazy("查验网址"),
}
DOCUMENT_LABELS = {
    "receipt": gettext_lazy("备案回执"),
    "certificate": gettext_lazy("认定证书"),
    "statement": gettext_lazy("备案情况证明"),
}


class SignatureCheckForm(forms.Form):
    pdf = forms.FileField(label=gettext_lazy("PDF 文件"))

    def clean_pdf(self) -> bytes:
        # the upload rules (size, kind by content, no scripts); a signed document carries its signature as an
        # embedded file, and the upload is read here, never stored nor served
        file = self.cleaned_data["pdf"]
        validate_upload(file, allowed=("pdf",), max_bytes=MAX_PDF_BYTES, embedded_files=True)
        result: bytes = file.read()
        return result


def key_context() -> dict[str, Any]:
    key = signing.signing_key()
    return {"sm2_key_id": key.key_id, "sm2_public_key": key.pem, "sm2_algorithm": signing.ALGORITHM}


def _rows(facts: dict[str, Any]) -> list[tuple[str, Any]]:
    rows = []
    for name in sorted(facts, key=lambda n: (list(FIELD_LABELS).index(n) if n in FIELD_LABELS else 99, n)):
        value = facts[name]
        if name == "document":
            value = DOCUMENT_LABELS.get(str(value), value)
        elif isinstance(value, list):
            value = "、".join(str(v) for v in value)
        elif isinstance(value, dict):
            value = "；".join(f"{k}: {v}" for k, v in sorted(value.items()))
        rows.append((str(FIELD_LABELS.get(name, name)), value))
    return rows


def check_upload(request: HttpRequest, expected: dict[str, Any] | None = None) -> dict[str, Any]:
    """Check the PDF posted as `pdf`: its SM2 signature and, when `expected` is given (the facts of the record
    behind the page), whether it is this record's document. The context the include `_signature_check.html`
    reads: `sig_form`, `sig_result` ("valid", "mismatch", "invalid", "unreadable"), `sig_rows`, `sig_error`."""
    form = SignatureCheckForm(request.POST, request.FILES)
    context: dict[str, Any] = {"sig_form": form}
    if not form.is_valid():
        return context
    try:
        result = signing.verify_pdf(form.cleaned_data["pdf"])
    except signing.SignatureError:
        context.update(sig_result="unreadable", sig_error=_("该文件中没有可读取的平台 SM2 签名。"))
        return context
    context["sig_rows"] = _rows(result.facts)
    if not result.valid:
        context["sig_result"] = "invalid"
    elif expected is not None and _comparable(result.facts) != _comparable(expected):
        context["sig_result"] = "mismatch"
    else:
        context["sig_result"] = "valid"
    return context


def _comparable(facts: dict[str, Any]) -> dict[str, Any]:
    # The address printed depends on the host the document was downloaded from; the facts do not.
    return {k: v for k, v in facts.items() if k != "url"}


class SignatureVerifyView(PublicTemplateView):
    """Any signed document: upload it, see whether the SM2 signature is valid and what it covers."""

    template_name = "documents/signature_verify.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("sig_form", SignatureCheckForm())
        context.update(key_context())
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        context = self.get_context_data(**kwargs, **check_upload(request))
        status = 400 if not context["sig_form"].is_valid() else 200
        return self.render_to_response(context, status=status)


class PublicKeyView(View):
    """The platform's SM2 public key, PEM (SubjectPublicKeyInfo), for `verify_document --public-key`."""

    scope_policy: ClassVar[str] = "public"

    def get(self, request: HttpRequest) -> HttpResponse:
        return public_key_response()


def public_key_response() -> HttpResponse:
    key = signing.signing_key()
    response = HttpResponse(key.pem, content_type="application/x-pem-file; charset=us-ascii")
    response["Content-Disposition"] = 'inline; filename="sm2-public-key.pem"'
    response["X-Key-Id"] = key.key_id
    response["Cache-Control"] = "public, max-age=3600"
    return response
