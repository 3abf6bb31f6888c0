"""Following up the enterprises on the rosters that have not filed (docs/PORTS.md, "Following up who has not
filed").

A port administrator (or the national office) selects enterprises on its not-filed list and sends
- a **reminder** (提醒备案) to an enterprise registered on the platform: to its users and its unit contact;
- an **invitation** (邀请注册备案) to one not registered: to the e-mail on the roster, with a registration link
  whose signed token fills in the USCC and name (filings/invitations.py).

The rules, all here and on every path:
- scope: only enterprises on the rosters the sender sees, inside its area (`rosters.roster_entries`); a USCC
  outside answers 404, the same as one that does not exist;
- an enterprise that has filed meanwhile, a reminder to one not registered (or registered outside the sender's
  area), an invitation to one already registered, or one without any address is skipped, with its reason;
- at most one mail per enterprise per China day, whoever sends it (`FollowUp` has a unique constraint on
  (USCC, day)): a second one that day is skipped, and the pages say so;
- every send is one `FollowUp` row (who, when, which kind, to which addresses, masked), one notice per
  address through the outbox in the same transaction, and one audit record.

`plan` says what a send would do (the confirm step shows it); `send` does it, planning again inside its
transaction.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, Min, OuterRef, QuerySet, Subquery
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from filings.choices import FilingStatus
from filings.invitations import INVITATION_DAYS, invitation_link
from filings.models import FilingUnit, ProductVersion, UnitMembership
from patent_platform import audit, clock, outbox
from patent_platform.choices import AuditAction, Role
from patent_platform.i18n import localized_name
from patent_platform.masking import mask_email
from patent_platform.roles import require_role
from provincial import rosters
from provincial.choices import FollowUpKind, RosterCategory
from provincial.models import FollowUp, ManagementUnit

if TYPE_CHECKING:
    from patent_platform.models import User

MAX_SELECTION = 200  # enterprises per send: a page of the list is 50; "select all" over a few pages at most
KIND_NOTICE = {FollowUpKind.REMINDER: "provincial.follow_up_reminder", FollowUpKind.INVITATION: "provincial.invitation"}


@dataclass
class Target:
    """One selected enterprise: what a send does for it (`recipients`), or why it is skipped (`skip`)."""

    uscc: str
    name: str
    codes: tuple[str, str, str]
    categories: list[str] = field(default_factory=list)
    unit: FilingUnit | None = None
    recipients: list[str] = field(default_factory=list)
    skip: str = ""

    @property
    def masked(self) -> str:
        return "、".join(mask_email(a) for a in self.recipients)

    @property
    def sendable(self) -> bool:
        return not self.skip and bool(self.recipients)


def _require_sender(user: User) -> None:
    require_role(user, Role.PORT_ADMIN, Role.NATIONAL_ADMIN, error=Http404)


def _selection(usccs: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(u.strip().upper() for u in usccs if u and u.strip()))
    if not chosen:
        raise ValidationError({"uscc": _("请先勾选企业。")}, code="follow_up_empty")
    if len(chosen) > MAX_SELECTION:
        raise ValidationError(
            {"uscc": _("一次最多选择 %(max)s 家企业。") % {"max": MAX_SELECTION}}, code="follow_up_too_many"
        )
    return chosen


def _unit_addresses(units: Sequence[FilingUnit]) -> dict[int, list[str]]:
    """The active users of each unit and the unit's contact e-mail."""
    addresses: dict[int, list[str]] = defaultdict(list)
    for unit_id, email in UnitMembership.objects.filter(unit__in=units, user__is_active=True).values_list(
        "unit_id", "user__email"
    ):
        addresses[unit_id].append(email)
    for unit in units:
        if unit.contact_email:
            addresses[unit.pk].append(unit.contact_email)
    return {k: outbox.normalise(v) for k, v in addresses.items()}


