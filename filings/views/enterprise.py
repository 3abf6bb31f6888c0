"""Enterprise pages: registration, the unit and its members, patents, products and their versions.

Every page reads through the scoping rule (`scoped_queryset`), so another unit's objects answer 404
exactly as missing ones. Writes go through `filings.services`; status changes through
`filings.workflow`. Errors those raise are shown as field errors or as messages, in Chinese.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, OuterRef, Prefetch, QuerySet, Subquery
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import FormView

from filings import invitations, rules, services, workflow
from filings.choices import EDITABLE_STATUSES, PENDING_STATUSES, FilingStatus
from filings.forms import (
    MemberForm,
    NewVersionForm,
    PatentRightForm,
    RegistrationForm,
    RightFieldsForm,
    UnitForm,
    VersionForm,
    WithdrawForm,
    apply_service_errors,
    link_formset,
    region_options,
)
from filings.models import (
    FilingUnit,
    PatentLink,
    PatentRight,
    Product,
    ProductImage,
    ProductVersion,
    Transition,
    UnitMembership,
)
from patent_platform import audit
from patent_platform.choices import AuditAction, Role
from patent_platform.exports import local_time, xlsx_response
from patent_platform.ratelimit import rate_limit
from patent_platform.uploads import CONTENT_TYPES
from patent_platform.views.base import ScopedListView, ScopedTemplateView, ScopedViewMixin

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


# ---------------------------------------------------------------------------------------------
# Helpers


class EnterpriseMixin(ScopedViewMixin):
    """Enterprise users only (anyone else: 404); `unit` is the user's filing unit (404 if none)."""

    roles: ClassVar[frozenset[str] | None] = frozenset({Role.ENTERPRISE})

    @property
    def unit(self) -> FilingUnit:
        if not hasattr(self, "_unit"):
            self._unit = services.member_unit(self.request.user)
        return self._unit

    def is_manager(self) -> bool:
        return services.is_unit_manager(self.request.user, self.unit)


def _messages_of(exc: ValidationError) -> list[str]:
    return [str(m) for m in exc.messages]


def _stamp() -> str:
    return timezone.localtime().strftime("%Y%m%d")


# ---------------------------------------------------------------------------------------------
# Registration and region options


@rate_limit("registration")
class RegisterView(FormView):
    """An anonymous visitor registers a filing unit and becomes its manager."""

    scope_policy: ClassVar[str] = "account"
    template_name = "filings/enterprise/register.html"
    form_class = RegistrationForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            messages.info(request, _("您已登录。如需登记另一个备案单位，请先退出登录。"))
            return redirect("home")
        return super().dispatch(request, *args, **kwargs)

    def invitation(self) -> invitations.Invitation | None:
        """The invitation of the link (`?invite=`, kept through the POST in a hidden field), if valid."""
        if not hasattr(self, "_invitation"):
            token = self.request.POST.get("invite") or self.request.GET.get("invite") or ""
            self._invitation = invitations.read_invitation(token)
            self.invite_token = token if self._invitation is not None else ""
            self.invite_invalid = bool(token) and self._invitation is None
        return self._invitation

    def get_initial(self) -> dict[str, Any]:
        initial = super().get_initial()
        if (invitation := self.invitation()) is not None:
            initial.update(uscc=invitation.uscc, name=invitation.name)
        return initial

    def form_valid(self, form: RegistrationForm) -> HttpResponse:
        invitation = self.invitation()
        invited = invitation is not None and form.cleaned_data.get("uscc") == invitation.uscc
        try:
            user, unit = services.register_enterprise(
                user_data=form.user_data(), unit_data=form.unit_data(), invited=invited
            )
        except ValidationError as exc:
            uscc = form.cleaned_data.get("uscc", "")  # before the error takes it out of cleaned_data
            apply_service_errors(form, exc, {"region": "province"})
            if any(e.code == "uscc_taken" for e in getattr(exc, "error_dict", {}).get("uscc", [])):
                self.claim_uscc = uscc  # the real owner of the code can claim it (filings/identity.py)
            return self.form_invalid(form)
        login(self.request, user, backend=MODEL_BACKEND)
        messages.success(
            self.request,
            _(
                "注册成功：%(unit)s 已登记，您是该单位的管理员。请先确认电子邮箱；单位身份核验通过前，"
                "可以登记专利、准备备案草稿，但不能提交。"
            )
            % {"unit": unit.name},
        )
        return redirect("enterprise:home")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["invitation"] = self.invitation()
        context["invite_token"] = self.invite_token
        context["invite_invalid"] = self.invite_invalid
        context["invitation_days"] = invitations.INVITATION_DAYS
        if uscc := getattr(self, "claim_uscc", ""):
            context["claim_url"] = f"{reverse('enterprise:claim')}?{urlencode({'uscc': uscc})}"
        return context


