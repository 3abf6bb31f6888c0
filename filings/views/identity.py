"""Pages of a unit's identity (filings/identity.py, docs/UNITS.md).

- Enterprise: `/enterprise/identity/` — the unit's verification status, what to upload, the reviewer's reason
  after a rejection, (re-)submission by the unit's manager.
- Anyone (no account yet): `/enterprise/claim/` — the real owner of a taken USCC opens a claim with its own
  account and proof (linked from the registration's refusal).
- Reviewers and the national office: `/review/identity/` — the queue of verification requests and claims
  (filters: status, kind, province, date; Excel export), the detail page with the proofs, accept / reject.
- The proofs themselves: `/documents/identity/<id>/<letter|licence>/`, read through
  `IdentityRequest.objects.visible_to` (reviewers: all; an enterprise: its own; anyone else 404).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar, cast

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import FormView

from filings import identity
from filings.choices import IdentityRequestKind, IdentityRequestStatus
from filings.forms import ClaimForm, DecisionForm, VerificationForm, apply_service_errors
from filings.models import FilingUnit, IdentityRequest, UnitMembership
from filings.views.mixins import MODEL_BACKEND, EnterpriseMixin
from filings.views.review import REVIEW_ROLES, province_choices
from patent_platform import audit
from patent_platform.choices import AuditAction, Role
from patent_platform.exports import xlsx_response
from patent_platform.ratelimit import rate_limit
from patent_platform.roles import has_role, signed_in
from patent_platform.views.base import ScopedListView, ScopedTemplateView, ScopedViewMixin

if TYPE_CHECKING:
    from patent_platform.models import User

S = IdentityRequestStatus
ALL = "all"
PROOFS = {"letter": gettext_lazy("授权委托书"), "licence": gettext_lazy("营业执照")}


# ---------------------------------------------------------------------------------------------
# Enterprise: the unit's verification


class UnitIdentityView(EnterpriseMixin, ScopedTemplateView):
    model = IdentityRequest
    template_name = "filings/identity/unit.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        unit = FilingUnit.objects.get(pk=self.unit.pk)
        requests = list(
            self.scoped_queryset()
            .filter(kind=IdentityRequestKind.VERIFICATION, unit=unit)
            .select_related("applicant", "decided_by")
        )
        pending = next((r for r in requests if r.status == S.PENDING), None)
        latest = requests[0] if requests else None
        context.update(
            unit=unit,
            requests=requests,
            pending=pending,
            rejected=latest if latest is not None and latest.status == S.REJECTED else None,
            is_manager=self.is_manager(),
            can_submit=unit.verified_at is None and pending is None and self.is_manager(),
            form=kwargs.get("form") or VerificationForm(),
        )
        return context

    def post(self, request: HttpRequest) -> HttpResponse:
        form = VerificationForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                identity.verification_submit(
                    user=signed_in(request),
                    letter=form.cleaned_data["letter"],
                    licence=form.cleaned_data["licence"],
                    note=form.cleaned_data["note"],
                )
            except PermissionDenied as exc:
                messages.error(request, str(exc))
                return redirect("enterprise:identity")
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("材料已提交，请等待平台审核。审核结果将通过邮件通知。"))
                return redirect("enterprise:identity")
        return self.render_to_response(self.get_context_data(form=form), status=400)


# ---------------------------------------------------------------------------------------------
# A claim of a taken USCC (anonymous: the claimant has no account yet)


@rate_limit("registration")
class ClaimView(FormView):
    scope_policy: ClassVar[str] = "account"
    template_name = "filings/identity/claim.html"
    form_class = ClaimForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated:
            messages.info(request, _("您已登录。认领须使用一个新的账号，请先退出登录。"))
            return redirect("home")
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self) -> dict[str, Any]:
        return {"uscc": (self.request.GET.get("uscc") or "")[:30]}

    def form_valid(self, form: ClaimForm) -> HttpResponse:
        try:
            user, _claim = identity.claim_open(
                uscc=form.cleaned_data["uscc"],
                user_data=form.user_data(),
                letter=form.cleaned_data["letter"],
                licence=form.cleaned_data["licence"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc, {"password": "password1"})
            return self.form_invalid(form)
        login(self.request, user, backend=MODEL_BACKEND)
        messages.success(
            self.request,
            _("认领申请已提交。请先确认电子邮箱；平台审核员审核后，结果将通过邮件通知您。"),
        )
        return redirect("enterprise:home")


# ---------------------------------------------------------------------------------------------
# The proofs (one scoped download for every reader)


class ProofView(ScopedViewMixin, View):
    model = IdentityRequest
    http_method_names = ["get"]  # noqa: RUF012  (django-stubs: an instance variable of View)

    def get(self, request: HttpRequest, pk: int, which: str) -> FileResponse:
        if which not in PROOFS:
            raise Http404
        item = get_object_or_404(self.scoped_queryset(), pk=pk)
        file = getattr(item, which)
        try:
            handle = file.open("rb")
        except FileNotFoundError as exc:
            raise Http404 from exc
        audit.audit_event(action=AuditAction.DOWNLOAD, obj=item, actor=request.user, message=f"identity proof {which}")
        content_type = getattr(item, f"{which}_type") or "application/octet-stream"
        response = FileResponse(handle, content_type=content_type)
        extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}.get(content_type, "bin")
        response["Content-Disposition"] = (
            content_disposition_header(request.GET.get("download") == "1", f"{which}-{item.pk}.{extension}") or ""
        )
        return response


# ---------------------------------------------------------------------------------------------
# Reviewers: the queue, export, detail, decision


class IdentityFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[*S.choices, (ALL, gettext_lazy("全部"))], required=False)
    kind = forms.ChoiceField(choices=[("", gettext_lazy("全部类型")), *IdentityRequestKind.choices], required=False)
    province = forms.ChoiceField(required=False)
    since = forms.DateField(label=gettext_lazy("提交日期自"), required=False)
    until = forms.DateField(label=gettext_lazy("至"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["province"]).choices = [("", _("全部省份")), *province_choices()]

    def values(self) -> dict[str, Any]:
        defaults = {"status": S.PENDING, "kind": "", "province": "", "since": None, "until": None}
        if not self.is_bound:
            return defaults
        self.is_valid()  # an invalid filter is ignored and shown on the form
        return {**defaults, **{k: v for k, v in self.cleaned_data.items() if v not in (None, "")}}


def filtered(qs: QuerySet[IdentityRequest], form: IdentityFilterForm) -> QuerySet[IdentityRequest]:
    values = form.values()
    if values["status"] != ALL:
        qs = qs.filter(status=values["status"])
    if values["kind"]:
        qs = qs.filter(kind=values["kind"])
    if values["province"]:
        qs = qs.filter(unit__province_code=values["province"])
    tz = timezone.get_current_timezone()
    if values["since"]:
        qs = qs.filter(submitted_at__gte=dt.datetime.combine(values["since"], dt.time.min, tzinfo=tz))
    if values["until"]:
        end = dt.datetime.combine(values["until"], dt.time.min, tzinfo=tz) + dt.timedelta(days=1)
        qs = qs.filter(submitted_at__lt=end)
    order = ("submitted_at", "id") if values["status"] == S.PENDING else ("-submitted_at", "-id")
    return qs.select_related("unit__region", "applicant", "decided_by").order_by(*order)


class IdentityQueueView(ScopedListView):
    roles = REVIEW_ROLES
    model = IdentityRequest
    template_name = "filings/identity/queue.html"
    context_object_name = "items"

    def get_queryset(self) -> QuerySet[IdentityRequest]:
        self.filter_form = IdentityFilterForm(self.request.GET or None)
        return filtered(self.scoped_queryset(), self.filter_form)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            filter_form=self.filter_form,
            values=self.filter_form.values(),
            statuses=[*S.choices, (ALL, _("全部"))],
            kinds=IdentityRequestKind.choices,
            provinces=province_choices(),
            query=query.urlencode(),
            pending_count=self.scoped_queryset().filter(status=S.PENDING).count(),
        )
        return context


EXPORT_HEADERS = (
    gettext_lazy("类型"),
    gettext_lazy("统一社会信用代码"),
    gettext_lazy("单位名称"),
    gettext_lazy("所在地区"),
    gettext_lazy("申请人"),
    gettext_lazy("申请人邮箱"),
    gettext_lazy("提交时间"),
    gettext_lazy("状态"),
    gettext_lazy("审核人"),
    gettext_lazy("审核时间"),
    gettext_lazy("审核意见"),
)


class IdentityExportView(ScopedViewMixin, View):
    roles = REVIEW_ROLES
    model = IdentityRequest

    def get(self, request: HttpRequest) -> HttpResponse:
        qs = filtered(self.scoped_queryset(), IdentityFilterForm(request.GET or None))

        def rows() -> Iterator[list[Any]]:
            for item in qs:
                yield [
                    str(item.get_kind_display()),
                    item.unit.uscc,
                    item.unit.name,
                    item.unit.region.full_name,
                    item.applicant.get_full_name(),
                    item.applicant.email,
                    item.submitted_at,
                    str(item.get_status_display()),
                    item.decided_by.get_full_name() if item.decided_by else "",
                    item.decided_at,
                    item.reason,
                ]

        return xlsx_response(
            filename=f"{_('身份核验与认领')}-{timezone.localdate().isoformat()}.xlsx",
            title=_("身份核验与认领"),
            headers=EXPORT_HEADERS,
            rows=rows(),
            object_type=IdentityRequest._meta.label,
            changes={"filters": {k: v for k, v in request.GET.items() if v}},
            message="identity requests export",
            actor=request.user,
        )


class IdentityDetailView(ScopedTemplateView):
    roles = REVIEW_ROLES
    model = IdentityRequest
    template_name = "filings/identity/detail.html"

    def get_item(self) -> IdentityRequest:
        qs = self.scoped_queryset().select_related("unit__region", "applicant", "decided_by")
        return get_object_or_404(qs, pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        item = kwargs.get("item") or self.get_item()
        unit = item.unit
        members = UnitMembership.objects.filter(unit=unit).select_related("user").order_by("-is_manager", "user_id")
        context.update(
            item=item,
            unit=unit,
            members=members,
            product_count=unit.products.count(),
            history=self.scoped_queryset()
            .filter(unit=unit)
            .exclude(pk=item.pk)
            .select_related("applicant", "decided_by"),
            proofs=[(key, label, getattr(item, f"{key}_type", "")) for key, label in PROOFS.items()],
            is_pending=item.status == S.PENDING,
            reason=kwargs.get("reason", ""),
            errors=kwargs.get("errors") or {},
        )
        return context


class IdentityDecideView(IdentityDetailView):
    http_method_names = ["post"]  # noqa: RUF012  (django-stubs: an instance variable of View)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        item = self.get_item()
        form = DecisionForm(request.POST)
        reason = request.POST.get("reason", "")
        if not form.is_valid():
            messages.error(request, _("请选择审核结果。"))
            return redirect("review:identity_detail", pk=item.pk)
        try:
            identity.identity_request_decide(
                request=item, user=signed_in(request), accept=form.cleaned_data["decision"] == "accept", reason=reason
            )
        except identity.DecisionConflict as exc:
            for message in exc.messages:
                messages.warning(request, message)
            return redirect("review:identity_detail", pk=item.pk)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
            for message in errors.get("__all__", []):
                messages.error(request, message)
            context = self.get_context_data(item=self.get_item(), reason=reason, errors=errors)
            return self.render_to_response(context, status=400)
        messages.success(request, _("已记录审核结果，并已通知申请人。"))
        return redirect(reverse("review:identity_detail", args=[item.pk]))


def enterprise_identity_context(user: User) -> dict[str, Any]:
    """For an enterprise account without a unit (the home page): its claims and their state."""
    if not has_role(user, Role.ENTERPRISE):
        return {}
    claims = IdentityRequest.objects.visible_to(user).filter(kind=IdentityRequestKind.CLAIM, applicant=user)
    return {"claims": list(claims.select_related("unit"))}
