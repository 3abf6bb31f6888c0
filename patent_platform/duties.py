"""Separation of administrative duties (三权分立, 等保 2.0 L3-CES1-07/08): who may do what to accounts.

Three administrators, each an account of its own, none of them sees business data:
- system administrator (系统管理员): the technical side: the Django admin site (reference data editable,
  business records read-only), platform settings; no pages of the business, no accounts, no audit log;
- security administrator (安全管理员): accounts: roles of business accounts, enabling and disabling,
  unlocking locked accounts, password resets (a one-time link by e-mail), resets of a lost second factor;
  no business data, no audit log;
- audit administrator (审计管理员): reads and exports the audit log, nothing else.

The national administrator (国家局管理员) is the business role of the national office (certification,
port applications, dashboards, rosters, filing rules), not one of the three.

A user has exactly one `role`, so one account cannot hold two of these duties. The rules below keep it
so: an administrator account never changes to another role (a different duty needs a different account,
created by `manage.py create_admin`); the security administrator assigns business roles only, never to
itself and never to a superuser. Every change is written to the audit log.
"""

from __future__ import annotations

import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from patent_platform import audit
from patent_platform.choices import ADMIN_ROLES, AuditAction, Role
from patent_platform.models import User
from patent_platform.scoping import forget_scope

# Roles the security administrator may give an account (the administrator roles only by command).
ASSIGNABLE_ROLES: tuple[str, ...] = (
    Role.ENTERPRISE,
    Role.REVIEWER,
    Role.PORT_ADMIN,
    Role.NATIONAL_ADMIN,
    Role.EXPERT,
)


class DutyError(ValidationError):
    """A change of an account that the separation of duties does not allow."""


def _check_actor(actor: User, user: User) -> None:
    if getattr(actor, "role", None) != Role.SECURITY_ADMIN or not actor.is_active:
        raise PermissionDenied
    if actor.pk == user.pk:
        raise DutyError(_("不能修改自己的账号。"))
    if user.is_superuser:
        raise DutyError(_("超级用户由部署人员管理，不能在此修改。"))


def check_role_change(user: User, role: str) -> None:
    """Raises DutyError if `user` may not be given `role` (whoever asks)."""
    if role not in Role.values:
        raise DutyError(_("未知角色。"))
    if role == user.role:
        return
    if user.role in ADMIN_ROLES:
        raise DutyError(_("管理员账号只承担一种职责，不能改为其他角色；其他职责请使用另一个账号。"))
    if role in ADMIN_ROLES:
        raise DutyError(_("系统、安全、审计管理员只能由部署命令 create_admin 创建为新账号，不能由已有账号兼任。"))


@transaction.atomic
def user_assign_role(*, actor: User, user: User, role: str) -> User:
    _check_actor(actor, user)
    check_role_change(user, role)
    if role not in ASSIGNABLE_ROLES:
        raise DutyError(_("该角色不能在此分配。"))
    before = user.role
    if before == role:
        return user
    user.role = role
    user.save(update_fields=["role"])
    forget_scope(user)
    audit.audit_event(
        action=AuditAction.PERMISSION, obj=user, changes={"role": [before, role]}, message="role changed", actor=actor
    )
    return user


@transaction.atomic
def user_set_active(*, actor: User, user: User, active: bool) -> User:
    _check_actor(actor, user)
    if user.is_active == active:
        return user
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit.audit_event(
        action=AuditAction.PERMISSION,
        obj=user,
        changes={"is_active": [not active, active]},
        message="account enabled" if active else "account disabled",
        actor=actor,
    )
    return user


def user_unlock(*, actor: User, user: User) -> int:
    """Clears the failed logins that lock the account (django-axes); returns how many records went."""
    from axes.utils import reset

    _check_actor(actor, user)
    count: int = reset(username=user.email)
    audit.audit_event(
        action=AuditAction.PERMISSION, obj=user, changes={"unlocked": count}, message="account unlocked", actor=actor
    )
    return count


