"""Publications, exactly once: rows, claims, builds, rebuilds and the notice e-mail.

One row per (port, kind, period) exists before any file (`ensure_publications`; the database refuses a
second). Building it:

1. claim: a conditional UPDATE takes the row if it is pending or failed, or building with an expired
   lease, and stores a fresh uuid `claim` token and a lease; whoever updates zero rows does nothing;
2. the figures are computed (through the port's Area: the scoping rule), the XLSX and the PDF stored
   as temporary files in the target directory of Django's storage (the local MEDIA_ROOT or the object
   store: any machine reads them, none needs a shared disk); once the attempt has checked it still holds
   the claim, each is stored whole under its final name (one object written at once, never seen half)
   and its temporary file removed; names carry the revision and the claim, so two attempts never write
   the same final file;
3. the row is marked ready `WHERE pk = … AND claim = <token>`, with the checksums and sizes of the files
   stored; a claimant whose token no longer matches (its lease expired and another took over, or a
   rebuild was requested) removes its own files and stops;
4. on an error the row is marked failed with the error text (again only with the matching token), the
   files of this attempt are removed and the exception re-raised, so the task retries with backoff. A lost
   database connection (the session terminated, PostgreSQL restarted) is closed and the failure recorded
   on a new one (`patent_platform.claims`), and the task is retried within a minute; if even that cannot
   reach the database, the attempt raises `ClaimStillHeld` with its token and the retry re-takes its own
   claim (`build_publication(..., claim=token)`) instead of waiting for the lease.

A worker killed half-way leaves temporary files only (removed by the sweep) and the row building; once
its lease has expired the hourly sweep enqueues it again and the next attempt completes it. Progress
(0–100) is written to the row as the build goes, each step also renewing the lease.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import os
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import PurePosixPath
from typing import Any, BinaryIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patent_platform import audit, claims, clock
from patent_platform.choices import AuditAction, Role
from patent_platform.clock import previous_month  # tests/platform/test_outbox.py reads it here too
from patent_platform.concurrency import Conflict
from patent_platform.roles import require_role
from provincial.choices import PublicationKind, PublicationStatus
from provincial.models import NATIONAL_SCOPE, ManagementUnit, Publication
from provincial.publications import signoff

logger = logging.getLogger(__name__)

EXTENSIONS = ("xlsx", "pdf")
S = PublicationStatus
NATIONAL_ONLY = gettext_lazy("只有国家局管理员可以生成或重新生成数据发布。")


class PublicationError(ValidationError):
    """A request about publications that cannot be carried out (shown to the user)."""


class RebuildConflict(Conflict, PublicationError):
    """A rebuild already asked for and not started: the second request (two clicks at once) is refused."""


ClaimLost = claims.ClaimLost  # this attempt's claim token no longer matches the row (another attempt, a rebuild)


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
def request_rebuild(
    *, user: Any, kind: str, period: dt.date, unit: ManagementUnit | None = None, all_ports: bool = False
) -> list[Publication]:
    """A national administrator rebuilds one period for one port (`unit`; None: the national one) or
    for all: each row goes back to pending with revision + 1 and is built again in the background. The
    old files stay in place (and downloadable) until the new ones replace them; the audit log keeps
    the old revision and checksums."""
    require_role(user, Role.NATIONAL_ADMIN, message=NATIONAL_ONLY)
    period = normalize_period(kind, period)
    _check_period(kind, period)
    # a month a port signed off keeps the edition it signed: reopen it first (with a reason; issue 20)
    signed = signoff.signed_units(period) if kind == PublicationKind.MONTHLY else set()
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
def request_yearend(*, user: Any, year: int) -> list[Publication]:
    """A national administrator asks for the year-end evaluation of `year`: the rows of every open
    port and the national one, the ones not built yet built in the background (a built year is
    refreshed with `request_rebuild`)."""
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


# ---------------------------------------------------------------------------------------------
# Files


def _storage() -> Storage:
    """Where the files live: Django's default storage (the local MEDIA_ROOT in the embedded default, the
    object store when one is configured; never a path, so that any web or worker machine reads them)."""
    return storages["default"]


def _relative_dir(publication: Publication) -> str:
    return f"{settings.PUBLICATION_DIR}/{publication.kind}/{publication.period:%Y-%m}"


def _stem_prefix(publication: Publication) -> str:
    return f"{publication.scope_key}-{publication.kind}-{publication.period:%Y%m}-"


def publication_name(publication: Publication, ext: str) -> str:
    """The storage name of a ready publication's file (`ext`: "xlsx" or "pdf"); 404 if there is none."""
    if ext not in EXTENSIONS:
        raise Http404
    name = getattr(publication, f"{ext}_file")
    if not name or not name.startswith(f"{settings.PUBLICATION_DIR}/") or ".." in name.split("/"):
        raise Http404
    return name


