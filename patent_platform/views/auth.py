"""Login, logout, password change and account activation; the lockout page after too many failed logins."""

from typing import Any, ClassVar

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from patent_platform import audit
from patent_platform.choices import AuditAction


class EmailAuthenticationForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _("电子邮箱或密码不正确。连续 %(limit)s 次错误后，账号将被锁定 %(minutes)s 分钟。"),
        "inactive": _("该账号已停用，请联系平台管理员。"),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("电子邮箱")
        self.fields["username"].widget.attrs.update({"autocomplete": "email", "autofocus": True})

    def get_invalid_login_error(self) -> Any:
        from django.core.exceptions import ValidationError

        return ValidationError(
            self.error_messages["invalid_login"],
            code="invalid_login",
            params={"limit": settings.AXES_FAILURE_LIMIT, "minutes": lockout_minutes()},
        )


def lockout_minutes() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)


class LoginView(auth_views.LoginView):
    scope_policy: ClassVar[str] = "account"
    template_name = "registration/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    scope_policy: ClassVar[str] = "account"


class PasswordChangeView(auth_views.PasswordChangeView):
    scope_policy: ClassVar[str] = "account"
    template_name = "registration/password_change.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        audit.audit_event(action=AuditAction.PASSWORD_CHANGE, obj=self.request.user)
        messages.success(self.request, _("密码已修改。"))
        return response


# The backend that logs a user in after activation: Django's model backend. Axes' backend only guards
# authenticate() (password logins); logging in with an explicit backend passes no password through it.
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


class ActivateView(auth_views.PasswordResetConfirmView):
    """A one-time link (Django's password-reset token, void once the password changes): a new account
    sets its password, is logged in and goes to the home page of its role."""

    scope_policy: ClassVar[str] = "account"
    template_name = "registration/activate.html"
    post_reset_login = True
    post_reset_login_backend = MODEL_BACKEND
    success_url = reverse_lazy("home")

    def get_form(self, form_class: Any = None) -> Any:
        form = super().get_form(form_class)
        for field in form.fields.values():
            field.widget.attrs["class"] = "form-control"
        return form

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        audit.audit_event(action=AuditAction.PASSWORD_CHANGE, obj=form.user, actor=form.user, message="activation")
        messages.success(self.request, _("密码已设置，欢迎使用。"))
        return response


def lockout_response(
    request: HttpRequest, credentials: dict[str, Any] | None = None, *args: Any, **kwargs: Any
) -> HttpResponse:
    """Shown instead of the login page while an account is locked (django-axes calls this)."""
    form = EmailAuthenticationForm(request, data=request.POST or None)
    return render(
        request,
        "registration/login.html",
        {"form": form, "locked_out": True, "lockout_minutes": lockout_minutes()},
        status=429,
    )
