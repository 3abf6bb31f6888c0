"""Months signed off (issue 20): one state machine for a port's closed month, in one place.

After a month closes and its publication is built, each open port reviews its figures (the edition it was
shown) and answers:

    open ──sign_off──▶ signed ──reopen (national, reason)──▶ open
      │                  ▲
      └─note_problem──▶ problem ──sign_off──┘   (a problem may be noted again with more detail)

- Only a port administrator answers, and only for its own port (another port, a province for its city port
  included: 404). Signing needs the month's publication ready and names the edition the administrator
  reviewed: a newer edition than the one on the page is a conflict (409), so a signature is always for the
  figures shown.
- Only the national office reopens a signed month, with a reason (required, kept on the row, in the audit log
  and in the notice to the port's users); it may rebuild the port's publication at once. A signed month's
  publication is never rebuilt (`services.publication_rebuild_request` refuses it, and skips it for "all ports"): the
  figures signed are the figures published. After a reopening and a rebuild the publication is the next
  edition, and its "what changed" lists each figure that moved and by how much (`figures.changes_since`).
- The national office reminds the ports that have not answered (their publication ready; at most once per
  port per China day: `reminded_on`, and the notice's key), and releases the national publication when it
  chooses (`release`: the revision released; the ports then see and download it; the count of ports not
  signed at that moment is in the audit record).

Every change locks its row and checks the state again under the lock: a second click loses with a
`SignoffConflict` (409 on the pages, "另一操作已先完成：…"), nothing is written twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patent_platform import audit, clock, outbox
from patent_platform.choices import AuditAction, Role
from patent_platform.concurrency import Conflict, when
from patent_platform.models import User
from patent_platform.roles import require_role
from provincial.choices import PublicationKind, PublicationStatus, SignoffState
from provincial.models import NATIONAL_SCOPE, ManagementUnit, MonthSignoff, PortMembership, Publication
from provincial.publications import services
from provincial.publications.mail import SUBJECT_PREFIX

S = SignoffState
NOTE_MAX = 2000
REASON_MAX = 1000
FIRST_YEAR = 2022  # the notice (国知办函运字〔2022〕985号): no publication before it
PORTS_ONLY = gettext_lazy("只有管理端口管理员可以确认本端口的月度数据。")
NATIONAL_ONLY = gettext_lazy("只有国家局管理员可以重新打开已确认的月份、提醒端口或发布全国数据。")


class SignoffError(ValidationError):
    """A sign-off request that cannot be carried out (shown to the user, 400)."""


class SignoffConflict(Conflict, SignoffError):
    """Another action came first (two clicks at once, or the figures changed since the page was read): 409."""


# ---------------------------------------------------------------------------------------------
# Who and which month


def own_unit(user: User) -> ManagementUnit:
    """The port the user administers (only a port administrator answers for a month)."""
    require_role(user, Role.PORT_ADMIN, message=PORTS_ONLY)
    membership: PortMembership | None = getattr(user, "port_membership", None)
    if membership is None:
        raise PermissionDenied(PORTS_ONLY)
    return membership.unit


def check_month(period: dt.date) -> dt.date:
    """The month's first day; only a month that has ended (Asia/Shanghai), from 2022 on."""
    period = period.replace(day=1)
    if period.year < FIRST_YEAR:
        raise SignoffError({"period": _("月份不正确。")}, code="period")
    if period >= clock.china_today().replace(day=1):
        raise SignoffError({"period": _("只能确认已经结束的月份。")}, code="period")
    return period


def month_label(period: dt.date) -> str:
    return _("%(year)s年%(month)s月") % {"year": period.year, "month": period.month}


def ensure_signoffs(period: dt.date) -> None:
    """The rows of every open port for the month, created if missing (a concurrent creator's are kept)."""
    units = ManagementUnit.objects.filter(is_open=True).exclude(signoffs__period=period)
    MonthSignoff.objects.bulk_create([MonthSignoff(unit=u, period=period) for u in units], ignore_conflicts=True)


