"""Filing statements (备案情况证明): the enterprise's own, the administrators' lookup by USCC, the PDF, the
Excel list, and the public verification page (namespace `statements`).

Scoping: every read goes through `visible_to`. An enterprise user sees and issues its own unit's statements;
a port administrator those of the units in its region; the national administrator all. Reviewers and experts
get 404 (statements are administrative documents, not review material). A USCC outside the port's region is
answered exactly as an unknown one.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import ListView

from filings import services as filing_services
from filings.identifiers import validate_uscc
from filings.models import FilingUnit
from filings.views.documents import attachment_header
from patent_platform import audit
from patent_platform.choices import AuditAction, Role
from patent_platform.exports import xlsx_response
from patent_platform.ratelimit import rate_limit
from patent_platform.roles import signed_in
from patent_platform.views import signature
from patent_platform.views.base import PublicTemplateView, ScopedListView, ScopedViewMixin
from provincial import statements as svc
from provincial.models import FilingStatement


class UsccForm(forms.Form):
    uscc = forms.CharField(
        label=gettext_lazy("统一社会信用代码"),
        max_length=40,
        help_text=gettext_lazy("18 位，可含空格；在本辖区范围内查找备案单位"),
        error_messages={"required": gettext_lazy("请输入要查找的统一社会信用代码。")},
    )

    def clean_uscc(self) -> str:
        return validate_uscc(self.cleaned_data["uscc"])


def _issue_and_redirect(request: HttpRequest, unit: FilingUnit, target: str) -> HttpResponse:
    statement = svc.statement_issue(unit=unit, user=signed_in(request))
    messages.success(request, _("已生成备案情况证明 %(number)s，可下载 PDF。") % {"number": statement.number})
    return HttpResponseRedirect(target)


class MyStatementsView(ScopedListView):
    """An enterprise user: its unit's statements, newest first; POST issues a new one."""

    model = FilingStatement
    roles: ClassVar[frozenset[str] | None] = frozenset({Role.ENTERPRISE})
    template_name = "provincial/statements/mine.html"
    context_object_name = "statements"
    paginate_by = 20

    def unit(self) -> FilingUnit:
        return filing_services.member_unit(self.request.user)

    def get_queryset(self) -> Any:
        return self.scoped_queryset().filter(unit=self.unit()).select_related("generated_by")

    def post(self, request: HttpRequest) -> HttpResponse:
        return _issue_and_redirect(request, self.unit(), reverse("statements:mine"))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["unit"] = self.unit()
        return context


class StatementListView(ScopedListView):
    """Port and national administrators: look a unit up by USCC; the statements issued in scope."""

    model = FilingStatement
    roles: ClassVar[frozenset[str] | None] = svc.ADMINISTRATORS
    template_name = "provincial/statements/list.html"
    context_object_name = "statements"
    paginate_by = 50

    def get_queryset(self) -> Any:
        return self.scoped_queryset().select_related("unit__region", "generated_by")

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        status = 200
        self.form = UsccForm(request.GET) if "uscc" in request.GET else UsccForm()
        if self.form.is_bound:
            if self.form.is_valid():
                code = self.form.cleaned_data["uscc"]
                unit = self.scoped_queryset(FilingUnit).filter(uscc=code).first()
                if unit is not None:
                    return HttpResponseRedirect(reverse("statements:unit", args=[unit.pk]))
                # out of scope reads exactly as unknown
                self.form.add_error("uscc", _("未找到统一社会信用代码为 %(code)s 的备案单位。") % {"code": code})
                status = 404
            else:
                status = 400
        response = super().get(request, *args, **kwargs)
        response.status_code = status
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["form"] = self.form
        return context


