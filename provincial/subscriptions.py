"""Subscriptions (issue 20, part 6): a port or national administrator subscribes to a saved analysis or a port
dashboard as an Excel or a PDF file by mail, monthly or weekly (docs/PORTS.md, "Subscriptions").

- What: a saved analysis the owner may open (`analysis.saved_visible_to`), or the dashboard of a port in the
  owner's scope (`dashboards.area_for(owner, port_code)`; "" is the owner's own area).
- When: a daily beat task (`provincial.tasks.deliver_subscriptions`, installed by migration 0013) takes every
  active subscription's due period — the last complete month (monthly, "2026-11") or the last complete ISO week
  (weekly, "2026-W48"), counted in China time — and makes its delivery row once (UNIQUE subscription, period).
- Exactly once: a delivery is claimed with a conditional UPDATE (a fresh token and a lease), as the monthly
  publications are (the same helper, `patent_platform.claims.RowClaim`): whoever updates no row does nothing;
  the file is stored under a name carrying the token, and the row is marked sent `WHERE claim = <token>` in the
  same transaction as the outbox notice (written once per delivery), so two workers at once build and mail it
  once. A claimant that lost its row removes its file.
- As the subscriber: the file is built with the owner's area as it is when built (the scoping rule); a
  subscription whose object the owner may no longer open (the analysis deleted or no longer shared with them,
  the port out of their scope, the account disabled or of another role) is deactivated with a note and its
  delivery is recorded as skipped: nothing is built or sent.
- The figures: monthly, the period of the file is the month (the dashboard's and the analysis' as-of figures at
  the month's end; the delivery's month replaces the saved analysis' own period); weekly, the figures when built
  (the dashboard's current state; the saved analysis as saved — periods are whole months, weeks are not a period
  of the engine).
- The file: the subscription's format, XLSX (the table, and a sheet 说明 describing it) or PDF (the same
  description above the same table, each cell as the XLSX holds it; rendered by WeasyPrint as the publications'
  PDFs are: local fonts, no network; landscape pages for a wide table).
- The mail carries a link to the download page (`port:subscription_download`), which answers 404 to anyone but
  the owner; files live in Django's default storage (S3 in production).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from patent_platform import audit, claims, clock, outbox
from patent_platform.choices import AuditAction, Role
from patent_platform.exports import xlsx_bytes, xlsx_cell
from provincial import analysis, comparison, dashboards, periods
from provincial.choices import DeliveryStatus as S
from provincial.choices import SubscriptionFormat, SubscriptionFrequency, SubscriptionKind
from provincial.models import SavedAnalysis, Subscription, SubscriptionDelivery
from provincial.overview import DASHBOARD_SHEET_HEADERS, dashboard_sheet

if TYPE_CHECKING:
    from patent_platform.models import User
    from patent_platform.scoping import Reader

logger = logging.getLogger(__name__)

ROLES = frozenset({Role.PORT_ADMIN, Role.NATIONAL_ADMIN})
LEASE = dt.timedelta(minutes=15)
MAX_ATTEMPTS = 5  # a failed delivery is tried again by the next daily runs, at most this many times
NOTICE_KIND = "provincial.subscription"
SUBJECT_PREFIX = "【专利产品备案】"


class SubscriptionError(ValueError):
    """Input the service refuses; `errors` maps a field to its messages (for the form)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(m for ms in errors.values() for m in ms))
        self.errors = errors


ClaimLost = claims.ClaimLost  # this attempt's token no longer matches the delivery: another attempt owns it


# ---------------------------------------------------------------------------------------------
# Periods


def due_period(frequency: str, today: dt.date | None = None) -> str:
    """The key of the last complete period in China: "2026-11" (monthly) or "2026-W48" (the ISO week)."""
    today = today or clock.china_today()
    if frequency == SubscriptionFrequency.MONTHLY:
        return periods.latest_complete_month(today).key
    year, week, _day = (today - dt.timedelta(days=7)).isocalendar()
    return f"{year}-W{week:02d}"


def period_label(key: str) -> str:
    """How a page names a delivery's period: 2026年11月, 2026年第48周."""
    if "-W" in key:
        year, week = key.split("-W")
        return _("%(year)s年第%(week)s周") % {"year": year, "week": int(week)}
    year, month = key.split("-")
    return _("%(year)s年%(month)s月") % {"year": year, "month": int(month)}


