"""The open flags of filed versions, as the verification API reports them: one function, `open_flags`.

A flag is something the platform has found that an office paying on a filing should know: today a linked
patent that lapsed, expired or was invalidated after approval (filings/drift.py: `FilingFlag`), and a patent
claimed inconsistently across units (filings/conflicts.py: `PatentConflict`, reported on the versions that
link the patent), implausible figures of the submission and the unit's listing on a credit list
(filings/checks.py: `open_flags`). Each kind is one *source*: a function `(version_ids, moment) ->
[(version_id, flag)]`; another kind of flag is one more function in `SOURCES`.

"Open" is at a moment: raised before it and not resolved before it, the same reading as the dashboards' flagged
figures as of a date (provincial.dashboards.flagged_at). The filings asked about are already in the caller's scope;
the flags are read for exactly those versions, whoever the caller (a conflict's other side is never named).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from django.db.models import Q
from django.utils import timezone

from filings.choices import ConflictStatus
from filings.models import FilingFlag, PatentConflict, PatentLink

Flag = dict[str, Any]
Source = Callable[[list[int], dt.datetime], Iterable[tuple[int, Flag]]]


def _local_date(value: dt.datetime | None) -> str | None:
    return timezone.localtime(value).date().isoformat() if value else None


def patent_status_flags(version_ids: list[int], moment: dt.datetime) -> Iterable[tuple[int, Flag]]:
    """A linked patent no longer valid (the legal-status import raised it on the approved version)."""
    flags = (
        FilingFlag.objects.filter(version_id__in=version_ids, raised_at__lt=moment)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=moment))
        .select_related("patent")
        .order_by("raised_at", "pk")
    )
    for flag in flags:
        yield (
            flag.version_id,
            {
                "kind": "patent_status",
                "code": flag.legal_status,
                "message": str(flag.get_legal_status_display()),
                "patent": flag.patent.number,
                "since": _local_date(flag.raised_at),
            },
        )


def patent_conflict_flags(version_ids: list[int], moment: dt.datetime) -> Iterable[tuple[int, Flag]]:
    """A linked patent claimed inconsistently across units (open at the moment)."""
    links = PatentLink.objects.filter(version_id__in=version_ids).values_list("version_id", "right__patent_id")
    versions_of: dict[int, list[int]] = defaultdict(list)
    for version_id, patent_id in links:
        versions_of[patent_id].append(version_id)
    if not versions_of:
        return
    conflicts = (
        PatentConflict.objects.filter(patent_id__in=list(versions_of), detected_at__lt=moment)
        .filter(Q(status=ConflictStatus.OPEN) | Q(resolved_at__gte=moment))
        .select_related("patent")
        .order_by("detected_at", "pk")
    )
    for conflict in conflicts:
        for version_id in versions_of[conflict.patent_id]:
            yield (
                version_id,
                {
                    "kind": "patent_conflict",
                    "code": conflict.kind,
                    "message": str(conflict.get_kind_display()),
                    "patent": conflict.patent.number,
                    "since": _local_date(conflict.detected_at),
                },
            )


def check_flags(version_ids: list[int], moment: dt.datetime) -> Iterable[tuple[int, Flag]]:
    """The plausibility flags of the run current at the moment, and the credit lists the unit was on then
    (filings.checks.open_flags: the one reading of those flags, the review page's too)."""
    from filings.checks import open_flags as checks_open_flags

    for version_id, flags in checks_open_flags(version_ids, moment).items():
        for flag in flags:
            item: Flag = {
                "kind": flag.kind,
                "code": flag.rule,
                "message": str(flag.label) if flag.kind == "plausibility" else flag.message,
                "since": _local_date(flag.since),
            }
            if flag.kind == "plausibility":
                item.update(
                    detail=flag.message,
                    figure=None if flag.figure is None else str(flag.figure),
                    comparison=None if flag.comparison is None else str(flag.comparison),
                    threshold=None if flag.threshold is None else str(flag.threshold),
                )
            yield version_id, item


SOURCES: list[Source] = [patent_status_flags, patent_conflict_flags, check_flags]


def open_flags(version_ids: Iterable[int], moment: dt.datetime | None = None) -> dict[int, list[Flag]]:
    """{version id: [flag, …]} of every source, open at `moment` (now by default); a version without flags is
    absent."""
    ids = sorted(set(version_ids))
    moment = moment or timezone.now()
    found: dict[int, list[Flag]] = defaultdict(list)
    if not ids:
        return found
    for source in SOURCES:
        for version_id, flag in source(ids, moment):
            found[version_id].append(flag)
    return found
