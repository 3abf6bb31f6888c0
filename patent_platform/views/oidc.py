"""Government login (OpenID Connect): to the provider and back. The rules are in patent_platform/oidc.py."""

from typing import Any, ClassVar

from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views import View

from patent_platform import oidc, security
from patent_platform.middleware import client_ip
from patent_platform.views.auth import MODEL_BACKEND, EmailAuthenticationForm

NEXT_KEY = "_oidc_next"
FAILED = _("通过“%(provider)s”登录未成功，请重试或使用密码登录。")


def _provider(provider_id: str) -> oidc.Provider:
    provider = oidc.providers().get(provider_id)
    if provider is None:
        raise Http404
    return provider


def _login_page(request: HttpRequest, error: Any, status: int = 400) -> HttpResponse:
    form = EmailAuthenticationForm(request)
    context = {"form": form, "oidc_error": error, "oidc_providers": oidc.buttons(get_language() or "")}
    return render(request, "registration/login.html", context, status=status)


class OIDCLoginView(View):
    """The button on the login page: to the provider's authorization endpoint (state, nonce, PKCE kept in the
    session by Authlib)."""

    scope_policy: ClassVar[str] = "public"

    def get(self, request: HttpRequest, provider: str) -> HttpResponse:
        config = _provider(provider)
        nxt = request.GET.get("next", "")
        if nxt and url_has_allowed_host_and_scheme(nxt, {request.get_host()}, request.is_secure()):
            request.session[NEXT_KEY] = nxt
        callback = request.build_absolute_uri(reverse("oidc_callback", args=[config.id]))
        try:
            # asking for the levels that stand for the second factor (voluntary: a lower one comes back as it is)
            extra = {"acr_values": " ".join(sorted(config.mfa_acr))} if config.mfa_acr else {}
            result: HttpResponse = oidc.client(config).authorize_redirect(request, callback, **extra)
            return result
        except Exception:  # the provider unreachable or its discovery document broken: the page says so
            oidc.log.exception("oidc %s: authorization redirect failed", config.id)
            return _login_page(request, FAILED % {"provider": config.name}, status=502)


class OIDCCallbackView(View):
    """Back from the provider: the code exchanged, the ID token checked, the account found, linked or created."""

    scope_policy: ClassVar[str] = "public"

    def get(self, request: HttpRequest, provider: str) -> HttpResponse:
        config = _provider(provider)
        ip = client_ip(request)
        if request.GET.get("error"):
            oidc.refuse(None, config, f"provider:{request.GET['error']}"[:60], "", ip)
            return _login_page(request, FAILED % {"provider": config.name})
        client = oidc.client(config)
        try:
            token = client.authorize_access_token(request)
            claims = dict(token.get("userinfo") or {})
            if not claims:
                raise ValueError("no ID token")
            info = client.userinfo(token=token)
            if str(info.get("sub")) != str(claims.get("sub")):
                raise ValueError("userinfo sub differs from the ID token's")
            claims = {**info, **claims}  # what the signed ID token says wins
        except Exception as exc:  # a wrong state or nonce, a bad token, the provider unreachable: never a 500
            oidc.log.warning("oidc %s: callback failed: %s", config.id, exc)
            oidc.refuse(None, config, "callback_failed", "", ip)
            return _login_page(request, FAILED % {"provider": config.name})
        assertion = oidc.Assertion(provider=config, claims=claims)
        try:
            outcome = oidc.resolve(assertion, ip=ip)
        except oidc.Refused as exc:
            return _login_page(request, exc.message, status=403)
        nxt = request.session.pop(NEXT_KEY, "") or reverse("home")
        # the login's one audit record (the user_logged_in receiver, patent_platform/signals.py) says how
        request.login_note = (  # type: ignore[attr-defined]
            f"oidc {config.id} ({outcome.how}; acr={claims.get('acr', '')}"
            f"{'; second factor by the provider' if assertion.mfa else ''})"
        )
        login(request, outcome.user, backend=MODEL_BACKEND)
        if assertion.mfa:
            security.update_session_state(request, otp_by_provider=config.id)
        for note in outcome.notes:
            messages.success(request, note)
        if outcome.how == "linked":
            linked = _("您的账号已与“%(provider)s”关联，以后可直接通过它登录。")
            messages.info(request, linked % {"provider": config.name})
        return redirect(nxt)