# ---------------------------------------------------------------------------------------------
# What a subscription delivers, as its owner


@dataclass
class Sheet:
    title: str
    headers: list[Any]
    rows: list[list[Any]]
    area_name: str
    period_text: str


class Unavailable(Exception):
    """The owner may no longer open what the subscription names; the message says why (kept as its note)."""


def _check_owner(owner: User) -> None:
    if not owner.is_active or owner.role not in ROLES:
        raise Unavailable(_("账号已停用或不再是管理端口、国家局管理员"))


def _saved_analysis(owner: User, analysis_id: int | None) -> SavedAnalysis:
    saved: SavedAnalysis | None = (
        analysis.saved_visible_to(owner).filter(pk=analysis_id).first() if analysis_id else None
    )
    if saved is None:
        raise Unavailable(_("保存的分析已删除或不再共享给您"))
    return saved


def _area(owner: User, port_code: str) -> dashboards.Area:
    try:
        return dashboards.area_for(owner, port_code)
    except Http404:
        raise Unavailable(_("该端口已不在您的管辖范围内")) from None


def _area_name(area: dashboards.Area) -> str:
    return area.port.name if area.port is not None else _("全国")


def build_sheet(subscription: Subscription, period_key: str) -> Sheet:
    """The table of the subscription for `period_key`, read as its owner now (Unavailable if the owner may
    no longer open it)."""
    owner = subscription.owner
    _check_owner(owner)
    monthly = subscription.frequency == SubscriptionFrequency.MONTHLY
    if subscription.kind == SubscriptionKind.ANALYSIS:
        saved = _saved_analysis(owner, subscription.analysis_id)
        data = dict(saved.definition) if isinstance(saved.definition, dict) else {}
        if monthly:
            data["period"] = period_key
        try:
            definition = analysis.Definition.from_data(data)
        except analysis.DefinitionError:
            raise Unavailable(_("保存的分析已无法打开")) from None
        area = _area(owner, "")
        result = analysis.run(area, definition)
        period = definition.period and periods.parse(definition.period)
        return Sheet(
            title=saved.name,
            headers=list(result.header),
            rows=[["—" if v is None else v for v in row] for row in result.body],
            area_name=_area_name(area),
            period_text=period.label if period else str(periods.current().label),
        )
    area = _area(owner, subscription.port_code)
    year, month = (int(p) for p in period_key.split("-")) if monthly else (0, 0)
    period = periods.month(year, month) if monthly else periods.current()
    figures = comparison.figures(area, period)
    return Sheet(
        title=_("统计概览"),
        headers=list(DASHBOARD_SHEET_HEADERS),
        rows=dashboard_sheet(owner, area, figures),
        area_name=_area_name(area),
        period_text=period.label,
    )


# ---------------------------------------------------------------------------------------------
# The files: the same table as an Excel workbook or a PDF

PDF_TEMPLATE = "provincial/subscriptions/document.html"
LANDSCAPE_COLUMNS = 6  # a table wider than this is printed on landscape pages


@dataclass
class PdfCell:
    text: str
    number: bool


def pdf_cell(value: Any) -> PdfCell:
    """A cell of the PDF as the Excel file shows it (exports.xlsx_cell): the same number (as Excel's general
    format prints it), times in China time to the minute, nothing for None."""
    value = xlsx_cell(value)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return PdfCell(str(value), False)
    if isinstance(value, float | Decimal) and value == int(value):
        value = int(value)
    elif isinstance(value, Decimal):
        value = format(value.normalize(), "f")  # 12.50 as Excel shows the number: 12.5
    return PdfCell(str(value), True)


def pdf_bytes(sheet: Sheet, about: list[list[Any]], subscription_name: str, period: str) -> tuple[bytes, int]:
    """The PDF of the sheet: the description (the Excel file's 说明 sheet) above the same table; and the
    number of rows."""
    from provincial.publications.documents import html_to_pdf

    rows = [[pdf_cell(v) for v in row] for row in sheet.rows]
    html = render_to_string(
        PDF_TEMPLATE,
        {
            "title": sheet.title,
            "subscription": subscription_name,
            "period": period,
            "about": [(label, pdf_cell(value).text) for label, value in about],
            "headers": [str(h) for h in sheet.headers],
            "rows": rows,
            "landscape": len(sheet.headers) > LANDSCAPE_COLUMNS,
        },
    )
    return html_to_pdf(html), len(rows)


