"""Publications: one row per (port, kind, period) before any file, the periods, the rebuilds the national office
asks for (a month a port signed off keeps its edition) and the hourly sweep. Building a row, exactly once:
provincial/publications/build.py; its files: provincial/publications/files.py."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patent_platform import audit, clock
from patent_platform.choices import AuditAction, Role
from patent_platform.clock import previous_month  # tests/platform/test_outbox.py reads it here too
from patent_platform.concurrency import Conflict
from patent_platform.models import User
from patent_platform.roles import require_role
from provincial.choices import PublicationKind, PublicationStatus, SignoffState
from provincial.models import NATIONAL_SCOPE, ManagementUnit, MonthSignoff, Publication
from provincial.publications.build import notify_ready
from provincial.publications.files import remove_stale_temp_files

logger = logging.getLogger(__name__)

S = PublicationStatus

NATIONAL_ONLY = gettext_lazy("只有国家局管理员可以生成或重新生成数据发布。")


class PublicationError(ValidationError):
    """A request about publications that cannot be carried out (shown to the user)."""


class RebuildConflict(Conflict, PublicationError):
    """A rebuild already asked for and not started: the second request (two clicks at once) is refused."""


# ---------------------------------------------------------------------------------------------
# Periods


def normalize_period(kind: str, period: dt.date) -> dt.date:
    """Monthly: the month's first day; year-end: 1 January of the year."""
    if kind == PublicationKind.MONTHLY:
        return period.replace(day=1)
    if kind == PublicationKind.YEAREND:
        return dt.date(period.year, 1, 1)
    raise PublicationError(_("未知的数据发布类型：%(kind)s") % {"kind": kind}, code="kind")


def period_end(kind: str, period: dt.date) -> dt.datetime:
    """The moment the period ends (the snapshot time of its data), Asia/Shanghai."""
    if kind == PublicationKind.MONTHLY:
        return clock.next_month(clock.month_start(period.year, period.month))
    return clock.year_start(period.year + 1)


def _check_period(kind: str, period: dt.date) -> None:
    today = clock.china_today()
    if period.year < 2000:
        raise PublicationError(_("期间不正确。"), code="period")
    if kind == PublicationKind.MONTHLY and period >= today.replace(day=1):
        raise PublicationError(_("只能生成已结束月份的月度备案数据。"), code="period")
    if kind == PublicationKind.YEAREND and period.year > today.year:
        raise PublicationError(_("不能生成未来年度的成效评价。"), code="period")


# ---------------------------------------------------------------------------------------------
# Rows


def ensure_publications(kind: str, period: dt.date) -> list[Publication]:
    """The rows of every open port and of the national office for this kind and period, created if
    missing (a concurrent creator's rows are kept: conflicts are ignored); ordered by scope key."""
    period = normalize_period(kind, period)
    units = list(ManagementUnit.objects.filter(is_open=True).order_by("code"))
    keys = [u.code for u in units] + [NATIONAL_SCOPE]
    existing = set(
        Publication.objects.filter(kind=kind, period=period, scope_key__in=keys).values_list("scope_key", flat=True)
    )
    missing = [Publication(unit=u, scope_key=u.code, kind=kind, period=period) for u in units if u.code not in existing]
    if NATIONAL_SCOPE not in existing:
        missing.append(Publication(unit=None, scope_key=NATIONAL_SCOPE, kind=kind, period=period))
    if missing:
        with transaction.atomic():
            Publication.objects.bulk_create(missing, ignore_conflicts=True)
            created = list(
                Publication.objects.filter(
                    kind=kind, period=period, scope_key__in=[m.scope_key for m in missing]
                ).values_list("pk", flat=True)
            )
            audit.audit_bulk(
                action=AuditAction.CREATE,
                model=Publication,
                ids=created,
                message=f"{kind} publications of {period:%Y-%m} created for {len(created)} ports",
            )
    return list(
        Publication.objects.filter(kind=kind, period=period, scope_key__in=keys)
        .select_related("unit")
        .order_by("scope_key")
    )


