"""The national office's pages for verification clients (/national/verification-clients/): list with Excel,
register (the secret shown once), edit, suspend or reactivate, a new secret, delete (each destructive step
confirmed), and the usage of each client: calls per day, endpoint and status code, with Excel.

National administrators only: every other role gets 404, as on the platform's other national pages. Every write
is a service of verification/services.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from filings.forms import apply_service_errors
from patent_platform.choices import Role
from patent_platform.clock import china_today
from patent_platform.exports import local_time, xlsx_response
from patent_platform.views.base import ScopedListView, ScopedTemplateView, ScopedViewMixin
from verification import services
from verification.choices import ClientStatus, Endpoint
from verification.forms import ClientForm, ConfirmForm
from verification.models import ClientCall, VerificationClient

NATIONAL = frozenset({Role.NATIONAL_ADMIN})
USAGE_DAYS = (7, 30, 90, 365)


class ClientPageMixin(ScopedViewMixin):
    roles = NATIONAL
    model: Any = VerificationClient  # (Any: see ScopedViewMixin.model)
    request: HttpRequest
    kwargs: dict[str, Any]

    def client(self) -> VerificationClient:
        qs = self.scoped_queryset(VerificationClient).select_related("application", "region")
        client: VerificationClient = get_object_or_404(qs, pk=self.kwargs["pk"])
        return client


def _export_rows(clients: Iterable[Any]) -> Any:  # clients annotated with `calls_today`
    for c in clients:
        yield (
            c.name,
            c.organisation,
            c.application.client_id,
            "、".join(c.scope_labels()),
            c.region.full_name if c.region else _("全国"),
            c.per_minute,
            c.per_day,
            c.valid_until,
            str(c.get_status_display()),
            c.calls_today,
            local_time(c.created_at),
        )


class ClientListView(ClientPageMixin, ScopedListView):
    template_name = "verification/list.html"
    context_object_name = "clients"

    def get_queryset(self) -> QuerySet[VerificationClient]:
        today = china_today()
        return (
            self.scoped_queryset()
            .select_related("application", "region__parent")
            .annotate(calls_today=Count("calls", filter=_day_q(today)))
            .order_by("name")
        )

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.GET.get("export") == "xlsx":
            return xlsx_response(
                filename=f"{_('核验接口客户端')}-{china_today().isoformat()}.xlsx",
                title=_("核验接口客户端"),
                headers=[
                    _("客户端名称"),
                    _("使用单位"),
                    _("客户端 ID"),
                    _("权限范围"),
                    _("数据范围"),
                    _("每分钟请求上限"),
                    _("每日请求上限"),
                    _("有效期至"),
                    _("状态"),
                    _("今日调用"),
                    _("登记时间"),
                ],
                rows=_export_rows(self.get_queryset()),
                object_type=VerificationClient._meta.label,
                message="verification clients export",
                actor=request.user,
            )
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["today"] = china_today()
        return context


def _day_q(day: dt.date) -> Q:
    return Q(calls__day=day)


class ClientCreateView(ClientPageMixin, ScopedTemplateView):
    template_name = "verification/form.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=ClientForm(), creating=True))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = ClientForm(request.POST)
        if form.is_valid():
            try:
                issued = services.client_create(user=request.user, data=form.service_data())  # type: ignore[arg-type]
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                return _secret_page(request, issued, created=True)
        return self.render_to_response(self.get_context_data(form=form, creating=True), status=400)


def _secret_page(request: HttpRequest, issued: services.Issued, *, created: bool) -> HttpResponse:
    """The client id and the secret, shown on this answer only (never stored in clear, never shown again)."""
    return render(
        request,
        "verification/secret.html",
        {"client": issued.client, "secret": issued.secret, "created": created, "token_path": "/api/v1/verify/token/"},
    )


class ClientDetailView(ClientPageMixin, ScopedTemplateView):
    """The client's settings (edit), its state and the actions on it."""

    template_name = "verification/detail.html"

    def initial(self, client: VerificationClient) -> dict[str, Any]:
        return {
            "name": client.name,
            "organisation": client.organisation,
            "contact": client.contact,
            "scopes": client.scopes,
            "region": client.region_id or "",
            "per_minute": client.per_minute,
            "per_day": client.per_day,
            "valid_until": client.valid_until,
            "note": client.note,
        }

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        client = self.client()
        return self.render_to_response(
            self.get_context_data(client=client, form=ClientForm(initial=self.initial(client)))
        )

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        client = self.client()
        form = ClientForm(request.POST)
        if form.is_valid():
            try:
                services.client_update(user=request.user, client_id=client.pk, data=form.service_data())  # type: ignore[arg-type]
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("客户端设置已保存，自下一次调用起生效。"))
                return HttpResponseRedirect(reverse("verification:detail", args=[client.pk]))
        return self.render_to_response(self.get_context_data(client=client, form=form), status=400)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        client = kwargs.get("client")
        if client is not None:
            context["expired"] = client.expired_on(china_today())
        return context


