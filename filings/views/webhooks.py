"""Enterprise pages of the unit's webhooks (filings/webhooks.py): the endpoints, their secret and delivery log.

Enterprise users only (any other role: 404), and only their own unit's endpoints (another unit's: 404, as
missing). Every write goes through a service of filings/webhooks.py, which checks membership again under
the row lock.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from filings import webhooks
from filings.forms import apply_service_errors
from filings.models import WebhookDelivery, WebhookEndpoint, WebhookEndpointStatus
from filings.models.webhooks import EVENT_TYPES, VERIFICATION_EVENT
from filings.views.mixins import EnterpriseMixin
from patent_platform.roles import signed_in
from patent_platform.views.base import ScopedTemplateView

LOG_PAGE_SIZE = 25


class WebhookEndpointForm(forms.Form):
    url = forms.CharField(
        label=gettext_lazy("接收地址"),
        max_length=500,
        widget=forms.URLInput(attrs={"class": "form-control", "placeholder": "https://"}),
        help_text=gettext_lazy("须为 https:// 地址，且证书有效；登记后平台发送验证事件，回应其中的 challenge 后启用。"),
    )
    events = forms.MultipleChoiceField(
        label=gettext_lazy("订阅的事件"),
        choices=list(EVENT_TYPES.items()),
        initial=list(EVENT_TYPES),
        widget=forms.CheckboxSelectMultiple,
    )


class WebhookListView(EnterpriseMixin, ScopedTemplateView):
    """The unit's endpoints and the form to register one."""

    model = WebhookEndpoint
    template_name = "filings/webhooks/list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            unit=self.unit,
            endpoints=list(self.scoped_queryset().filter(unit=self.unit).order_by("created_at", "id")),
            event_labels=EVENT_TYPES,
        )
        context.setdefault("form", WebhookEndpointForm())
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = WebhookEndpointForm(request.POST)
        if form.is_valid():
            try:
                endpoint = webhooks.endpoint_create(
                    unit=self.unit,
                    user=signed_in(request),
                    url=form.cleaned_data["url"],
                    events=form.cleaned_data["events"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    _(
                        "接收地址已登记，验证事件已发送。"
                        "请在接收端用下面的签名密钥校验签名，并在回应中原样返回 challenge。"
                    ),
                )
                return redirect("webhooks:detail", pk=endpoint.pk)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class WebhookDetailView(EnterpriseMixin, ScopedTemplateView):
    """One endpoint: its secret, its actions and its delivery log (paginated, newest first)."""

    model = WebhookEndpoint
    template_name = "filings/webhooks/detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        endpoint = get_object_or_404(self.scoped_queryset(), pk=self.kwargs["pk"])
        log = self.scoped_queryset(WebhookDelivery).filter(endpoint=endpoint).order_by("-created_at", "-id")
        page = Paginator(log, LOG_PAGE_SIZE).get_page(self.request.GET.get("page"))
        context.update(
            endpoint=endpoint,
            page_obj=page,
            deliveries=page.object_list,
            event_labels=EVENT_TYPES,
            statuses=WebhookEndpointStatus,
        )
        return context


class _EndpointAction(EnterpriseMixin, ScopedTemplateView):
    """A POST on one endpoint (GET answers 405)."""

    model = WebhookEndpoint
    http_method_names = ["post"]  # noqa: RUF012  (django-stubs: an instance variable of View)

    def endpoint(self) -> WebhookEndpoint:
        return get_object_or_404(self.scoped_queryset(), pk=self.kwargs["pk"])


class WebhookVerifyView(_EndpointAction):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        webhooks.endpoint_verify(endpoint=self.endpoint(), user=signed_in(request))
        messages.success(request, _("验证事件已发送；接收端回应 challenge 后，该地址即启用。"))
        return redirect("webhooks:detail", pk=kwargs["pk"])


class WebhookDisableView(_EndpointAction):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        webhooks.endpoint_disable(endpoint=self.endpoint(), user=signed_in(request))
        messages.success(request, _("已停用：停用期间的事件不会记录和发送。"))
        return redirect("webhooks:detail", pk=kwargs["pk"])


class WebhookEnableView(_EndpointAction):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        webhooks.endpoint_enable(endpoint=self.endpoint(), user=signed_in(request))
        messages.success(request, _("验证事件已发送；接收端回应 challenge 后，该地址重新启用。"))
        return redirect("webhooks:detail", pk=kwargs["pk"])


class WebhookDeleteView(EnterpriseMixin, ScopedTemplateView):
    """GET: the confirm step; POST: delete the endpoint and its delivery log."""

    model = WebhookEndpoint
    template_name = "filings/webhooks/delete.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["endpoint"] = get_object_or_404(self.scoped_queryset(), pk=self.kwargs["pk"])
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        endpoint = get_object_or_404(self.scoped_queryset(), pk=kwargs["pk"])
        webhooks.endpoint_delete(endpoint=endpoint, user=signed_in(request))
        messages.success(request, _("接收地址 %(url)s 已删除。") % {"url": endpoint.url})
        return redirect("webhooks:list")


class WebhookReplayView(_EndpointAction):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        endpoint = self.endpoint()
        delivery = webhooks.delivery_replay(
            delivery_id=kwargs["delivery_pk"], user=signed_in(request), endpoint=endpoint
        )
        if endpoint.status == WebhookEndpointStatus.ACTIVE or delivery.event_type == VERIFICATION_EVENT:
            messages.success(request, _("已安排重发该事件（相同的 webhook-id）。"))
        else:
            messages.warning(request, _("已安排重发该事件；该地址启用后才会发送。"))
        return redirect("webhooks:detail", pk=endpoint.pk)
