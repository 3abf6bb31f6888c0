"""The outbox as the security administrator (安全管理员) and the system administrator see it: notices that
wait or failed, with the error and the next attempt; "重新发送" puts failed ones back in the queue.

The page shows the kind, the recipient (masked) and the delivery state, never the subject or body (the
administrators see no business data). The rules are in patent_platform/outbox.py.
"""

from typing import Any, ClassVar, cast

from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import ListView

from patent_platform import audit, outbox
from patent_platform.choices import AuditAction, Role
from patent_platform.exports import local_time, xlsx_response
from patent_platform.masking import mask_email
from patent_platform.models import Notice, NoticeStatus
from patent_platform.params import int_or_none
from patent_platform.views.base import ScopedViewMixin

OPERATORS = frozenset({Role.SECURITY_ADMIN, Role.SYSTEM_ADMIN})


class NoticeFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("状态"),
        required=False,
        choices=[("", gettext_lazy("待发送和发送失败")), *NoticeStatus.choices],
    )
    kind = forms.ChoiceField(label=gettext_lazy("通知类型"), required=False, choices=())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast("forms.ChoiceField", self.fields["kind"]).choices = [
            ("", _("全部")),
            *((k, str(v)) for k, v in outbox.KINDS.items()),
        ]


class NoticeMixin(ScopedViewMixin):
    """Notices are delivery records, not scoped business data: the two operators read them all."""

    roles: ClassVar[frozenset[str] | None] = OPERATORS
    model: Any = Notice  # (Any: see ScopedViewMixin.model)

    def notices(self) -> QuerySet[Notice]:
        self.filter_form = NoticeFilterForm(self.request.GET or None)
        qs = Notice.objects.order_by("-created_at", "-pk")
        status = ""
        if self.filter_form.is_valid():
            status = self.filter_form.cleaned_data["status"]
            if self.filter_form.cleaned_data["kind"]:
                qs = qs.filter(kind=self.filter_form.cleaned_data["kind"])
        if status:
            return qs.filter(status=status)
        return qs.filter(status__in=[NoticeStatus.PENDING, NoticeStatus.FAILED])

    def get_queryset(self) -> QuerySet[Notice]:
        return self.notices()


def _row(notice: Notice) -> dict[str, Any]:
    return {
        "notice": notice,
        "kind": outbox.KINDS.get(notice.kind, notice.kind),
        "recipient": mask_email(notice.recipient),
    }


class NoticeListView(NoticeMixin, ListView[Notice]):
    template_name = "roles/notices.html"
    context_object_name = "notices"
    paginate_by = 50

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            filter_form=self.filter_form,
            rows=[_row(n) for n in context["notices"]],
            overview=outbox.overview(),
            query=query.urlencode(),
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """重新发送: one notice (`id`) or every failed one (`all`)."""
        if request.POST.get("all") == "1":
            ids = list(Notice.objects.filter(status=NoticeStatus.FAILED).values_list("pk", flat=True))
        else:
            pk = int_or_none(request.POST.get("id"))
            ids = [pk] if pk is not None else []
        count = outbox.retry(ids)
        if count:
            audit.audit_event(
                action=AuditAction.UPDATE,
                obj=None,
                object_type=Notice._meta.label,
                changes={"requeued": ids[:100], "count": count},
                message="notices requeued",
                actor=request.user,
            )
            messages.success(request, _("已将 %(n)s 条通知重新加入发送队列。") % {"n": count})
        else:
            messages.info(request, _("没有可重新发送的通知（可能已发送）。"))
        return HttpResponseRedirect(reverse("security-notices"))


class NoticeExportView(NoticeMixin, ListView[Notice]):
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        rows = (
            (
                str(outbox.KINDS.get(n.kind, n.kind)),
                mask_email(n.recipient),
                str(n.get_status_display()),
                n.attempts,
                local_time(n.created_at),
                local_time(n.due_at) if n.status == NoticeStatus.PENDING else "",
                local_time(n.sent_at) if n.sent_at else "",
                n.last_error,
            )
            for n in self.notices().iterator(chunk_size=2000)
        )
        return xlsx_response(
            filename=f"{_('通知发送情况')}-{timezone.localdate().isoformat()}.xlsx",
            title=_("通知发送情况"),
            headers=[
                _("通知类型"),
                _("收件人"),
                _("状态"),
                _("已尝试次数"),
                _("生成时间"),
                _("下次发送时间"),
                _("发送时间"),
                _("最近错误"),
            ],
            rows=rows,
            object_type=Notice._meta.label,
            changes={"filters": {k: v for k, v in request.GET.items() if v}},
            message="notices export",
            actor=request.user,
        )