def _locked(unit: ManagementUnit, period: dt.date) -> MonthSignoff:
    MonthSignoff.objects.bulk_create([MonthSignoff(unit=unit, period=period)], ignore_conflicts=True)
    return MonthSignoff.objects.select_for_update().select_related("unit").get(unit=unit, period=period)


def publication_of(unit: ManagementUnit | None, period: dt.date) -> Publication | None:
    scope_key = unit.code if unit is not None else NATIONAL_SCOPE
    return (
        Publication.objects.filter(kind=PublicationKind.MONTHLY, period=period, scope_key=scope_key)
        .select_related("unit")
        .first()
    )


def _who(user: User) -> str:
    return getattr(user, "name", "") or getattr(user, "email", "") or "—"


def _audit(row: MonthSignoff, before: dict[str, Any], user: User, message: str, **extra: Any) -> None:
    after = audit.snapshot(row, list(before))
    audit.audit_event(
        action=AuditAction.TRANSITION,
        obj=row,
        changes={**audit.diff(before, after), **extra},
        message=message,
        actor=user,
    )


FIELDS = ["state", "note", "edition", "decided_at", "decided_by", "reopened_at", "reopened_by", "reopen_reason"]


# ---------------------------------------------------------------------------------------------
# The port: sign off, or note a problem


def _answerable(user: User, unit: ManagementUnit, period: dt.date, edition: Any) -> tuple[MonthSignoff, Publication]:
    """The port's row, locked, and its ready publication of the edition the user reviewed."""
    mine = own_unit(user)
    if unit.pk != mine.pk:  # another port's month, a province's city port's included: not the user's to answer
        raise Http404
    period = check_month(period)
    row = _locked(unit, period)
    publication = publication_of(unit, period)
    if publication is None or publication.status != PublicationStatus.READY:
        raise SignoffError(_("该月的数据发布尚未生成完成，生成后才能核对确认。"), code="not_ready")
    try:
        seen = int(edition)
    except (TypeError, ValueError):
        raise SignoffError({"edition": _("请说明核对的是第几版数据。")}, code="edition") from None
    if seen != publication.edition:
        raise SignoffConflict(
            _("另一操作已先完成：该月数据已重新生成为%(label)s，请核对新版后再确认。")
            % {"label": publication.edition_label},
            code="edition",
        )
    return row, publication


@transaction.atomic
def signoff_sign(*, user: User, unit: ManagementUnit, period: dt.date, edition: Any, note: str = "") -> MonthSignoff:
    """The port signs off the month's figures of the edition it reviewed (`note`: an optional remark)."""
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise SignoffError({"note": _("说明不能超过 %(n)s 个字。") % {"n": NOTE_MAX}}, code="note")
    row, publication = _answerable(user, unit, period, edition)
    if row.state == S.SIGNED:
        raise SignoffConflict(
            _("另一操作已先完成：%(unit)s %(month)s的数据已于 %(when)s 确认（%(label)s）。")
            % {
                "unit": unit.name,
                "month": month_label(row.period),
                "when": when(row.decided_at),
                "label": _("第 %(n)s 版") % {"n": row.edition},
            },
            code="signed",
        )
    before = audit.snapshot(row, FIELDS)
    row.state = S.SIGNED
    row.note = note
    row.edition = publication.edition
    row.decided_at = timezone.now()
    row.decided_by = user
    row.save(update_fields=["state", "note", "edition", "decided_at", "decided_by"])
    _audit(row, before, user, "month signed off", revision=publication.revision, xlsx_sha256=publication.xlsx_sha256)
    return row


