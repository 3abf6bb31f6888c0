"""Enterprise pages of products and their versions: create and edit, the version page and the filer's actions
(submit, withdraw, delete a draft, certification opt-in, the yearly update), and product images.

Reads go through the scoping rule (`scoped_queryset`); writes through `filings.services`, status changes
through `filings.workflow`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from filings import rules, services, workflow
from filings.choices import EDITABLE_STATUSES, PENDING_STATUSES, FilingStatus
from filings.forms import (
    NewVersionForm,
    VersionForm,
    WithdrawForm,
    apply_service_errors,
    link_formset,
)
from filings.models import (
    PatentLink,
    PatentRight,
    Product,
    ProductImage,
    ProductVersion,
    Transition,
)
from filings.views.mixins import EnterpriseMixin, messages_of
from patent_platform import audit
from patent_platform.choices import AuditAction
from patent_platform.roles import signed_in
from patent_platform.uploads import CONTENT_TYPES
from patent_platform.views.base import ScopedTemplateView, ScopedViewMixin

# ---------------------------------------------------------------------------------------------
# Product versions: create and edit


class VersionFormMixin(EnterpriseMixin):
    template_name = "filings/enterprise/version_form.html"
    request: HttpRequest

    def rights(self) -> QuerySet[PatentRight]:
        return self.scoped_queryset(PatentRight).filter(unit=self.unit).select_related("patent")

    def save_images(self, version: ProductVersion, form: VersionForm) -> None:
        files = form.cleaned_data.get("images") or []
        for f, kind in zip(files, form.image_kinds, strict=True):
            ProductImage.objects.create(version=version, file=f, content_type=CONTENT_TYPES[kind], caption="")
        if files:
            audit.audit_event(
                action=AuditAction.CREATE, obj=version, message=f"{len(files)} image(s)", actor=self.request.user
            )

    def render_form(self, form: VersionForm, formset: Any, status: int = 200, **extra: Any) -> HttpResponse:
        reasons: dict[str, list[str]] = extra.pop("reasons", {})
        for name, msgs in reasons.items():
            if name in form.fields:
                form[name].return_reasons = msgs  # type: ignore[attr-defined]  # read by the template
        context = {
            "form": form,
            "formset": formset,
            "reasons": reasons,
            "general_reasons": reasons.get("", []),
            "patent_reasons": reasons.get("patents", []),
            "image_reasons": reasons.get("images", []),
            "has_rights": self.rights().exists(),
            **extra,
        }
        return render(self.request, self.template_name, context, status=status)


class ProductNewView(VersionFormMixin, View):
    model = ProductVersion

    def forms(self, data: Any = None, files: Any = None) -> tuple[NewVersionForm, Any]:
        form = NewVersionForm(data, files)
        formset = link_formset(extra=1)(data, prefix="links", rights=self.rights())
        return form, formset

    def get(self, request: HttpRequest) -> HttpResponse:
        form, formset = self.forms()
        return self.render_form(form, formset)

    def post(self, request: HttpRequest) -> HttpResponse:
        form, formset = self.forms(request.POST, request.FILES)
        patent_errors: list[str] = []
        if form.is_valid() and formset.is_valid():
            try:
                with transaction.atomic():
                    version = services.product_create(
                        unit=self.unit,
                        user=signed_in(request),
                        data=form.service_data(),
                        links=formset.links(),
                        data_year=form.cleaned_data["data_year"],
                    )
                    self.save_images(version, form)
            except ValidationError as exc:
                patent_errors = apply_service_errors(form, exc)
            else:
                messages.success(request, _("产品“%(name)s”已保存为草稿。请检查后提交审核。") % {"name": version.name})
                return redirect("enterprise:version", pk=version.pk)
        return self.render_form(form, formset, status=400, patent_errors=patent_errors)


class VersionEditView(VersionFormMixin, View):
    model = ProductVersion

    def get_version(self) -> ProductVersion:
        qs = self.scoped_queryset(ProductVersion).select_related("product", "product_class")
        return get_object_or_404(qs, pk=self.kwargs["pk"])

    def forms(self, version: ProductVersion, data: Any = None, files: Any = None) -> tuple[VersionForm, Any]:
        initial = {f: getattr(version, f) for f in services.VERSION_FIELDS}
        form = VersionForm(data, files, initial=initial, current_class=version.product_class)
        links = [
            {
                "right": link.right_id,
                "is_core": link.is_core,
                "contribution": link.contribution,
                "embodiment": link.embodiment,
            }
            for link in version.links.all()
        ]
        # Bound: the rows come from the POST alone (initial values would hide unchanged rows).
        formset = link_formset(extra=0 if links else 1)(
            data, prefix="links", initial=links if data is None else None, rights=self.rights()
        )
        return form, formset

    def not_editable(self, version: ProductVersion) -> HttpResponse:
        messages.error(
            self.request,
            _("当前状态为“%(status)s”，不能修改。") % {"status": version.get_status_display()},
        )
        return redirect("enterprise:version", pk=version.pk)

    def edit_context(self, version: ProductVersion) -> dict[str, Any]:
        return {"version": version, "images": version.images.all(), "reasons": workflow.current_return_reasons(version)}

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = self.get_version()
        if not version.is_editable:
            return self.not_editable(version)
        form, formset = self.forms(version)
        return self.render_form(form, formset, **self.edit_context(version))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = self.get_version()
        if not version.is_editable:
            return self.not_editable(version)
        form, formset = self.forms(version, request.POST, request.FILES)
        patent_errors: list[str] = []
        if form.is_valid() and formset.is_valid():
            remove = {int(i) for i in request.POST.getlist("remove_images") if i.isdigit()}
            try:
                with transaction.atomic():
                    services.version_update(
                        version=version, user=signed_in(request), data=form.service_data(), links=formset.links()
                    )
                    if remove:
                        gone = version.images.filter(pk__in=remove)
                        audit.audit_event(
                            action=AuditAction.DELETE,
                            obj=version,
                            actor=request.user,
                            message=f"images {sorted(gone.values_list('pk', flat=True))}",
                        )
                        gone.delete()
                    self.save_images(version, form)
            except ValidationError as exc:
                patent_errors = apply_service_errors(form, exc)
            else:
                messages.success(request, _("已保存。"))
                return redirect("enterprise:version", pk=version.pk)
        return self.render_form(form, formset, status=400, patent_errors=patent_errors, **self.edit_context(version))


# ---------------------------------------------------------------------------------------------
# The version page and its actions

FILER_ACTIONS = ("submit", "resubmit", "withdraw")


def _display(version: ProductVersion, name: str) -> Any:
    if name == "certification_opt_in":
        return _("是") if version.certification_opt_in else _("否")
    value = getattr(version, name)
    return "" if value is None else value


class VersionDetailView(EnterpriseMixin, ScopedTemplateView):
    model = ProductVersion
    template_name = "filings/enterprise/version.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        qs = self.scoped_queryset().select_related("product__unit", "product_class", "decided_by")
        qs = qs.prefetch_related(
            Prefetch("links", queryset=PatentLink.objects.select_related("right__patent")),
            "images",
            Prefetch("transitions", queryset=Transition.objects.select_related("actor")),
        )
        version = get_object_or_404(qs, pk=self.kwargs["pk"])
        product = version.product
        reasons = workflow.current_return_reasons(version)
        rows = [
            {
                "field": name,
                "label": workflow.field_label(name),
                "value": _display(version, name),
                "reasons": reasons.get(name, []),
            }
            for name in services.VERSION_FIELDS
        ]
        rule_errors: list[tuple[str, str]] = []
        to_verify: list[str] = []  # overridable findings (an open ownership conflict): no bar to submission
        if version.is_editable or version.status in PENDING_STATUSES:
            for finding in rules.version_findings(version):
                if finding.overridable:
                    to_verify.append(finding.message)
                elif version.is_editable:
                    rule_errors.append((workflow.field_label(finding.field), finding.message))
        actions = [a for a in workflow.allowed_actions(version, self.request.user) if a in FILER_ACTIONS]
        newest = product.versions.order_by("-data_year", "-id").first()
        can_yearly = (
            newest is not None
            and newest.pk == version.pk
            and version.status not in EDITABLE_STATUSES
            and version.status not in PENDING_STATUSES
            and version.data_year < workflow.default_data_year()
        )
        context.update(
            version=version,
            product=product,
            rows=rows,
            reasons=reasons,
            general_reasons=reasons.get("", []),
            patent_reasons=reasons.get("patents", []),
            image_reasons=reasons.get("images", []),
            rule_errors=rule_errors,
            to_verify=to_verify,
            overrides=version.overrides.all(),
            can_submit=bool({"submit", "resubmit"} & set(actions)),
            submit_label=_("重新提交") if "resubmit" in actions else _("提交审核"),
            # a draft was never submitted: it is deleted, not withdrawn
            can_withdraw="withdraw" in actions and version.status != FilingStatus.DRAFT,
            can_edit=version.is_editable,
            can_delete=version.status == FilingStatus.DRAFT
            and not version.transitions.exclude(action="yearly_update").exists(),
            can_yearly_update=can_yearly,
            next_year=version.data_year + 1,
            can_opt_in=version.status not in (FilingStatus.REVOKED, FilingStatus.WITHDRAWN),
            other_versions=product.versions.exclude(pk=version.pk).order_by("-data_year"),
            withdraw_form=WithdrawForm(),
            status_labels=dict(FilingStatus.choices),
        )
        return context


class VersionActionView(EnterpriseMixin, View):
    """POST-only; the version is read through the scoping rule; workflow errors become messages."""

    model = ProductVersion
    http_method_names = ["post"]  # noqa: RUF012  (django-stubs: an instance variable of View)
    error_intro: ClassVar[Any] = None

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = get_object_or_404(self.scoped_queryset().select_related("product"), pk=pk)
        try:
            return self.act(version)
        except ValidationError as exc:
            if self.error_intro and hasattr(exc, "error_dict"):
                messages.error(request, str(self.error_intro))
            for m in messages_of(exc):
                messages.error(request, m)
            return redirect("enterprise:version", pk=version.pk)

    def act(self, version: ProductVersion) -> HttpResponse:  # pragma: no cover - overridden
        raise NotImplementedError


class VersionSubmitView(VersionActionView):
    error_intro = gettext_lazy("尚不能提交审核，请先修正以下问题：")

    def act(self, version: ProductVersion) -> HttpResponse:
        workflow.version_submit(version=version, user=signed_in(self.request))
        messages.success(self.request, _("已提交，请等待平台审核。审核结果将通过邮件通知。"))
        return redirect("enterprise:version", pk=version.pk)


class VersionWithdrawView(VersionActionView):
    def act(self, version: ProductVersion) -> HttpResponse:
        form = WithdrawForm(self.request.POST)
        reason = form.cleaned_data["reason"].strip() if form.is_valid() else ""
        workflow.version_withdraw(version=version, user=signed_in(self.request), reason=reason)
        messages.success(self.request, _("已撤回。"))
        return redirect("enterprise:version", pk=version.pk)


class VersionDeleteView(VersionActionView):
    def act(self, version: ProductVersion) -> HttpResponse:
        name = version.name
        services.version_delete(version=version, user=signed_in(self.request))
        messages.success(self.request, _("草稿“%(name)s”已删除。") % {"name": name})
        return redirect("enterprise:home")


class VersionOptInView(VersionActionView):
    def act(self, version: ProductVersion) -> HttpResponse:
        opt_in = self.request.POST.get("opt_in", "") in ("1", "true", "on")
        workflow.version_set_certification_opt_in(version=version, user=signed_in(self.request), opt_in=opt_in)
        messages.success(
            self.request,
            _("已选择参与专利密集型产品认定。") if opt_in else _("已取消参与专利密集型产品认定。"),
        )
        return redirect("enterprise:version", pk=version.pk)


class ProductYearlyUpdateView(EnterpriseMixin, View):
    model = Product
    http_method_names = ["post"]  # noqa: RUF012  (django-stubs: an instance variable of View)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        product = get_object_or_404(self.scoped_queryset(), pk=pk)
        try:
            version = workflow.product_yearly_update_start(product=product, user=signed_in(request))
        except ValidationError as exc:
            for m in messages_of(exc):
                messages.error(request, m)
            latest = product.latest_version()
            return redirect("enterprise:version", pk=latest.pk) if latest else redirect("enterprise:home")
        messages.success(
            request,
            _("已创建 %(year)s 年度的更新草稿，数据已从上一年度复制，请修改后提交。") % {"year": version.data_year},
        )
        return redirect("enterprise:version_edit", pk=version.pk)


class ImageView(ScopedViewMixin, View):
    """A product image, for anyone whose scope covers the product (the unit, reviewers, its port)."""

    model = ProductImage
    http_method_names = ["get"]  # noqa: RUF012  (django-stubs: an instance variable of View)

    def get(self, request: HttpRequest, pk: int) -> FileResponse:
        image = get_object_or_404(self.scoped_queryset(), pk=pk)
        try:
            handle = image.file.open("rb")
        except FileNotFoundError as exc:
            raise Http404 from exc
        response = FileResponse(handle, content_type=image.content_type or "application/octet-stream")
        response["Content-Disposition"] = content_disposition_header(False, f"image-{image.pk}") or ""
        return response
