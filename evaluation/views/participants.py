"""Participants' pages of the certification: a candidate's result and why, the filer's information
form, the enterprise's candidacies and self-assessment. The port's regional results are
`evaluation.views.ports`, the expert's tasks `evaluation.views.scoring`; both read this module's helpers.

Every page reads through the scoping rule (`scoped_queryset` / `visible_to`): another unit's, another
region's or an unassigned candidate answers 404, the same as a missing one. Writes go through
`evaluation.rounds`; the errors it raises are shown per field with the input kept.

Who sees whom: expert identities and objectors are read through their national-only querysets; for
everyone else the scores and objection decisions of a visible candidate are read as bare values
(never the expert, the objector's name or contact).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from evaluation import engine, rounds, schedule
from evaluation.choices import CandidateStatus, ObjectionStatus, Stage, Trait
from evaluation.models import (
    CRITERIA,
    AdditionalInfo,
    Assignment,
    Candidate,
    IndicatorResult,
    Objection,
    Round,
)
from filings.choices import FilingStatus
from filings.forms import BootstrapFormMixin, apply_service_errors
from filings.models import ProductVersion
from patent_platform.choices import Role
from patent_platform.clock import china_today
from patent_platform.roles import signed_in
from patent_platform.uploads import validate_upload
from patent_platform.views.base import ScopedTemplateView

C = CandidateStatus
STAGE_AFTER_SCORING = (Stage.PUBLICITY, Stage.FINAL)
CANDIDATE_ROLES = frozenset({Role.NATIONAL_ADMIN, Role.REVIEWER, Role.PORT_ADMIN, Role.ENTERPRISE, Role.EXPERT})
CANDIDATE_RELATED = ("round__method", "version", "product", "unit", "product_class", "benchmark_set__product_class")


def stamp() -> str:
    return timezone.localtime().strftime("%Y%m%d")


def info_open(candidate: Candidate) -> bool:
    """Whether the filer may (still) add information to this candidate today."""
    rnd = candidate.round
    return (
        rnd.stage == Stage.INFO
        and candidate.status in (C.INFO_REQUESTED, C.INFO_SUBMITTED)
        and (candidate.info_due is None or china_today() <= candidate.info_due)
    )


def calendars(rnds: Iterable[Round], candidate: Candidate | None = None) -> list[dict[str, Any]]:
    """The calendars (deadlines with the time left) of the rounds a participant takes part in, unfinished
    ones only, each once."""
    seen: set[int] = set()
    result = []
    for rnd in rnds:
        if rnd.pk in seen or rnd.stage == Stage.FINAL:
            continue
        seen.add(rnd.pk)
        result.append({"round": rnd, "deadlines": schedule.deadlines(rnd, candidate=candidate)})
    return result


def open_rounds() -> list[Round]:
    """Rounds still taking candidacies (their filing cut-off not passed)."""
    return list(Round.objects.filter(deadline__gte=china_today()).order_by("deadline", "pk"))


def info_closed_message(candidate: Candidate) -> str:
    rnd = candidate.round
    if rnd.stage == Stage.INFO and candidate.status in (C.INFO_REQUESTED, C.INFO_SUBMITTED) and candidate.info_due:
        return _("补充材料已于 %(due)s 截止，不能再提交或修改。") % {"due": candidate.info_due.isoformat()}
    if candidate.status in (C.PATENT_FAILED, C.PATENT_PASSED) and rnd.stage == Stage.PATENT:
        return _("本批次尚未通知补充材料。")
    return _("该产品现在不需要（或不能再）补充材料：当前状态为“%(status)s”，批次处于“%(stage)s”阶段。") % {
        "status": candidate.get_status_display(),
        "stage": rnd.get_stage_display(),
    }


def trait_groups(rows: Iterable[Any], method: Any, passed_of: Any) -> list[dict[str, Any]]:
    """Rows (with `.indicator` / ["indicator"]) grouped by the standard's four traits, with the rule."""
    by_trait: dict[str, list[Any]] = {t: [] for t in Trait.values}
    for row in rows:
        indicator = row["indicator"] if isinstance(row, dict) else row.indicator
        by_trait.setdefault(indicator.trait, []).append(row)
    groups = []
    for trait in Trait:
        passed = passed_of(trait.value)
        groups.append(
            {
                "trait": trait.value,
                "label": trait.label,
                "rows": by_trait.get(trait.value, []),
                "passed": passed,
                "needed": method.min_passed_per_trait,
                "ok": passed >= method.min_passed_per_trait,
            }
        )
    return groups


# ---------------------------------------------------------------------------------------------
# The candidate: a result that always answers "why"


def expert_numbers(candidate: Candidate) -> dict[int, int]:
    """{assignment id: 1, 2, 3 …}: the anonymous numbering of a candidate's experts (stable: by id)."""
    ids = Assignment.objects.filter(candidate=candidate).order_by("pk").values_list("pk", flat=True)
    return {pk: n for n, pk in enumerate(ids, start=1)}


def criteria_scores(assignment: Any) -> list[dict[str, Any]]:
    get = assignment.get if isinstance(assignment, dict) else lambda name: getattr(assignment, name)
    return [{"name": name, "label": label, "max": points, "value": get(name)} for name, label, points in CRITERIA]