@transaction.atomic
def signoff_note_problem(*, user: User, unit: ManagementUnit, period: dt.date, edition: Any, note: str) -> MonthSignoff:
    """The port notes a problem with the month's figures instead of signing (again, with more detail: the note
    is replaced). A signed month cannot: only the national office reopens it."""
    note = (note or "").strip()
    if not note:
        raise SignoffError({"note": _("请说明发现的问题。")}, code="note")
    if len(note) > NOTE_MAX:
        raise SignoffError({"note": _("说明不能超过 %(n)s 个字。") % {"n": NOTE_MAX}}, code="note")
    row, publication = _answerable(user, unit, period, edition)
    if row.state == S.SIGNED:
        raise SignoffConflict(
            _("另一操作已先完成：该月数据已于 %(when)s 确认；已确认的月份只能由国家局重新打开。")
            % {"when": when(row.decided_at)},
            code="signed",
        )
    if row.state == S.PROBLEM and row.note == note and row.edition == publication.edition:
        raise SignoffConflict(
            _("另一操作已先完成：该问题已于 %(when)s 反馈。") % {"when": when(row.decided_at)}, code="noted"
        )
    before = audit.snapshot(row, FIELDS)
    row.state = S.PROBLEM
    row.note = note
    row.edition = publication.edition
    row.decided_at = timezone.now()
    row.decided_by = user
    row.save(update_fields=["state", "note", "edition", "decided_at", "decided_by"])
    _audit(row, before, user, "month problem noted", revision=publication.revision)
    return row


# ---------------------------------------------------------------------------------------------
# The national office: reopen, remind, release


def _port_users(unit: ManagementUnit) -> list[str]:
    users = User.objects.filter(port_membership__unit=unit, is_active=True, role=Role.PORT_ADMIN)
    return outbox.normalise(users.values_list("email", flat=True))


def _link(name: str, period: dt.date) -> str:
    site: str = settings.SITE_URL
    return site.rstrip("/") + reverse(name, args=[f"{period:%Y-%m}"])


@transaction.atomic
def signoff_reopen(
    *, user: User, unit: ManagementUnit, period: dt.date, reason: str, rebuild: bool = False
) -> MonthSignoff:
    """The national office reopens a signed month (the reason is required); with `rebuild`, the port's
    publication is rebuilt at once (the next edition lists what changed). The port's users are told why."""
    require_role(user, Role.NATIONAL_ADMIN, message=NATIONAL_ONLY)
    reason = (reason or "").strip()
    if not reason:
        raise SignoffError({"reason": _("请填写重新打开的理由。")}, code="reason")
    if len(reason) > REASON_MAX:
        raise SignoffError({"reason": _("理由不能超过 %(n)s 个字。") % {"n": REASON_MAX}}, code="reason")
    period = check_month(period)
    row = _locked(unit, period)
    if row.state != S.SIGNED:
        if row.state == S.OPEN and row.reopened_at is not None:
            raise SignoffConflict(
                _("另一操作已先完成：该月已于 %(when)s 重新打开。") % {"when": when(row.reopened_at)}, code="reopened"
            )
        raise SignoffError(_("该端口尚未确认该月数据，无需重新打开。"), code="not_signed")
    before = audit.snapshot(row, FIELDS)
    signed_edition = row.edition
    row.state = S.OPEN
    row.note = ""
    row.edition = None
    row.decided_at = None
    row.decided_by = None
    row.reopened_at = timezone.now()
    row.reopened_by = user
    row.reopen_reason = reason
    row.reopen_count = row.reopen_count + 1
    row.save(update_fields=[*FIELDS, "reopen_count"])
    _audit(row, before, user, "month reopened", reason=reason, rebuild=rebuild)
    with translation.override(settings.LANGUAGE_CODE):
        title = _("%(unit)s %(month)s备案数据") % {"unit": unit.name, "month": month_label(period)}
        lines = [
            _("您好："),
            _("国家局重新打开了贵端口已确认的%(title)s（原确认第 %(n)s 版）。") % {"title": title, "n": signed_edition},
            _("理由：%(reason)s") % {"reason": reason},
        ]
        if rebuild:
            lines.append(_("该月数据将重新生成为新的版次，新版生成后请再次核对并确认："))
        else:
            lines.append(_("请再次核对并确认："))
        lines += [_link("port:month", period), _("此邮件由系统自动发送，请勿回复。")]
        outbox.enqueue(
            "provincial.month_reopened",
            source=f"{row.pk}:{row.reopen_count}",
            recipients=_port_users(unit),
            subject=SUBJECT_PREFIX + _("%(title)s已重新打开") % {"title": title},
            body="\n".join(lines),
        )
    if rebuild:
        services.publication_rebuild_request(user=user, kind=PublicationKind.MONTHLY, period=period, unit=unit)
    return row


