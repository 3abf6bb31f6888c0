"""Filing flags (a linked patent's legal status ended, `filings.drift`): a reviewer resolving one by hand, and
the notices about new flags.

`queue_flag_notices` writes one notice per new open flag to the outbox (patent_platform/outbox.py), in the
caller's transaction, for the filer (the unit's members and contact address) and for the reviewer who approved
the version; the status import (`filings.drift.legal_status_apply`) and the `notify_flags` task call it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from filings.models import FilingFlag
from patent_platform import audit, outbox
from patent_platform.choices import AuditAction
from patent_platform.scoping import EVERYTHING, lock_visible, principal_for
from patent_platform.tabular import decode_csv as decode_csv  # the upload form's CSV check (views/drift.py)

if TYPE_CHECKING:
    from patent_platform.models import User

# ---------------------------------------------------------------------------------------------
# Resolving a flag by hand, and the e-mails


class ResolveError(Exception):
    pass


def flag_resolve(*, flag_id: int, user: User, note: str) -> FilingFlag:
    """A reviewer closes an open flag with a note (the filing was updated, withdrawn, checked...)."""
    note = (note or "").strip()
    if not note:
        raise ResolveError(_("请填写处理说明。"))
    if len(note) > 500:
        raise ResolveError(_("处理说明不能超过 500 个字。"))
    with transaction.atomic():
        flag = lock_visible(FilingFlag.objects.all(), user, flag_id)
        if flag.resolved_at is not None:
            raise ResolveError(
                _("该提示已于 %(at)s 处理。") % {"at": timezone.localtime(flag.resolved_at).strftime("%Y-%m-%d %H:%M")}
            )
        flag.resolved_at, flag.resolved_by, flag.resolution = timezone.now(), user, note
        flag.save(update_fields=["resolved_at", "resolved_by", "resolution"])
        audit.audit_event(
            action=AuditAction.UPDATE,
            obj=flag,
            actor=user,
            changes={"resolved_at": [None, flag.resolved_at.isoformat()], "resolution": ["", note]},
            message="filing flag resolved",
        )
    return flag


def _filer_addresses(flag: FilingFlag) -> list[str]:
    unit = flag.version.product.unit
    emails = {m.user.email for m in unit.memberships.select_related("user") if m.user.is_active}
    if unit.contact_email:
        emails.add(unit.contact_email)
    return sorted(emails)


def queue_flag_notices(flag_ids: Sequence[int]) -> int:
    """One notice per new open flag to the filer and one to the approving reviewer, written to the outbox
    in the caller's transaction; returns the number of messages."""
    reader = principal_for(EVERYTHING, label="flag mail")
    flags = (
        FilingFlag.objects.visible_to(reader)
        .open()
        .filter(pk__in=list(flag_ids), notified_at__isnull=True)
        .select_related("version__product__unit", "version__decided_by", "patent", "change")
    )
    messages = 0
    done = []
    site = settings.SITE_URL.rstrip("/")
    with translation.override(settings.LANGUAGE_CODE):
        for flag in flags:
            version, patent = flag.version, flag.patent
            status = flag.get_legal_status_display()
            since = flag.change.effective_date if flag.change and flag.change.effective_date else None
            subject = _("【专利产品备案】%(name)s：关联专利 %(number)s %(status)s") % {
                "name": version.name,
                "number": patent.number,
                "status": status,
            }
            lines = [
                _("产品：%(name)s（%(year)s 年度）") % {"name": version.name, "year": version.data_year},
                _("备案单位：%(unit)s") % {"unit": version.product.unit.name},
            ]
            if version.product.filing_number:
                lines.append(_("产品备案号：%(n)s") % {"n": version.product.filing_number})
            lines.append(
                _("关联专利：%(number)s %(title)s，法律状态变为“%(status)s”")
                % {"number": patent.number, "title": patent.title, "status": status}
            )
            if since:
                lines.append(_("生效日期：%(date)s") % {"date": since.isoformat()})
            filer_lines = [
                *lines,
                _(
                    "该专利已不能支撑备案。请更换关联专利后更新备案（年度更新），或撤回该备案；专利恢复有效后提示自动解除。"
                ),
                _("查看详情：%(url)s") % {"url": site + reverse("enterprise:version", args=[version.pk])},
            ]
            body = "\n".join(str(line) for line in filer_lines)
            messages += len(
                outbox.enqueue(
                    "filings.flag",
                    source=f"{flag.pk}:filer",
                    recipients=_filer_addresses(flag),
                    subject=subject,
                    body=body,
                    kick=False,
                )
            )
            reviewer = version.decided_by
            if reviewer is not None and reviewer.is_active and reviewer.email:
                review_lines = [
                    *lines,
                    _("您通过了该备案。请关注备案单位的处理，核实后可在“专利状态提示”中处理该提示。"),
                    _("查看详情：%(url)s") % {"url": site + reverse("review:detail", args=[version.pk])},
                ]
                messages += len(
                    outbox.enqueue(
                        "filings.flag",
                        source=f"{flag.pk}:reviewer",
                        recipients=[reviewer.email],
                        subject=subject,
                        body="\n".join(str(line) for line in review_lines),
                        kick=False,
                    )
                )
            done.append(flag.pk)
    if done:
        FilingFlag.objects.filter(pk__in=done).update(notified_at=timezone.now())
    if messages:
        outbox.kick_after_commit()
    return messages