def download_name(publication: Publication, ext: str) -> str:
    """A file name for the user: 广东省-2026年11月-月度备案数据.xlsx; from the second edition on it adds the
    edition of the file served (第2版: the file's r2, the label on the page, in the file and the notice)."""
    who = publication.unit.name if publication.unit_id else _("全国")
    if publication.kind == PublicationKind.MONTHLY:
        period = publication.period
        when = _("%(year)s年%(month)s月") % {"year": period.year, "month": f"{period.month:02d}"}
    else:
        when = _("%(year)s年度") % {"year": publication.period.year}
    parts = [who, when, str(publication.get_kind_display())]
    if (edition := publication.file_edition(ext)) > 1:
        parts.append(_("第%(n)s版") % {"n": edition})
    return "-".join(parts) + f".{ext}"


def open_file(publication: Publication, ext: str) -> File:
    """The file opened for reading from the storage, named for the download; 404 if it is missing there."""
    name = publication_name(publication, ext)
    try:
        handle = _storage().open(name, "rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    return File(handle, name=download_name(publication, ext))


def _write_temp(directory: str, final_name: str, data: bytes, written: list[str]) -> str:
    """Store a temporary file next to its final name (a leading dot, a random part, `.tmp`); recorded in
    `written` before it is stored, so that a failure removes it."""
    name = f"{directory}/.{final_name}.{secrets.token_hex(4)}.tmp"
    written.append(name)
    stored = _storage().save(name, ContentFile(data))
    if stored != name:  # pragma: no cover - the name is random: only a clash of 32 bits renames it
        written.append(stored)
    return stored


def _remove(names: Iterable[str]) -> None:
    storage = _storage()
    for name in names:
        try:
            storage.delete(name)  # a name that is not there is no error
        except Exception:  # pragma: no cover - logged, the sweep tries again
            logger.exception("could not remove %s", name)


def _files_in(directory: str) -> list[str]:
    try:
        return _storage().listdir(directory)[1]
    except FileNotFoundError:
        return []


def _remove_other_files(publication: Publication) -> None:
    """After a publication is ready: remove the files of its earlier revisions and of attempts that
    died after storing a final file; keep the two the row names."""
    directory = _relative_dir(publication)
    keep = {PurePosixPath(publication.xlsx_file).name, PurePosixPath(publication.pdf_file).name}
    prefix = _stem_prefix(publication)
    _remove(f"{directory}/{n}" for n in _files_in(directory) if n.startswith(prefix) and n not in keep)


def remove_stale_temp_files(older_than: dt.timedelta | None = None) -> int:
    """Temporary files left by killed workers (older than a lease); returns how many were removed."""
    storage = _storage()
    root = settings.PUBLICATION_DIR
    age = older_than or dt.timedelta(seconds=settings.PUBLICATION_LEASE_SECONDS)
    cutoff = timezone.now() - age
    try:
        kinds = storage.listdir(root)[0]
    except FileNotFoundError:
        return 0
    stale = []
    for kind in kinds:
        for period in storage.listdir(f"{root}/{kind}")[0]:
            directory = f"{root}/{kind}/{period}"
            for name in _files_in(directory):
                temporary = name.startswith(".") and name.endswith(".tmp")
                if temporary and storage.get_modified_time(f"{directory}/{name}") < cutoff:
                    stale.append(f"{directory}/{name}")
    _remove(stale)
    return len(stale)


# ---------------------------------------------------------------------------------------------
# Building


@dataclass
class Parts:
    """What a build writes: the figures (stored on the row as the snapshot), the XLSX writer and the
    PDF renderer (both called by the build, so their time counts in the progress)."""

    figures: dict[str, Any]
    write_xlsx: Callable[[BinaryIO], Any]
    render_pdf: Callable[[], bytes]


Builder = Callable[[Publication], Parts]


def document_parts(publication: Publication) -> Parts:
    """The figures and documents of helper modules `figures` and `documents` (computed through the
    port's Area, i.e. what the port's administrators see)."""
    from provincial.publications import documents, figures

    unit = publication.unit if publication.unit_id else None
    previous = publication.figures or None  # the snapshot of the edition this build replaces
    if publication.kind == PublicationKind.MONTHLY:
        # the state at the month's end, whenever it is built; the edition and what changed since the last
        data = figures.stamp(
            figures.monthly_figures(unit, publication.period), revision=publication.revision, previous=previous
        )
        return Parts(
            figures=data,
            write_xlsx=lambda fh: documents.write_monthly_xlsx(data, fh),
            render_pdf=lambda: documents.render_monthly_pdf(data),
        )
    cards = figures.stamp(
        figures.yearend_cards(publication.period.year), revision=publication.revision, previous=previous
    )
    return Parts(
        figures=cards,
        write_xlsx=lambda fh: documents.write_yearend_xlsx(cards, fh, unit=unit),
        render_pdf=lambda: documents.render_yearend_pdf(cards, unit=unit),
    )


def _lease() -> dt.timedelta:
    return dt.timedelta(seconds=settings.PUBLICATION_LEASE_SECONDS)


def _claimable(now: dt.datetime) -> Q:
    return (
        Q(status__in=[S.PENDING, S.FAILED])
        | Q(status=S.BUILDING, lease_until__lt=now)
        | Q(status=S.BUILDING, lease_until__isnull=True)
    )


def _on_take(now: dt.datetime) -> dict[str, Any]:
    return {"started_at": now, "progress": 0, "error": ""}


# the exactly-once claim of a row (patent_platform.claims.RowClaim, shared with the subscriptions' deliveries)
CLAIM = claims.RowClaim(model=Publication, claimable=_claimable, lease=_lease, held_status=S.BUILDING, on_take=_on_take)


def _claim(publication: Publication, previous: uuid.UUID | None = None) -> uuid.UUID | None:
    """Take the row with a conditional UPDATE; the token if this call got it, else None. `previous`: the
    token of an ended attempt of this task that could not release its claim (a retry re-takes it)."""
    return CLAIM.take(publication.pk, previous)


def _progress(pk: int, token: uuid.UUID, percent: int) -> None:
    """Record progress and renew the lease; a claimant that lost the row stops here."""
    CLAIM.renew(pk, token, progress=percent)


def _test_pause() -> None:
    """Tests only: hold the build with its temporary files written (a test kills the worker here, or ends
    its connections), for PUBLICATION_TEST_PAUSE seconds or until the file PUBLICATION_TEST_RELEASE exists."""
    seconds = float(getattr(settings, "PUBLICATION_TEST_PAUSE", 0) or 0)
    release = getattr(settings, "PUBLICATION_TEST_RELEASE", "")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if release and os.path.exists(release):
            return
        time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))


