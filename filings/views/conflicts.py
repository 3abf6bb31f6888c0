"""Conflicting claims to patents, for reviewers and national administrators (others get 404).

The list (filters: kind, status; Excel export), the detail page with every side (the unit, its region,
its right and the products that use it) and the reviewer's decision (resolve or dismiss, with a note).
Every read goes through `PatentConflict.objects.visible_to` (national administrators and reviewers see
all, anyone else nothing); the decision goes through `filings.conflicts.conflict_close`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from filings import conflicts
from filings.choices import ConflictKind, ConflictStatus
from filings.models import PatentConflict, PatentLink, PatentRight
from filings.views.review import REVIEW_ROLES
from patent_platform.exports import xlsx_response
from patent_platform.roles import signed_in
from patent_platform.views.base import ScopedListView, ScopedTemplateView, ScopedViewMixin

ALL = "all"


class ConflictFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("冲突类型"),
        choices=[("", gettext_lazy("全部类型")), *ConflictKind.choices],
        required=False,
    )
    status = forms.ChoiceField(
        label=gettext_lazy("状态"),
        choices=[*ConflictStatus.choices, (ALL, gettext_lazy("全部"))],
        required=False,
        initial=ConflictStatus.OPEN,
    )

    def values(self) -> dict[str, str]:
        if not self.is_bound or not self.is_valid():
            return {"kind": "", "status": ConflictStatus.OPEN}
        return {"kind": self.cleaned_data["kind"], "status": self.cleaned_data["status"] or ConflictStatus.OPEN}


def _sides_prefetch() -> Prefetch:
    return Prefetch(
        "rights", queryset=PatentRight.objects.select_related("unit__region__parent__parent").order_by("unit__name")
    )


def filtered(qs: QuerySet[PatentConflict], form: ConflictFilterForm) -> QuerySet[PatentConflict]:
    values = form.values()
    if values["kind"]:
        qs = qs.filter(kind=values["kind"])
    if values["status"] != ALL:
        qs = qs.filter(status=values["status"])
    return qs.select_related("patent", "resolved_by").prefetch_related(_sides_prefetch())


class ConflictListView(ScopedListView):
    roles = REVIEW_ROLES
    model = PatentConflict
    template_name = "filings/conflicts/list.html"
    context_object_name = "conflicts"
    paginate_by = 50

    def get_queryset(self) -> QuerySet[PatentConflict]:
        self.filter_form = ConflictFilterForm(self.request.GET or None)
        return filtered(self.scoped_queryset(), self.filter_form)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        values = self.filter_form.values()
        context.update(
            filter_form=self.filter_form,
            kind=values["kind"],
            status=values["status"],
            kinds=ConflictKind.choices,
            statuses=[*ConflictStatus.choices, (ALL, _("全部"))],
            query=query.urlencode(),
            open_count=self.scoped_queryset().filter(status=ConflictStatus.OPEN).count(),
        )
        return context


EXPORT_HEADERS = (
    gettext_lazy("申请号"),
    gettext_lazy("专利名称"),
    gettext_lazy("冲突类型"),
    gettext_lazy("状态"),
    gettext_lazy("涉及的单位及权利"),
    gettext_lazy("发现时间"),
    gettext_lazy("处理时间"),
    gettext_lazy("处理说明"),
)


class ConflictExportView(ScopedViewMixin, View):
    """The filtered list as an Excel file (the same scoped queryset and filters as the page)."""

    roles = REVIEW_ROLES
    model = PatentConflict

    def get(self, request: HttpRequest) -> HttpResponse:
        qs = filtered(self.scoped_queryset(), ConflictFilterForm(request.GET or None))

        def rows() -> Iterator[list[Any]]:
            for conflict in qs:
                yield [
                    conflict.patent.number,
                    conflict.patent.title,
                    str(conflict.get_kind_display()),
                    str(conflict.get_status_display()),
                    "；".join(f"{r.unit.name}（{r.get_kind_display()}）" for r in conflict.rights.all()),
                    conflict.detected_at,
                    conflict.resolved_at,
                    conflict.note,
                ]

        return xlsx_response(
            filename=f"{_('专利权属冲突')}-{timezone.localdate().isoformat()}.xlsx",
            title=_("专利权属冲突"),
            headers=EXPORT_HEADERS,
            rows=rows(),
            object_type=PatentConflict._meta.label,
            changes={"filters": {k: v for k, v in request.GET.items() if v}},
            message="patent conflicts export",
            actor=request.user,
        )


class ConflictDetailView(ScopedTemplateView):
    """One conflict: the patent, every side next to each other, the decision."""

    roles = REVIEW_ROLES
    model = PatentConflict
    template_name = "filings/conflicts/detail.html"

    def get_conflict(self) -> PatentConflict:
        qs = self.scoped_queryset().select_related("patent", "resolved_by").prefetch_related(_sides_prefetch())
        return get_object_or_404(qs, pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        conflict: PatentConflict = kwargs.get("conflict") or self.get_conflict()
        sides = list(conflict.rights.all())
        links = (
            self.scoped_queryset(PatentLink)
            .filter(right__in=sides)
            .select_related("version__product", "version__product_class")
            .order_by("version__product_id", "-version__data_year")
        )
        by_right: dict[int, list[PatentLink]] = {}
        for link in links:
            by_right.setdefault(link.right_id, []).append(link)
        for side in sides:
            side.uses = by_right.get(side.pk, [])  # type: ignore[attr-defined]  # for the template
        context.update(
            conflict=conflict,
            patent=conflict.patent,
            sides=sides,
            is_open=conflict.status == ConflictStatus.OPEN,
            note=kwargs.get("note", ""),
            decision=kwargs.get("decision", ""),
            errors=kwargs.get("errors") or {},
            closing=[
                (ConflictStatus.RESOLVED, ConflictStatus.RESOLVED.label),
                (ConflictStatus.DISMISSED, ConflictStatus.DISMISSED.label),
            ],
        )
        return context


class ConflictCloseView(ConflictDetailView):
    """POST: resolve or dismiss with a note; the page again with the input kept on error."""

    http_method_names = ["post"]  # noqa: RUF012  (django-stubs: an instance variable of View)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        conflict = self.get_conflict()
        decision = request.POST.get("decision", "")
        note = request.POST.get("note", "")
        try:
            conflicts.conflict_close(conflict=conflict, user=signed_in(request), status=decision, note=note)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
            for message in errors.get("__all__", []):
                messages.error(request, message)
            context = self.get_context_data(conflict=self.get_conflict(), note=note, decision=decision, errors=errors)
            return self.render_to_response(context, status=400)
        messages.success(request, _("已记录处理结果。"))
        return HttpResponseRedirect(reverse("review:conflict", args=[conflict.pk]))