def check_target(owner: User, kind: str, analysis_id: int | None, port_code: str) -> tuple[str, Any]:
    """(name, saved analysis or None) of what `owner` wants to subscribe to; Http404 if the owner may not
    open it (the pages' rule: out of scope is 404)."""
    try:
        _check_owner(owner)
        if kind == SubscriptionKind.ANALYSIS:
            saved = _saved_analysis(owner, analysis_id)
            return saved.name, saved
        if kind == SubscriptionKind.DASHBOARD:
            area = _area(owner, port_code)
            return _("统计概览：%(area)s") % {"area": _area_name(area)}, None
    except Unavailable:
        raise Http404 from None
    raise Http404


# ---------------------------------------------------------------------------------------------
# The owner's actions


def subscription_create(
    *, owner: User, kind: str, analysis_id: int | None, port_code: str, frequency: str, file_format: str
) -> Subscription:
    """A new active subscription (SubscriptionError with field messages for bad input; Http404 for a target
    the owner may not open). The same target, frequency and format twice: refused (the same target as Excel
    and as PDF: two subscriptions)."""
    port_code = (port_code or "").strip()
    name, saved = check_target(owner, kind, analysis_id, port_code)
    errors: dict[str, list[str]] = {}
    if frequency not in SubscriptionFrequency.values:
        errors["frequency"] = [_("请选择每月或每周。")]
    if file_format not in SubscriptionFormat.values:
        errors["format"] = [_("请选择文件格式。")]
    if errors:
        raise SubscriptionError(errors)
    same = Subscription.objects.filter(owner=owner, kind=kind, frequency=frequency, format=file_format)
    same = same.filter(analysis=saved) if saved is not None else same.filter(port_code=port_code)
    with transaction.atomic():
        if same.exists():
            raise SubscriptionError({"frequency": [_("您已订阅过此内容（同一频率、同一文件格式）。")]})
        subscription = Subscription.objects.create(
            owner=owner,
            kind=kind,
            analysis=saved,
            port_code=port_code if kind == SubscriptionKind.DASHBOARD else "",
            name=name[:200],
            format=file_format,
            frequency=frequency,
        )
        audit.audit_event(
            action=AuditAction.CREATE,
            obj=subscription,
            changes={"kind": kind, "frequency": frequency, "port": port_code, "analysis": analysis_id},
            actor=owner,
        )
    return subscription


def owned(owner: Reader) -> QuerySet[Subscription]:
    """The owner's subscriptions (anyone else's: not here, so 404 where asked for)."""
    return Subscription.objects.visible_to(owner).select_related("analysis")


def subscription_set_active(*, owner: User, subscription_id: int, active: bool) -> Subscription:
    """Pause or resume one's own subscription (resuming checks that its object can still be opened)."""
    with transaction.atomic():
        subscription = owned(owner).select_for_update(of=("self",)).filter(pk=subscription_id).first()
        if subscription is None:
            raise Http404
        if active:
            check_target(owner, subscription.kind, subscription.analysis_id, subscription.port_code)
        before = subscription.active
        subscription.active = active
        subscription.note = ""
        subscription.save(update_fields=["active", "note"])
        audit.audit_event(
            action=AuditAction.UPDATE, obj=subscription, changes={"active": [before, active]}, actor=owner
        )
    return subscription


def subscription_delete(*, owner: User, subscription_id: int) -> None:
    """Delete one's own subscription with its deliveries and their files."""
    with transaction.atomic():
        subscription = owned(owner).filter(pk=subscription_id).first()
        if subscription is None:
            raise Http404
        names = [n for n in subscription.deliveries.values_list("file", flat=True) if n]
        audit.audit_event(action=AuditAction.DELETE, obj=subscription, actor=owner)
        subscription.delete()
        transaction.on_commit(partial(_remove, names))


def deliveries_of(owner: Reader) -> QuerySet[SubscriptionDelivery]:
    return SubscriptionDelivery.objects.visible_to(owner).select_related("subscription")


