"""Recovering an account (patent_platform/recovery.py has the rules): "forgot password" by e-mail, a
recovery code at the 2FA step instead of the authenticator's code, and the page that shows the recovery
codes once and regenerates them."""

from typing import Any, ClassVar

import django_otp
from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import FormView, TemplateView
from django_otp.plugins.otp_static.models import StaticDevice

from patent_platform import outbox, recovery, security
from patent_platform.ratelimit import rate_limit
from patent_platform.roles import signed_in
from patent_platform.views.auth import RECOVERY_CODES_KEY, LinkPasswordView, TwoFactorMixin

# ---- forgotten password ---------------------------------------------------------------------------------


class PasswordResetRequestForm(forms.Form):
    email = forms.EmailField(
        label=_("电子邮箱"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


@rate_limit("password_reset", account_field="email")
class PasswordResetRequestView(FormView[PasswordResetRequestForm]):
    """The same page follows for a known and an unknown address: the form gives nothing away."""

    scope_policy: ClassVar[str] = "account"
    template_name = "registration/password_reset_form.html"
    form_class = PasswordResetRequestForm
    success_url = reverse_lazy("password_reset_sent")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(**kwargs, link_days=outbox.link_days())

    def form_valid(self, form: PasswordResetRequestForm) -> HttpResponse:
        recovery.password_reset_request(email=form.cleaned_data["email"])
        return super().form_valid(form)


class PasswordResetSentView(TemplateView):
    scope_policy: ClassVar[str] = "account"
    template_name = "registration/password_reset_sent.html"


class PasswordResetConfirmView(LinkPasswordView):
    """Django's view: the token from the link, then a new password through AUTH_PASSWORD_VALIDATORS (policy
    and history). Nobody is logged in by it; every session and API token of the account ends."""

    scope_policy: ClassVar[str] = "account"
    template_name = "registration/password_reset_confirm.html"
    post_reset_login = False
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        recovery.password_reset_done(user=form.user)
        return response


class PasswordResetCompleteView(TemplateView):
    scope_policy: ClassVar[str] = "account"
    template_name = "registration/password_reset_complete.html"


# ---- recovery codes -------------------------------------------------------------------------------------


class RecoveryCodeForm(forms.Form):
    code = forms.CharField(
        label=_("恢复码"),
        max_length=20,
        help_text=_("启用双因素认证时保存的一次性恢复码（如 abcd-2345），每个只能使用一次。"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True, "spellcheck": "false"}),
    )

    def clean_code(self) -> str:
        code = recovery.normalise_code(self.cleaned_data["code"])
        if not code:
            raise forms.ValidationError(_("请输入恢复码。"), code="empty")
        return code


class TwoFactorRecoveryView(TwoFactorMixin, FormView[RecoveryCodeForm]):
    """The 2FA step with a recovery code instead of the authenticator's code; a wrong one is a failed login
    (django-axes and the address ceiling count it, like a wrong TOTP code)."""

    template_name = "registration/two_factor_recovery.html"
    form_class = RecoveryCodeForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            if security.is_verified(request.user):
                return redirect(self.next_url())
            self.device = recovery.recovery_device(request.user)
            if self.device is None or security.confirmed_device(request.user) is None:
                return redirect(f"{reverse('two_factor')}?{urlencode({'next': self.next_url()})}")
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form: RecoveryCodeForm) -> HttpResponse:
        with transaction.atomic():
            device = StaticDevice.objects.select_for_update().get(pk=self.device.pk)
            ok = device.verify_token(form.cleaned_data["code"])  # deletes the code it accepts
        if not ok:
            return self.code_failed(form, device)
        django_otp.login(self.request, device)
        left = recovery.recovery_code_used(user=signed_in(self.request), device=device)
        messages.warning(
            self.request,
            _("已使用恢复码登录，剩余 %(left)s 个。如手机已丢失，请联系安全管理员重置双因素认证，或重新生成恢复码。")
            % {"left": left},
        )
        return HttpResponseRedirect(self.next_url())


class RecoveryCodesView(View):
    """GET: the codes just issued at enrolment, shown once (then gone from the session), or how many are
    left; POST action=regenerate: new codes (the old void), shown once in the answer."""

    scope_policy: ClassVar[str] = "account"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect(f"{reverse('login')}?{urlencode({'next': request.get_full_path()})}")
        return super().dispatch(request, *args, **kwargs)

    def next_url(self) -> str:
        url = self.request.GET.get("next") or ""
        ok = url_has_allowed_host_and_scheme(url, {self.request.get_host()}, self.request.is_secure())
        return url if ok else reverse("home")

    def render_page(self, codes: list[str] | None, status: int = 200) -> HttpResponse:
        user = signed_in(self.request)
        context = {
            "codes": codes,
            "codes_text": "\r\n".join([str(_("专利产品备案平台 恢复码")), user.email, "", *(codes or [])]),
            "left": recovery.recovery_codes_left(user),
            "has_device": security.confirmed_device(user) is not None,
            "next": self.next_url(),
        }
        return render(self.request, "registration/recovery_codes.html", context, status=status)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.render_page(request.session.pop(RECOVERY_CODES_KEY, None))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # The middleware has asked for the second factor already (the account has a device).
        user = signed_in(request)
        if request.POST.get("action") != "regenerate" or security.confirmed_device(user) is None:
            return self.render_page(None, status=400)
        codes = recovery.recovery_codes_generate(user=user)
        messages.success(request, _("已生成新的恢复码，原有恢复码全部作废。"))
        return self.render_page(codes)
