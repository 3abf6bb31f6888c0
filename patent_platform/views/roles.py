"""Accounts and roles, for the security administrator (安全管理员) only: others get 404.

The page reads accounts, not business data: the list shows who holds which role, whether the account is
enabled and whether it is locked by failed logins; an account's page changes its business role, enables or
disables it, unlocks it, sends a password reset link and resets a lost second factor (after a confirm
step). Every rule is in patent_platform/duties.py.
"""

from typing import Any, ClassVar, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import DetailView, ListView
from django_otp.plugins.otp_totp.models import TOTPDevice

from patent_platform import duties
from patent_platform.choices import Role
from patent_platform.exports import local_time, xlsx_response
from patent_platform.models import User
from patent_platform.roles import signed_in
from patent_platform.views.base import ScopedViewMixin

SECURITY = frozenset({Role.SECURITY_ADMIN})


def locked_emails(emails: list[str]) -> set[str]:
    """Which of these accounts django-axes holds locked now from some address (failures are counted per
    account and address together: a row at the limit within the cool-off)."""
    from axes.models import AccessAttempt

    since = timezone.now() - settings.AXES_COOLOFF_TIME
    return set(
        AccessAttempt.objects.filter(
            username__in=emails, failures_since_start__gte=settings.AXES_FAILURE_LIMIT, attempt_time__gte=since
        ).values_list("username", flat=True)
    )


class AccountFilterForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("邮箱或姓名"), required=False, max_length=254)
    role = forms.ChoiceField(label=gettext_lazy("角色"), required=False, choices=[("", gettext_lazy("全部"))])
    active = forms.ChoiceField(
        label=gettext_lazy("状态"),
        required=False,
        choices=[("", gettext_lazy("全部")), ("1", gettext_lazy("已启用")), ("0", gettext_lazy("已停用"))],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast("forms.ChoiceField", self.fields["role"]).choices = [("", _("全部")), *Role.choices]


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=gettext_lazy("角色"), choices=())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast("forms.ChoiceField", self.fields["role"]).choices = [(r, Role(r).label) for r in duties.ASSIGNABLE_ROLES]


class SecurityAdminMixin(ScopedViewMixin):
    """Accounts are not scoped business data: the security administrator reads them all, nobody else any."""

    roles: ClassVar[frozenset[str] | None] = SECURITY
    model: Any = User  # (Any: see ScopedViewMixin.model)

    def accounts(self) -> QuerySet[User]:
        self.filter_form = AccountFilterForm(self.request.GET or None)
        # e-mails are stored encrypted (patent_platform/encrypted_fields.py): no ordering by them, and a search
        # matches a whole address (through its blind index) or part of a name
        qs = User.objects.order_by("role", "full_name", "id")
        if self.filter_form.is_valid():
            data = self.filter_form.cleaned_data
            if data["q"]:
                qs = qs.filter(Q(email__iexact=data["q"].strip()) | Q(full_name__icontains=data["q"].strip()))
            if data["role"]:
                qs = qs.filter(role=data["role"])
            if data["active"]:
                qs = qs.filter(is_active=data["active"] == "1")
        return qs

    def get_queryset(self) -> QuerySet[User]:
        return self.accounts()


class AccountListView(SecurityAdminMixin, ListView[User]):
    template_name = "roles/list.html"
    context_object_name = "accounts"
    paginate_by = 50

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        accounts = list(context["accounts"])
        locked = locked_emails([a.email for a in accounts])
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            filter_form=self.filter_form,
            rows=[{"account": a, "locked": a.email in locked} for a in accounts],
            query=query.urlencode(),
        )
        return context


class AccountExportView(SecurityAdminMixin, ListView[User]):
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        accounts = self.accounts()
        rows = (
            (
                a.email,
                a.full_name,
                str(a.get_role_display()),
                _("是") if a.is_active else _("否"),
                local_time(a.last_login) if a.last_login else "",
                local_time(a.date_joined),
            )
            for a in accounts.iterator(chunk_size=2000)
        )
        return xlsx_response(
            filename=f"{_('账号与角色')}-{timezone.localdate().isoformat()}.xlsx",
            title=_("账号与角色"),
            headers=[_("电子邮箱"), _("姓名"), _("角色"), _("已启用"), _("最近登录"), _("创建时间")],
            rows=rows,
            object_type=User._meta.label,
            changes={"filters": {k: v for k, v in request.GET.items() if v}, "personal_data": True},
            message="accounts export",
            actor=request.user,
        )


class AccountDetailView(SecurityAdminMixin, DetailView[User]):
    template_name = "roles/detail.html"
    context_object_name = "account"

    def get_object(self, queryset: Any = None) -> User:
        return get_object_or_404(User, pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        account = context["account"]
        context.setdefault("role_form", RoleForm(initial={"role": account.role}))
        context.update(
            two_factor=TOTPDevice.objects.filter(user=account, confirmed=True).exists(),
            locked=bool(locked_emails([account.email])),
            is_admin_account=account.role not in duties.ASSIGNABLE_ROLES,
            is_self=account.pk == self.request.user.pk,
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.object = account = self.get_object()
        action = request.POST.get("action", "")
        role_form = RoleForm(request.POST) if action == "role" else None
        try:
            if action == "role":
                if not role_form.is_valid():  # type: ignore[union-attr]
                    return self.render_to_response(self.get_context_data(role_form=role_form), status=400)
                duties.user_assign_role(actor=signed_in(request), user=account, role=role_form.cleaned_data["role"])  # type: ignore[union-attr]
                messages.success(request, _("角色已修改。"))
            elif action in ("enable", "disable"):
                duties.user_set_active(actor=signed_in(request), user=account, active=action == "enable")
                messages.success(request, _("账号已启用。") if action == "enable" else _("账号已停用。"))
            elif action == "unlock":
                duties.user_unlock(actor=signed_in(request), user=account)
                messages.success(request, _("账号已解锁。"))
            elif action == "reset_two_factor":
                # A confirm step of its own (not only the browser's confirm dialog): the page says what goes.
                if request.POST.get("confirm") != "yes":
                    return self.render_to_response(self.get_context_data(confirm_two_factor_reset=True))
                duties.user_reset_two_factor(actor=signed_in(request), user=account)
                messages.success(request, _("双因素认证已重置，已通知该用户；其下次登录时须重新设置。"))
            elif action == "reset_password":
                duties.user_send_password_reset(actor=signed_in(request), user=account)
                messages.success(request, _("已向该账号的邮箱发送设置新密码的链接。"))
            else:
                return self.render_to_response(self.get_context_data(), status=400)
        except ValidationError as exc:
            if role_form is not None:
                for message in exc.messages:
                    role_form.add_error("role", message)
                context = self.get_context_data(role_form=role_form)
            else:
                context = self.get_context_data(action_errors=exc.messages)
            return self.render_to_response(context, status=400)
        return HttpResponseRedirect(reverse("security-account", args=[account.pk]))
