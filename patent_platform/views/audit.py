"""The audit log for its reader: filters (action, date range, actor), pages of 50, Excel export.

Who reads it: for now the national administrator (Role.NATIONAL_ADMIN). The separation of duties
(三权分立, issue 8 item 2) will bring an audit administrator role; it plugs in at `AUDIT_READERS`
below (and the national administrator leaves it then). Reading the log is itself scoped: the
queryset is `AuditEvent.objects.visible_to(user)`, which yields rows only to the audit administrator.
"""

import datetime as dt
from typing import Any, ClassVar
from urllib.parse import urlencode

from django import forms
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views import View

from patent_platform.choices import AuditAction
from patent_platform.exports import local_time, xlsx_response
from patent_platform.models import AuditEvent
from patent_platform.models.audit import AUDIT_READER_ROLES, retention_days
from patent_platform.views.base import ScopedListView, ScopedViewMixin

# The roles that may read the audit log: the national administrator for now, and the audit
# administrator of 三权分立 as soon as that role exists (it is being added by issue 8 item 2; when it
# lands, the national administrator may leave this set). AuditEventQuerySet.visible_to follows it.
AUDIT_READERS: frozenset[str] = AUDIT_READER_ROLES


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(label=_("操作"), required=False, choices=[("", _("全部")), *AuditAction.choices])
    actor = forms.CharField(label=_("操作人"), required=False, max_length=254)
    date_from = forms.DateField(label=_("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    success = forms.ChoiceField(
        label=_("结果"), required=False, choices=[("", _("全部")), ("1", _("成功")), ("0", _("失败"))]
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("截止日期不能早于起始日期。"))
        return data


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def filtered(queryset: QuerySet[AuditEvent], form: AuditFilterForm) -> QuerySet[AuditEvent]:
    """The rows the filter form asks for; none while the form is invalid (the page shows its errors)."""
    if not form.is_valid():
        return queryset.none()
    data = form.cleaned_data
    if data["action"]:
        queryset = queryset.filter(action=data["action"])
    if data["actor"]:
        actor = data["actor"].strip()
        q = Q(actor_email__icontains=actor)
        if actor.isdigit():
            q |= Q(actor_id=int(actor))
        queryset = queryset.filter(q)
    if data["date_from"]:
        queryset = queryset.filter(at__gte=_day_start(data["date_from"]))
    if data["date_to"]:
        queryset = queryset.filter(at__lt=_day_start(data["date_to"] + dt.timedelta(days=1)))
    if data["success"]:
        queryset = queryset.filter(success=data["success"] == "1")
    return queryset.order_by("-id")


class AuditReaderMixin(ScopedViewMixin):
    model: Any = AuditEvent  # (Any: see ScopedViewMixin.model)
    roles: ClassVar[frozenset[str] | None] = AUDIT_READERS

    def filter_form(self) -> AuditFilterForm:
        return AuditFilterForm(self.request.GET)

    def get_queryset(self) -> Any:
        return filtered(self.scoped_queryset(), self.filter_form())


class AuditLogView(AuditReaderMixin, ScopedListView[AuditEvent]):
    template_name = "audit/list.html"
    context_object_name = "events"
    paginate_by = 50

    def get_queryset(self) -> Any:
        self.form = self.filter_form()
        return filtered(self.scoped_queryset(), self.form)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        params = {k: v for k, v in self.request.GET.items() if k != "page" and v}
        context.update(filter_form=self.form, query=urlencode(params), retention_days=retention_days())
        return context


class AuditLogExportView(AuditReaderMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        form = self.filter_form()
        events = filtered(self.scoped_queryset(), form)
        rows = (
            (
                e.pk,
                local_time(e.at),
                e.actor_email,
                e.actor_id,
                e.ip,
                e.get_action_display(),
                e.success,
                e.object_type,
                e.object_id,
                e.object_repr,
                e.changes,
                e.message,
                e.hash,
            )
            for e in events.iterator(chunk_size=2000)
        )
        headers = [
            "ID",
            _("时间"),
            _("操作人"),
            _("操作人 ID"),
            _("来源地址"),
            _("操作"),
            _("成功"),
            _("对象类型"),
            _("对象 ID"),
            _("对象"),
            _("变更（前 → 后）"),
            _("说明"),
            _("记录哈希"),
        ]
        filters = {k: str(v) for k, v in (form.cleaned_data if form.is_valid() else {}).items() if v}
        return xlsx_response(
            filename=f"{gettext('审计日志')}-{timezone.localdate().isoformat()}.xlsx",
            title=gettext("审计日志"),
            headers=headers,
            rows=rows,
            object_type=AuditEvent._meta.label,
            changes={"filters": filters},
            message="audit log export",
            actor=request.user,
        )
