"""The national office decides an objection lodged during a round's publicity (公示).

National administrators only (everyone else gets 404); the decision goes through `evaluation.publicity`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from evaluation import publicity
from evaluation.models import Objection
from evaluation.views.common import NATIONAL, StyledForm, add_service_errors
from patent_platform.concurrency import Conflict
from patent_platform.roles import signed_in
from patent_platform.views.base import ScopedTemplateView

# ---------------------------------------------------------------------------------------------
# Objections


class DecisionForm(StyledForm):
    uphold = forms.TypedChoiceField(
        label=gettext_lazy("处理结果"),
        choices=[("0", gettext_lazy("异议不成立")), ("1", gettext_lazy("异议成立（不予认定）"))],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    decision = forms.CharField(
        label=gettext_lazy("处理意见"), max_length=3000, widget=forms.Textarea(attrs={"rows": 4})
    )


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return default


class ObjectionDecideView(ScopedTemplateView):
    """Uphold or dismiss one objection, with the reasons and the candidate beside the form."""

    roles = NATIONAL
    model = Objection
    template_name = "evaluation/national/objection.html"

    def get_objection(self) -> Objection:
        return get_object_or_404(
            self.scoped_queryset().select_related("candidate__round", "candidate__version", "candidate__unit"),
            pk=self.kwargs["pk"],
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        objection = self.get_objection()
        context.update(
            objection=objection,
            candidate=objection.candidate,
            form=kwargs.get("form") or DecisionForm(),
            next=_safe_next(self.request, reverse("certification:round", args=[objection.candidate.round_id])),
        )
        return context

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        objection = self.get_objection()
        form = DecisionForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                publicity.objection_decide(
                    objection_id=objection.pk,
                    user=signed_in(request),
                    uphold=form.cleaned_data["uphold"],
                    decision=form.cleaned_data["decision"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
                if isinstance(exc, Conflict):  # decided by another request first: the page shows the decision
                    status = 409
                    messages.error(request, " ".join(exc.messages))
            else:
                messages.success(request, _("异议已处理。"))
                return HttpResponseRedirect(
                    _safe_next(request, reverse("certification:round", args=[objection.candidate.round_id]))
                )
        return self.render_to_response(self.get_context_data(form=form), status=status)