def follow_up_plan(*, user: User, usccs: Iterable[str], kind: str) -> list[Target]:
    """What sending `kind` to the selected enterprises would do, one Target each, in the order given.
    Raises Http404 if any USCC is not on a roster the user sees inside its area."""
    _require_sender(user)
    if kind not in FollowUpKind.values:
        raise ValidationError({"kind": _("请选择发送提醒或邀请注册。")}, code="follow_up_kind")
    chosen = _selection(usccs)
    entries = list(
        rosters.roster_entries(user)
        .filter(uscc__in=chosen)
        .annotate(filed=rosters.approved_filing_exists())
        .select_related("roster")
        .order_by("-roster__year", "-id")
    )
    by_uscc: dict[str, list[Any]] = defaultdict(list)
    for entry in entries:
        by_uscc[entry.uscc].append(entry)
    if set(chosen) - set(by_uscc):
        raise Http404  # not on a roster in the user's area: the same answer as one that does not exist
    units = {u.uscc: u for u in FilingUnit.objects.filter(uscc__in=chosen)}
    visible = set(FilingUnit.objects.visible_to(user).filter(uscc__in=chosen).values_list("uscc", flat=True))
    addresses = _unit_addresses(list(units.values()))
    today = clock.china_today()
    sent_today = set(FollowUp.objects.filter(uscc__in=chosen, sent_on=today).values_list("uscc", flat=True))
    labels = dict(RosterCategory.choices)
    targets = []
    for uscc in chosen:
        rows = by_uscc[uscc]
        first = rows[0]
        target = Target(
            uscc=uscc,
            name=first.name,
            codes=(first.province_code, first.city_code, first.county_code),
            categories=sorted({str(labels.get(r.roster.category, r.roster.category)) for r in rows}),
            unit=units.get(uscc),
        )
        if any(r.filed for r in rows):
            target.skip = _("已有产品通过备案，无需督促。")
        elif uscc in sent_today:
            target.skip = _("今天已给该企业发送过提醒或邀请（每家企业每天最多一封）。")
        elif kind == FollowUpKind.REMINDER:
            if target.unit is None:
                target.skip = _("尚未在平台注册：请改用“邀请注册”。")
            elif uscc not in visible:
                target.skip = _("注册地不在本辖区，由其所在地的端口督促。")
            else:
                target.recipients = addresses.get(target.unit.pk, [])
                if not target.recipients:
                    target.skip = _("该单位没有可用的电子邮箱。")
        else:
            if target.unit is not None:
                target.skip = _("已在平台注册：请改用“提醒备案”。")
            else:
                email = next((r.contact_email for r in rows if r.contact_email), "")
                target.recipients = outbox.normalise([email])
                if not target.recipients:
                    target.skip = _("名单中没有该企业的电子邮箱，无法发送邀请。")
        targets.append(target)
    return targets


def _sender_name(user: User) -> tuple[ManagementUnit | None, str]:
    port = rosters.port_of(user)
    return port, (localized_name(port) if port is not None else _("国家知识产权局"))


def _mail(kind: str, target: Target, sender: str) -> tuple[str, str]:
    categories = "、".join(target.categories)
    lines = [
        _("%(name)s（统一社会信用代码 %(uscc)s）：") % {"name": target.name, "uscc": target.uscc},
        "",
        _("贵单位列入%(categories)s名单，目前在专利产品备案平台上尚无产品通过备案。") % {"categories": categories},
    ]
    if kind == FollowUpKind.REMINDER:
        subject = _("【专利产品备案】请贵单位尽快完成专利产品备案")
        lines += [
            _("请登录平台，登记专利、填写产品信息并提交备案："),
            settings.SITE_URL.rstrip("/") + reverse("enterprise:home"),
        ]
    else:
        subject = _("【专利产品备案】邀请贵单位注册并备案专利产品")
        lines += [
            _("请通过以下链接注册（已填入贵单位的统一社会信用代码和名称，链接 %(days)s 天内有效）：")
            % {"days": INVITATION_DAYS},
            invitation_link(uscc=target.uscc, name=target.name),
            _("注册后登记专利、填写产品信息并提交备案。如贵单位已由他人注册，请按注册页的提示申请认领。"),
        ]
    lines += ["", _("发送单位：%(sender)s") % {"sender": sender}, _("此邮件由平台自动发送，请勿直接回复。")]
    return str(subject), "\n".join(str(line) for line in lines)


@transaction.atomic
def follow_up_send(*, user: User, usccs: Iterable[str], kind: str) -> list[Target]:
    """Send `kind` to the selected enterprises that can receive it (see `plan`); returns every Target, the sent
    ones with `follow_up` set. One FollowUp, one notice per address and one audit record per enterprise."""
    targets = follow_up_plan(user=user, usccs=usccs, kind=kind)
    port, sender = _sender_name(user)
    now = timezone.now()
    today = clock.china_today()
    for target in targets:
        if not target.sendable:
            continue
        try:
            with transaction.atomic():  # the day's constraint: a send that raced another one skips
                follow_up = FollowUp.objects.create(
                    uscc=target.uscc,
                    name=target.name,
                    province_code=target.codes[0],
                    city_code=target.codes[1],
                    county_code=target.codes[2],
                    kind=kind,
                    port=port,
                    sent_by=user,
                    sent_at=now,
                    sent_on=today,
                    recipients_masked=target.masked[:500],
                    recipient_count=len(target.recipients),
                )
        except IntegrityError:
            target.skip = _("今天已给该企业发送过提醒或邀请（每家企业每天最多一封）。")
            continue
        target.follow_up = follow_up  # type: ignore[attr-defined]
        subject, body = _mail(kind, target, sender)
        outbox.enqueue(
            KIND_NOTICE[FollowUpKind(kind)],
            source=f"followup:{follow_up.pk}",
            recipients=target.recipients,
            subject=subject,
            body=body,
            kick=False,
        )
        audit.audit_event(
            action=AuditAction.CREATE,
            obj=follow_up,
            actor=user,
            changes={"kind": kind, "uscc": target.uscc, "recipients": target.masked},
            message=f"follow-up {kind}",
        )
    if any(getattr(t, "follow_up", None) for t in targets):
        outbox.kick_after_commit()
    return targets


# ---------------------------------------------------------------------------------------------------------------
# Selectors: who was followed up when, who registered since


