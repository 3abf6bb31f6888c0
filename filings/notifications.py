"""E-mails about filings. Sent by a Celery task after the transaction that caused them commits."""

from django.conf import settings
from django.core.mail import send_mass_mail
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from filings.models import Transition

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


def send_transition_mail(transition_id: int) -> int:
    transition = Transition.objects.select_related("version__product__unit", "actor").filter(pk=transition_id).first()
    if transition is None:
        return 0
    if transition.action in TO_FILER:
        recipients = _filer_addresses(transition)
    elif transition.action in TO_REVIEWER:
        recipients = _reviewer_addresses(transition)
    else:
        return 0
    if not recipients:
        return 0
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
    body = "\n".join(lines)
    return send_mass_mail([(subject, body, settings.DEFAULT_FROM_EMAIL, [r]) for r in recipients], fail_silently=False)
