"""Login, the second factor (TOTP code and enrolment), logout, password change and account activation;
the lockout page after too many failed logins or wrong codes. The policy is in patent_platform/security.py."""

from typing import Any, ClassVar

import django_otp
import segno
from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView
from django_otp.plugins.otp_totp.models import TOTPDevice

from patent_platform import audit, confirmation, oidc, ratelimit, recovery, security
from patent_platform.api.problems import problem_json_response
from patent_platform.choices import AuditAction, Role
from patent_platform.ratelimit import rate_limit
from patent_platform.roles import signed_in


class EmailAuthenticationForm(AuthenticationForm):
    error_messages = {  # noqa: RUF012 (AuthenticationForm's own attribute, an instance variable in its stubs)
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


# Per address, only failed logins count (the ceiling against spraying); per account, every attempt.
@rate_limit("login", account_field="username", failures_only=True)
class LoginView(auth_views.LoginView):
    scope_policy: ClassVar[str] = "account"
    template_name = "registration/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["oidc_providers"] = oidc.buttons(get_language() or "")
        return context

    def form_invalid(self, form: Any) -> HttpResponse:
        ratelimit.failed(self.request, "login")
        return super().form_invalid(form)

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        user = form.get_user()
        if user.role != Role.ENTERPRISE and not security.otp_required(user):
            # The embedded default (`make run`) and the tests run without the second factor: say so.
            messages.warning(
                self.request,
                _(
                    "双因素认证未启用：本环境的 OTP_REQUIRED_ROLES 设置未要求您的角色使用动态验证码。"
                    "生产环境必须为全部工作人员启用（等保 2.0 三级）。"
                ),
            )
        return response


class LogoutView(auth_views.LogoutView):
    scope_policy: ClassVar[str] = "account"


class PasswordChangeView(auth_views.PasswordChangeView):
    scope_policy: ClassVar[str] = "account"
    template_name = "registration/password_change.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        audit.audit_event(action=AuditAction.PASSWORD_CHANGE, obj=signed_in(self.request))
        security.update_session_state(self.request, password_expired=False)
        messages.success(self.request, _("密码已修改。"))
        return response


# The backend that logs a user in after activation: Django's model backend. Axes' backend only guards
# authenticate() (password logins); logging in with an explicit backend passes no password through it.
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


class LinkPasswordView(auth_views.PasswordResetConfirmView):
    """A page that sets a password from a one-time link (Django's token): the form in the platform's style.
    The activation of a new account and "forgot password" (views/recovery.py) both are one."""

    def get_form(self, form_class: Any = None) -> Any:
        form = super().get_form(form_class)
        for field in form.fields.values():
            field.widget.attrs["class"] = "form-control"
        return form


class ActivateView(LinkPasswordView):
    """A one-time link (Django's password-reset token, void once the password changes): a new account
    sets its password, is logged in and goes to the home page of its role."""

    scope_policy: ClassVar[str] = "account"
    template_name = "registration/activate.html"
    post_reset_login = True
    post_reset_login_backend = MODEL_BACKEND
    success_url = reverse_lazy("home")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        audit.audit_event(action=AuditAction.PASSWORD_CHANGE, obj=form.user, actor=form.user, message="activation")
        confirmation.email_confirm(user=form.user, via="invitation link")  # the link proves the address
        messages.success(self.request, _("密码已设置，欢迎使用。"))
        return response


def lockout_response(
    request: HttpRequest, credentials: dict[str, Any] | None = None, *args: Any, **kwargs: Any
) -> HttpResponse:
    """Shown instead of the login page while an account is locked (django-axes calls this); the token API
    answers the problem `account_locked` (429). django-axes counts failures per e-mail and client address
    together, whether or not an account has the e-mail, so saying "locked" reveals nothing about which
    addresses exist; a colleague behind the same address is not locked by it."""
    if request.path.startswith("/api/"):
        return problem_json_response(
            "account_locked",
            _("登录失败次数过多，该账号已暂时锁定，请 %(m)s 分钟后重试，或联系单位管理员。") % {"m": lockout_minutes()},
            headers={"Retry-After": str(lockout_minutes() * 60)},
        )
    form = EmailAuthenticationForm(request, data=request.POST or None)
    return render(
        request,
        "registration/login.html",
        {
            "form": form,
            "locked_out": True,
            "lockout_minutes": lockout_minutes(),
            "oidc_providers": oidc.buttons(get_language() or ""),
        },
        status=429,
    )


# ---- the second factor ----------------------------------------------------------------------------------


class OTPCodeForm(forms.Form):
    code = forms.CharField(
        label=_("动态验证码"),
        min_length=6,
        max_length=8,
        help_text=_("身份验证器应用（如 Microsoft Authenticator、Google Authenticator、FreeOTP）显示的 6 位数字。"),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if not code.isdigit():
            raise forms.ValidationError(_("验证码由数字组成。"), code="digits")
        return code


class TwoFactorMixin:
    """Shared by the code form and enrolment: the user has passed the password; `next` is kept; a wrong
    code is a failed login (django-axes counts it and locks the account like wrong passwords)."""

    scope_policy: ClassVar[str] = "account"
    request: HttpRequest
    device: Any  # the device the code is checked against (set by dispatch)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect(f"{reverse('login')}?{urlencode({'next': self.next_url()})}")
        if self.locked():
            return self.lock_out()
        response: HttpResponse = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        return response

    def next_url(self) -> str:
        url = self.request.POST.get("next") or self.request.GET.get("next") or ""
        ok = url_has_allowed_host_and_scheme(url, {self.request.get_host()}, self.request.is_secure())
        return url if ok else reverse("home")

    def credentials(self) -> dict[str, str]:
        return {"username": signed_in(self.request).email}

    def locked(self) -> bool:
        return getattr(self.request, "axes_locked_out", False) or AxesProxyHandler.is_locked(
            self.request, self.credentials()
        )

    def lock_out(self) -> HttpResponse:
        logout(self.request)
        return lockout_response(self.request)

    def code_failed(self, form: forms.Form, device: TOTPDevice) -> HttpResponse:
        """A wrong code, or any code while django-otp's back-off (1, 2, 4 … seconds after consecutive
        wrong codes) is running: both count as failed logins."""
        user_login_failed.send(sender=__name__, credentials=self.credentials(), request=self.request)
        ratelimit.failed(self.request, "login")
        if self.locked():
            return self.lock_out()
        allowed, wait = device.verify_is_allowed()
        if not allowed and wait and wait.get("locked_until"):
            seconds = max(1, int((wait["locked_until"] - timezone.now()).total_seconds()) + 1)
            form.add_error("code", _("尝试过于频繁，请 %(seconds)s 秒后再输入验证码。") % {"seconds": seconds})
        form.add_error(
            "code",
            _("验证码不正确或已过期。连续 %(limit)s 次错误后，账号将被锁定 %(minutes)s 分钟。")
            % {"limit": settings.AXES_FAILURE_LIMIT, "minutes": lockout_minutes()},
        )
        invalid: HttpResponse = self.form_invalid(form)  # type: ignore[attr-defined]
        return invalid

    def verified(self, device: TOTPDevice, message: str) -> HttpResponse:
        django_otp.login(self.request, device)
        user = signed_in(self.request)
        audit.audit_event(action=AuditAction.LOGIN, obj=user, actor=user, message=message)
        return HttpResponseRedirect(self.next_url())

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)  # type: ignore[misc]
        context["next"] = self.next_url()
        context["required"] = security.otp_required(signed_in(self.request))
        return context


class TwoFactorView(TwoFactorMixin, FormView[OTPCodeForm]):
    """The code form after the password (`SecurityPolicyMiddleware` sends every page here until done)."""

    template_name = "registration/two_factor.html"
    form_class = OTPCodeForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and not security.is_verified(request.user):
            self.device = security.confirmed_device(request.user)
            if self.device is None:
                if security.must_enrol(request.user):
                    return redirect(f"{reverse('two_factor_setup')}?{urlencode({'next': self.next_url()})}")
                return redirect(self.next_url())
        elif request.user.is_authenticated:
            return redirect(self.next_url())
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form: OTPCodeForm) -> HttpResponse:
        with transaction.atomic():
            device = TOTPDevice.objects.select_for_update().get(pk=self.device.pk)
            ok = device.verify_token(form.cleaned_data["code"])
        if not ok:
            return self.code_failed(form, device)
        return self.verified(device, "totp")


