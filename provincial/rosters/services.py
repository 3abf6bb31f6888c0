"""Saving and deleting rosters: a checked file saved in one transaction (or nothing), merged into an existing
roster of the same owner, category and year, imported in the background (`RosterImport`), deleted."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import IO, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patent_platform import audit, clock, jobs
from patent_platform.choices import AuditAction, RegionLevel, Role
from patent_platform.models import User
from patent_platform.roles import has_role
from patent_platform.scoping import Scope
from provincial.choices import RosterCategory
from provincial.models import ManagementUnit, PortMembership, Roster, RosterEntry, RosterUpload
from provincial.rosters.files import ParsedEntry, RosterImportError, parse_roster, validate_year

ROSTER_ADMINS = frozenset({Role.NATIONAL_ADMIN, Role.PORT_ADMIN})


def unit_scope(unit: ManagementUnit) -> Scope:
    """The regions of a management unit as a Scope (province units by province code, city units by city
    code, XPCC by its county-level cities)."""
    regions = list(unit.regions.all())
    return Scope(
        province_codes=frozenset(r.code for r in regions if r.level == RegionLevel.PROVINCE),
        city_codes=frozenset(r.code for r in regions if r.level == RegionLevel.CITY),
        county_codes=frozenset(r.code for r in regions if r.level == RegionLevel.COUNTY),
    )


def port_of(user: User) -> ManagementUnit | None:
    """The management unit of a port administrator (None for anyone else)."""
    pk = getattr(user, "pk", None)
    if pk is None:  # no row has no user
        return None
    membership = PortMembership.objects.filter(user_id=pk).select_related("unit").first()
    return membership.unit if membership else None


def new_entry(roster: Roster, parsed: ParsedEntry) -> RosterEntry:
    """The roster's row for an entry read from its file (a new roster, or an entry a merge adds)."""
    return RosterEntry(
        roster=roster,
        uscc=parsed.uscc,
        name=parsed.name,
        province_code=parsed.province_code,
        city_code=parsed.city_code,
        county_code=parsed.county_code,
        contact_name=parsed.contact_name,
        contact_phone=parsed.contact_phone,
        contact_email=parsed.contact_email,
    )


def roster_save(
    *,
    user: User,
    owner: ManagementUnit | None,
    category: str,
    year: int,
    title: str,
    source_name: str,
    entries: Iterable[ParsedEntry],
) -> Roster:
    entries = list(entries)
    roster = Roster.objects.create(
        category=category,
        year=year,
        title=title,
        owner=owner,
        source_name=source_name[-200:],
        entry_count=len(entries),
        uploaded_by=user if getattr(user, "is_authenticated", False) else None,
    )
    RosterEntry.objects.bulk_create(
        [new_entry(roster, e) for e in entries],
        batch_size=1000,
    )
    audit.audit_event(action=AuditAction.CREATE, obj=roster, actor=user, message="roster upload")
    audit.audit_bulk(
        action=AuditAction.IMPORT,
        model=RosterEntry,
        ids=roster.entries.order_by("id").values_list("id", flat=True),
        message=f"roster {roster.pk}: {title} ({source_name})",
    )
    return roster


class DuplicateRoster(ValidationError):
    """A roster of the same owner, category and year exists: the upload is refused unless the uploader confirms
    merging into it (`roster`)."""

    def __init__(self, roster: Roster) -> None:
        self.roster = roster
        super().__init__(
            _(
                "已有同一%(owner)s、同一类别和年度的名单“%(title)s”（%(count)s 家企业，%(date)s 上传）。"
                "同一名单不重复上传：可以确认合并到该名单（每个统一社会信用代码保留一行，新文件中的企业名称"
                "和联系人覆盖原有的），或取消上传。"
            )
            % {
                "owner": _("端口") if roster.owner_id else _("全国（国家局）"),
                "title": roster.title,
                "count": roster.entry_count,
                "date": timezone.localtime(roster.uploaded_at, clock.CHINA_TZ).date().isoformat(),
            },
            code="roster_duplicate",
        )


def duplicate_of(*, owner: ManagementUnit | None, category: str, year: int) -> Roster | None:
    """The roster an upload would duplicate: the same owner (the same port, or both national), category and
    year — whatever its title or rows (docs/PORTS.md: one roster per port, category and year; a later file of
    the same list is merged into it)."""
    return Roster.objects.filter(owner=owner, category=category, year=year).order_by("id").first()


def _check_duplicate(*, owner: ManagementUnit | None, category: str, year: int, merge_into: Roster | None) -> None:
    existing = duplicate_of(owner=owner, category=category, year=year)
    if merge_into is not None and (existing is None or merge_into.pk != existing.pk):
        raise ValidationError(
            _("要合并的名单已不存在或不是同一端口、类别和年度的名单，请重新上传。"), code="roster_merge_target"
        )
    if existing is not None and merge_into is None:
        raise DuplicateRoster(existing)


