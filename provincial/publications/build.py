"""Building a publication, exactly once: claims, builds and the notice e-mail.

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
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, BinaryIO

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from patent_platform import audit, claims
from patent_platform.choices import AuditAction
from provincial.choices import PublicationKind, PublicationStatus
from provincial.models import Publication
from provincial.publications.files import (
    publication_storage,
    relative_dir,
    remove_file,
    remove_other_files,
    stem_prefix,
    write_temp,
)

logger = logging.getLogger(__name__)
S = PublicationStatus
ClaimLost = claims.ClaimLost  # this attempt's claim token no longer matches the row (another attempt, a rebuild)


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
        remove_file(written)
        logger.warning("publication %s: claim %s lost to another attempt; its files removed", publication_id, token)
        return claims.on_fresh_connection(lambda: Publication.objects.select_related("unit").get(pk=publication_id))
    except Exception as exc:
        remove_file(written)
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
    directory = relative_dir(publication)
    stem = f"{stem_prefix(publication)}r{publication.edition}-{token.hex[:8]}"
    buffer = io.BytesIO()
    parts.write_xlsx(buffer)
    data = {"xlsx": buffer.getvalue()}
    temps = {"xlsx": write_temp(directory, f"{stem}.xlsx", data["xlsx"], written)}
    _progress(pk, token, 60)
    data["pdf"] = parts.render_pdf()
    temps["pdf"] = write_temp(directory, f"{stem}.pdf", data["pdf"], written)
    _progress(pk, token, 90)
    _test_pause()
    _progress(pk, token, 95)  # still ours? only then store the final files
    storage = publication_storage()
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
    remove_other_files(publication)


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
