"""Experts' pages of the certification: their assignments and the scoring form (`evaluation.industry`).

An expert reads only the candidates assigned to them (`visible_to`); any other answers 404. Expert
identities stay national-only.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from evaluation import industry
from evaluation.choices import Direction, Stage
from evaluation.models import (
    CRITERIA,
    AdditionalInfo,
    Assignment,
    IndicatorResult,
    Round,
)
from evaluation.views.participants import calendars, criteria_scores, trait_groups
from filings.forms import BootstrapFormMixin, apply_service_errors
from patent_platform.choices import Role
from patent_platform.roles import signed_in
from patent_platform.views.base import ScopedTemplateView

# ---------------------------------------------------------------------------------------------
# Experts: their assignments and the scoring form


class ExpertHomeView(ScopedTemplateView):
    template_name = "evaluation/participants/expert_home.html"
    roles: ClassVar[frozenset[str] | None] = frozenset({Role.EXPERT})

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        assignments = (
            self.scoped_queryset(Assignment)
            .select_related("candidate__round", "candidate__version", "candidate__product_class")
            .order_by(
                "-candidate__round__data_year", "-candidate__round_id", F("scored_at").asc(nulls_first=True), "pk"
            )
        )
        groups: list[dict[str, Any]] = []
        for a in assignments:
            rnd = a.candidate.round
            if not groups or groups[-1]["round"].pk != rnd.pk:
                groups.append({"round": rnd, "open": rnd.stage == Stage.INDUSTRY, "assignments": [], "todo": 0})
            groups[-1]["assignments"].append(a)
            if a.scored_at is None and rnd.stage == Stage.INDUSTRY:
                groups[-1]["todo"] += 1
        context.update(
            groups=groups,
            todo=sum(g["todo"] for g in groups),
            # the rounds of their tasks, and every round still running (experts may be called on in any)
            calendars=calendars([*(g["round"] for g in groups), *Round.objects.exclude(stage=Stage.FINAL)]),
        )
        return context


class ScoreForm(BootstrapFormMixin, forms.Form):
    """Raw inputs; the bounds are the service's (`industry.score_errors`), shown on the fields."""

    comments = forms.CharField(
        label=Assignment._meta.get_field("comments").verbose_name,
        required=False,
        max_length=3000,
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": 3000}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        criteria = {}
        for name, label, points in CRITERIA:
            criteria[name] = forms.CharField(
                label=_("%(label)s（满分 %(max)s 分）") % {"label": label, "max": points},
                required=False,
                max_length=10,
                widget=forms.NumberInput(attrs={"min": 0, "max": points, "step": "0.01", "inputmode": "decimal"}),
            )
        self.fields = {**criteria, **self.fields}
        self._style_widgets()

    def scores(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name) or "" for name, _l, _p in CRITERIA}


class AssignmentView(ScopedTemplateView):
    template_name = "evaluation/participants/assignment.html"
    roles: ClassVar[frozenset[str] | None] = frozenset({Role.EXPERT})

    def get_assignment(self) -> Assignment:
        qs = self.scoped_queryset(Assignment).select_related(
            "candidate__round__method", "candidate__version", "candidate__unit", "candidate__product_class"
        )
        return get_object_or_404(qs, pk=self.kwargs["pk"])

    def render_page(self, assignment: Assignment, form: ScoreForm | None, status: int = 200) -> HttpResponse:
        user = self.request.user
        candidate = assignment.candidate
        results = list(IndicatorResult.objects.visible_to(user).filter(candidate=candidate).select_related("indicator"))
        context = {
            "assignment": assignment,
            "candidate": candidate,
            "version": candidate.version,
            "round": candidate.round,
            "method": candidate.round.method,
            "groups": trait_groups(results, candidate.round.method, candidate.passed_in),
            "info": AdditionalInfo.objects.visible_to(user).filter(candidate=candidate).first(),
            "form": form,
            "open": candidate.round.stage == Stage.INDUSTRY,
            "saved": criteria_scores(assignment),
            "total_max": sum(p for _n, _l, p in CRITERIA),
            "direction_lower": Direction.LOWER,
            "calendars": calendars([candidate.round]),
        }
        return render(self.request, self.template_name, context, status=status)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        assignment = self.get_assignment()
        form = None
        if assignment.candidate.round.stage == Stage.INDUSTRY:
            initial = {name: getattr(assignment, name) for name, _l, _p in CRITERIA}
            initial["comments"] = assignment.comments
            form = ScoreForm(initial=initial)
        return self.render_page(assignment, form)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        assignment = self.get_assignment()
        form = ScoreForm(request.POST)
        if form.is_valid():
            try:
                industry.score_submit(
                    assignment_id=assignment.pk,
                    user=signed_in(request),
                    scores=form.scores(),
                    comments=form.cleaned_data.get("comments") or "",
                )
            except ValidationError as exc:
                if getattr(exc, "code", None) in ("wrong_stage", "scoring_closed"):
                    messages.error(request, " ".join(exc.messages))
                    return redirect("certification:assignment", pk=assignment.pk)
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("评分已保存。产业性评价结束前仍可修改。"))
                return redirect("certification:expert_home")
        return self.render_page(assignment, form, status=400)