def user_send_password_reset(*, actor: User, user: User) -> None:
    """Voids the password and sends a one-time link to set a new one (the activation page): the notice is
    written to the outbox with the change, the link made when it is sent."""
    from patent_platform import outbox

    _check_actor(actor, user)
    body = "\n".join(
        [
            _("%(name)s：") % {"name": user.get_full_name()},
            *outbox.link_lines(
                user, _("安全管理员已重置您的登录密码。请在 %(days)s 天内打开以下链接设置新密码（链接只能使用一次）：")
            ),
        ]
    )
    with transaction.atomic():
        user.set_unusable_password()
        user.save(update_fields=["password"])
        audit.audit_event(
            action=AuditAction.PERMISSION, obj=user, changes={}, message="password reset link sent", actor=actor
        )
        outbox.enqueue(
            "accounts.password_reset",
            source=f"{user.pk}:{uuid.uuid4().hex}",  # every reset is a notice of its own
            recipients=[user.email],
            subject=_("【专利产品备案】重置登录密码"),
            body=body,
            link_user=user,
        )


def user_reset_two_factor(*, actor: User, user: User) -> None:
    """A lost authenticator: removes the account's TOTP devices and recovery codes, ends its sessions and API
    tokens, and makes the next login enrol a new device (User.otp_enrolment_required); the user is told by
    mail through the outbox, so a reset nobody asked for does not go unnoticed."""
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from patent_platform import outbox
    from patent_platform.security import end_access

    _check_actor(actor, user)
    body = "\n".join(
        [
            _("%(name)s：") % {"name": user.get_full_name()},
            _("安全管理员已重置您账号 %(email)s 的双因素认证：原身份验证器和恢复码均已失效。") % {"email": user.email},
            _("下次登录时，请用身份验证器应用重新设置动态验证码，并妥善保存新的恢复码。"),
            _("如果您没有申请重置，请立即联系平台安全管理员。"),
        ]
    )
    with transaction.atomic():
        totp = TOTPDevice.objects.filter(user=user).delete()[0]
        static = StaticDevice.objects.filter(user=user).delete()[1].get(StaticDevice._meta.label, 0)
        user.otp_enrolment_required = True
        user.save(update_fields=["otp_enrolment_required"])
        ended = end_access([user.pk])
        audit.audit_event(
            action=AuditAction.PERMISSION,
            obj=user,
            changes={"otp_devices_removed": totp + static, "sessions_ended": ended},
            message="two-factor reset",
            actor=actor,
        )
        outbox.enqueue(
            "accounts.two_factor_reset",
            source=f"{user.pk}:{uuid.uuid4().hex}",
            recipients=[user.email],
            subject=_("【专利产品备案】双因素认证已重置"),
            body=body,
        )


def create_admin(*, email: str, role: str, full_name: str = "", password: str) -> User:
    """The first account of an administrator role (and any further one): a new account, never an existing one.

    Raises DutyError if the role is not an administrator role or the e-mail is taken; the password goes
    through the password validators (ValidationError)."""
    from django.contrib.auth.password_validation import validate_password

    email = email.strip().lower()
    if role not in ADMIN_ROLES:
        raise DutyError(_("只能创建系统、安全或审计管理员。"))
    if User.objects.filter(email__iexact=email).exists():
        raise DutyError(_("该邮箱已有账号；一个账号只承担一种职责，请使用另一个邮箱。"))
    # Only the system administrator uses the admin site; is_staff is what Django checks first.
    # made by the operator on the command line, who vouches for the address (patent_platform/confirmation.py)
    user = User(
        email=email,
        full_name=full_name,
        role=role,
        is_staff=role == Role.SYSTEM_ADMIN,
        email_confirmed_at=timezone.now(),
    )
    validate_password(password, user)
    user.set_password(password)
    with transaction.atomic():
        user.save()
        audit.audit_event(
            action=AuditAction.PERMISSION, obj=user, changes={"role": [None, role]}, message="administrator created"
        )
    return user
