"""The reviewer's desk: the queue of filings, the review page, and the review actions.

Reviewers and national administrators only (others get 404). Every read goes through
`ProductVersion.objects.visible_to`; every state change through `filings.workflow`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Field, Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from filings import checks, workflow
from filings.choices import PENDING_STATUSES, FilingStatus
from filings.models import ProductClass, ProductImage, ProductVersion
from filings.rules import version_findings
from patent_platform.choices import RegionLevel, Role
from patent_platform.concurrency import Conflict
from patent_platform.exports import xlsx_response
from patent_platform.models import Region
from patent_platform.roles import signed_in
from patent_platform.views.base import ScopedListView, ScopedTemplateView, ScopedViewMixin

REVIEW_ROLES = frozenset({Role.REVIEWER, Role.NATIONAL_ADMIN})
STALE_AFTER_DAYS = 5  # waiting longer than this is highlighted in the queue

# Queue filter → statuses (None: every status but draft; drafts are the filer's business).
STATUS_FILTERS: dict[str, tuple[str, ...] | None] = {
    "pending": tuple(sorted(PENDING_STATUSES)),
    "returned": (FilingStatus.RETURNED,),
    "approved": (FilingStatus.APPROVED,),
    "revoked": (FilingStatus.REVOKED,),
    "all": None,
}
STATUS_LABELS = {
    "pending": gettext_lazy("待审核"),
    "returned": gettext_lazy("已退回"),
    "approved": gettext_lazy("已通过"),
    "revoked": gettext_lazy("已撤销"),
    "all": gettext_lazy("全部"),
}


def province_choices() -> list[tuple[str, str]]:
    return list(Region.objects.filter(level=RegionLevel.PROVINCE).names())


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("状态"), choices=list(STATUS_LABELS.items()), required=False, initial="pending"
    )
    province = forms.ChoiceField(label=gettext_lazy("省份"), required=False)
    product_class = forms.ModelChoiceField(
        label=gettext_lazy("产品分类"),
        queryset=ProductClass.objects.all(),
        required=False,
        empty_label=gettext_lazy("全部分类"),
    )
    data_year = forms.IntegerField(label=gettext_lazy("数据年度"), required=False, min_value=2000, max_value=2100)
    q = forms.CharField(
        label=gettext_lazy("搜索"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("产品名称、单位名称、统一社会信用代码或产品备案号"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["province"]).choices = [("", _("全部省份")), *province_choices()]

    def values(self) -> dict[str, Any]:
        """The valid filters (an invalid one is ignored, and shown as an error on the form)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return self.cleaned_data


def filter_versions(qs: QuerySet[ProductVersion], form: QueueFilterForm) -> tuple[QuerySet[ProductVersion], str]:
    """Apply the queue's filters except the status one; returns the queryset and the status key."""
    values = form.values()
    status = values.get("status") or "pending"
    if province := values.get("province"):
        qs = qs.filter(product__province_code=province)
    if product_class := values.get("product_class"):
        qs = qs.filter(product_class=product_class)
    if data_year := values.get("data_year"):
        qs = qs.filter(data_year=data_year)
    if text := (values.get("q") or "").strip():
        qs = qs.filter(
            Q(name__icontains=text)
            | Q(product__unit__name__icontains=text)
            | Q(product__unit__uscc=text.upper())
            | Q(product__filing_number__icontains=text.upper())
        )
    return qs, status


def with_status(qs: QuerySet[ProductVersion], status: str) -> QuerySet[ProductVersion]:
    statuses = STATUS_FILTERS.get(status)
    qs = qs.exclude(status=FilingStatus.DRAFT) if statuses is None else qs.filter(status__in=statuses)
    if status == "pending":
        return qs.order_by("submitted_at", "id")  # oldest submission first
    return qs.order_by("-decided_at", "-submitted_at", "-id")


def waiting_days(version: ProductVersion, now: dt.datetime) -> int | None:
    if version.status not in PENDING_STATUSES or version.submitted_at is None:
        return None
    return (now - version.submitted_at).days