class CandidateView(ScopedTemplateView):
    template_name = "evaluation/participants/candidate.html"
    roles: ClassVar[frozenset[str] | None] = CANDIDATE_ROLES

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = signed_in(self.request)
        candidate = get_object_or_404(
            self.scoped_queryset(Candidate).select_related(*CANDIDATE_RELATED), pk=self.kwargs["pk"]
        )
        rnd, method = candidate.round, candidate.round.method
        results = list(IndicatorResult.objects.visible_to(user).filter(candidate=candidate).select_related("indicator"))
        info = AdditionalInfo.objects.visible_to(user).filter(candidate=candidate).first()
        is_national = user.role == Role.NATIONAL_ADMIN
        context.update(
            candidate=candidate,
            round=rnd,
            method=method,
            bset=candidate.benchmark_set,
            groups=trait_groups(results, method, candidate.passed_in),
            has_results=bool(results),
            info=info,
            is_national=is_national,
            is_filer=user.role == Role.ENTERPRISE,
            can_add_info=user.role == Role.ENTERPRISE and info_open(candidate),
            calendars=calendars([rnd], candidate=candidate),
            lock_exceptions=schedule.exceptions_of(candidate),
            **self.industry(candidate),
            **self.objections(candidate),
            **self.certificate(candidate),
        )
        return context

    def certificate(self, candidate: Candidate) -> dict[str, Any]:
        """The certificate's status today, why, and its history (people named for the national office only)."""
        from evaluation import lifecycle
        from evaluation.models import CertificateEvent

        if not candidate.certificate_number or candidate.round.stage != "final":
            return {}
        return {
            "standing": lifecycle.standing(candidate),
            "certificate_history": CertificateEvent.objects.visible_to(self.request.user)
            .filter(candidate=candidate)
            .select_related("actor")
            .order_by("at", "pk"),
        }

    def industry(self, candidate: Candidate) -> dict[str, Any]:
        """The expert scores as this user may see them."""
        user = signed_in(self.request)
        rnd = candidate.round
        numbers = expert_numbers(candidate)
        rows: list[dict[str, Any]] = []
        if user.role == Role.NATIONAL_ADMIN:
            for a in (
                Assignment.objects.visible_to(user)
                .filter(candidate=candidate)
                .select_related("expert__expert_profile")
                .order_by("pk")
            ):
                profile = getattr(a.expert, "expert_profile", None)
                rows.append(
                    {
                        "label": _("专家 %(n)s") % {"n": numbers.get(a.pk, "")},
                        "name": a.expert.full_name or a.expert.email,
                        "organisation": profile.organisation if profile else "",
                        "criteria": criteria_scores(a),
                        "total": a.total,
                        "comments": a.comments,
                        "scored_at": a.scored_at,
                    }
                )
        elif user.role == Role.EXPERT:
            for a in Assignment.objects.visible_to(user).filter(candidate=candidate).order_by("pk"):
                rows.append(
                    {
                        "label": _("我的评分"),
                        "criteria": criteria_scores(a),
                        "total": a.total,
                        "comments": a.comments,
                        "scored_at": a.scored_at,
                        "assignment_pk": a.pk,
                    }
                )
        elif rnd.stage in STAGE_AFTER_SCORING:
            # the filer, ports and reviewers: the scores of a visible candidate, never who gave them
            fields = ["pk", "total", "scored_at", *(name for name, _l, _p in CRITERIA)]
            for a in Assignment.objects.filter(candidate=candidate).order_by("pk").values(*fields):
                rows.append(
                    {
                        "label": _("专家 %(n)s") % {"n": numbers.get(a["pk"], "")},
                        "criteria": criteria_scores(a),
                        "total": a["total"],
                        "scored_at": a["scored_at"],
                    }
                )
        assigned = len(numbers)
        scored = Assignment.objects.filter(candidate=candidate, scored_at__isnull=False).count() if assigned else 0
        return {
            "criteria": [{"name": n, "label": label, "max": p} for n, label, p in CRITERIA],
            "score_rows": rows,
            "experts_assigned": assigned,
            "experts_scored": scored,
            "scores_hidden": not rows and assigned and rnd.stage == Stage.INDUSTRY,
        }

    def objections(self, candidate: Candidate) -> dict[str, Any]:
        user = signed_in(self.request)
        if user.role == Role.NATIONAL_ADMIN:
            full = list(Objection.objects.visible_to(user).filter(candidate=candidate).order_by("lodged_at"))
            return {
                "objections": full,
                "objection_count": len(full),
                "can_decide": candidate.round.stage == Stage.PUBLICITY,
                "decide_next": reverse("certification:candidate", args=[candidate.pk]),
            }
        # everyone else: how many, and what was decided; never who objected or how to reach them
        decisions = list(
            Objection.objects.filter(candidate=candidate)
            .order_by("lodged_at")
            .values("status", "decision", "decided_at", "lodged_at")
        )
        labels = dict(ObjectionStatus.choices)  # the field's choices
        rows = [{**d, "status_label": labels.get(d["status"], d["status"])} for d in decisions]
        return {"objections": rows, "objection_count": len(decisions), "can_decide": False}