def _enqueue_builds(ids: Iterable[int]) -> None:
    """One build task per row, sent after the commit (each on its own: one failed send loses one)."""
    from provincial.tasks import build_publication as build_task

    for pk in ids:
        transaction.on_commit(partial(build_task.delay, pk))


def _waiting(row: Publication) -> bool:
    """A rebuild was asked for (by a person) and its build has not started: asking again would only skip an
    edition number and build twice (two clicks at once: issue 17, docs/ONE_TRUTH.md §5)."""
    return row.status == S.PENDING and row.requested_by_id is not None and row.started_at is None


@transaction.atomic
def publication_rebuild_request(
    *, user: User, kind: str, period: dt.date, unit: ManagementUnit | None = None, all_ports: bool = False
) -> list[Publication]:
    """A national administrator rebuilds one period for one port (`unit`; None: the national one) or
    for all: each row goes back to pending with revision + 1 and is built again in the background. The
    old files stay in place (and downloadable) until the new ones replace them; the audit log keeps
    the old revision and checksums."""
    require_role(user, Role.NATIONAL_ADMIN, message=NATIONAL_ONLY)
    period = normalize_period(kind, period)
    _check_period(kind, period)
    # a month a port signed off keeps the edition it signed: reopen it first (with a reason; issue 20)
    signed = signed_units(period) if kind == PublicationKind.MONTHLY else set()
    if all_ports:
        # the rows whose rebuild someone asked for and no build has started yet: already on their way
        existing = Publication.objects.select_for_update().filter(kind=kind, period=period)
        waiting = {r.pk for r in existing if _waiting(r)}
        ensure_publications(kind, period)
        rows = list(Publication.objects.select_for_update().filter(kind=kind, period=period).order_by("scope_key"))
        rows = [r for r in rows if r.unit_id not in signed]
        if not rows:
            raise PublicationError(_("各端口均已确认该月数据：须先重新打开，才能重新生成。"), code="signed")
        rows = [r for r in rows if r.pk not in waiting]
        if not rows:
            raise RebuildConflict(
                _("另一操作已先完成：该期间的数据发布均已安排重新生成，正在等待生成，无需重复安排。"), code="waiting"
            )
    else:
        scope_key = unit.code if unit is not None else NATIONAL_SCOPE
        if unit is not None and unit.pk in signed:
            raise PublicationError(
                _("“%(unit)s”已确认该月数据（签收）。须先由国家局说明理由重新打开，才能重新生成。")
                % {"unit": unit.name},
                code="signed",
            )
        row = Publication.objects.select_for_update().filter(kind=kind, period=period, scope_key=scope_key).first()
        if row is None:
            if unit is not None and not unit.is_open:
                raise PublicationError(_("“%(unit)s”管理端口尚未开通。") % {"unit": unit.name}, code="closed")
            ensure_publications(kind, period)
            row = Publication.objects.select_for_update().get(kind=kind, period=period, scope_key=scope_key)
        elif _waiting(row):
            raise RebuildConflict(
                _("另一操作已先完成：该数据发布已安排重新生成（%(edition)s），正在等待生成，无需重复安排。")
                % {"edition": row.edition_label},
                code="waiting",
            )
        rows = [row]
    for row in rows:
        before = {
            "status": row.status,
            "revision": row.revision,
            "xlsx_sha256": row.xlsx_sha256,
            "pdf_sha256": row.pdf_sha256,
            "built_at": row.built_at,
        }
        row.status = S.PENDING
        if row.built_at is not None:  # a row never built stays the first edition (第 1 版, r1)
            row.revision = row.revision + 1
        row.attempts = 0
        row.progress = 0
        row.error = ""
        row.claim = None  # an attempt still running can no longer mark the row ready
        row.lease_until = None
        row.started_at = None
        row.notified_at = None
        row.requested_by = user if getattr(user, "pk", None) else None
        row.save(
            update_fields=[
                "status",
                "revision",
                "attempts",
                "progress",
                "error",
                "claim",
                "lease_until",
                "started_at",
                "notified_at",
                "requested_by",
            ]
        )
        audit.audit_event(
            action=AuditAction.TRANSITION,
            obj=row,
            changes={
                "status": [before["status"], row.status],
                "revision": [before["revision"], row.revision],
                "xlsx_sha256": [before["xlsx_sha256"], None],
                "pdf_sha256": [before["pdf_sha256"], None],
                "built_at": [before["built_at"], None],
            },
            message="publication rebuild requested",
            actor=user,
        )
    _enqueue_builds([r.pk for r in rows])
    return rows


