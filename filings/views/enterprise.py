"""Enterprise pages: registration, the home page and the product export, the unit and its members.

Every page reads through the scoping rule (`scoped_queryset`), so another unit's objects answer 404
exactly as missing ones. Writes go through `filings.services`; status changes through
`filings.workflow`. Errors those raise are shown as field errors or as messages, in Chinese. The patents pages
are in `filings.views.patents`, the product versions' in `filings.views.versions`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import FormView

from filings import invitations, services
from filings.choices import FilingStatus
from filings.forms import (
    MemberForm,
    RegistrationForm,
    UnitForm,
    apply_service_errors,
    region_options,
)
from filings.models import (
    FilingUnit,
    PatentRight,
    Product,
    ProductVersion,
    UnitMembership,
)
from filings.views.identity import enterprise_identity_context
from filings.views.mixins import MODEL_BACKEND, EnterpriseMixin, stamp
from patent_platform.exports import local_time, xlsx_response
from patent_platform.ratelimit import rate_limit
from patent_platform.roles import signed_in
from patent_platform.views.base import ScopedListView, ScopedTemplateView

# ---------------------------------------------------------------------------------------------
# Registration and region options


@rate_limit("registration")
class RegisterView(FormView):
    """An anonymous visitor registers a filing unit and becomes its manager."""

    scope_policy: ClassVar[str] = "account"
    template_name = "filings/enterprise/register.html"
    form_class = RegistrationForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
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
            user, unit = services.enterprise_register(
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
    http_method_names = ["get"]  # noqa: RUF012  (django-stubs: an instance variable of View)

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
        [p.latest_id for p in products if p.latest_id]  # type: ignore[attr-defined]  # annotated by _with_latest
    )
    for p in products:
        p.latest = versions.get(p.latest_id)  # type: ignore[attr-defined]  # read by the template and the export
    return products


class EnterpriseHomeView(EnterpriseMixin, ScopedListView):
    """The unit card, counts, and one row per product (its newest version)."""

    model = Product
    template_name = "filings/enterprise/home.html"
    context_object_name = "products"
    paginate_by = 50

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if self.scoped_queryset(FilingUnit).first() is None:
            return render(request, "filings/enterprise/no_unit.html", enterprise_identity_context(signed_in(request)))
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
            .values_list("latest_status")  # type: ignore[misc]  # annotated by _with_latest
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
                v = p.latest  # type: ignore[attr-defined]  # set by _attach_latest
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
            filename=f"products-{stamp()}.xlsx",
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
                user = services.unit_member_add(manager=signed_in(request), unit=self.unit, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(
                    request, _("已添加成员 %(email)s，设置密码的链接已发送到该邮箱。") % {"email": user.email}
                )
                return redirect("enterprise:members")
        return self.render_to_response(self.get_context_data(form=form), status=400)
