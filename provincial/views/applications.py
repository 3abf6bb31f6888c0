"""Port applications (public form) and the national office's pages on them: the list, approval and return.

The application form needs no login (the office has no account yet). Every national page reads through
the scoping rule (`PortApplication.objects.visible_to` answers only national administrators); others get
404, anonymous visitors the login page. The ports and their contacts are in `ports.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from filings.forms import apply_service_errors
from patent_platform import audit
from patent_platform.choices import AuditAction, Role
from patent_platform.concurrency import Conflict
from patent_platform.exports import xlsx_response
from patent_platform.forms import style_widgets
from patent_platform.i18n import localized_name
from patent_platform.masking import mask_email, mask_phone
from patent_platform.ratelimit import rate_limit
from patent_platform.roles import signed_in
from patent_platform.uploads import validate_upload
from patent_platform.views.base import ScopedListView, ScopedTemplateView, ScopedViewMixin
from provincial import applications as service
from provincial.choices import ApplicationStatus, UnitKind
from provincial.models import ManagementUnit, PortApplication, PortContact

NATIONAL = frozenset({Role.NATIONAL_ADMIN})
SESSION_KEY = "port_application_done"

# ---------------------------------------------------------------------------------------------
# Forms


class UnitChoiceField(forms.ChoiceField):
    """The units not yet open, grouped by kind; any unit is accepted here so that an open unit or one
    with a pending application gets a clear message from the form instead of "not a valid choice"."""

    def valid_value(self, value: Any) -> bool:
        return str(value).isdigit() and ManagementUnit.objects.filter(pk=int(value)).exists()


def unit_choices() -> list[tuple[Any, Any]]:
    groups: dict[str, list[tuple[int, str]]] = {kind: [] for kind in UnitKind.values}
    for unit in ManagementUnit.objects.filter(is_open=False).order_by("code"):
        groups[unit.kind].append((unit.pk, localized_name(unit)))
    choices: list[tuple[Any, Any]] = [("", gettext_lazy("请选择申请开通的管理端口"))]
    choices += [(UnitKind(kind).label, rows) for kind, rows in groups.items() if rows]
    return choices


class ApplicationForm(forms.Form):
    unit = UnitChoiceField(label=gettext_lazy("申请开通的管理端口"))
    office_name = forms.CharField(
        label=gettext_lazy("申请单位"),
        max_length=200,
        help_text=gettext_lazy("负责本地专利产品备案工作的知识产权管理部门全称，与申请表盖章一致"),
    )
    person_in_charge = forms.CharField(label=gettext_lazy("负责人"), max_length=50)
    person_post = forms.CharField(label=gettext_lazy("负责人职务"), max_length=50, required=False)
    person_phone = forms.CharField(label=gettext_lazy("负责人电话"), max_length=30, required=False)
    applicant_email = forms.EmailField(
        label=gettext_lazy("联系邮箱"), help_text=gettext_lazy("收到申请的确认和审核结果将发送到此邮箱")
    )
    form_scan = forms.FileField(
        label=gettext_lazy("盖章申请表扫描件（PDF）"),
        help_text=gettext_lazy("附件 3 申请表盖章后扫描为一个 PDF 文件；含脚本或嵌入文件的 PDF 不予接受"),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
        error_messages={
            "required": gettext_lazy("请上传盖章申请表扫描件（PDF）。"),
            "empty": gettext_lazy("文件为空。"),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["unit"]).choices = unit_choices()
        style_widgets(self)

    def clean_unit(self) -> ManagementUnit:
        unit = ManagementUnit.objects.get(pk=int(self.cleaned_data["unit"]))
        reason = service.unit_unavailable_reason(unit)
        if reason:
            raise ValidationError(reason)
        return unit

    def clean_form_scan(self) -> Any:
        scan = self.cleaned_data["form_scan"]
        validate_upload(scan, allowed=("pdf",))
        return scan


class ContactForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("姓名"), max_length=50)
    post = forms.CharField(label=gettext_lazy("职务"), max_length=50, required=False)
    office_phone = forms.CharField(label=gettext_lazy("办公电话"), max_length=30, required=False)
    mobile = forms.CharField(label=gettext_lazy("手机"), max_length=30, required=False)
    email = forms.EmailField(label=gettext_lazy("电子邮箱"))
    is_admin = forms.BooleanField(label=gettext_lazy("端口管理员"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style_widgets(self)
        for field in ("name", "post", "office_phone", "mobile", "email"):
            self.fields[field].widget.attrs["class"] += " form-control-sm"

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("name") and not (data.get("office_phone") or data.get("mobile")):
            self.add_error("mobile", _("请至少填写办公电话或手机中的一项。"))
        return data


def formset_contacts(formset: forms.BaseFormSet[Any]) -> list[dict[str, Any]]:
    """The contacts of a valid contact formset: its filled forms' data, the deleted ones left out."""
    return [f.cleaned_data for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]


class BaseContactFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        try:
            service.clean_contacts(formset_contacts(self))
        except ValidationError as exc:
            raise ValidationError(exc.message_dict.get("contacts", exc.messages)) from exc


ContactFormSet = forms.formset_factory(
    ContactForm,
    formset=BaseContactFormSet,
    extra=1,
    min_num=1,
    validate_min=True,
    max_num=service.MAX_CONTACTS,
    validate_max=True,
)


class ReturnForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("退回理由"),
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
        max_length=2000,
        error_messages={"required": gettext_lazy("请填写退回理由，申请单位将通过邮件收到该理由。")},
    )


class ContactAddForm(forms.ModelForm):
    class Meta:
        model = PortContact
        fields: ClassVar[list[str]] = ["name", "post", "office_phone", "mobile", "email"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style_widgets(self)


class StatusFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("状态"),
        required=False,
        choices=[("", gettext_lazy("全部")), *ApplicationStatus.choices],
    )
    q = forms.CharField(label=gettext_lazy("搜索"), required=False, max_length=100)


# ---------------------------------------------------------------------------------------------
# The public application form


@rate_limit("port_application")
class ApplyView(View):
    """An office applies for its port (no login). A unit already open or with a pending application is refused."""

    scope_policy: ClassVar[str] = "public"
    template_name = "provincial/applications/apply.html"

    def render(self, form: ApplicationForm, formset: Any, status: int = 200) -> HttpResponse:
        context = {
            "form": form,
            "formset": formset,
            "file_lost": form.is_bound,  # a browser never re-sends a file: say so on an error page
        }
        return render(self.request, self.template_name, context, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render(ApplicationForm(), ContactFormSet(prefix="contacts"))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ApplicationForm(request.POST, request.FILES)
        formset = ContactFormSet(request.POST, prefix="contacts")
        if form.is_valid() and formset.is_valid():
            data = form.cleaned_data
            try:
                application = service.submit_application(
                    unit=data["unit"],
                    office_name=data["office_name"],
                    person_in_charge=data["person_in_charge"],
                    person_post=data["person_post"],
                    person_phone=data["person_phone"],
                    applicant_email=data["applicant_email"],
                    form_scan=data["form_scan"],
                    contacts=formset_contacts(formset),
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                request.session[SESSION_KEY] = {
                    "unit": localized_name(application.unit),
                    "email": application.applicant_email,
                }
                return redirect("port_apply:done")
        return self.render(form, formset, status=400)


class ApplyDoneView(View):
    scope_policy: ClassVar[str] = "public"

    def get(self, request: HttpRequest) -> HttpResponse:
        done = request.session.get(SESSION_KEY)
        if not done:
            return redirect("port_apply:new")
        return render(request, "provincial/applications/done.html", {"done": done})


# ---------------------------------------------------------------------------------------------
# National: applications


def filter_applications(qs: QuerySet[PortApplication], form: StatusFilterForm) -> QuerySet[PortApplication]:
    if form.is_valid():
        if form.cleaned_data["status"]:
            qs = qs.filter(status=form.cleaned_data["status"])
        q = form.cleaned_data["q"].strip()
        if q:
            # the e-mail is stored encrypted: it matches as a whole address, through its blind index
            qs = qs.filter(Q(office_name__icontains=q) | Q(unit__name__icontains=q) | Q(applicant_email__iexact=q))
    return qs


class ApplicationListView(ScopedListView):
    roles = NATIONAL
    model = PortApplication
    template_name = "provincial/applications/list.html"
    context_object_name = "applications"

    def get_queryset(self) -> QuerySet[PortApplication]:
        self.filter_form = StatusFilterForm(self.request.GET or None)
        return filter_applications(self.scoped_queryset(), self.filter_form).select_related("unit", "decided_by")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        counts = dict(self.scoped_queryset().order_by().values_list("status").annotate(n=Count("id")))
        current = self.filter_form.cleaned_data.get("status", "") if self.filter_form.is_valid() else ""
        query = self.request.GET.copy()
        query.pop("page", None)
        links = []
        for key, label in [("", _("全部")), *ApplicationStatus.choices]:
            link_query = query.copy()
            link_query["status"] = key
            links.append(
                {
                    "key": key or "all",
                    "label": label,
                    "count": sum(counts.values()) if not key else counts.get(key, 0),
                    "query": link_query.urlencode(),
                    "active": key == current,
                }
            )
        context.update(filter_form=self.filter_form, status_links=links, query=query.urlencode(), status=current)
        return context


APPLICATION_HEADERS = (
    gettext_lazy("申请开通的端口"),
    gettext_lazy("端口代码"),
    gettext_lazy("申请单位"),
    gettext_lazy("负责人"),
    gettext_lazy("负责人职务"),
    gettext_lazy("负责人电话"),
    gettext_lazy("联系邮箱"),
    gettext_lazy("联系人"),
    gettext_lazy("端口管理员"),
    gettext_lazy("状态"),
    gettext_lazy("提交时间"),
    gettext_lazy("审核时间"),
    gettext_lazy("退回理由"),
)


def _contacts_text(contacts: list[dict[str, Any]], admins_only: bool = False) -> str:
    # masked in the export (patent_platform/masking.py): the application's page shows them in full
    return "；".join(
        f"{c.get('name', '')} <{mask_email(c.get('email', ''))}>"
        for c in contacts
        if c.get("is_admin") or not admins_only
    )


class ApplicationExportView(ScopedViewMixin, View):
    roles = NATIONAL
    model = PortApplication

    def get(self, request: HttpRequest) -> HttpResponse:
        form = StatusFilterForm(request.GET or None)
        qs = filter_applications(self.scoped_queryset(), form).select_related("unit")

        def rows() -> Iterator[list[Any]]:
            for a in qs.iterator(chunk_size=500):
                yield [
                    localized_name(a.unit),
                    a.unit.code,
                    a.office_name,
                    a.person_in_charge,
                    a.person_post,
                    mask_phone(a.person_phone),
                    mask_email(a.applicant_email),
                    _contacts_text(a.contacts),
                    _contacts_text(a.contacts, admins_only=True),
                    str(a.get_status_display()),
                    a.submitted_at,
                    a.decided_at,
                    a.return_reason,
                ]

        return xlsx_response(
            filename=f"{_('端口开通申请')}-{timezone.localdate().isoformat()}.xlsx",
            title=_("端口开通申请"),
            headers=APPLICATION_HEADERS,
            rows=rows(),
            object_type=PortApplication._meta.label,
            changes={"filters": {k: v for k, v in request.GET.items() if v}, "personal_data": False},
            message="port applications export (contacts masked)",
            actor=request.user,
        )


class ApplicationDetailView(ScopedTemplateView):
    roles = NATIONAL
    model = PortApplication
    template_name = "provincial/applications/detail.html"

    def get_application(self) -> PortApplication:
        return get_object_or_404(self.scoped_queryset().select_related("unit", "decided_by"), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        application = kwargs.get("application") or self.get_application()
        pending = application.status == ApplicationStatus.SUBMITTED
        others = self.scoped_queryset().filter(unit=application.unit).exclude(pk=application.pk)
        context.update(
            application=application,
            unit=application.unit,
            pending=pending,
            problems=service.admin_account_problems(application) if pending else [],
            unit_blocker=_("该端口已开通。") if pending and application.unit.is_open else "",
            return_form=kwargs.get("return_form") or ReturnForm(),
            other_applications=others.order_by("-submitted_at"),
        )
        return context


class ApplicationScanView(ScopedViewMixin, View):
    """The stamped application form (PDF), for national administrators only; every download is audited."""

    roles = NATIONAL
    model = PortApplication

    def get(self, request: HttpRequest, pk: int) -> FileResponse:
        application = get_object_or_404(self.scoped_queryset().select_related("unit"), pk=pk)
        try:
            handle = application.form_scan.open("rb")
        except (FileNotFoundError, ValueError) as exc:
            raise Http404 from exc
        audit.audit_event(action=AuditAction.DOWNLOAD, obj=application, message="port application scan")
        response = FileResponse(handle, content_type="application/pdf")
        filename = f"{application.unit.name}-{_('开通申请表')}-{application.pk}.pdf"
        response["Content-Disposition"] = content_disposition_header(False, filename) or ""
        response["X-Content-Type-Options"] = "nosniff"
        return response


class _ApplicationActionView(ApplicationDetailView):
    """POST only: act, redirect on success; on error show the page again (with the typed reason) and say why."""

    http_method_names = ["post"]  # noqa: RUF012  (django-stubs: an instance variable of View)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        application = self.get_application()
        try:
            return self.act(application)
        except ValidationError as exc:
            extra = self.error_context(exc)
            if not extra:
                for message in exc.messages:
                    messages.error(request, message)
            context = self.get_context_data(application=self.get_application(), **extra)
            # decided by another administrator first: 409, the page as it is now (issue 17, §5)
            return self.render_to_response(context, status=409 if isinstance(exc, Conflict) else 400)

    def act(self, application: PortApplication) -> HttpResponse:
        raise NotImplementedError

    def error_context(self, exc: ValidationError) -> dict[str, Any]:
        return {}

    def done(self, application: PortApplication) -> HttpResponse:
        return HttpResponseRedirect(reverse("national:application", args=[application.pk]))


class ApplicationApproveView(_ApplicationActionView):
    def act(self, application: PortApplication) -> HttpResponse:
        approved = service.application_approve(application=application, user=signed_in(self.request))
        messages.success(
            self.request,
            _("已批准，“%(unit)s”管理端口已开通；端口管理员将收到设置密码的邀请邮件。")
            % {"unit": localized_name(approved.unit)},
        )
        return self.done(application)


class ApplicationReturnView(_ApplicationActionView):
    def act(self, application: PortApplication) -> HttpResponse:
        service.application_return(
            application=application, user=signed_in(self.request), reason=self.request.POST.get("reason", "")
        )
        messages.success(self.request, _("已退回，申请单位将通过邮件收到退回理由。"))
        return self.done(application)

    def error_context(self, exc: ValidationError) -> dict[str, Any]:
        if not hasattr(exc, "error_dict"):
            return {}  # e.g. decided meanwhile: shown as a message
        form = ReturnForm(self.request.POST)
        form.is_valid()
        if "reason" not in form.errors:
            form.add_error("reason", exc.message_dict.get("reason", exc.messages))
        return {"return_form": form}