@transaction.atomic
def publication_yearend_request(*, user: User, year: int) -> list[Publication]:
    """A national administrator asks for the year-end evaluation of `year`: the rows of every open
    port and the national one, the ones not built yet built in the background (a built year is
    refreshed with `publication_rebuild_request`)."""
    require_role(user, Role.NATIONAL_ADMIN, message=NATIONAL_ONLY)
    period = dt.date(int(year), 1, 1)
    _check_period(PublicationKind.YEAREND, period)
    rows = ensure_publications(PublicationKind.YEAREND, period)
    todo = [r for r in rows if r.status != S.READY]
    if todo and getattr(user, "pk", None):
        Publication.objects.filter(pk__in=[r.pk for r in todo], requested_by__isnull=True).update(requested_by=user)
    audit.audit_event(
        action=AuditAction.CREATE,
        object_type=Publication._meta.label,
        object_repr=f"year-end evaluation {year}",
        changes={"year": year, "publications": [r.pk for r in rows], "to_build": [r.pk for r in todo]},
        message=f"year-end evaluation {year} requested",
        actor=user,
    )
    _enqueue_builds([r.pk for r in todo])
    return rows


def run_period(kind: str, period: dt.date) -> list[int]:
    """The scheduled run: ensure the rows, enqueue every row not built yet; returns the ids enqueued."""
    rows = ensure_publications(kind, period)
    ids = [r.pk for r in rows if r.status != S.READY]
    _enqueue_builds(ids)
    return ids


def signed_units(period: dt.date) -> set[int]:
    """The ports whose month is signed off: their publication of the month is not rebuilt."""
    return set(MonthSignoff.objects.filter(period=period, state=SignoffState.SIGNED).values_list("unit_id", flat=True))


# ---------------------------------------------------------------------------------------------
# The sweep


def sweep(now: dt.datetime | None = None) -> dict[str, int]:
    """The hourly safety net: last month's rows if the monthly run never happened (and in January
    last year's evaluation), then enqueue what is pending, failed with attempts left, or building with
    an expired lease; send notices that were not sent; remove stale temporary files."""
    now = now or timezone.now()
    local = now.astimezone(clock.CHINA_TZ)
    ensure_publications(PublicationKind.MONTHLY, previous_month(local.date()))
    if local.month == 1 and local.day >= 3:  # the year-end run is on 2 January
        ensure_publications(PublicationKind.YEAREND, dt.date(local.year - 1, 1, 1))
    todo = list(
        Publication.objects.filter(
            Q(status=S.PENDING)
            | Q(status=S.FAILED, attempts__lt=settings.PUBLICATION_MAX_ATTEMPTS)
            | Q(status=S.BUILDING, lease_until__lt=now)
            | Q(status=S.BUILDING, lease_until__isnull=True)
        )
        .order_by("period", "scope_key")
        .values_list("pk", flat=True)
    )
    _enqueue_builds(todo)
    notices = 0
    unsent = Publication.objects.filter(
        status=S.READY, notified_at__isnull=True, built_at__gte=now - dt.timedelta(days=7)
    ).values_list("pk", flat=True)
    for pk in unsent:
        try:
            notices += notify_ready(pk)
        except Exception:
            logger.exception("publication %s: the notice e-mail failed again", pk)
    return {"enqueued": len(todo), "notices": notices, "temp_removed": remove_stale_temp_files()}