def build_publication(
    publication_id: int, *, builder: Builder | None = None, claim: uuid.UUID | str | None = None
) -> Publication:
    """Build one publication exactly once (see the module docstring); returns the row as stored.

    Does nothing if it is ready or another attempt holds a live lease (`claim`: the token of this task's
    ended attempt, re-taken even if its lease is live). On an error the row is marked failed and the
    exception re-raised (the task retries); a claim that cannot be released raises `ClaimStillHeld`."""
    publication = Publication.objects.select_related("unit").get(pk=publication_id)
    if publication.status == S.READY:
        return publication
    previous = uuid.UUID(str(claim)) if claim else None
    before = {"status": publication.status, "claim": publication.claim, "lease_until": publication.lease_until}
    token = _claim(publication, previous)
    if token is None:
        publication.refresh_from_db()
        return publication
    written: list[str] = []
    try:
        publication.refresh_from_db()
        if before["status"] != S.BUILDING:
            how = "publication build"
        elif previous is not None and before["claim"] == previous:
            how = "publication build retried (the claim its failed attempt could not release)"
        else:
            how = "publication build taken over (lease expired)"
        audit.audit_event(
            action=AuditAction.TRANSITION,
            obj=publication,
            changes={
                "status": [before["status"], S.BUILDING],
                "attempts": publication.attempts,
                "revision": publication.revision,
                "claim": [before["claim"], token],
            },
            message=how,
        )
        ready = _build(publication, token, builder or document_parts, written)
    except ClaimLost:
        _remove(written)
        logger.warning("publication %s: claim %s lost to another attempt; its files removed", publication_id, token)
        return claims.on_fresh_connection(lambda: Publication.objects.select_related("unit").get(pk=publication_id))
    except Exception as exc:
        _remove(written)
        try:
            # a lost connection cannot record anything: the failure is recorded on a new one
            owned = claims.on_fresh_connection(partial(_mark_failed, publication_id, token, exc))
        except claims.DB_ERRORS as db_exc:
            logger.error(
                "publication %s: the failure of claim %s could not be recorded (%s); the retry re-takes it",
                publication_id,
                token,
                db_exc,
            )
            raise claims.ClaimStillHeld("claim", str(token)) from exc
        if owned:
            raise
        return claims.on_fresh_connection(lambda: Publication.objects.select_related("unit").get(pk=publication_id))
    return ready