# ---------------------------------------------------------------------------------------------
# The filer's additional information


class InfoForm(BootstrapFormMixin, forms.Form):
    market_position = forms.CharField(
        label=AdditionalInfo._meta.get_field("market_position").verbose_name,
        max_length=3000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 3000}),
    )
    technology = forms.CharField(
        label=AdditionalInfo._meta.get_field("technology").verbose_name,
        max_length=3000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 3000}),
    )
    patent_use = forms.CharField(
        label=AdditionalInfo._meta.get_field("patent_use").verbose_name,
        max_length=3000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 3000}),
    )
    attachment = forms.FileField(
        label=AdditionalInfo._meta.get_field("attachment").verbose_name,
        required=False,
        help_text=gettext_lazy("选填。PDF 文件，按内容检查；含脚本或嵌入文件的 PDF 不予接受。重新上传将替换原文件。"),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style_widgets()

    def clean_attachment(self) -> Any:
        file = self.cleaned_data.get("attachment")
        if file:
            validate_upload(file, allowed=("pdf",))
        return file or None

    def service_data(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name) or "" for name in rounds.INFO_FIELDS}


class CandidateInfoView(ScopedTemplateView):
    template_name = "evaluation/participants/info_form.html"
    roles: ClassVar[frozenset[str] | None] = frozenset({Role.ENTERPRISE})

    def get_candidate(self) -> Candidate:
        qs = self.scoped_queryset(Candidate).select_related("round__method", "version", "product_class")
        return get_object_or_404(qs, pk=self.kwargs["pk"])

    def render_page(self, candidate: Candidate, form: InfoForm, status: int = 200) -> HttpResponse:
        info = AdditionalInfo.objects.visible_to(self.request.user).filter(candidate=candidate).first()
        context = {
            "candidate": candidate,
            "round": candidate.round,
            "form": form,
            "info": info,
            "open": info_open(candidate),
            "closed_message": "" if info_open(candidate) else info_closed_message(candidate),
        }
        return render(self.request, self.template_name, context, status=status)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        candidate = self.get_candidate()
        info = AdditionalInfo.objects.visible_to(request.user).filter(candidate=candidate).first()
        initial = {name: getattr(info, name) for name in rounds.INFO_FIELDS} if info else {}
        return self.render_page(candidate, InfoForm(initial=initial))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        candidate = self.get_candidate()
        form = InfoForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                rounds.information_submit(
                    candidate_id=candidate.pk,
                    user=signed_in(request),
                    data=form.service_data(),
                    attachment=form.cleaned_data.get("attachment"),
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("补充材料已提交。截止日（%(due)s）前仍可修改。")
                    % {"due": candidate.round.info_due.isoformat() if candidate.round.info_due else "—"},
                )
                return redirect("certification:candidate", pk=candidate.pk)
        candidate.refresh_from_db()
        return self.render_page(candidate, form, status=400)


# ---------------------------------------------------------------------------------------------
# The enterprise's candidacies and self-assessment


class MyCandidatesView(ScopedTemplateView):
    template_name = "evaluation/participants/mine.html"
    roles: ClassVar[frozenset[str] | None] = frozenset({Role.ENTERPRISE})

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        candidates = list(
            self.scoped_queryset(Candidate)
            .select_related("round__method", "version", "product_class")
            .order_by("-round__data_year", "-round_id", "pk")
        )
        for c in candidates:
            c.info_open = info_open(c)
            c.info_overdue = (
                c.round.stage == Stage.INFO and c.status in (C.INFO_REQUESTED, C.INFO_SUBMITTED) and not c.info_open
            )
        waiting = (
            self.scoped_queryset(ProductVersion)
            .filter(status=FilingStatus.APPROVED, certification_opt_in=True, candidacies__isnull=True)
            .select_related("product", "product_class")
            .order_by("-data_year", "name")
        )
        context.update(
            candidates=candidates,
            waiting=list(waiting),
            calendars=calendars([*(c.round for c in candidates), *open_rounds()]),
        )
        return context


class SelfCheckView(ScopedTemplateView):
    template_name = "evaluation/participants/self_check.html"
    roles: ClassVar[frozenset[str] | None] = frozenset({Role.ENTERPRISE})

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        version = get_object_or_404(
            self.scoped_queryset(ProductVersion).select_related("product", "product_class"),
            pk=self.kwargs["version_pk"],
        )
        result = engine.self_assessment(version)
        method, bset, outcome = result["method"], result["benchmark_set"], result["outcome"]
        rows = result["rows"] if bset else []
        groups = []
        if method is not None and bset is not None and outcome is not None:
            groups = trait_groups(rows, method, lambda trait: outcome.per_trait.get(trait, 0))
        context.update(
            version=version,
            method=method,
            bset=bset,
            outcome=outcome,
            groups=groups,
            missed=[r for r in rows if not r["passed"]],
            earlier_year=bset is not None and bset.data_year != version.data_year,
            indicators=result["rows"],
        )
        return context