def _merge_roster(*, roster: Roster, user: User, source_name: str, entries: Iterable[ParsedEntry]) -> dict[str, int]:
    """Merge the parsed rows into `roster`: one row per USCC — a USCC already there takes the new name and the
    contact cells the new file fills in; a new USCC is added. Returns the counts added and updated."""
    entries = list(entries)
    roster = Roster.objects.select_for_update().get(pk=roster.pk)
    existing = {e.uscc: e for e in roster.entries.filter(uscc__in=[p.uscc for p in entries])}
    added, updated = [], []
    for parsed in entries:
        entry = existing.get(parsed.uscc)
        if entry is None:
            added.append(new_entry(roster, parsed))
            continue
        entry.name = parsed.name
        for field in ("contact_name", "contact_phone", "contact_email"):
            if getattr(parsed, field):
                setattr(entry, field, getattr(parsed, field))
        updated.append(entry)
    RosterEntry.objects.bulk_create(added, batch_size=1000)
    RosterEntry.objects.bulk_update(
        updated, ["name", "contact_name", "contact_phone", "contact_email"], batch_size=1000
    )
    before = roster.entry_count
    roster.entry_count = roster.entries.count()
    roster.save(update_fields=["entry_count"])
    audit.audit_event(
        action=AuditAction.UPDATE,
        obj=roster,
        actor=user,
        changes={"entries": [before, roster.entry_count], "added": len(added), "updated": len(updated)},
        message=f"roster merge ({source_name})",
    )
    if added:
        audit.audit_bulk(
            action=AuditAction.IMPORT,
            model=RosterEntry,
            ids=[e.pk for e in roster.entries.filter(uscc__in=[e.uscc for e in added]).order_by("id")],
            message=f"roster {roster.pk}: merged from {source_name}",
        )
    if updated:
        audit.audit_bulk(
            action=AuditAction.UPDATE,
            model=RosterEntry,
            ids=[e.pk for e in updated],
            message=f"roster {roster.pk}: merged from {source_name}",
        )
    return {"added": len(added), "updated": len(updated)}


UPLOAD_REFUSED = gettext_lazy("只有国家局管理员和管理端口管理员可以上传名单。")


def _owner_and_scope(user: User) -> tuple[ManagementUnit | None, Scope | None]:
    """Whose roster an upload of `user` makes, and the scope its enterprises must lie in: a national
    administrator's is national (no owner, no limit); a port administrator's is its port's."""
    if has_role(user, Role.NATIONAL_ADMIN):
        return None, None
    if has_role(user, Role.PORT_ADMIN) and (owner := port_of(user)) is not None:
        return owner, unit_scope(owner)
    raise PermissionDenied(UPLOAD_REFUSED)


def _checked_fields(category: str, year: int, title: str) -> str:
    if category not in RosterCategory.values:
        raise ValidationError({"category": _("请选择名单类别。")})
    validate_year(year)
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": _("请填写名单名称。")})
    return title


@transaction.atomic
def roster_import(
    *,
    user: User,
    category: str,
    year: int,
    title: str,
    file: IO[bytes],
    source_name: str = "",
    merge: bool = False,
) -> Roster:
    """Check the file and save the roster with all its entries, or nothing (RosterImportError), at once —
    for commands and tests; the pages upload through `roster_upload_create` and the job runner.

    A national administrator uploads a national roster (owner empty); a port administrator uploads
    its port's roster, whose enterprises must all lie inside the port's scope. A roster of the same owner,
    category and year is refused (DuplicateRoster), or with `merge` the file is merged into it."""
    title = _checked_fields(category, year, title)
    owner, scope = _owner_and_scope(user)
    existing = duplicate_of(owner=owner, category=category, year=year)
    _check_duplicate(owner=owner, category=category, year=year, merge_into=existing if merge else None)
    entries = parse_roster(file, scope=scope)
    if existing is not None:
        _merge_roster(roster=existing, user=user, source_name=source_name, entries=entries)
        existing.refresh_from_db()
        return existing
    return roster_save(
        user=user, owner=owner, category=category, year=year, title=title, source_name=source_name, entries=entries
    )