def _build(publication: Publication, token: uuid.UUID, builder: Builder, written: list[str]) -> Publication:
    pk = publication.pk
    _progress(pk, token, 5)
    parts = builder(publication)
    # the moment the figures were read (the files print the same one)
    read_at = parts.figures.get("data_as_of") if isinstance(parts.figures, dict) else None
    data_as_of = dt.datetime.fromisoformat(read_at) if isinstance(read_at, str) else timezone.now()
    _progress(pk, token, 30)
    directory = _relative_dir(publication)
    stem = f"{_stem_prefix(publication)}r{publication.edition}-{token.hex[:8]}"
    buffer = io.BytesIO()
    parts.write_xlsx(buffer)
    data = {"xlsx": buffer.getvalue()}
    temps = {"xlsx": _write_temp(directory, f"{stem}.xlsx", data["xlsx"], written)}
    _progress(pk, token, 60)
    data["pdf"] = parts.render_pdf()
    temps["pdf"] = _write_temp(directory, f"{stem}.pdf", data["pdf"], written)
    _progress(pk, token, 90)
    _test_pause()
    _progress(pk, token, 95)  # still ours? only then store the final files
    storage = _storage()
    fields: dict[str, Any] = {}
    for ext in ("xlsx", "pdf"):
        final = f"{directory}/{stem}.{ext}"
        written.append(final)
        # one object written whole (no reader sees half of it); the name carries the claim, so no other
        # attempt writes it
        stored = storage.save(final, ContentFile(data[ext]))
        written.append(stored)
        storage.delete(temps[ext])
        fields[f"{ext}_file"] = stored
        fields[f"{ext}_sha256"] = hashlib.sha256(data[ext]).hexdigest()
        fields[f"{ext}_size"] = len(data[ext])
    return _mark_ready(pk, token, fields, parts.figures, data_as_of)


def _mark_ready(
    pk: int, token: uuid.UUID, fields: dict[str, Any], figures: dict[str, Any], data_as_of: dt.datetime
) -> Publication:
    with transaction.atomic():
        row = CLAIM.lock(pk, token)
        before = audit.snapshot(row, ["xlsx_sha256", "pdf_sha256", "xlsx_file", "pdf_file", "built_at"])
        for name, value in fields.items():
            setattr(row, name, value)
        row.status = S.READY
        row.progress = 100
        row.error = ""
        row.figures = figures
        row.data_as_of = data_as_of
        row.built_at = timezone.now()
        row.lease_until = None
        row.save(
            update_fields=[
                *fields,
                "status",
                "progress",
                "error",
                "figures",
                "data_as_of",
                "built_at",
                "lease_until",
            ]
        )
        audit.audit_event(
            action=AuditAction.TRANSITION,
            obj=row,
            changes={
                "status": [S.BUILDING, S.READY],
                "revision": row.revision,
                "attempts": row.attempts,
                **{name: [before[name], getattr(row, name)] for name in before},
                "xlsx_size": row.xlsx_size,
                "pdf_size": row.pdf_size,
            },
            message="publication ready",
        )
        notify_ready(pk)  # the notice is written to the outbox with the ready row, or neither is
        transaction.on_commit(partial(_after_ready, pk))
    return Publication.objects.select_related("unit").get(pk=pk)


def _after_ready(pk: int) -> None:
    publication = Publication.objects.select_related("unit").get(pk=pk)
    if publication.status != S.READY:
        return
    _remove_other_files(publication)


def _mark_failed(pk: int, token: uuid.UUID, exc: BaseException) -> bool:
    """Failed, with the error, if this attempt still owns the row; True if it did."""
    error = f"{type(exc).__name__}: {exc}"[:4000]
    with transaction.atomic():
        updated = CLAIM.release(pk, token, status=S.FAILED, error=error)
        if updated:
            row = Publication.objects.get(pk=pk)
            audit.audit_event(
                action=AuditAction.TRANSITION,
                obj=row,
                changes={"status": [S.BUILDING, S.FAILED], "attempts": row.attempts, "error": error},
                message="publication build failed",
                success=False,
            )
    logger.error("publication %s: build failed (attempt owned: %s): %s", pk, bool(updated), error)
    return bool(updated)


# ---------------------------------------------------------------------------------------------
# Delivery


def notify_ready(publication_id: int) -> int:
    """Write the notice of a ready publication to the outbox once (notified_at: when it was written; the
    outbox sends it and retries); returns the number of messages."""
    from provincial.publications.mail import queue_publication_notice

    now = timezone.now()
    with transaction.atomic():
        taken = Publication.objects.filter(pk=publication_id, status=S.READY, notified_at__isnull=True).update(
            notified_at=now
        )
        if not taken:
            return 0
        publication = Publication.objects.select_related("unit").get(pk=publication_id)
        recipients = queue_publication_notice(publication)
        audit.audit_event(
            action=AuditAction.UPDATE,
            obj=publication,
            changes={"notified_at": [None, now], "recipients": len(recipients)},
            message="publication notice queued",
        )
    return len(recipients)


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
