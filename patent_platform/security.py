"""Identification and authentication policy (等保 2.0 level 3, GB/T 28448-2019 L3-CES1-01, -04, -07, -32).

- Second factor (L3-CES1-04): TOTP (django-otp's TOTPDevice, RFC 6238, 30-second steps, one step of
  drift either way) is required for the roles in settings.OTP_REQUIRED_ROLES (the value "staff" stands
  for every role but the enterprise user) and optional for everybody else: an account that has enrolled
  a device must use it. Until the code is given, `SecurityPolicyMiddleware` answers every page with a
  redirect to the code form (or to enrolment when the account has no device yet) and every API call
  with 403; only the login, 2FA and logout pages stay reachable. Wrong codes are login failures: they go
  through django-axes like wrong passwords and lock the account the same way. A one-time recovery code
  (patent_platform/recovery.py) may stand in for the TOTP code; an account whose second factor the
  security administrator reset must enrol again (`must_enrol`), whatever its role.
- API tokens are for enterprise systems only: a role that requires 2FA can get no token (the Token
  model refuses to be created for it) and a token that such an account still holds is refused on use.
- Password age and reuse (L3-CES1-01 asks for periodic change): settings.PASSWORD_MAX_AGE_DAYS (a
  password older than that must be changed before anything else) and settings.PASSWORD_HISTORY (the
  last N passwords, the current one included, are refused; only their hashes are kept). OWASP ASVS
  advises against forced periodic change: both are configurable and 0 switches either off.
- Stale accounts (L3-CES1-07): `disable_inactive_accounts` (a daily beat task) disables accounts not
  used for settings.INACTIVE_ACCOUNT_DAYS; disabling an account by any save ends its sessions and
  deletes its API tokens (patent_platform/models/security.py).
"""

import logging
from base64 import b32encode
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.hashers import check_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.db.models.functions import Coalesce
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from patent_platform import audit, integrity
from patent_platform.choices import AuditAction, Role
from patent_platform.models import PasswordHistory, User
from patent_platform.roles import signed_in

log = logging.getLogger(__name__)

STAFF = "staff"  # in OTP_REQUIRED_ROLES: every role but the enterprise user

# ---- second factor --------------------------------------------------------------------------------------


def required_roles() -> frozenset[str]:
    roles = set(settings.OTP_REQUIRED_ROLES)
    if STAFF in roles:
        roles.discard(STAFF)
        roles |= {role for role in Role.values if role != Role.ENTERPRISE}
    return frozenset(roles)


def otp_required(user: User) -> bool:
    """The account's role must use a second factor."""
    return bool(getattr(user, "is_authenticated", False)) and user.role in required_roles()


def must_enrol(user: User) -> bool:
    """The account must have a device: its role requires one, or the security administrator reset its
    second factor (it enrols again at the next login, whatever its role)."""
    return otp_required(user) or bool(getattr(user, "otp_enrolment_required", False))


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def is_verified(user: User) -> bool:
    """The session has passed the second factor (django_otp.middleware.OTPMiddleware sets this)."""
    check = getattr(user, "is_verified", None)
    return bool(check and check())


def secret_text(device: TOTPDevice) -> str:
    """The shared secret in base32, as authenticator apps take it when typed in, in groups of four."""
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


# ---- password age and reuse -----------------------------------------------------------------------------


def password_expired(user: User, now: datetime | None = None) -> bool:
    days = settings.PASSWORD_MAX_AGE_DAYS
    if days <= 0 or not user.has_usable_password():
        return False
    changed = user.password_changed_at or user.date_joined
    result: bool = changed + timedelta(days=days) <= (now or timezone.now())
    return result