class RegionOptionsView(View):
    """`<option>`s of the children of a region (reference data, for the province → city → county selects)."""

    scope_policy: ClassVar[str] = "public"
    http_method_names: ClassVar[list[str]] = ["get"]

    def get(self, request: HttpRequest) -> HttpResponse:
        code = request.GET.get("parent") or request.GET.get("city") or request.GET.get("province") or ""
        options = region_options(code) if code.isdigit() and len(code) == 6 else []
        placeholder = _("请选择区县") if code and code[2:4] != "00" else _("请选择地市")
        return render(
            request,
            "filings/enterprise/region_options.html",
            {"options": options, "placeholder": placeholder if code else _("请先选择上一级")},
        )


# ---------------------------------------------------------------------------------------------
# Home and product export


def _with_latest(products: QuerySet[Product]) -> QuerySet[Product]:
    newest = ProductVersion.objects.filter(product=OuterRef("pk")).order_by("-data_year", "-id")
    return products.annotate(
        latest_id=Subquery(newest.values("pk")[:1]), latest_status=Subquery(newest.values("status")[:1])
    )


def _attach_latest(products: Iterable[Product]) -> list[Product]:
    products = list(products)
    versions = ProductVersion.objects.select_related("product_class").in_bulk(
        [p.latest_id for p in products if p.latest_id]
    )
    for p in products:
        p.latest = versions.get(p.latest_id)
    return products


class EnterpriseHomeView(EnterpriseMixin, ScopedListView):
    """The unit card, counts, and one row per product (its newest version)."""

    model = Product
    template_name = "filings/enterprise/home.html"
    context_object_name = "products"
    paginate_by = 50

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if self.scoped_queryset(FilingUnit).first() is None:
            from filings.views.identity import enterprise_identity_context

            return render(request, "filings/enterprise/no_unit.html", enterprise_identity_context(request.user))
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Product]:
        return _with_latest(self.scoped_queryset(Product)).order_by("-id")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["products"] = _attach_latest(context["products"])
        unit = self.unit
        by_status = dict(
            _with_latest(self.scoped_queryset(Product))
            .order_by()
            .values_list("latest_status")
            .annotate(n=Count("id"))
            .values_list("latest_status", "n")
        )
        context.update(
            unit=FilingUnit.objects.select_related("region__parent__parent").get(pk=unit.pk),
            is_manager=self.is_manager(),
            patent_count=self.scoped_queryset(PatentRight).count(),
            product_count=sum(by_status.values()),
            status_counts=[
                (value, label, by_status.get(value, 0)) for value, label in FilingStatus.choices if by_status.get(value)
            ],
        )
        return context


class ProductsExportView(EnterpriseMixin, View):
    model = Product

    def get(self, request: HttpRequest) -> HttpResponse:
        products = _attach_latest(_with_latest(self.scoped_queryset(Product)).order_by("-id"))
        headers = [
            _("产品备案号"),
            _("产品名称"),
            _("型号规格"),
            _("数据年度"),
            _("产品分类"),
            _("状态"),
            _("上年度销售额（万元）"),
            _("年度出口额（万元）"),
            _("产值（万元）"),
            _("参与认定"),
            _("更新时间"),
        ]

        def rows() -> Iterable[list[Any]]:
            for p in products:
                v = p.latest
                if v is None:
                    continue
                yield [
                    p.filing_number or "",
                    v.name,
                    v.model,
                    v.data_year,
                    str(v.product_class),
                    str(v.get_status_display()),
                    float(v.sales),
                    float(v.exports),
                    float(v.output_value),
                    _("是") if v.certification_opt_in else _("否"),
                    local_time(v.updated_at),
                ]

        return xlsx_response(
            filename=f"products-{_stamp()}.xlsx",
            title=_("备案产品"),
            headers=headers,
            rows=rows(),
            object_type=Product._meta.label,
        )


# ---------------------------------------------------------------------------------------------
# The unit and its members


def _not_manager(request: HttpRequest, what: str) -> HttpResponse:
    return render(request, "filings/enterprise/not_manager.html", {"what": what}, status=403)


class UnitEditView(EnterpriseMixin, ScopedTemplateView):
    """The unit manager edits the profile (the USCC stays); FilingUnit saves are audited by signal."""

    model = FilingUnit
    template_name = "filings/enterprise/unit_edit.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not self.is_manager():
            return _not_manager(request, _("修改单位信息"))
        return self.render_to_response(self.get_context_data(form=UnitForm(instance=self.unit)))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not self.is_manager():
            return _not_manager(request, _("修改单位信息"))
        form = UnitForm(request.POST, instance=self.unit)
        if form.is_valid():
            form.save()  # FilingUnit is registered for auditing: the signal writes audit.audit_change
            messages.success(request, _("单位信息已保存。"))
            return redirect("enterprise:home")
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "unit": self.unit}


