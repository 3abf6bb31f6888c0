"""The notice that a publication is ready: a link to the port's publications page, to each of the
port's contacts (the national publication: to the national administrators), one message each."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from patent_platform.choices import Role
from patent_platform.models import User
from provincial.choices import PublicationKind
from provincial.models import PortContact, Publication

SUBJECT_PREFIX = "【专利产品备案】"


def recipients_for(publication: Publication) -> list[str]:
    if publication.unit_id:
        emails = PortContact.objects.filter(unit_id=publication.unit_id).values_list("email", flat=True)
    else:
        emails = User.objects.filter(role=Role.NATIONAL_ADMIN, is_active=True).values_list("email", flat=True)
    seen: dict[str, None] = {}
    for email in emails:
        if email:
            seen.setdefault(email.strip().lower(), None)
    return sorted(seen)


def publications_link(publication: Publication) -> str:
    path = reverse("port:publications") if publication.unit_id else reverse("national:publications")
    return settings.SITE_URL.rstrip("/") + path


def _title(publication: Publication) -> str:
    who = publication.unit.name if publication.unit_id else _("全国")
    if publication.kind == PublicationKind.MONTHLY:
        return _("%(who)s %(year)s年%(month)s月备案数据") % {
            "who": who,
            "year": publication.period.year,
            "month": publication.period.month,
        }
    return _("%(who)s %(year)s年度成效评价") % {"who": who, "year": publication.period.year}


def send_publication_mail(publication: Publication) -> list[str]:
    """Send the notice; returns the addresses it was sent to."""
    recipients = recipients_for(publication)
    if not recipients:
        return []
    with translation.override(settings.LANGUAGE_CODE):
        title = _title(publication)
        subject = SUBJECT_PREFIX + _("%(title)s已发布") % {"title": title}
        lines = [_("您好："), _("%(title)s已生成，可登录平台查看和下载（Excel 与 PDF）：") % {"title": title}]
        lines.append(publications_link(publication))
        if publication.data_as_of:
            lines.append(
                _("数据截至：%(moment)s")
                % {"moment": timezone.localtime(publication.data_as_of).strftime("%Y-%m-%d %H:%M")}
            )
        if publication.revision:
            lines.append(_("本期为重新生成的第 %(n)s 版，替换此前发布的文件。") % {"n": publication.revision + 1})
        lines.append(_("此邮件由系统自动发送，请勿回复。"))
        body = "\n".join(lines)
    connection = get_connection()
    messages = [EmailMessage(subject, body, None, [address], connection=connection) for address in recipients]
    connection.send_messages(messages)
    return recipients
