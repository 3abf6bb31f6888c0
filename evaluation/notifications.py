"""E-mails of the certification rounds, to the filers of the products concerned, written to the outbox
(patent_platform/outbox.py) in the transaction of the round's step. The notice of a change of a certificate's
status is `evaluation.lifecycle.queue_certificate_notice`, beside the change."""

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from evaluation.models import Candidate
from patent_platform import outbox


def addresses(candidate: Candidate) -> list[str]:
    """The filer's addresses: the unit's active members and its contact address."""
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
            recipients = addresses(candidate)
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
