"""Conflicting claims to a patent across filing units (issue 9, item 4).

A patent has no owner field: each filing unit states its own right (`PatentRight`). Two kinds of
inconsistency are flagged to the reviewers (`PatentConflict`, one open row per patent and kind, the
rights involved as its sides):

- MULTIPLE_OWNERS: the patent is claimed as owned by unrelated units —
  * more than one unit holds an owner-side right (owner 专利权人, transferee 受让人, capital contribution
    作价入股: each of these says "the whole patent is ours"), or
  * one unit holds an owner-side right and another unit says it is a co-owner (共有专利权人): a sole
    owner leaves no room for co-owners elsewhere.
  Co-owners among themselves are related by definition (a jointly owned patent) and are never a conflict,
  however many units say so. The sides are every owner-side right, plus the co-owner rights when there is
  an owner-side right.
- LICENCE_WITHOUT_OWNER: a unit is a licensee (被许可人) and no unit on the platform holds an owner-side or
  co-owner right to the patent. The sides are the licensee rights.

`detect(patent_ids)` evaluates a set of patents with a few queries per chunk (all rights of the chunk, the
open conflicts, the last closed ones) and brings the conflicts in line: it opens a conflict, updates the
sides of an open one, or closes it automatically (status resolved, note AUTO_NOTE, no reviewer) when the
condition disappeared. It is idempotent. A conflict that a reviewer closed (resolved or dismissed as "no
conflict") is not reopened while the sides stay the same; a new or different side opens a new conflict.

It runs after every write of a right (`services.patent_right_create`, `patent_right_update`,
`patent_right_delete`, which the pages, the API, the Excel import and the demo call) once the transaction
has committed (`detect_after_commit`), and over every patent with `manage.py detect_conflicts`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from filings.choices import ConflictKind, ConflictStatus, RightKind
from filings.models import PatentConflict, PatentLink, PatentRight
from patent_platform import audit
from patent_platform.choices import AuditAction
from patent_platform.scoping import lock_visible

if TYPE_CHECKING:
    from patent_platform.models import User

logger = logging.getLogger(__name__)

OWNER_SIDE = frozenset({RightKind.OWNER, RightKind.TRANSFEREE, RightKind.CAPITAL})
AUTO_NOTE = "冲突已消除"  # stored as data: the note of a conflict closed by the detection itself
CHUNK = 500


@dataclass
class Result:
    opened: int = 0
    updated: int = 0
    closed: int = 0
    checked: int = 0
    conflicts: list[int] = field(default_factory=list)  # ids of the open conflicts after the run

    def __iadd__(self, other: Result) -> Result:
        self.opened += other.opened
        self.updated += other.updated
        self.closed += other.closed
        self.checked += other.checked
        self.conflicts += other.conflicts
        return self


def sides(rights: Iterable[tuple[int, str]]) -> dict[str, set[int]]:
    """The conflicts of one patent from its rights [(right id, kind)] (one right per unit): {kind: side ids}."""
    owner_side = {pk for pk, kind in rights if kind in OWNER_SIDE}
    co_owners = {pk for pk, kind in rights if kind == RightKind.CO_OWNER}
    licensees = {pk for pk, kind in rights if kind == RightKind.LICENSEE}
    found: dict[str, set[int]] = {}
    if len(owner_side) > 1 or (owner_side and co_owners):
        found[ConflictKind.MULTIPLE_OWNERS] = owner_side | co_owners
    if licensees and not owner_side and not co_owners:
        found[ConflictKind.LICENCE_WITHOUT_OWNER] = licensees
    return found


def _closed_by_reviewer(conflict: PatentConflict) -> bool:
    return conflict.status == ConflictStatus.DISMISSED or (
        conflict.status == ConflictStatus.RESOLVED
        and not (conflict.resolved_by_id is None and conflict.note == AUTO_NOTE)
    )


def _detect_chunk(patent_ids: list[int]) -> Result:
    result = Result(checked=len(patent_ids))
    by_patent: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for pk, patent_id, kind in PatentRight.objects.filter(patent_id__in=patent_ids).values_list(
        "pk", "patent_id", "kind"
    ):
        by_patent[patent_id].append((pk, kind))
    wanted = {(pid, kind): ids for pid in patent_ids for kind, ids in sides(by_patent.get(pid, [])).items()}

    open_rows = {
        (c.patent_id, c.kind): c
        for c in PatentConflict.objects.filter(patent_id__in=patent_ids, status=ConflictStatus.OPEN).prefetch_related(
            "rights"
        )
    }
    # the last closed conflict of each wanted (patent, kind) that has no open one: was it closed by a reviewer?
    last_closed: dict[tuple[int, str], PatentConflict] = {}
    missing = [key for key in wanted if key not in open_rows]
    if missing:
        closed = (
            PatentConflict.objects.filter(patent_id__in={pid for pid, _kind in missing})
            .exclude(status=ConflictStatus.OPEN)
            .order_by("patent_id", "kind", "-resolved_at", "-id")
            .prefetch_related("rights")
        )
        for closed_row in closed:
            last_closed.setdefault((closed_row.patent_id, closed_row.kind), closed_row)

    now = timezone.now()
    for key, stale in open_rows.items():
        if key not in wanted:
            stale.status = ConflictStatus.RESOLVED
            stale.resolved_at = now
            stale.resolved_by = None
            stale.note = AUTO_NOTE
            stale.save(update_fields=["status", "resolved_at", "resolved_by", "note"])
            result.closed += 1
    for key, ids in wanted.items():
        conflict = open_rows.get(key)
        if conflict is not None:
            if {r.pk for r in conflict.rights.all()} != ids:
                conflict.rights.set(ids)
                result.updated += 1
            result.conflicts.append(conflict.pk)
            continue
        previous = last_closed.get(key)
        if previous is not None and _closed_by_reviewer(previous) and {r.pk for r in previous.rights.all()} == ids:
            continue  # a reviewer already looked at exactly these sides
        patent_id, kind = key
        try:
            with transaction.atomic():
                conflict = PatentConflict.objects.create(patent_id=patent_id, kind=kind)
                conflict.rights.set(ids)
            result.opened += 1
        except IntegrityError:  # a concurrent detection opened it first: bring its sides in line
            conflict = PatentConflict.objects.get(patent_id=patent_id, kind=kind, status=ConflictStatus.OPEN)
            conflict.rights.set(ids)
            result.updated += 1
        result.conflicts.append(conflict.pk)
    return result


def detect(patent_ids: Iterable[int]) -> Result:
    """Bring the conflicts of these patents in line with their rights (idempotent)."""
    ids = sorted({int(pk) for pk in patent_ids})
    result = Result()
    for start in range(0, len(ids), CHUNK):
        with transaction.atomic():
            result += _detect_chunk(ids[start : start + CHUNK])
    return result


def candidate_patents() -> list[int]:
    """Every patent that may be in conflict (rights of more than one unit, or a licence) or has an open
    conflict to close: what the full scan checks."""
    shared = (
        PatentRight.objects.order_by()
        .values("patent_id")
        .annotate(units=Count("unit_id"), licences=Count("pk", filter=Q(kind=RightKind.LICENSEE)))
        .filter(Q(units__gt=1) | Q(licences__gt=0))
        .values_list("patent_id", flat=True)
    )
    open_ = PatentConflict.objects.filter(status=ConflictStatus.OPEN).values_list("patent_id", flat=True)
    return sorted(set(shared) | set(open_))


def detect_all() -> Result:
    return detect(candidate_patents())


# ---------------------------------------------------------------------------------------------
# After a write of a right


_PENDING_ATTR = "_conflict_patents_pending"


def _run_pending() -> None:
    pending: set[int] = getattr(connection, _PENDING_ATTR, set())
    if not pending:
        return
    ids = set(pending)
    pending.clear()
    try:
        detect(ids)
    except Exception:  # the write is committed; the daily/full scan repairs what this run missed
        logger.exception("conflict detection failed for patents %s", sorted(ids))


def detect_after_commit(patent_ids: Iterable[Any]) -> None:
    """Check these patents once the current transaction commits (immediately outside one).

    Many writes in one transaction (an Excel import) are checked together, in one `detect` call."""
    pending: set[int] | None = getattr(connection, _PENDING_ATTR, None)
    if pending is None:
        pending = set()
        setattr(connection, _PENDING_ATTR, pending)
    pending.update(int(pk) for pk in patent_ids)
    transaction.on_commit(_run_pending)


# ---------------------------------------------------------------------------------------------
# A reviewer's decision


CLOSING_STATUSES = (ConflictStatus.RESOLVED, ConflictStatus.DISMISSED)


@transaction.atomic
def conflict_close(*, conflict: PatentConflict, user: User, status: str, note: str) -> PatentConflict:
    """A reviewer resolves (handled with the units) or dismisses (verified: no conflict) an open conflict,
    with a note; audited. ValidationError on a missing note or a conflict no longer open."""
    note = (note or "").strip()
    if status not in CLOSING_STATUSES:
        raise ValidationError({"status": _("请选择处理结果。")})
    if not note:
        raise ValidationError({"note": _("请填写处理说明。")})
    if len(note) > 1000:
        raise ValidationError({"note": _("处理说明不能超过 1000 字。")})
    conflict = lock_visible(PatentConflict.objects.all(), user, conflict.pk)
    if conflict.status != ConflictStatus.OPEN:
        raise ValidationError(_("该冲突已处理，无须重复操作。"), code="closed")
    before = conflict.status
    conflict.status = status
    conflict.note = note
    conflict.resolved_at = timezone.now()
    conflict.resolved_by = user
    conflict.save(update_fields=["status", "note", "resolved_at", "resolved_by"])
    audit.audit_event(
        action=AuditAction.TRANSITION,
        obj=conflict,
        changes={"status": [before, status], "note": [None, note]},
        message="patent conflict closed",
        actor=user,
    )
    return conflict


def conflict_open_for_version(*, version: Any, user: User) -> list[PatentConflict]:
    """The open conflicts on the patents of a version, as `user` sees them (the review page's warning)."""
    patent_ids = PatentLink.objects.filter(version=version).values("right__patent_id")
    return list(
        PatentConflict.objects.visible_to(user)
        .filter(status=ConflictStatus.OPEN, patent_id__in=patent_ids)
        .select_related("patent")
        .order_by("patent__number", "kind")
    )