class MembersView(EnterpriseMixin, ScopedTemplateView):
    model = FilingUnit
    template_name = "filings/enterprise/members.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        unit = self.unit
        context.update(
            unit=unit,
            is_manager=self.is_manager(),
            members=UnitMembership.objects.filter(unit=unit).select_related("user").order_by("-is_manager", "id"),
        )
        context.setdefault("form", MemberForm())
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not self.is_manager():
            return _not_manager(request, _("添加单位成员"))
        form = MemberForm(request.POST)
        if form.is_valid():
            try:
                user = services.add_unit_member(manager=request.user, unit=self.unit, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(
                    request, _("已添加成员 %(email)s，设置密码的链接已发送到该邮箱。") % {"email": user.email}
                )
                return redirect("enterprise:members")
        return self.render_to_response(self.get_context_data(form=form), status=400)


# ---------------------------------------------------------------------------------------------
# Patents


def _products_by_right(user: Any, right_ids: list[int]) -> dict[int, list[str]]:
    """For each right, the products whose versions embody it (the newest version's name)."""
    names: dict[int, dict[int, tuple[int, str]]] = {}
    rows = (
        PatentLink.objects.visible_to(user)
        .filter(right_id__in=right_ids)
        .values_list("right_id", "version__product_id", "version__data_year", "version__name")
    )
    for right_id, product_id, year, name in rows:
        per = names.setdefault(right_id, {})
        if product_id not in per or per[product_id][0] < year:
            per[product_id] = (year, name)
    return {rid: sorted(n for _y, n in per.values()) for rid, per in names.items()}


class PatentListView(EnterpriseMixin, ScopedListView):
    model = PatentRight
    template_name = "filings/enterprise/patents.html"
    context_object_name = "rights"

    def get_queryset(self) -> QuerySet[PatentRight]:
        return self.scoped_queryset().select_related("patent").order_by("patent__number")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        rights = list(context["rights"])
        used = _products_by_right(self.request.user, [r.pk for r in rights])
        for r in rights:
            r.products = used.get(r.pk, [])
        context["rights"] = rights
        return context


class PatentNewView(EnterpriseMixin, ScopedTemplateView):
    model = PatentRight
    template_name = "filings/enterprise/patent_form.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.unit  # noqa: B018  (404 for a user without a unit)
        return self.render_to_response(self.get_context_data(form=PatentRightForm()))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = PatentRightForm(request.POST)
        if form.is_valid():
            try:
                right = services.add_patent_right(unit=self.unit, user=request.user, data=form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("已登记专利 %(number)s（%(title)s）。")
                    % {"number": right.patent.number, "title": right.patent.title},
                )
                return redirect(f"{reverse('enterprise:patents')}?added={right.pk}")
        return self.render_to_response(self.get_context_data(form=form), status=400)


class PatentEditView(EnterpriseMixin, ScopedTemplateView):
    model = PatentRight
    template_name = "filings/enterprise/patent_form.html"

    def get_right(self) -> PatentRight:
        return get_object_or_404(self.scoped_queryset().select_related("patent"), pk=self.kwargs["pk"])

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        right = self.get_right()
        initial = {f: getattr(right, f) for f in ("kind", "licence_kind", "recordal_number", "valid_until")}
        return self.render_to_response(self.get_context_data(form=RightFieldsForm(initial=initial), right=right))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        right = self.get_right()
        form = RightFieldsForm(request.POST)
        if form.is_valid():
            try:
                services.update_patent_right(right=right, user=request.user, data=form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("专利 %(number)s 的权利信息已保存。") % {"number": right.patent.number})
                return redirect("enterprise:patents")
        return self.render_to_response(self.get_context_data(form=form, right=right), status=400)


class PatentDeleteView(EnterpriseMixin, ScopedTemplateView):
    model = PatentRight
    template_name = "filings/enterprise/patent_delete.html"

    def get_right(self) -> PatentRight:
        return get_object_or_404(self.scoped_queryset().select_related("patent"), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        right = self.get_right()
        used = _products_by_right(self.request.user, [right.pk]).get(right.pk, [])
        return {**super().get_context_data(**kwargs), "right": right, "products": used}

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        right = self.get_right()
        number = right.patent.number
        try:
            services.delete_patent_right(right=right, user=request.user)
        except ValidationError as exc:
            for m in _messages_of(exc):
                messages.error(request, m)
        else:
            messages.success(request, _("已删除专利 %(number)s 的登记。") % {"number": number})
        return redirect("enterprise:patents")


class PatentsExportView(EnterpriseMixin, View):
    model = PatentRight

    def get(self, request: HttpRequest) -> HttpResponse:
        rights = list(self.scoped_queryset(PatentRight).select_related("patent").order_by("patent__number"))
        used = _products_by_right(request.user, [r.pk for r in rights])
        headers = [
            _("申请号"),
            _("专利名称"),
            _("专利类型"),
            _("法律状态"),
            _("权利类型"),
            _("许可类型"),
            _("许可备案号"),
            _("许可/权利期限至"),
            _("关联产品"),
        ]
        rows = (
            [
                r.patent.number,
                r.patent.title,
                str(r.patent.get_kind_display()),
                str(r.patent.get_legal_status_display()),
                str(r.get_kind_display()),
                str(r.get_licence_kind_display()) if r.licence_kind else "",
                r.recordal_number,
                r.valid_until.isoformat() if r.valid_until else "",
                "、".join(used.get(r.pk, [])),
            ]
            for r in rights
        )
        return xlsx_response(
            filename=f"patents-{_stamp()}.xlsx",
            title=_("专利"),
            headers=headers,
            rows=rows,
            object_type=PatentRight._meta.label,
        )


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
                form[name].return_reasons = msgs
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
                    version = services.create_product(
                        unit=self.unit,
                        user=request.user,
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
                    services.update_version(
                        version=version, user=request.user, data=form.service_data(), links=formset.links()
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
                "label": ProductVersion._meta.get_field(name).verbose_name,
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
                    field = finding.field
                    label = _("关联专利") if field == "patents" else ProductVersion._meta.get_field(field).verbose_name
                    rule_errors.append((str(label), finding.message))
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
    http_method_names: ClassVar[list[str]] = ["post"]
    error_intro: ClassVar[Any] = None

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = get_object_or_404(self.scoped_queryset().select_related("product"), pk=pk)
        try:
            return self.act(version)
        except ValidationError as exc:
            if self.error_intro and hasattr(exc, "error_dict"):
                messages.error(request, str(self.error_intro))
            for m in _messages_of(exc):
                messages.error(request, m)
            return redirect("enterprise:version", pk=version.pk)

    def act(self, version: ProductVersion) -> HttpResponse:  # pragma: no cover - overridden
        raise NotImplementedError


class VersionSubmitView(VersionActionView):
    error_intro = gettext_lazy("尚不能提交审核，请先修正以下问题：")

    def act(self, version: ProductVersion) -> HttpResponse:
        workflow.submit(version, self.request.user)
        messages.success(self.request, _("已提交，请等待平台审核。审核结果将通过邮件通知。"))
        return redirect("enterprise:version", pk=version.pk)


class VersionWithdrawView(VersionActionView):
    def act(self, version: ProductVersion) -> HttpResponse:
        form = WithdrawForm(self.request.POST)
        reason = form.cleaned_data["reason"].strip() if form.is_valid() else ""
        workflow.withdraw(version, self.request.user, reason=reason)
        messages.success(self.request, _("已撤回。"))
        return redirect("enterprise:version", pk=version.pk)


class VersionDeleteView(VersionActionView):
    def act(self, version: ProductVersion) -> HttpResponse:
        name = version.name
        services.delete_draft(version=version, user=self.request.user)
        messages.success(self.request, _("草稿“%(name)s”已删除。") % {"name": name})
        return redirect("enterprise:home")


class VersionOptInView(VersionActionView):
    def act(self, version: ProductVersion) -> HttpResponse:
        opt_in = self.request.POST.get("opt_in", "") in ("1", "true", "on")
        workflow.set_certification_opt_in(version, self.request.user, opt_in)
        messages.success(
            self.request,
            _("已选择参与专利密集型产品认定。") if opt_in else _("已取消参与专利密集型产品认定。"),
        )
        return redirect("enterprise:version", pk=version.pk)


class ProductYearlyUpdateView(EnterpriseMixin, View):
    model = Product
    http_method_names: ClassVar[list[str]] = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        product = get_object_or_404(self.scoped_queryset(), pk=pk)
        try:
            version = workflow.start_yearly_update(product, request.user)
        except ValidationError as exc:
            for m in _messages_of(exc):
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
    http_method_names: ClassVar[list[str]] = ["get"]

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        image = get_object_or_404(self.scoped_queryset(), pk=pk)
        try:
            handle = image.file.open("rb")
        except FileNotFoundError as exc:
            raise Http404 from exc
        response = FileResponse(handle, content_type=image.content_type or "application/octet-stream")
        response["Content-Disposition"] = content_disposition_header(False, f"image-{image.pk}")
        return response
