"""The notice that a publication is ready: a link to the port's publications page, to each of the
port's contacts (the national publication: to the national administrators), one message each."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from patent_platform import outbox
from patent_platform.choices import Role
from patent_platform.models import User
from provincial.choices import PublicationKind
from provincial.models import PortContact, Publication

SUBJECT_PREFIX = "【专利产品备案】"


def recipients_for(publication: Publication) -> list[str]:
    if publication.unit_id:
        return outbox.normalise(PortContact.objects.filter(unit_id=publication.unit_id).values_list("email", flat=True))
    return outbox.normalise(
        User.objects.filter(role=Role.NATIONAL_ADMIN, is_active=True).values_list("email", flat=True)
    )


def publications_link(publication: Publication) -> str:
    path = reverse("port:publications") if publication.unit_id else reverse("national:publications")
    return settings.SITE_URL.rstrip("/") + path


def _title(publication: Publication) -> str:
    who = publication.unit.name if publication.unit is not None else _("全国")
    if publication.kind == PublicationKind.MONTHLY:
        return _("%(who)s %(year)s年%(month)s月备案数据") % {
            "who": who,
            "year": publication.period.year,
            "month": publication.period.month,
        }
    return _("%(who)s %(year)s年度成效评价") % {"who": who, "year": publication.period.year}


def queue_publication_notice(publication: Publication) -> list[str]:
    """Write the notice to the outbox (in the caller's transaction); returns the addresses."""
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
            lines.append(_("本期为重新生成的%(label)s，替换此前发布的文件。") % {"label": publication.edition_label})
        lines.append(_("此邮件由系统自动发送，请勿回复。"))
        body = "\n".join(lines)
    return outbox.enqueue(
        "provincial.publication",
        source=f"{publication.pk}:r{publication.revision}",
        recipients=recipients,
        subject=subject,
        body=body,
    )
