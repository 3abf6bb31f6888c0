"""E-mail addresses are confirmed before an account can act (docs/UNITS.md, "E-mail confirmation").

- A self-made account (an enterprise registration, a claimant of a taken USCC) starts unconfirmed: it can
  sign in, and every page then shows "confirm your e-mail" with "resend" (SecurityPolicyMiddleware); the API
  refuses its token (`email_unconfirmed`, 403). The mail carries a one-time link (`outbox.link_lines`, the
  link made when the mail is sent: `links.email_confirmation_token`, void once the address is confirmed).
- An account made by an administrator or an invitation has no password until it opens its invitation link;
  that link proves the address, so the activation page (and a password reset by e-mail link) confirms it.
- Accounts older than the rule were marked confirmed by migration 0012 (patent_platform).
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from patent_platform import audit, outbox
from patent_platform.choices import AuditAction
from patent_platform.models import User

CONFIRM_LEAD = gettext_noop("请在 %(days)s 天内打开以下链接确认您的电子邮箱（链接只能使用一次）：")


def email_confirmation_send(*, user: User) -> bool:
    """Queue a confirmation mail with a one-time link for an unconfirmed account; False if it is confirmed
    already (nothing sent). Every call is a mail of its own ("resend"); the links of earlier mails stay valid
    until one of them is used."""
    if user.email_confirmed_at is not None:
        return False
    body = "\n".join(
        [
            _("%(name)s：") % {"name": user.get_full_name()},
            _("您在专利产品备案平台注册了账号。确认电子邮箱之前，账号只能登录，不能办理任何业务。"),
            *outbox.link_lines(user, _(CONFIRM_LEAD)),
            _("如果不是您本人注册，请忽略本邮件。"),
        ]
    )
    with transaction.atomic():
        outbox.enqueue(
            "accounts.email_confirmation",
            source=f"{user.pk}:{uuid.uuid4().hex}",
            recipients=[user.email],
            subject=_("【专利产品备案】请确认您的电子邮箱"),
            body=body,
            link_user=user,
        )
    return True


def email_confirm(*, user: User, via: str = "confirmation link") -> bool:
    """Mark the address confirmed (idempotent: a conditional UPDATE, so two clicks confirm once); audited.
    Returns True if this call confirmed it."""
    now = timezone.now()
    with transaction.atomic():
        done = User.objects.filter(pk=user.pk, email_confirmed_at__isnull=True).update(email_confirmed_at=now)
        if done:
            audit.audit_event(
                action=AuditAction.UPDATE,
                obj=user,
                actor=user,
                changes={"email_confirmed_at": [None, now.isoformat()]},
                message=f"e-mail confirmed ({via})",
            )
    if done:
        user.email_confirmed_at = now
    return bool(done)