class TwoFactorSetupView(TwoFactorMixin, FormView[OTPCodeForm]):
    """Enrolment: the QR code of the otpauth:// URI (SVG) and the secret as text; confirmed by a code.
    Required roles are sent here until they have a device; anybody else may enrol here."""

    template_name = "registration/two_factor_setup.html"
    form_class = OTPCodeForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and security.confirmed_device(request.user) is not None:
            if not security.is_verified(request.user):
                return redirect(f"{reverse('two_factor')}?{urlencode({'next': self.next_url()})}")
            self.template_name = "registration/two_factor_enabled.html"
            context = {
                "required": security.otp_required(request.user),
                "recovery_left": recovery.recovery_codes_left(request.user),
            }
            return render(request, self.template_name, context)
        return super().dispatch(request, *args, **kwargs)

    def device(self) -> TOTPDevice:
        device = TOTPDevice.objects.filter(user=self.request.user, confirmed=False).order_by("pk").first()
        if device is None:
            device = TOTPDevice.objects.create(user=self.request.user, name="TOTP", confirmed=False, tolerance=1)
        return device

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        device = self.device()
        context["qr_uri"] = segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2)
        context["secret"] = security.secret_text(device)
        return context

    def form_valid(self, form: OTPCodeForm) -> HttpResponse:
        with transaction.atomic():
            device = TOTPDevice.objects.select_for_update().get(pk=self.device().pk)
            ok = device.verify_token(form.cleaned_data["code"])
            if ok:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                TOTPDevice.objects.filter(user=self.request.user).exclude(pk=device.pk).delete()
        if not ok:
            return self.code_failed(form, device)
        user = signed_in(self.request)
        if user.otp_enrolment_required:  # the security administrator's reset is answered
            get_user_model().objects.filter(pk=user.pk).update(otp_enrolment_required=False)
            user.otp_enrolment_required = False
        security.update_session_state(self.request, device=True)
        audit.audit_event(action=AuditAction.UPDATE, obj=user, message="totp device enrolled")
        messages.success(self.request, _("双因素认证已启用。以后每次登录都需要输入动态验证码。"))
        self.verified(device, "totp enrolment")
        # The recovery codes are shown once, on the next page (kept in the server-side session until then).
        self.request.session[RECOVERY_CODES_KEY] = recovery.recovery_codes_generate(user=user)
        return redirect(f"{reverse('two_factor_recovery_codes')}?{urlencode({'next': self.next_url()})}")


RECOVERY_CODES_KEY = "_recovery_codes"