class StatementExportView(ScopedViewMixin, View):
    model = FilingStatement
    roles: ClassVar[frozenset[str] | None] = svc.ADMINISTRATORS

    def get(self, request: HttpRequest) -> HttpResponse:
        statements = self.scoped_queryset().select_related("unit__region", "generated_by").order_by("-generated_at")
        rows = (
            [
                s.number,
                s.unit.name,
                s.unit.uscc,
                s.unit.region.full_name,
                s.generated_at,
                s.data_as_of,
                s.content.get("totals", {}).get("filed_versions", 0),
                s.content.get("totals", {}).get("certified", 0),
                s.generated_by.get_full_name() if s.generated_by else "",
            ]
            for s in statements.iterator(chunk_size=500)
        )
        return xlsx_response(
            filename=f"{_('备案情况证明')}-{timezone.localdate().isoformat()}.xlsx",
            title=_("备案情况证明"),
            headers=[
                _("证明编号"),
                _("单位名称"),
                _("统一社会信用代码"),
                _("所在地区"),
                _("生成时间"),
                _("数据截至"),
                _("已备案产品（个）"),
                _("已认定产品（个）"),
                _("生成人"),
            ],
            rows=rows,
            object_type=FilingStatement._meta.label,
            actor=request.user,
        )


class UnitStatementsView(ScopedViewMixin, ListView):
    """One unit in the administrator's scope: its statements; POST issues a new one."""

    model = FilingUnit
    roles: ClassVar[frozenset[str] | None] = svc.ADMINISTRATORS
    template_name = "provincial/statements/unit.html"
    context_object_name = "statements"
    paginate_by = 50

    def unit(self) -> FilingUnit:
        if not hasattr(self, "_unit"):
            self._unit = get_object_or_404(
                self.scoped_queryset(FilingUnit).select_related("region"), pk=self.kwargs["pk"]
            )
        return self._unit

    def get_queryset(self) -> Any:
        return self.scoped_queryset(FilingStatement).filter(unit=self.unit()).select_related("generated_by")

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        unit = self.unit()
        return _issue_and_redirect(request, unit, reverse("statements:unit", args=[unit.pk]))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["unit"] = self.unit()
        return context


class StatementPdfView(ScopedViewMixin, View):
    """The PDF of a statement in scope (its own unit for an enterprise); every download is audited."""

    model = FilingStatement
    roles: ClassVar[frozenset[str] | None] = svc.ISSUERS

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        statement = get_object_or_404(self.scoped_queryset().select_related("unit"), pk=pk)
        pdf = svc.render_pdf(statement)
        audit.audit_event(
            action=AuditAction.DOWNLOAD,
            obj=statement,
            actor=request.user,
            message=f"filing statement {statement.number}",
        )
        response = HttpResponse(pdf, content_type="application/pdf")
        number = statement.number
        response["Content-Disposition"] = attachment_header(f"备案情况证明-{number}.pdf", f"statement-{number}.pdf")
        response["Cache-Control"] = "private, no-store"
        return response


@rate_limit("search", methods=("GET", "HEAD"))
class VerifyView(PublicTemplateView):
    """Public, no login: the statement as issued (by its token from the QR code) and what changed since."""

    template_name = "provincial/statements/verify.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.page(request, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """An uploaded statement PDF: its SM2 signature, and whether it is this statement's."""
        return self.page(request, check=True, **kwargs)

    def page(self, request: HttpRequest, check: bool = False, **kwargs: Any) -> HttpResponse:
        token = self.kwargs["token"]
        statement = FilingStatement.objects.select_related("unit").filter(token=token).first()
        if statement is None:
            return render(request, "provincial/statements/verify_missing.html", status=404)
        context = self.get_context_data(**kwargs)
        content = statement.content
        context.update(
            statement=statement,
            content=content,
            unit=content.get("unit", {}),
            years=content.get("years", []),
            totals=content.get("totals", {}),
            intact=svc.digest(content) == statement.sha256,
            changes=svc.changes_since(statement),
            checked_at=timezone.now(),
            sig_form=signature.SignatureCheckForm(),
            sig_expected=True,
            **signature.key_context(),
        )
        status = 200
        if check:
            context.update(signature.check_upload(request, expected=svc.statement_facts(statement)))
            status = 200 if context["sig_form"].is_valid() else 400
        return self.render_to_response(context, status=status)