class ClientActionView(ClientPageMixin, ScopedTemplateView):
    """A confirmed action on a client: suspend, reactivate, new secret, delete. GET shows the confirmation."""

    template_name = "verification/confirm.html"
    ACTIONS: ClassVar[dict[str, Any]] = {
        "suspend": gettext_lazy("暂停使用"),
        "reactivate": gettext_lazy("恢复使用"),
        "secret": gettext_lazy("重新生成密钥"),
        "delete": gettext_lazy("删除客户端"),
    }

    def action(self) -> str:
        action = self.kwargs["action"]  # fixed by the URL pattern (verification/urls.py)
        if action not in self.ACTIONS:
            raise Http404
        return action

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        action, client = self.action(), self.client()
        return self.render_to_response(
            self.get_context_data(client=client, action=action, label=self.ACTIONS[action], form=ConfirmForm())
        )

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        action, client = self.action(), self.client()
        form = ConfirmForm(request.POST)
        form.is_valid()
        reason = form.cleaned_data.get("reason", "") if hasattr(form, "cleaned_data") else ""
        user = request.user
        if action == "suspend":
            services.client_set_status(user=user, client_id=client.pk, status=ClientStatus.SUSPENDED, reason=reason)  # type: ignore[arg-type]
            messages.success(request, _("客户端已暂停：它的令牌已作废，新的令牌请求一律拒绝。"))
        elif action == "reactivate":
            services.client_set_status(user=user, client_id=client.pk, status=ClientStatus.ACTIVE, reason=reason)  # type: ignore[arg-type]
            messages.success(request, _("客户端已恢复使用。"))
        elif action == "secret":
            issued = services.client_new_secret(user=user, client_id=client.pk)  # type: ignore[arg-type]
            return _secret_page(request, issued, created=False)
        else:
            services.client_delete(user=user, client_id=client.pk)  # type: ignore[arg-type]
            messages.success(request, _("客户端“%(name)s”已删除。") % {"name": client.name})
            return HttpResponseRedirect(reverse("verification:list"))
        return HttpResponseRedirect(reverse("verification:detail", args=[client.pk]))


class UsageFilterForm(forms.Form):
    days = forms.TypedChoiceField(
        label=gettext_lazy("时间范围"),
        coerce=int,
        required=False,
        choices=[(d, gettext_lazy("最近 %(n)s 天") % {"n": d}) for d in USAGE_DAYS],
    )


class ClientUsageView(ClientPageMixin, ScopedTemplateView):
    """Calls per day, endpoint and status code over the last N days (Beijing days), with Excel."""

    template_name = "verification/usage.html"

    def rows(self, client: VerificationClient, since: dt.date) -> list[dict[str, Any]]:
        labels = dict(Endpoint.choices)
        grouped = (
            ClientCall.objects.visible_to(self.request.user)
            .filter(client=client, day__gte=since)
            .values("day", "endpoint", "status_code")
            .annotate(calls=Count("pk"))
            .order_by("-day", "endpoint", "status_code")
        )
        return [row | {"endpoint_label": str(labels.get(row["endpoint"], row["endpoint"]))} for row in grouped]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        client = self.client()
        form = UsageFilterForm(request.GET or None)
        days = (form.cleaned_data.get("days") if form.is_valid() else None) or 30
        since = china_today() - dt.timedelta(days=days - 1)
        rows = self.rows(client, since)
        if request.GET.get("export") == "xlsx":
            return xlsx_response(
                filename=f"{_('核验接口调用')}-{client.name}-{china_today().isoformat()}.xlsx",
                title=_("核验接口调用"),
                headers=[_("日期"), _("接口"), _("状态码"), _("调用次数")],
                rows=((r["day"], r["endpoint_label"], r["status_code"], r["calls"]) for r in rows),
                object_type=ClientCall._meta.label,
                changes={"client": client.pk, "days": days},
                message=f"verification usage export {client.name}",
                actor=request.user,
            )
        by_status: dict[int, int] = {}
        by_endpoint: dict[str, int] = {}
        for row in rows:
            by_status[row["status_code"]] = by_status.get(row["status_code"], 0) + row["calls"]
            by_endpoint[row["endpoint_label"]] = by_endpoint.get(row["endpoint_label"], 0) + row["calls"]
        context = self.get_context_data(
            client=client,
            rows=rows,
            days=days,
            form=form,
            day_choices=USAGE_DAYS,
            total=sum(r["calls"] for r in rows),
            by_status=sorted(by_status.items()),
            by_endpoint=sorted(by_endpoint.items(), key=lambda item: -item[1]),
        )
        return self.render_to_response(context)