class ReviewQueueView(ScopedListView):
    """Versions waiting for review (by default), oldest submission first, with filters and counts."""

    roles = REVIEW_ROLES
    model = ProductVersion
    template_name = "filings/review/queue.html"
    context_object_name = "versions"
    paginate_by = 50

    def get_queryset(self) -> QuerySet[ProductVersion]:
        self.filter_form = QueueFilterForm(self.request.GET or None)
        base, self.status = filter_versions(self.scoped_queryset(), self.filter_form)
        self.base_queryset = base
        return with_status(base, self.status).select_related("product__unit", "product_class", "decided_by")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        by_status = dict(
            self.base_queryset.exclude(status=FilingStatus.DRAFT)
            .order_by()
            .values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        counts = {
            key: (sum(by_status.values()) if statuses is None else sum(by_status.get(s, 0) for s in statuses))
            for key, statuses in STATUS_FILTERS.items()
        }
        now = timezone.now()
        provinces = dict(province_choices())
        context["versions"] = list(context["versions"])
        for version in context["versions"]:
            version.age_days = waiting_days(version, now)
            version.is_stale = (version.age_days or 0) > STALE_AFTER_DAYS
            version.province_name = provinces.get(version.product.province_code, version.product.province_code)
        query = self.request.GET.copy()
        query.pop("page", None)
        status_links = []
        for key, label in STATUS_LABELS.items():
            link_query = query.copy()
            link_query["status"] = key
            status_links.append(
                {
                    "key": key,
                    "label": label,
                    "count": counts[key],
                    "query": link_query.urlencode(),
                    "active": key == self.status,
                }
            )
        context.update(
            filter_form=self.filter_form,
            status=self.status,
            status_label=STATUS_LABELS[self.status],
            status_links=status_links,
            counts=counts,
            query=query.urlencode(),
            stale_after=STALE_AFTER_DAYS,
        )
        return context


EXPORT_HEADERS = (
    gettext_lazy("产品名称"),
    gettext_lazy("型号规格"),
    gettext_lazy("产品分类"),
    gettext_lazy("数据年度"),
    gettext_lazy("备案单位"),
    gettext_lazy("统一社会信用代码"),
    gettext_lazy("省份"),
    gettext_lazy("状态"),
    gettext_lazy("提交时间"),
    gettext_lazy("等待天数"),
    gettext_lazy("审核时间"),
    gettext_lazy("产品备案号"),
)


class ReviewExportView(ScopedViewMixin, View):
    """The filtered queue as an Excel file (same scoped queryset and filters as the page)."""

    roles = REVIEW_ROLES
    model = ProductVersion

    def get(self, request: HttpRequest) -> HttpResponse:
        form = QueueFilterForm(request.GET or None)
        base, status = filter_versions(self.scoped_queryset(), form)
        versions = with_status(base, status).select_related("product__unit", "product_class")
        provinces = dict(province_choices())
        now = timezone.now()

        def rows() -> Iterator[list[Any]]:
            for version in versions.iterator(chunk_size=2000):
                product, unit = version.product, version.product.unit
                age = waiting_days(version, now)
                yield [
                    version.name,
                    version.model,
                    str(version.product_class),
                    version.data_year,
                    unit.name,
                    unit.uscc,
                    provinces.get(product.province_code, product.province_code),
                    str(version.get_status_display()),
                    version.submitted_at,
                    age if age is not None else "",
                    version.decided_at,
                    product.filing_number or "",
                ]

        return xlsx_response(
            filename=f"{_('审核队列')}-{timezone.localdate().isoformat()}.xlsx",
            title=_("审核队列"),
            headers=EXPORT_HEADERS,
            rows=rows(),
            object_type=ProductVersion._meta.label,
            changes={"filters": {k: v for k, v in request.GET.items() if v}},
            message="review queue export",
            actor=request.user,
        )


def _change(current: Decimal, previous: Decimal) -> dict[str, Any]:
    delta = current - previous
    percent = None if not previous else (delta / previous * 100).quantize(Decimal("0.1"))
    return {"delta": delta, "percent": percent}


class ReviewDetailView(ScopedTemplateView):
    """One version under review: its data and patents, the unit, the rule checks, the history, the actions."""

    roles = REVIEW_ROLES
    model = ProductVersion
    template_name = "filings/review/detail.html"

    def get_version(self) -> ProductVersion:
        qs = self.scoped_queryset().select_related(
            "product__unit__region__parent__parent", "product_class", "decided_by", "product__published_version"
        )
        return get_object_or_404(qs, pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        version: ProductVersion = kwargs.get("version") or self.get_version()
        product, unit = version.product, version.product.unit
        previous = (
            product.versions.filter(data_year__lt=version.data_year).order_by("-data_year").first()
            if version.pk
            else None
        )
        figures = []
        for name in ("sales", "exports", "output_value"):
            model_field = ProductVersion._meta.get_field(name)
            label = model_field.verbose_name if isinstance(model_field, Field) else name  # always a Field
            row = {"label": label, "value": getattr(version, name)}
            if previous is not None:
                row["previous"] = getattr(previous, name)
                row.update(_change(getattr(version, name), getattr(previous, name)))
            figures.append(row)
        return_data = kwargs.get("return_data") or {}
        actions = workflow.allowed_actions(version, self.request.user)
        return_fields = [
            {
                "field": f,
                "name": f"reason_{f or 'general'}",
                "label": workflow.field_label(f),
                "value": return_data.get(f, ""),
            }
            for f in workflow.RETURNABLE_FIELDS
        ]
        # the automatic check is the filing's rule set itself (what submission and approval apply)
        overrides = list(version.overrides.select_related("created_by")) if version.pk else []
        overridden = {o.conflict_id: o for o in overrides if o.conflict_id is not None}
        findings = [
            {
                "label": workflow.field_label(f.field) if f.field in workflow.RETURNABLE_FIELDS else f.field,
                "message": f.message,
                "code": f.code,
                "overridable": f.overridable,
                "override": overridden.get(f.conflict_id) if f.conflict_id is not None else None,
            }
            for f in version_findings(version)
        ]
        blocking = [f for f in findings if not f["overridable"]]
        to_override = [f for f in findings if f["overridable"] and f["override"] is None]
        confirm = [str(_("确认通过该备案？首次通过时将分配产品备案号。"))]
        if findings:
            confirm.append(str(_("自动检查发现以下问题：")))
            confirm += [f"- {f['label']}：{f['message']}" for f in findings]
        # the plausibility and credit-list flags (filings.checks): shown and repeated in the confirmation, never
        # a reason to refuse by themselves
        flags = checks.open_flags([version.pk])[version.pk] if version.pk else []
        if flags:
            confirm.append(str(_("数据合理性与信用名单提示（仅供参考）：")))
            confirm += [f"- {f.label}" for f in flags]
        current_reasons = [
            {"label": workflow.field_label(f) if f in workflow.RETURNABLE_FIELDS else f, "messages": msgs}
            for f, msgs in workflow.current_return_reasons(version).items()
        ]
        context.update(
            version=version,
            product=product,
            unit=unit,
            previous=previous,
            figures=figures,
            links=version.links.select_related("right__patent"),
            images=version.images.all(),
            transitions=version.transitions.select_related("actor"),
            findings=findings,
            blocking=blocking,
            to_override=to_override,
            overrides=overrides,
            approve_confirm="\n".join(confirm),
            override_reason=kwargs.get("override_reason", ""),
            override_errors=kwargs.get("override_errors") or [],
            current_reasons=current_reasons,
            actions=actions,
            # after a failed return (e.g. another reviewer acted first) the typed reasons stay on the page
            show_return_form="return" in actions or any(return_data.values()),
            return_fields=return_fields,
            return_errors=kwargs.get("return_errors") or [],
            revoke_reason=kwargs.get("revoke_reason", ""),
            revoke_errors=kwargs.get("revoke_errors") or [],
            is_published=product.published_version_id == version.pk,
            plausibility_flags=[f for f in flags if f.kind == "plausibility"],
            credit_flags=[f for f in flags if f.kind == "credit_list"],
            check_runs=checks.check_history(version) if version.pk else [],
        )
        return context


class _ReviewActionView(ReviewDetailView):
    """POST-only: run one workflow action, redirect on success, show the page again with the input on error."""

    http_method_names = ["post"]  # noqa: RUF012  (django-stubs: an instance variable of View)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = self.get_version()
        try:
            return self.act(version)
        except ValidationError as exc:  # WorkflowError is a ValidationError
            for message in exc.messages:
                messages.error(request, message)
            fresh = self.get_version()
            context = self.get_context_data(version=fresh, **self.error_context(exc))
            # another reviewer acted first: the page shows the filing as it is now, with 409 (issue 17, §5)
            return self.render_to_response(context, status=409 if isinstance(exc, Conflict) else 200)

    def act(self, version: ProductVersion) -> HttpResponse:
        raise NotImplementedError

    def error_context(self, exc: ValidationError) -> dict[str, Any]:
        return {}

    def done(self, version: ProductVersion) -> HttpResponse:
        return HttpResponseRedirect(reverse("review:detail", args=[version.pk]))


class ReviewReturnView(_ReviewActionView):
    """Return a version for correction with reasons per field (at least one)."""

    def reasons(self) -> dict[str, str]:
        return {f: self.request.POST.get(f"reason_{f or 'general'}", "") for f in workflow.RETURNABLE_FIELDS}

    def act(self, version: ProductVersion) -> HttpResponse:
        workflow.version_return(version=version, user=signed_in(self.request), reasons=self.reasons())
        messages.success(self.request, _("已退回修改，备案单位将收到邮件通知。"))
        return self.done(version)

    def error_context(self, exc: ValidationError) -> dict[str, Any]:
        return {"return_data": self.reasons(), "return_errors": exc.messages}


class ReviewApproveView(_ReviewActionView):
    """Approve a pending version; the product gets its filing number at the first approval."""

    def act(self, version: ProductVersion) -> HttpResponse:
        approved = workflow.version_approve(
            version=version, user=signed_in(self.request), override_reason=self.request.POST.get("override_reason", "")
        )
        messages.success(
            self.request,
            _("已通过备案，产品备案号：%(number)s。") % {"number": approved.product.filing_number},
        )
        return self.done(version)

    def error_context(self, exc: ValidationError) -> dict[str, Any]:
        reason_errors = exc.message_dict.get("override_reason", []) if hasattr(exc, "error_dict") else []
        return {"override_reason": self.request.POST.get("override_reason", ""), "override_errors": reason_errors}


class ReviewRevokeView(_ReviewActionView):
    """Revoke an approved version, with a required reason; the product leaves the public pages."""

    def act(self, version: ProductVersion) -> HttpResponse:
        workflow.version_revoke(
            version=version, user=signed_in(self.request), reason=self.request.POST.get("reason", "")
        )
        messages.success(self.request, _("已撤销该备案。"))
        return self.done(version)

    def error_context(self, exc: ValidationError) -> dict[str, Any]:
        return {"revoke_reason": self.request.POST.get("reason", ""), "revoke_errors": exc.messages}


class ReviewImageView(ScopedViewMixin, View):
    """An image of a version, for the review page (scoped; never served from MEDIA_URL)."""

    roles = REVIEW_ROLES
    model = ProductImage

    def get(self, request: HttpRequest, pk: int) -> FileResponse:
        image = get_object_or_404(self.scoped_queryset(), pk=pk)
        return serve_image(image)


def serve_image(image: ProductImage) -> FileResponse:
    try:
        handle = image.file.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404 from exc
    response = FileResponse(handle, content_type=image.content_type or "application/octet-stream")
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "private, max-age=3600"
    return response