@dataclass
class PortMonth:
    """One open port's month on the national page."""

    unit: ManagementUnit
    signoff: MonthSignoff | None
    publication: Publication | None

    @property
    def state(self) -> str:
        return self.signoff.state if self.signoff else S.OPEN

    @property
    def ready(self) -> bool:
        return self.publication is not None and self.publication.status == PublicationStatus.READY

    def reminded_today(self, today: dt.date) -> bool:
        return bool(self.signoff and self.signoff.reminded_on == today)


def overview(period: dt.date) -> dict[str, Any]:
    """Every open port (and a closed port that answered) for the month: its state, its publication; the
    counts; the national publication and whether it is released. The national page and its export."""
    signoffs = {
        s.unit_id: s
        for s in MonthSignoff.objects.filter(period=period).select_related("unit", "decided_by", "reopened_by")
    }
    publications = {p.scope_key: p for p in Publication.objects.filter(kind=PublicationKind.MONTHLY, period=period)}
    units = ManagementUnit.objects.filter(is_open=True) | ManagementUnit.objects.filter(pk__in=list(signoffs))
    rows = [PortMonth(u, signoffs.get(u.pk), publications.get(u.code)) for u in units.distinct().order_by("code")]
    counts = {state: sum(r.state == state for r in rows) for state in S.values}
    today = clock.china_today()
    return {
        "period": period,
        "rows": rows,
        "counts": counts,
        "total": len(rows),
        "unsigned": len(rows) - counts[S.SIGNED],
        "to_remind": [r for r in rows if r.state == S.OPEN and r.ready and not r.reminded_today(today)],
        "reminded_today": sum(r.reminded_today(today) for r in rows),
        "not_ready": sum(not r.ready for r in rows),
        "national": publications.get(NATIONAL_SCOPE),
    }


@transaction.atomic
def signoff_remind(*, user: User, period: dt.date) -> list[MonthSignoff]:
    """Remind the ports that have not answered (open, their publication ready), each at most once per China
    day: an e-mail to the port's users through the outbox. Returns the rows reminded."""
    require_role(user, Role.NATIONAL_ADMIN, message=NATIONAL_ONLY)
    period = check_month(period)
    ensure_signoffs(period)
    today = clock.china_today()
    ready = Publication.objects.filter(
        kind=PublicationKind.MONTHLY, period=period, status=PublicationStatus.READY
    ).values_list("scope_key", flat=True)
    rows = list(
        MonthSignoff.objects.select_for_update()
        .filter(period=period, state=S.OPEN, unit__is_open=True, unit__code__in=list(ready))
        .select_related("unit")
        .order_by("unit__code")
    )
    due = [r for r in rows if r.reminded_on != today]
    if not due:
        if rows:
            raise SignoffConflict(
                _("另一操作已先完成：今天已提醒过尚未确认的端口（每个端口每天最多提醒一次）。"), code="reminded"
            )
        raise SignoffError(_("没有需要提醒的端口：各端口均已确认或反馈问题，或数据发布尚未生成。"), code="nobody")
    for row in due:
        before = row.reminded_on
        row.reminded_on = today
        row.save(update_fields=["reminded_on"])
        with translation.override(settings.LANGUAGE_CODE):
            title = _("%(unit)s %(month)s备案数据") % {"unit": row.unit.name, "month": month_label(period)}
            body = "\n".join(
                [
                    _("您好："),
                    _("%(title)s已生成，贵端口尚未核对确认。请登录平台核对，确认无误后点击“确认无误”，如有问题请反馈：")
                    % {"title": title},
                    _link("port:month", period),
                    _("此邮件由系统自动发送，请勿回复。"),
                ]
            )
            recipients = outbox.enqueue(
                "provincial.month_reminder",
                source=f"{row.unit.code}:{period:%Y-%m}:{today.isoformat()}",
                recipients=_port_users(row.unit),
                subject=SUBJECT_PREFIX + _("请确认%(title)s") % {"title": title},
                body=body,
                kick=False,
            )
        audit.audit_event(
            action=AuditAction.UPDATE,
            obj=row,
            changes={"reminded_on": [before, today], "recipients": len(recipients)},
            message="month sign-off reminder",
            actor=user,
        )
    outbox.kick_after_commit()
    return due


