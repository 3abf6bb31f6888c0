"""E-mails about filings, written to the outbox (patent_platform/outbox.py) in the transaction of the
transition that causes them."""

from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from filings.models import FilingUnit, Transition
from patent_platform import outbox

if TYPE_CHECKING:
    from patent_platform.models import User

# action → who hears about it
TO_FILER = {"return", "approve", "revoke"}
TO_REVIEWER = {"resubmit"}


def _filer_addresses(transition: Transition) -> list[str]:
    unit = transition.version.product.unit
    emails = {m.user.email for m in unit.memberships.select_related("user") if m.user.is_active}
    if unit.contact_email:
        emails.add(unit.contact_email)
    return sorted(emails)


def _reviewer_addresses(transition: Transition) -> list[str]:
    last_return = (
        Transition.objects.filter(version_id=transition.version_id, action="return").select_related("actor").last()
    )
    if last_return and last_return.actor and last_return.actor.is_active:
        return [last_return.actor.email]
    return []


def queue_transition_notice(transition: Transition) -> list[str]:
    """Write the notice of a transition to the outbox (call inside the transition's transaction); returns
    the recipients."""
    if transition.action in TO_FILER:
        recipients = _filer_addresses(transition)
    elif transition.action in TO_REVIEWER:
        recipients = _reviewer_addresses(transition)
    else:
        return []
    if not recipients:
        return []
    version = transition.version
    with translation.override(settings.LANGUAGE_CODE):
        # the state this transition led to (the version may have moved on before the task ran)
        subject = _("【专利产品备案】%(name)s：%(status)s") % {
            "name": version.name,
            "status": transition.get_to_status_display(),
        }
        lines = [
            _("产品：%(name)s（%(year)s 年度）") % {"name": version.name, "year": version.data_year},
            _("状态：%(status)s") % {"status": transition.get_to_status_display()},
        ]
        if version.product.filing_number:
            lines.append(_("产品备案号：%(n)s") % {"n": version.product.filing_number})
        if transition.reason:
            lines.append(_("说明：%(reason)s") % {"reason": transition.reason})
        path = reverse("enterprise:version", args=[version.pk])
        if transition.action in TO_REVIEWER:
            path = reverse("review:detail", args=[version.pk])
        lines.append(_("查看详情：%(url)s") % {"url": settings.SITE_URL.rstrip("/") + path})
    return outbox.enqueue(
        "filings.transition", source=str(transition.pk), recipients=recipients, subject=subject, body="\n".join(lines)
    )


def queue_member_invitation(user: "User", unit: FilingUnit, manager: "User") -> list[str]:
    """The new member's notice: a one-time link to set the password (made when the message is sent: Django's
    password-reset token, void once the password is set)."""
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("【专利产品备案】%(unit)s 邀请您设置登录密码") % {"unit": unit.name}
        body = "\n".join(
            [
                _("%(name)s：") % {"name": user.get_full_name()},
                _("%(manager)s 已将您添加为备案单位“%(unit)s”的成员。")
                % {"manager": getattr(manager, "full_name", "") or manager.email, "unit": unit.name},
                *outbox.link_lines(user),
            ]
        )
    return outbox.enqueue(
        "filings.member_invitation",
        source=f"{unit.pk}:{user.pk}",
        recipients=[user.email],
        subject=subject,
        body=body,
        link_user=user,
    )
