"""E-mail confirmation pages (patent_platform/confirmation.py): "confirm your e-mail" with "resend", shown to a
signed-in account whose address is not confirmed yet; and the page the one-time link of the mail opens."""

from typing import Any, ClassVar

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.utils.translation import gettext as _
from django.views import View

from patent_platform import confirmation
from patent_platform.links import email_confirmation_token
from patent_platform.ratelimit import rate_limit
from patent_platform.roles import signed_in


@rate_limit("password_reset")
class EmailUnconfirmedView(View):
    """What an unconfirmed account sees instead of any other page; POST sends the mail again."""

    scope_policy: ClassVar[str] = "account"
    template_name = "registration/email_unconfirmed.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect("login")
        if request.user.email_confirmed_at is not None:
            return redirect("home")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"email": signed_in(request).email})

    def post(self, request: HttpRequest) -> HttpResponse:
        user = signed_in(request)
        confirmation.email_confirmation_send(user=user)
        messages.success(request, _("确认邮件已重新发送到 %(email)s，请查收。") % {"email": user.email})
        return redirect("email_unconfirmed")


class EmailConfirmView(View):
    """The one-time link of the confirmation mail: GET shows the button, POST confirms (a mail scanner that
    opens links confirms nothing)."""

    scope_policy: ClassVar[str] = "account"
    template_name = "registration/email_confirm.html"

    def link_user(self, uidb64: str, token: str) -> Any:
        try:
            user = get_user_model().objects.get(pk=int(force_str(urlsafe_base64_decode(uidb64))))
        except (ValueError, TypeError, OverflowError, get_user_model().DoesNotExist):
            return None
        return user if email_confirmation_token.check_token(user, token) else None

    def get(self, request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
        user = self.link_user(uidb64, token)
        return render(request, self.template_name, {"validlink": user is not None, "email": getattr(user, "email", "")})

    def post(self, request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
        user = self.link_user(uidb64, token)
        if user is None:
            return render(request, self.template_name, {"validlink": False}, status=400)
        confirmation.email_confirm(user=user)
        messages.success(request, _("电子邮箱 %(email)s 已确认。") % {"email": user.email})
        if request.user.is_authenticated and request.user.pk == user.pk:
            return redirect("home")
        return redirect("login")
