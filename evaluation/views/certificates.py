"""The national office's pages of the certificates' life: every certificate with its status today (scoped,
with an Excel export), and the revocation of one with its ground and reason (a confirmed form).

The rules are evaluation/lifecycle.py's; these views parse, call it and render.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from evaluation import lifecycle
from evaluation.choices import REVOCATION_GROUNDS, CertificateStatus
from evaluation.models import Candidate, CertificateEvent
from evaluation.views.common import StyledForm, add_service_errors
from patent_platform.choices import Role
from patent_platform.clock import china_today
from patent_platform.exports import xlsx_response
from patent_platform.roles import has_role, signed_in
from patent_platform.views.base import ScopedListView, ScopedTemplateView

NATIONAL = frozenset({Role.NATIONAL_ADMIN})
READERS = frozenset({Role.NATIONAL_ADMIN, Role.REVIEWER, Role.PORT_ADMIN})


class CertificateFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("今日状态"),
        required=False,
        choices=[("", gettext_lazy("全部")), *CertificateStatus.choices],
    )
    q = forms.CharField(label=gettext_lazy("证书编号或产品名称"), required=False, max_length=100)


class CertificateListView(ScopedListView):
    """Every certificate issued that the reader may see, with its status today and why (national office,
    reviewers, ports for their regions)."""

    roles = READERS
    model = Candidate
    template_name = "evaluation/certificates/list.html"
    context_object_name = "certificates"

    def get_queryset(self) -> QuerySet[Candidate]:
        self.form = CertificateFilterForm(self.request.GET or None)
        values = self.form.cleaned_data if self.form.is_valid() else {}
        qs = lifecycle.with_standing(lifecycle.issued().filter(pk__in=self.scoped_queryset().values("pk")))
        if text := (values.get("q") or "").strip():
            qs = qs.filter(certificate_number__iexact=text.replace(" ", "")) | qs.filter(version__name__icontains=text)
        self.today = china_today()
        qs = qs.select_related("round", "version", "unit", "product").order_by(
            "-round__data_year", "certificate_number"
        )
        if status := values.get("status"):
            # the status today is the recorded one corrected for the day (lifecycle.standing): filtered here
            return [c for c in qs if lifecycle.standing(c, self.today).status == status]  # type: ignore[return-value]
        return qs

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.GET.get("export") == "xlsx":
            return self.export()
        return super().get(request, *args, **kwargs)

    def export(self) -> HttpResponse:
        headers = [
            _("证书编号"),
            _("产品名称"),
            _("认定单位"),
            _("数据年度"),
            _("认定批次"),
            _("有效期起"),
            _("有效期至"),
            _("今日状态"),
            _("原因"),
        ]
        rows = []
        for c in self.get_queryset():
            state = lifecycle.standing(c, self.today)
            rows.append(
                [
                    c.certificate_number,
                    c.version.name,
                    c.unit.name,
                    c.round.data_year,
                    c.round.name,
                    c.valid_from,
                    c.valid_until,
                    state.label,
                    "；".join(state.reasons),
                ]
            )
        return xlsx_response(
            filename=f"{_('认定证书')}.xlsx",
            title=_("认定证书"),
            headers=headers,
            rows=rows,
            object_type="evaluation.candidate",
            changes={"query": self.request.GET.urlencode()},
            actor=self.request.user,
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        for c in context["certificates"]:
            c.standing = lifecycle.standing(c, self.today)
        query = self.request.GET.copy()
        query.pop("page", None)
        query.pop("export", None)
        context.update(
            form=self.form, query=query.urlencode(), may_revoke=has_role(self.request.user, Role.NATIONAL_ADMIN)
        )
        return context


class RevokeForm(StyledForm):
    ground = forms.ChoiceField(
        label=gettext_lazy("撤销依据"),
        choices=[(c.value, c.label) for c in REVOCATION_GROUNDS],
        widget=forms.RadioSelect,
        required=False,
    )
    reason = forms.CharField(
        label=gettext_lazy("撤销理由"),
        required=False,
        max_length=3000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("写明事实和依据（不少于 10 个字）；理由在证书查验页和产品公开页上公开，并通知备案单位"),
    )


class CertificateRevokeView(ScopedTemplateView):
    """Revoke a certificate (national office only; others get 404): the certificate, its history and a form
    that asks for the ground and the reason, confirmed before it is sent."""

    roles = NATIONAL
    model = Candidate
    template_name = "evaluation/certificates/revoke.html"

    def get_candidate(self) -> Candidate:
        qs = lifecycle.with_standing(lifecycle.issued().filter(pk__in=self.scoped_queryset().values("pk")))
        return get_object_or_404(qs.select_related("round", "version", "unit", "product"), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        candidate = self.get_candidate()
        context.update(
            candidate=candidate,
            standing=lifecycle.standing(candidate),
            history=CertificateEvent.objects.visible_to(self.request.user)
            .filter(candidate=candidate)
            .select_related("actor")
            .order_by("at", "pk"),
            form=kwargs.get("form") or RevokeForm(),
        )
        return context

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        candidate = self.get_candidate()
        form = RevokeForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                lifecycle.certificate_revoke(
                    candidate_id=candidate.pk,
                    user=signed_in(request),
                    ground=form.cleaned_data["ground"],
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
                if getattr(exc, "code", None) == "revoked":
                    status = 409
            else:
                messages.success(request, _("证书 %(no)s 已撤销。") % {"no": candidate.certificate_number})
                return HttpResponseRedirect(reverse("certification:certificates"))
        return self.render_to_response(self.get_context_data(form=form), status=status)