class PasswordHistoryValidator:
    """Refuses the account's last settings.PASSWORD_HISTORY passwords (the current one included) and
    records each new password's hash when it is set (Django calls `password_changed` after saving a
    user whose password was set with set_password)."""

    @staticmethod
    def count() -> int:
        return max(int(settings.PASSWORD_HISTORY), 0)

    def validate(self, password: str, user: User | None = None) -> None:
        count = self.count()
        if not count or user is None or not user.pk:
            return
        hashes = list(PasswordHistory.objects.filter(user_id=user.pk).values_list("password", flat=True)[:count])
        current = User.objects.filter(pk=user.pk).values_list("password", flat=True).first()
        if current and current not in hashes:  # accounts older than the history
            hashes = [current, *hashes][:count]
        if any(check_password(password, encoded) for encoded in hashes):
            raise ValidationError(
                ngettext("不能使用最近用过的密码。", "不能使用最近 %(count)d 次用过的密码。", count),
                code="password_reused",
                params={"count": count},
            )

    def password_changed(self, password: str, user: User | None = None) -> None:
        if user is None or not user.pk:
            return
        now = timezone.now()
        User.objects.filter(pk=user.pk).update(password_changed_at=now)
        user.password_changed_at = now
        count = self.count()
        if count:
            PasswordHistory.objects.create(user_id=user.pk, password=user.password)
        old = PasswordHistory.objects.filter(user_id=user.pk).values_list("pk", flat=True)[count:]
        PasswordHistory.objects.filter(pk__in=list(old)).delete()

    def get_help_text(self) -> str:
        count = self.count()
        if not count:
            return ""
        return ngettext("不能使用最近用过的密码。", "不能使用最近 %(count)d 次用过的密码。", count) % {"count": count}


# ---- ending access --------------------------------------------------------------------------------------


def end_access(user_ids: Iterable[int]) -> int:
    """Delete every session of these accounts from the server-side session store and their API tokens;
    returns the number of sessions ended.

    Sessions are rows of the database store (SESSION_ENGINE db or cached_db: the cached copy is deleted
    too). A store that cannot be enumerated (signed cookies, cache only) is refused by a check below."""
    ids = {str(pk) for pk in user_ids}
    if not ids:
        return 0
    Token.objects.filter(user_id__in=[int(pk) for pk in ids]).delete()
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    if not hasattr(store_class, "get_model_class"):
        log.error("SESSION_ENGINE %s cannot be enumerated: sessions of %s not ended", settings.SESSION_ENGINE, ids)
        return 0
    decoder = store_class()
    ended = 0
    rows = store_class.get_model_class().objects.values_list("session_key", "session_data")
    for key, data in rows.iterator(chunk_size=500):
        if str(decoder.decode(data).get(SESSION_KEY)) in ids:
            store_class(session_key=key).delete()
            ended += 1
    return ended


def disable_inactive_accounts(now: datetime | None = None) -> list[str]:
    """Disable the active accounts not used (last login, or joined if never logged in) for
    settings.INACTIVE_ACCOUNT_DAYS days; returns their e-mail addresses. Each disabling is audited and
    ends the account's sessions and tokens (the post_save receiver).

    No role is exempt, but the last active national administrator is never disabled: it is the account
    that can enable the others again; without it the platform could be unlocked only from the server's
    shell. If every national administrator is stale, the most recently used one stays active."""
    days = settings.INACTIVE_ACCOUNT_DAYS
    if days <= 0:
        return []
    now = now or timezone.now()
    cutoff = now - timedelta(days=days)
    stale = list(
        User.objects.filter(is_active=True)
        .annotate(last_seen=Coalesce(F("last_login"), F("date_joined")))
        .filter(last_seen__lt=cutoff)
        .order_by("-last_seen", "pk")
    )
    stale_ids = [user.pk for user in stale]
    keep = None
    if not User.objects.filter(is_active=True, role=Role.NATIONAL_ADMIN).exclude(pk__in=stale_ids).exists():
        keep = next((user for user in stale if user.role == Role.NATIONAL_ADMIN), None)
    disabled = []
    for user in stale:
        if user is keep:
            log.warning("%s not used for %s days but kept active: the last national administrator", user.email, days)
            continue
        user.is_active = False
        user.save(update_fields=["is_active"])
        audit.audit_event(
            action=AuditAction.UPDATE,
            obj=user,
            changes={"is_active": [True, False]},
            message=f"inactive: no login since {user.last_seen:%Y-%m-%d} ({days} days)",
        )
        disabled.append(user.email)
    return disabled


# ---- the middleware -------------------------------------------------------------------------------------

# Pages reachable before the second factor and before an expired password is changed.
OPEN_VIEWS = frozenset(
    {
        "login",
        "logout",
        "two_factor",
        "two_factor_setup",
        "two_factor_recovery",
        "javascript-catalog",
        "set_language",
        "email_unconfirmed",
        "email_confirm",
    }
)
STATE_KEY = "_security_state"
EMAIL_UNCONFIRMED = gettext_lazy("请先打开确认邮件中的链接确认电子邮箱，然后才能办理业务。")


