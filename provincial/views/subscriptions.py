"""My subscriptions (我的订阅): subscribe to a saved analysis or a port dashboard (as Excel or PDF), pause,
resume, delete, the delivery history with its downloads and its Excel export. Thin views over
provincial/subscriptions.py (the rules, the scope, the daily run); everything here is the signed-in user's
own, anyone else's answers 404."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from patent_platform import audit
from patent_platform.choices import AuditAction
from patent_platform.exports import xlsx_response
from patent_platform.roles import signed_in
from patent_platform.uploads import CONTENT_TYPES
from patent_platform.views.base import ScopedTemplateView, ScopedViewMixin
from provincial import subscriptions
from provincial.choices import SubscriptionFormat, SubscriptionFrequency, SubscriptionKind
from provincial.models import SubscriptionDelivery

HISTORY = 200  # the newest deliveries shown (the export holds them all)


class SubscribeForm(forms.Form):
    frequency = forms.ChoiceField(
        label=gettext_lazy("频率"),
        choices=SubscriptionFrequency.choices,
        widget=forms.RadioSelect,
        help_text=gettext_lazy("每月：上个月的数据，每月初发送；每周：生成时的数据，每周一发送（北京时间）。"),
    )
    format = forms.ChoiceField(
        label=gettext_lazy("文件格式"),
        choices=SubscriptionFormat.choices,
        initial=SubscriptionFormat.XLSX,
        help_text=gettext_lazy("Excel 便于再计算；PDF 为同一张表，便于阅读和打印。"),
    )


def _target(request: HttpRequest) -> dict[str, Any]:
    """What the page subscribes to, from `?analysis=<pk>` or `?dashboard=1&port=<code>` (POST: the same fields)."""
    data = request.POST if request.method == "POST" else request.GET
    analysis = (data.get("analysis") or "").strip()
    kind: str
    analysis_id: int | None
    if analysis:
        if not analysis.isdigit():
            raise Http404
        kind, analysis_id, port_code = SubscriptionKind.ANALYSIS, int(analysis), ""
    else:
        kind, analysis_id, port_code = SubscriptionKind.DASHBOARD, None, (data.get("port") or "").strip()
    name, _saved = subscriptions.check_target(signed_in(request), kind, analysis_id, port_code)  # 404 if out of reach
    return {"kind": kind, "analysis_id": analysis_id, "port_code": port_code, "name": name}


@dataclass
class DeliveryRow:
    """A delivery of the history table and its period as words."""

    delivery: SubscriptionDelivery
    period_label: str


class SubscriptionMixin(ScopedViewMixin):
    roles = subscriptions.ROLES


class SubscriptionListView(SubscriptionMixin, ScopedTemplateView):
    template_name = "provincial/subscriptions/list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        user = self.request.user
        deliveries = [
            DeliveryRow(delivery=d, period_label=subscriptions.period_label(d.period))
            for d in subscriptions.deliveries_of(user)[:HISTORY]
        ]
        return {
            **super().get_context_data(**kwargs),
            "subscriptions": list(subscriptions.owned(user)),
            "deliveries": deliveries,
        }


class SubscriptionExportView(SubscriptionMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        rows = [
            [
                d.subscription.name,
                d.subscription.get_frequency_display(),
                subscriptions.period_label(d.period),
                d.get_status_display(),
                d.built_at,
                d.sent_at,
                d.error,
            ]
            for d in subscriptions.deliveries_of(request.user)
        ]
        return xlsx_response(
            filename=f"{_('我的订阅')}-{timezone.localdate().isoformat()}.xlsx",
            title=_("我的订阅"),
            headers=[_("订阅"), _("频率"), _("期间"), _("状态"), _("生成时间"), _("发送时间"), _("说明")],
            rows=rows,
            object_type="provincial.SubscriptionDelivery",
            actor=request.user,
        )


class SubscribeView(SubscriptionMixin, View):
    template_name = "provincial/subscriptions/new.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        target = _target(request)
        form = SubscribeForm(initial={"frequency": SubscriptionFrequency.MONTHLY, "format": SubscriptionFormat.XLSX})
        return render(request, self.template_name, {"target": target, "form": form})

    def post(self, request: HttpRequest) -> HttpResponse:
        target = _target(request)
        form = SubscribeForm(request.POST)
        if form.is_valid():
            try:
                subscriptions.subscription_create(
                    owner=signed_in(request),
                    kind=target["kind"],
                    analysis_id=target["analysis_id"],
                    port_code=target["port_code"],
                    frequency=form.cleaned_data["frequency"],
                    file_format=form.cleaned_data["format"],
                )
            except subscriptions.SubscriptionError as error:
                for field, problems in error.errors.items():
                    for problem in problems:
                        form.add_error(field if field in form.fields else None, problem)
            else:
                messages.success(request, _("已订阅“%(name)s”。") % {"name": target["name"]})
                return HttpResponseRedirect(reverse("port:subscriptions"))
        return render(request, self.template_name, {"target": target, "form": form}, status=400)


class SubscriptionToggleView(SubscriptionMixin, View):
    """Pause (`active=0`) or resume (`active=1`) one's own subscription."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        active = request.POST.get("active") == "1"
        subscription = subscriptions.subscription_set_active(
            owner=signed_in(request), subscription_id=pk, active=active
        )
        text = _("已恢复订阅“%(name)s”。") if active else _("已暂停订阅“%(name)s”。")
        messages.success(request, text % {"name": subscription.name})
        return HttpResponseRedirect(reverse("port:subscriptions"))


class SubscriptionDeleteView(SubscriptionMixin, ScopedTemplateView):
    template_name = "provincial/subscriptions/delete.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        subscription = subscriptions.owned(request.user).filter(pk=pk).first()
        if subscription is None:
            raise Http404
        return self.render_to_response({**self.get_context_data(), "subscription": subscription})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        subscriptions.subscription_delete(owner=signed_in(request), subscription_id=pk)
        messages.success(request, _("订阅已删除。"))
        return HttpResponseRedirect(reverse("port:subscriptions"))


class DeliveryDownloadView(SubscriptionMixin, View):
    """The file of one delivery, for its owner only (404 for anyone else); every download is audited."""

    def get(self, request: HttpRequest, pk: int) -> FileResponse:
        handle, name = subscriptions.open_delivery(request.user, pk)
        audit.audit_event(
            action=AuditAction.DOWNLOAD,
            object_type="provincial.SubscriptionDelivery",
            object_id=str(pk),
            actor=request.user,
            message="subscription file",
        )
        ext = subscriptions.file_extension(name)
        response = FileResponse(handle, as_attachment=True, filename=name, content_type=CONTENT_TYPES[ext])
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response
