"""Accounts that can be recovered (等保 2.0 L3-CES1-01/-04; docs/SECURITY.md, "Recovery").

- A forgotten password: the login page's "忘记密码" takes an e-mail and always answers the same page;
  an active account with that e-mail gets a one-time link through the outbox (Django's password-reset
  token, void once the password changes or after PASSWORD_RESET_TIMEOUT). The new password goes through
  AUTH_PASSWORD_VALIDATORS (policy and history); setting it ends every session and API token of the
  account, and nobody is logged in by it: the password and, where the account has one, the second factor
  are asked at the next login as always.
- Recovery codes: enrolling a TOTP device gives RECOVERY_CODES one-time codes (django-otp's static
  device, one per account); regenerating them voids the old ones. At the 2FA step a code stands in for
  the TOTP code once, and the account's owner is mailed that one was used.
- The security administrator's reset of a second factor is in patent_platform/duties.py
  (`user_reset_two_factor`): it removes the devices and codes, and the next login must enrol again.

django-otp keeps static tokens as they are (it compares them as strings); they are random 40-bit codes,
used once, throttled like TOTP codes and counted as login failures by django-axes when wrong.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from patent_platform import audit, confirmation, outbox
from patent_platform.choices import AuditAction
from patent_platform.models import User
from patent_platform.security import end_access

RECOVERY_CODES = 10
RECOVERY_DEVICE = "recovery"


# ---- forgotten password ---------------------------------------------------------------------------------


FORGOTTEN_LEAD = gettext_noop(
    "有人（希望是您本人）申请找回登录密码。请在 %(days)s 天内打开以下链接设置新密码（链接只能使用一次）："
)


def password_reset_request(*, email: str) -> bool:
    """Queue the reset link for the active account with this e-mail, if there is one; True if a mail was
    queued. The caller must answer the same whatever this returns."""
    email = email.strip().lower()
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    if user is None:
        audit.audit_event(
            action=AuditAction.PASSWORD_CHANGE,
            object_type=User._meta.label,
            object_repr=email[:200],
            success=False,
            message="password reset requested: no active account",
        )
        return False
    body = "\n".join(
        [
            _("%(name)s：") % {"name": user.get_full_name()},
            *outbox.link_lines(user, _(FORGOTTEN_LEAD)),
            _("如果不是您本人申请，请忽略本邮件，原密码仍然有效；如多次收到，请联系平台安全管理员。"),
        ]
    )
    with transaction.atomic():
        audit.audit_event(action=AuditAction.PASSWORD_CHANGE, obj=user, message="password reset requested")
        outbox.enqueue(
            "accounts.password_forgotten",
            source=f"{user.pk}:{uuid.uuid4().hex}",  # every request is a notice of its own
            recipients=[user.email],
            subject=_("【专利产品备案】找回登录密码"),
            body=body,
            link_user=user,
        )
    return True


def password_reset_done(*, user: User) -> int:
    """After the new password is saved from the link: end every session and API token of the account
    (whoever held them) and audit it; returns the sessions ended."""
    with transaction.atomic():
        ended = end_access([user.pk])
        confirmation.email_confirm(user=user, via="password reset link")  # the link proves the address
        audit.audit_event(
            action=AuditAction.PASSWORD_CHANGE,
            obj=user,
            actor=user,
            changes={"sessions_ended": ended},
            message="password reset by e-mail link",
        )
    return ended


# ---- recovery codes -------------------------------------------------------------------------------------


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def format_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def recovery_device(user: User) -> StaticDevice | None:
    return StaticDevice.objects.filter(user=user, name=RECOVERY_DEVICE).order_by("pk").first()


def recovery_codes_left(user: User) -> int:
    result: int = StaticToken.objects.filter(device__user=user, device__name=RECOVERY_DEVICE).count()
    return result


def recovery_codes_generate(*, user: User) -> list[str]:
    """New one-time codes for the account (the old ones void); returned once, for showing, as `abcd-efgh`."""
    codes = [StaticToken.random_token() for _i in range(RECOVERY_CODES)]
    with transaction.atomic():
        StaticDevice.objects.filter(user=user).exclude(name=RECOVERY_DEVICE).delete()
        device, _created = StaticDevice.objects.select_for_update().get_or_create(
            user=user, name=RECOVERY_DEVICE, defaults={"confirmed": True}
        )
        device.token_set.all().delete()
        StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
        audit.audit_event(
            action=AuditAction.UPDATE, obj=user, changes={"recovery_codes": len(codes)}, message="recovery codes issued"
        )
    return [format_code(code) for code in codes]


def recovery_code_used(*, user: User, device: StaticDevice) -> int:
    """After a recovery code was accepted (django-otp deleted it): audit it and mail the account's owner;
    returns how many codes are left."""
    left: int = device.token_set.count()
    when = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    body = "\n".join(
        [
            _("%(name)s：") % {"name": user.get_full_name()},
            _("您的账号 %(email)s 于 %(when)s 使用一次性恢复码代替动态验证码登录，剩余恢复码 %(left)s 个。")
            % {"email": user.email, "when": when, "left": left},
            _("如果不是您本人操作，请立即修改密码并联系平台安全管理员重置双因素认证。"),
            _("如已找回或更换手机，请登录后在“双因素认证”页面重新生成恢复码。"),
        ]
    )
    with transaction.atomic():
        audit.audit_event(
            action=AuditAction.LOGIN,
            obj=user,
            actor=user,
            changes={"recovery_codes_left": left},
            message="recovery code",
        )
        outbox.enqueue(
            "accounts.recovery_code_used",
            source=f"{user.pk}:{uuid.uuid4().hex}",
            recipients=[user.email],
            subject=_("【专利产品备案】您的账号使用了恢复码登录"),
            body=body,
        )
    return left