@transaction.atomic
def publication_release(*, user: User, period: dt.date, edition: Any) -> Publication:
    """The national office releases the national publication of the month (the edition it saw on the page),
    whatever the number of ports that have not signed (recorded): the ports then see and download it, and
    their users are told. A later rebuild is a new edition, released only by this action again."""
    require_role(user, Role.NATIONAL_ADMIN, message=NATIONAL_ONLY)
    period = check_month(period)
    publication = (
        Publication.objects.select_for_update()
        .filter(kind=PublicationKind.MONTHLY, period=period, scope_key=NATIONAL_SCOPE)
        .first()
    )
    if publication is None or publication.status != PublicationStatus.READY:
        raise SignoffError(_("全国该月的数据发布尚未生成完成，生成后才能发布。"), code="not_ready")
    if publication.is_released:
        raise SignoffConflict(
            _("另一操作已先完成：%(label)s已于 %(when)s 发布。")
            % {"label": publication.edition_label, "when": when(publication.released_at)},
            code="released",
        )
    try:
        seen = int(edition)
    except (TypeError, ValueError):
        raise SignoffError({"edition": _("请说明发布的是第几版数据。")}, code="edition") from None
    if seen != publication.edition:
        raise SignoffConflict(
            _("另一操作已先完成：全国该月数据已重新生成为%(label)s，请核对新版后再发布。")
            % {"label": publication.edition_label},
            code="edition",
        )
    state = overview(period)
    unsigned = [r.unit.code for r in state["rows"] if r.state != S.SIGNED]
    before = audit.snapshot(publication, ["released_revision", "released_at", "released_by"])
    publication.released_revision = publication.revision
    publication.released_at = timezone.now()
    publication.released_by = user
    publication.save(update_fields=["released_revision", "released_at", "released_by"])
    audit.audit_event(
        action=AuditAction.TRANSITION,
        obj=publication,
        changes={
            **audit.diff(before, audit.snapshot(publication, list(before))),
            "unsigned_ports": unsigned,
            "signed_ports": state["counts"][S.SIGNED],
        },
        message="national publication released",
        actor=user,
    )
    with translation.override(settings.LANGUAGE_CODE):
        title = _("全国%(month)s备案数据") % {"month": month_label(period)}
        body = "\n".join(
            [
                _("您好："),
                _("国家局已发布%(title)s（%(label)s），可登录平台查看和下载：")
                % {"title": title, "label": publication.edition_label},
                settings.SITE_URL.rstrip("/") + reverse("port:publications"),
                _("此邮件由系统自动发送，请勿回复。"),
            ]
        )
        recipients = User.objects.filter(
            role=Role.PORT_ADMIN, is_active=True, port_membership__unit__is_open=True
        ).values_list("email", flat=True)
        outbox.enqueue(
            "provincial.national_released",
            source=f"{publication.pk}:r{publication.revision}",
            recipients=recipients,
            subject=SUBJECT_PREFIX + _("%(title)s已发布") % {"title": title},
            body=body,
        )
    return publication