def session_state(request: HttpRequest, *, refresh: bool = False) -> dict[str, Any]:
    """Computed once per login and kept in the session: has the account enrolled a device (then it must
    use it), is its password too old. For a signed-in request only (the middleware and the views ask after
    signing in)."""
    user = signed_in(request)
    state = request.session.get(STATE_KEY)
    if refresh or not state or state.get("user") != user.pk:
        state = {
            "user": user.pk,
            "device": confirmed_device(user) is not None,
            "password_expired": password_expired(user),
        }
        request.session[STATE_KEY] = state
    return state


def update_session_state(request: HttpRequest, **values: Any) -> None:
    state = session_state(request)
    state.update(values)
    request.session[STATE_KEY] = state


def next_url(request: HttpRequest) -> str:
    return request.get_full_path() if request.method == "GET" else reverse("home")


class SecurityPolicyMiddleware:
    """After OTPMiddleware and MessageMiddleware: the second factor, then an expired password, before any
    other page; staff API tokens refused."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Any, args: Any, kwargs: Any) -> HttpResponse | None:
        api = request.path.startswith("/api/")
        user = request.user
        if not user.is_authenticated:
            return None
        if not integrity.checked(user, "session"):  # its role changed behind the application's back
            logout(request)
            message = _("账号的权限数据未通过完整性校验，已被拒绝。请联系安全管理员。")
            if api:
                return JsonResponse({"detail": message}, status=403)
            return HttpResponseForbidden(message)
        match = request.resolver_match
        if match is not None and match.view_name in OPEN_VIEWS:
            return None
        state = session_state(request)
        # An OIDC login whose provider vouched for a second factor (its `acr`, patent_platform/oidc.py) passes.
        if (must_enrol(user) or state["device"]) and not is_verified(user) and not state.get("otp_by_provider"):
            if api:
                return JsonResponse({"detail": _("请先在网页上完成双因素认证。")}, status=403)
            return redirect(f"{reverse('two_factor')}?{urlencode({'next': next_url(request)})}")
        if state["password_expired"] and not api and (match is None or match.view_name != "password_change"):
            messages.warning(
                request,
                _("您的密码已使用超过 %(days)d 天，请先修改密码。") % {"days": settings.PASSWORD_MAX_AGE_DAYS},
            )
            return redirect("password_change")
        if user.email_confirmed_at is None:  # patent_platform/confirmation.py: sign in, but nothing else
            if api:
                from patent_platform.api.problems import problem_json_response

                return problem_json_response("email_unconfirmed", EMAIL_UNCONFIRMED)
            return redirect("email_unconfirmed")
        return None


# ---------------------------------------------------------------------------------------------
# Receivers (connected by PatentPlatformConfig.ready, which imports this module, whatever the process: web,
# worker, management commands): a disabled account's access ends; no API token for a role that needs 2FA.


@receiver(pre_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="security-user-was-active")
def _remember_active(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    instance._security_was_active = (  # noqa: SLF001 (our marker on the instance, clear of model fields)
        None
        if raw or not instance.pk
        else sender._default_manager.filter(pk=instance.pk).values_list("is_active", flat=True).first()
    )


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="security-user-disabled")
def _end_sessions_when_disabled(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """is_active True → False by any save (the inactive-accounts task, the admin site, a service): the
    account's sessions are deleted from the session store and its API tokens deleted (L3-CES1-31)."""
    if raw or instance.is_active or not getattr(instance, "_security_was_active", False):
        return
    end_access([instance.pk])


@receiver(pre_save, sender="authtoken.Token", dispatch_uid="security-no-staff-tokens")
def _refuse_staff_tokens(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """No API token for an account whose role requires 2FA: a token would bypass the second factor.
    DRF turns the PermissionDenied into a 403 answer of the token endpoint."""
    if not raw and instance._state.adding and otp_required(instance.user):
        raise PermissionDenied(_("工作人员账号须使用双因素认证登录网页，不能获取 API 令牌。API 令牌仅供企业系统使用。"))
