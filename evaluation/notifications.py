"""E-mails of the certification rounds, to the filers of the products concerned, written to the outbox
(patent_platform/outbox.py) in the transaction of the round's step."""

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from evaluation.choices import CertificateCause, CertificateStatus
from evaluation.models import Candidate, CertificateEvent
from patent_platform import outbox


def _addresses(candidate: Candidate) -> list[str]:
    unit = candidate.unit
    emails = {m.user.email for m in unit.memberships.select_related("user") if m.user.is_active}
    if unit.contact_email:
        emails.add(unit.contact_email)
    return sorted(emails)


def queue_candidate_notices(candidate_ids: list[int], kind: str) -> int:
    """Write the notices of a round's step (call inside its transaction); returns the messages written."""
    sent = 0
    candidates = Candidate.objects.filter(pk__in=candidate_ids).select_related("round", "version", "unit")
    with translation.override(settings.LANGUAGE_CODE):
        for candidate in candidates:
            recipients = _addresses(candidate)
            if not recipients:
                continue
            rnd, name = candidate.round, candidate.version.name
            url = settings.SITE_URL.rstrip("/") + reverse("certification:candidate", args=[candidate.pk])
            if kind == "info_requested":
                subject = _("【专利密集型产品认定】%(name)s 通过专利性评价，请补充材料") % {"name": name}
                body = _(
                    "您的产品“%(name)s”在“%(round)s”中通过专利性评价，请于 %(due)s 前登录平台补充材料：%(url)s"
                ) % {
                    "name": name,
                    "round": rnd.name,
                    "due": rnd.info_due.isoformat() if rnd.info_due else "",
                    "url": url,
                }
            elif kind == "certified":
                subject = _("【专利密集型产品认定】%(name)s 已被认定为专利密集型产品") % {"name": name}
                body = _(
                    "您的产品“%(name)s”在“%(round)s”中被认定为专利密集型产品，证书编号 %(no)s。证书下载：%(url)s"
                ) % {
                    "name": name,
                    "round": rnd.name,
                    "no": candidate.certificate_number,
                    "url": url,
                }
            else:
                continue
            sent += len(
                outbox.enqueue(
                    "evaluation.candidate",
                    source=f"{candidate.pk}:{kind}",
                    recipients=recipients,
                    subject=subject,
                    body=body,
                    kick=False,
                )
            )
    if sent:
        outbox.kick_after_commit()
    return sent


def queue_certificate_notice(event: CertificateEvent) -> int:
    """The filer's notice of a change of its certificate's status (call inside the change's transaction)."""
    from evaluation.lifecycle import patents_reason, update_reason

    candidate = Candidate.objects.select_related("version", "unit").get(pk=event.candidate_id)
    recipients = _addresses(candidate)
    if not recipients:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        details = event.details or {}
        why = event.reason
        if event.cause == CertificateCause.PATENT_ENDED:
            why = patents_reason(details.get("patents", []))
        elif event.cause == CertificateCause.UPDATE_MISSED:
            why = update_reason(details.get("update_year", ""))
        url = settings.SITE_URL.rstrip("/") + reverse("certified:verify", args=[candidate.certificate_number])
        subject = _("【专利密集型产品认定】证书 %(no)s 状态变更为“%(status)s”") % {
            "no": candidate.certificate_number,
            "status": CertificateStatus(event.to_status).label,
        }
        body = _("您的产品“%(name)s”的认定证书 %(no)s：%(cause)s。%(why)s\n证书状态：%(url)s") % {
            "name": candidate.version.name,
            "no": candidate.certificate_number,
            "cause": CertificateCause(event.cause).label,
            "why": why,
            "url": url,
        }
        written = outbox.enqueue(
            "evaluation.candidate",
            source=f"{candidate.pk}:certificate:{event.pk}",
            recipients=recipients,
            subject=subject,
            body=body,
            kick=False,
        )
    outbox.kick_after_commit()
    return len(written)