def roster_upload_create(
    *, user: User, category: str, year: int, title: str, file: Any, merge_into: int | None = None
) -> RosterUpload:
    """Store an uploaded roster as a queued job (checked and saved by the worker, `run_roster_upload`);
    the task is enqueued once the job is committed. A roster of the same owner, category and year already
    there refuses it (DuplicateRoster, naming that roster) unless `merge_into` is that roster's id: the
    uploader confirmed the merge."""
    from provincial.tasks import run_roster_upload

    title = _checked_fields(category, year, title)
    owner, _scope = _owner_and_scope(user)
    target = None
    if merge_into is not None:
        target = Roster.objects.filter(pk=merge_into).first()
        if target is None:
            raise ValidationError(_("要合并的名单已不存在，请重新上传。"), code="roster_merge_target")
    _check_duplicate(owner=owner, category=category, year=year, merge_into=target)
    with transaction.atomic():
        job = RosterUpload(
            original_name=(getattr(file, "name", "") or "roster.xlsx")[-200:],
            created_by=user,
            category=category,
            year=year,
            title=title,
            owner=owner,
            merge_into=target,
        )
        job.file.save("roster.xlsx", file, save=False)
        job.save()
        audit.audit_event(action=AuditAction.CREATE, obj=job, actor=user, message="roster upload")
        transaction.on_commit(lambda: run_roster_upload.delay(job.pk))
    return job


class RosterImport(jobs.Importer[RosterUpload]):
    """The rules of a roster upload; patent_platform.jobs runs the job (claim, progress, all or nothing)."""

    model = RosterUpload
    name = "roster upload"
    related = ("created_by", "owner", "merge_into")
    progress_every = 500
    max_errors = 5000

    def check(self, job: RosterUpload, data: bytes, progress: jobs.Progress) -> jobs.Checked:
        scope = unit_scope(job.owner) if job.owner is not None else None
        try:
            entries = parse_roster(io.BytesIO(data), scope=scope, progress=progress)
        except RosterImportError as exc:
            return jobs.Checked(rows=[], errors=[e.as_dict() for e in exc.errors])
        return jobs.Checked(rows=entries)

    def apply(self, job: RosterUpload, rows: list[ParsedEntry]) -> dict[str, Any]:
        user = job.created_by
        try:
            if user is None:  # the uploader's account is gone: refused as an uploader without the role
                raise PermissionDenied(UPLOAD_REFUSED)
            owner, _scope = _owner_and_scope(user)
        except PermissionDenied as exc:
            raise jobs.JobError(_("上传人已不能上传名单，未导入：%(reason)s") % {"reason": exc}) from exc
        if owner != job.owner:
            raise jobs.JobError(_("上传人已不是该端口的管理员，未导入。"))
        try:  # again at the moment of saving: another upload may have made the roster meanwhile
            _check_duplicate(owner=owner, category=job.category, year=job.year, merge_into=job.merge_into)
        except ValidationError as exc:
            raise jobs.JobError(" ".join(exc.messages)) from exc
        if job.merge_into is not None:
            counts = _merge_roster(roster=job.merge_into, user=user, source_name=job.original_name, entries=rows)
            roster = Roster.objects.get(pk=job.merge_into.pk)
            merged = _("已合并到名单“%(title)s”：新增 %(added)s 家企业，更新 %(updated)s 家，合并后共 %(count)s 家。")
            message = merged % {
                "title": roster.title,
                "count": roster.entry_count,
                **counts,
            }
            return {"roster": roster, "entry_count": roster.entry_count, "message": message}
        roster = roster_save(
            user=user,
            owner=owner,
            category=job.category,
            year=job.year,
            title=job.title,
            source_name=job.original_name,
            entries=rows,
        )
        message = _("已导入名单“%(title)s”：%(count)s 家企业。") % {"title": roster.title, "count": roster.entry_count}
        return {"roster": roster, "entry_count": roster.entry_count, "message": message}


ROSTER_IMPORT = RosterImport()


def run_roster_upload(job_id: int, *, will_retry: bool = False) -> str:
    return jobs.run_job(ROSTER_IMPORT, job_id, will_retry=will_retry)


def can_delete(user: User, roster: Roster) -> bool:
    """National administrators delete any roster; a port administrator deletes its own port's rosters."""
    role = getattr(user, "role", None)
    if role == Role.NATIONAL_ADMIN:
        return True
    if role == Role.PORT_ADMIN and roster.owner_id is not None:
        unit = port_of(user)
        return unit is not None and unit.pk == roster.owner_id
    return False


@transaction.atomic
def roster_delete(*, roster: Roster, user: User) -> None:
    if not can_delete(user, roster):
        raise PermissionDenied(_("只能删除本端口上传的名单；全国名单由国家局维护。"))
    ids = list(roster.entries.values_list("id", flat=True))
    audit.audit_event(
        action=AuditAction.DELETE,
        obj=roster,
        actor=user,
        changes={"category": [roster.category, None], "year": [roster.year, None], "entries": [len(ids), 0]},
    )
    roster.delete()