def follow_ups(user: User) -> QuerySet[FollowUp]:
    """Every follow-up of an enterprise inside the user's area (whichever port sent it), newest first."""
    _require_sender(user)
    return FollowUp.objects.visible_to(user).select_related("port", "sent_by")


def status_of(user: User, usccs: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per USCC in scope that was followed up: first and last send, the last one's kind and sender, how many;
    and `registered_at` when the enterprise registered after its first follow-up (registered since)."""
    rows = FollowUp.objects.visible_to(user).filter(uscc__in=list(usccs)).order_by("uscc", "-sent_at", "-id")
    status: dict[str, dict[str, Any]] = {}
    for row in rows.select_related("port"):
        item = status.setdefault(
            row.uscc,
            {"last_at": row.sent_at, "last_kind": row.get_kind_display(), "last_port": row.port, "count": 0},
        )
        item["count"] += 1
        item["first_at"] = row.sent_at
    registered = dict(FilingUnit.objects.filter(uscc__in=list(status)).values_list("uscc", "created_at"))
    for uscc, item in status.items():
        created = registered.get(uscc)
        item["registered_at"] = created if created is not None and created >= item["first_at"] else None
    return status


def follow_up_rows(user: User) -> QuerySet[FollowUp]:
    """The follow-up history with, per row, when the enterprise registered (if after this send) and when it
    first had a product approved (if after this send): the list and its export read it."""
    units = FilingUnit.objects.filter(uscc=OuterRef("uscc"))
    first_approval = (
        ProductVersion.objects.filter(product__unit__uscc=OuterRef("uscc"), status=FilingStatus.APPROVED)
        .order_by()
        .values("product__unit__uscc")
        .annotate(first=Min("decided_at"))
        .values("first")[:1]
    )
    return follow_ups(user).annotate(
        unit_created=Subquery(units.values("created_at")[:1]),
        registered=Exists(units),
        first_approved=Subquery(first_approval),
    )


# ---------------------------------------------------------------------------------------------------------------
# Completeness over time: the share of the rosters filed, month by month, per category and per port


def completeness(user: User, *, year: int | None = None, by: str = "category", months: int = 12) -> dict[str, Any]:
    """Rows (a category, or a port visible to the user) × the last `months` months: of the enterprises on
    today's rosters in the row (distinct USCCs), how many had filed (a product approved, still approved
    today) by the end of each month, and the share. The same rule as the coverage page's trend
    (`rosters.coverage_trend`), split by category or port; one query, counted in Python."""
    _require_sender(user)
    entries = rosters.roster_entries(user, year=year).order_by()
    first_approval = (
        ProductVersion.objects.filter(product__unit__uscc=OuterRef("uscc"), status=FilingStatus.APPROVED)
        .order_by()
        .values("product__unit__uscc")
        .annotate(first=Min("decided_at"))
        .values("first")[:1]
    )
    data = (
        entries.annotate(covered=rosters.approved_filing_exists(), first=Subquery(first_approval))
        .values_list("uscc", "roster__category", "province_code", "city_code", "county_code", "covered", "first")
        .distinct()
    )
    today = clock.china_today()
    columns = [clock.month_of(today)]
    while len(columns) < months:
        columns.insert(0, clock.month_of(columns[0] - dt.timedelta(days=1)))
    # per group: the USCCs on it, and for the filed ones the month of their first approval
    groups: dict[str, dict[str, dt.date | None]] = defaultdict(dict)
    units = []
    if by == "port":
        units = sorted(
            ManagementUnit.objects.visible_to(user).select_related("parent").prefetch_related("regions"),
            key=rosters.port_sort_key,
        )
        scopes = [(unit, rosters.unit_scope(unit)) for unit in units]
    for uscc, category, province, city, county, covered, first in data:
        month = None
        if covered:
            month = clock.month_of(timezone.localtime(first, clock.CHINA_TZ).date() if first else today)
        if by == "port":
            code = county or city or province
            keys = [unit.code for unit, scope in scopes if scope.has_regions and scope.covers_region(code)]
        else:
            keys = [category]
        for key in keys:
            group = groups[key]
            if uscc not in group:
                group[uscc] = month
            elif month is not None:
                known = group[uscc]
                if known is None or month < known:
                    group[uscc] = month
    if by == "port":
        labels = [(unit.code, localized_name(unit)) for unit in units]
    else:
        labels = [(value, str(label)) for value, label in RosterCategory.choices if value in groups]
    table = []
    for key, label in labels:
        members = groups.get(key, {})
        total = len(members)
        cells = []
        for month in columns:
            filed = sum(1 for m in members.values() if m is not None and m <= month)
            cells.append({"month": month.strftime("%Y-%m"), "filed": filed, "percent": rosters.percent(filed, total)})
        table.append({"key": key, "label": label, "entries": total, "cells": cells})
    return {"by": by, "year": year, "months": [m.strftime("%Y-%m") for m in columns], "rows": table}


__all__ = [
    "MAX_SELECTION",
    "Target",
    "completeness",
    "follow_up_plan",
    "follow_up_rows",
    "follow_up_send",
    "follow_ups",
    "status_of",
]
