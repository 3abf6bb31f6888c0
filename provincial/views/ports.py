"""The national office's pages on the ports: the list and its export, one port, its contacts (add / remove).

Every page reads through the scoping rule (`ManagementUnit.objects.visible_to`, `PortContact` and
`PortApplication` likewise: national administrators only); others get 404, anonymous visitors the login page.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from filings.forms import apply_service_errors
from patent_platform.exports import xlsx_response
from patent_platform.forms import style_widgets
from patent_platform.i18n import localized_name
from patent_platform.masking import mask_contact_text
from patent_platform.models import User
from patent_platform.roles import signed_in
from patent_platform.views.base import ScopedTemplateView, ScopedViewMixin
from provincial import applications as service
from provincial.choices import ApplicationStatus
from provincial.models import ManagementUnit, PortApplication, PortContact, PortMembership
from provincial.views.applications import NATIONAL, ContactAddForm


@dataclass
class PortRow:
    """A port of the national ports page and its export: the unit, its pending application, its administrators."""

    unit: ManagementUnit
    pending_application: PortApplication | None
    admin_users: list[User]


def _ports(units: QuerySet[ManagementUnit], applications: QuerySet[PortApplication]) -> list[PortRow]:
    pending = {a.unit_id: a for a in applications.filter(status=ApplicationStatus.SUBMITTED)}
    rows = list(
        units.select_related("parent").prefetch_related(
            Prefetch(
                "memberships",
                queryset=PortMembership.objects.select_related("user").order_by("user__full_name", "user_id"),
            ),
            "contacts",
        )
    )
    return [
        PortRow(
            unit=unit, pending_application=pending.get(unit.pk), admin_users=[m.user for m in unit.memberships.all()]
        )
        for unit in rows
    ]


class PortListView(ScopedTemplateView):
    roles = NATIONAL
    model = ManagementUnit
    template_name = "provincial/applications/ports.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        ports = _ports(self.scoped_queryset(), self.scoped_queryset(PortApplication))
        context.update(
            ports=ports,
            open_count=sum(1 for p in ports if p.unit.is_open),
            pending_count=sum(1 for p in ports if p.pending_application),
        )
        return context


PORT_HEADERS = (
    gettext_lazy("端口代码"),
    gettext_lazy("名称"),
    gettext_lazy("类型"),
    gettext_lazy("上级端口"),
    gettext_lazy("端口已开通"),
    gettext_lazy("端口管理员"),
    gettext_lazy("联系人"),
    gettext_lazy("待审核申请"),
)


class PortExportView(ScopedViewMixin, View):
    roles = NATIONAL
    model = ManagementUnit

    def get(self, request: HttpRequest) -> HttpResponse:
        ports = _ports(self.scoped_queryset(), self.scoped_queryset(PortApplication))

        def rows() -> Iterator[list[Any]]:
            for row in ports:
                p = row.unit
                yield [
                    p.code,
                    localized_name(p),
                    str(p.get_kind_display()),
                    localized_name(p.parent) if p.parent else "",
                    _("是") if p.is_open else _("否"),
                    "；".join(u.email for u in row.admin_users),
                    "；".join(
                        mask_contact_text(c.name, c.post, c.office_phone, c.mobile, c.email) for c in p.contacts.all()
                    ),
                    row.pending_application.office_name if row.pending_application else "",
                ]

        return xlsx_response(
            filename=f"{_('管理端口')}-{timezone.localdate().isoformat()}.xlsx",
            title=_("管理端口"),
            headers=PORT_HEADERS,
            rows=rows(),
            object_type=ManagementUnit._meta.label,
            changes={"personal_data": False},
            message="ports export (contacts masked)",
            actor=request.user,
        )


class PortDetailView(ScopedTemplateView):
    """One port: open or not, its administrators, its contacts (add / remove), its applications."""

    roles = NATIONAL
    model = ManagementUnit
    template_name = "provincial/applications/port.html"

    def get_unit(self) -> ManagementUnit:
        return get_object_or_404(self.scoped_queryset().select_related("parent"), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        unit = kwargs.get("unit") or self.get_unit()
        context.update(
            unit=unit,
            admins=[m.user for m in unit.memberships.select_related("user").order_by("user__full_name", "user_id")],
            contacts=self.scoped_queryset(PortContact).filter(unit=unit),
            applications=self.scoped_queryset(PortApplication).filter(unit=unit).order_by("-submitted_at"),
            contact_form=kwargs.get("contact_form") or ContactAddForm(),
        )
        return context


class PortContactAddView(PortDetailView):
    http_method_names = ["post"]  # noqa: RUF012  (django-stubs: an instance variable of View)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        unit = self.get_unit()
        form = ContactAddForm(request.POST)
        if form.is_valid():
            try:
                contact = service.contact_add(unit=unit, data=form.cleaned_data, user=signed_in(request))
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("已添加联系人 %(name)s。") % {"name": contact.name})
                return redirect("national:port", pk=unit.pk)
        style_widgets(form)
        return self.render_to_response(self.get_context_data(unit=unit, contact_form=form), status=400)


class PortContactDeleteView(ScopedViewMixin, View):
    roles = NATIONAL
    model = PortContact

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        contact = get_object_or_404(self.scoped_queryset().select_related("unit"), pk=pk)
        unit_pk = contact.unit_id
        service.contact_remove(contact=contact, user=signed_in(request))
        messages.success(request, _("已删除联系人 %(name)s。") % {"name": contact.name})
        return redirect("national:port", pk=unit_pk)