def open_delivery(user: Reader, delivery_id: int) -> tuple[File[bytes], str]:
    """The delivery's file for its owner, opened from the storage, and its download name; 404 for anyone
    else, for a delivery without a file, or a file missing from the storage."""
    delivery = deliveries_of(user).filter(pk=delivery_id, status=S.SENT).exclude(file="").first()
    if delivery is None:
        raise Http404
    try:
        handle = _storage().open(delivery.file, "rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    name = f"{delivery.subscription.name}-{delivery.period}.{file_extension(delivery.file)}"
    return handle, name


def file_extension(name: str) -> str:
    """ "xlsx" or "pdf": the format of a stored delivery file (by its name; the subscription's format may have
    been another when it was built)."""
    return SubscriptionFormat.PDF if name.endswith(".pdf") else SubscriptionFormat.XLSX


# ---------------------------------------------------------------------------------------------
# The daily run, exactly once per subscription and period


def _storage() -> Storage:
    return storages["default"]


def _remove(names: list[str]) -> None:
    storage = _storage()
    for name in names:
        try:
            storage.delete(name)
        except Exception:  # a file that is not there: nothing to remove
            logger.warning("subscription file %s could not be removed", name, exc_info=True)


def ensure_deliveries(today: dt.date | None = None) -> list[int]:
    """The delivery row of every active subscription's due period (made once: UNIQUE subscription, period);
    returns the ids of the rows that are to be built now."""
    today = today or clock.china_today()
    due = {f: due_period(f, today) for f in SubscriptionFrequency.values}
    active = list(Subscription.objects.filter(active=True).values_list("pk", "frequency"))
    SubscriptionDelivery.objects.bulk_create(
        [SubscriptionDelivery(subscription_id=pk, period=due[frequency]) for pk, frequency in active],
        ignore_conflicts=True,
    )
    wanted = Q()
    for frequency, key in due.items():
        wanted |= Q(subscription__frequency=frequency, period=key)
    return list(
        SubscriptionDelivery.objects.filter(wanted, subscription__active=True)
        .filter(_claimable(timezone.now()))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def run_due(today: dt.date | None = None) -> dict[str, int]:
    """The daily run: make the due rows and build each (a failure is recorded on its row and tried again by
    the next run while its attempts last); returns counts by resulting status of the rows this run took
    ("taken": rows another worker had taken first)."""
    counts: dict[str, int] = {}
    for pk in ensure_deliveries(today):
        try:
            row = build_delivery(pk)
            status = row.status if row is not None else "taken"
        except claims.ClaimStillHeld:
            raise
        except Exception:  # recorded on the row; the other subscriptions go on
            logger.exception("subscription delivery %s failed", pk)
            status = S.FAILED
        counts[status] = counts.get(status, 0) + 1
    return counts


def _claimable(now: dt.datetime) -> Q:
    return (
        Q(status=S.PENDING)
        | Q(status=S.FAILED, attempts__lt=MAX_ATTEMPTS)
        | Q(status=S.BUILDING, lease_until__lt=now)
        | Q(status=S.BUILDING, lease_until__isnull=True)
    )


def _on_take(now: dt.datetime) -> dict[str, Any]:
    return {"error": ""}


# the publications' exactly-once claim (patent_platform.claims.RowClaim), on the delivery rows
CLAIM = claims.RowClaim(
    model=SubscriptionDelivery, claimable=_claimable, lease=lambda: LEASE, held_status=S.BUILDING, on_take=_on_take
)


def _claim(pk: int, previous: uuid.UUID | None) -> uuid.UUID | None:
    """Take the row with a conditional UPDATE; the token if this call got it."""
    return CLAIM.take(pk, previous)


def build_delivery(delivery_id: int, *, claim: uuid.UUID | str | None = None) -> SubscriptionDelivery | None:
    """Build and mail one delivery exactly once; returns the row as stored, or None if this call did not take
    it (it is done, or another attempt holds a live lease)."""
    previous = uuid.UUID(str(claim)) if claim else None
    token = _claim(delivery_id, previous)
    if token is None:
        return None
    written: list[str] = []
    try:
        _build(delivery_id, token, written)
    except ClaimLost:
        _remove(written)
        logger.warning("subscription delivery %s: claim %s lost to another attempt", delivery_id, token)
    except Exception as exc:
        _remove(written)
        try:
            claims.on_fresh_connection(partial(_mark_failed, delivery_id, token, exc))
        except claims.DB_ERRORS:
            raise claims.ClaimStillHeld("claim", str(token)) from exc
        raise
    return claims.on_fresh_connection(lambda: SubscriptionDelivery.objects.get(pk=delivery_id))


def _build(pk: int, token: uuid.UUID, written: list[str]) -> None:
    delivery = SubscriptionDelivery.objects.select_related("subscription__owner").get(pk=pk)
    subscription = delivery.subscription
    with translation.override(settings.LANGUAGE_CODE):
        try:
            sheet = build_sheet(subscription, delivery.period)
        except Unavailable as why:
            _deactivate(pk, token, str(why))
            return
        built_at = timezone.now()
        about: list[list[Any]] = [
            [_("订阅"), subscription.name],
            [_("期间"), period_label(delivery.period)],
            [_("统计期间"), sheet.period_text],
            [_("统计范围"), sheet.area_name],
            [_("生成时间"), built_at],
        ]
        ext = subscription.format if subscription.format in SubscriptionFormat.values else SubscriptionFormat.XLSX
        if ext == SubscriptionFormat.PDF:
            data, count = pdf_bytes(sheet, about, subscription.name, period_label(delivery.period))
        else:
            data, count = xlsx_bytes(
                title=sheet.title,
                headers=sheet.headers,
                rows=sheet.rows,
                more_sheets=[(_("说明"), [_("项目"), _("内容")], about)],
            )
    name = f"subscriptions/{subscription.owner_id}/{subscription.pk}/{delivery.period}-{token.hex[:8]}.{ext}"
    written.append(name)
    stored = _storage().save(name, ContentFile(data))  # one object written whole; the token makes it ours
    written.append(stored)
    with transaction.atomic():
        row = CLAIM.lock(pk, token)
        row.status, row.file, row.size = S.SENT, stored, len(data)
        row.built_at = built_at
        row.sent_at = timezone.now()
        row.lease_until = None
        row.save(update_fields=["status", "file", "size", "built_at", "sent_at", "lease_until"])
        audit.audit_event(
            action=AuditAction.EXPORT,
            obj=row,
            object_repr=f"{count} × {sheet.title}",
            changes={"subscription": subscription.pk, "period": row.period, "rows": count, "area": sheet.area_name},
            message="subscription delivery built and mailed",
            actor=subscription.owner,
        )
        _queue_notice(row, subscription)


def _deactivate(pk: int, token: uuid.UUID, why: str) -> None:
    """The owner may no longer open it: the subscription is deactivated with the reason, nothing is sent."""
    with transaction.atomic():
        row = CLAIM.lock(pk, token)
        row.status, row.error, row.lease_until = S.SKIPPED, why, None
        row.save(update_fields=["status", "error", "lease_until"])
        note = _("已自动停用：%(why)s") % {"why": why}
        Subscription.objects.filter(pk=row.subscription_id).update(active=False, note=note[:300])
        audit.audit_event(
            action=AuditAction.UPDATE,
            object_type="provincial.Subscription",
            object_id=str(row.subscription_id),
            changes={"active": [True, False], "period": row.period},
            message=f"subscription deactivated: {why}",
        )


def _mark_failed(pk: int, token: uuid.UUID, exc: BaseException) -> None:
    error = f"{type(exc).__name__}: {exc}"[:4000]
    CLAIM.release(pk, token, status=S.FAILED, error=error)


def _format_label(name: str) -> str:
    return "PDF" if file_extension(name) == SubscriptionFormat.PDF else "Excel"


def _queue_notice(delivery: SubscriptionDelivery, subscription: Subscription) -> None:
    """The mail to the owner (in the caller's transaction; once per delivery): a link to the download page."""
    link = settings.SITE_URL.rstrip("/") + reverse("port:subscription_download", args=[delivery.pk])
    label = period_label(delivery.period)
    subject = SUBJECT_PREFIX + _("订阅：%(name)s（%(period)s）") % {"name": subscription.name, "period": label}
    lines = [
        _("您好："),
        _("您订阅的“%(name)s”（%(period)s）已生成，可登录平台下载（%(format)s）：")
        % {"name": subscription.name, "period": label, "format": _format_label(delivery.file)},
        link,
        _("数字按您当前的管辖范围统计。可在“我的订阅”中暂停或取消订阅。"),
        _("此邮件由系统自动发送，请勿回复。"),
    ]
    outbox.enqueue(
        NOTICE_KIND,
        source=f"delivery:{delivery.pk}",
        recipients=[subscription.owner.email],
        subject=subject,
        body="\n".join(lines),
    )
