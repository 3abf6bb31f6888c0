"""Target rosters (重点企业名单) and their coverage.

Services: parse an uploaded roster (an Excel sheet of USCCs and names), check every row and save it in
one transaction, or save nothing; delete a roster. Selectors: the coverage figures that the pages, the
Excel exports and the API share, so the three always agree.

Scope: a user sees the rosters of `Roster.objects.visible_to` and, of those, the entries of
`RosterEntry.objects.visible_to` (by the region in the entry's USCC, characters 3–8): a province port
sees only its own enterprises on a national roster. An entry counts as covered when a filing unit with
the same USCC has at least one approved product (`Product.published_version` set) — a fact about the
in-scope enterprise itself, checked with one EXISTS per entry.

Rosters are dated reference data uploaded by the administrators; no enterprise list is hard-coded.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import IO, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Count, Exists, Max, Min, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from filings.choices import EDITABLE_STATUSES, PENDING_STATUSES, FilingStatus
from filings.identifiers import build_uscc, validate_uscc
from filings.models import FilingUnit, Product, ProductVersion
from patent_platform import audit, clock, jobs, tabular
from patent_platform.choices import AuditAction, RegionLevel, Role
from patent_platform.clock import china_today
from patent_platform.i18n import localized_name
from patent_platform.models import Region
from patent_platform.roles import has_role
from patent_platform.scoping import Scope
from patent_platform.validators import validate_contact_phone
from provincial.choices import RosterCategory, UnitKind
from provincial.models import ManagementUnit, PortMembership, Roster, RosterEntry, RosterUpload

HEADER_USCC = "统一社会信用代码"
HEADER_NAME = "企业名称"
HEADER_CONTACT = "联系人"
HEADER_PHONE = "联系电话"
HEADER_EMAIL = "电子邮箱"
# The contact columns are optional (a file of the old two-column template is still accepted), and so is each cell.
ROSTER_COLUMNS = (
    tabular.Column("uscc", HEADER_USCC, required=True),
    tabular.Column("name", HEADER_NAME, required=True),
    tabular.Column("contact_name", HEADER_CONTACT, aliases=("联系人姓名",)),
    tabular.Column("contact_phone", HEADER_PHONE, aliases=("电话", "手机", "联系方式")),
    tabular.Column("contact_email", HEADER_EMAIL, aliases=("邮箱", "联系邮箱", "E-mail", "Email")),
)
MAX_ROWS = 50_000
FIRST_YEAR = 2000
ROSTER_ADMINS = frozenset({Role.NATIONAL_ADMIN, Role.PORT_ADMIN})


# ---------------------------------------------------------------------------------------------------------------
# Parsing and saving


RowError = tabular.Problem  # (row, column, message): "" for the row's USCC and name, the header for a contact cell


@dataclass(frozen=True)
class ParsedEntry:
    row: int
    uscc: str
    name: str
    province_code: str
    city_code: str
    county_code: str
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""


class RosterImportError(Exception):
    """The uploaded roster has errors; nothing was saved."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        super().__init__(f"{len(errors)} errors")
        self.errors = list(errors)


def port_of(user: Any) -> ManagementUnit | None:
    """The management unit of a port administrator (None for anyone else)."""
    membership = PortMembership.objects.filter(user_id=getattr(user, "pk", None)).select_related("unit").first()
    return membership.unit if membership else None


def build_template() -> bytes:
    """The Excel template: one sheet with the two header cells, and a sheet explaining them."""
    template = tabular.TemplateBook(_("名单"))
    template.header(ROSTER_COLUMNS, styled=False)
    for number, width in ((1, 24), (2, 40), (3, 14), (4, 18), (5, 30)):
        template.column(number, width=width)
    notes = template.sheet(_("说明"), widths={"A": 100})
    for line in (
        _("第一个工作表的第一行为列名：统一社会信用代码、企业名称（列的顺序不限），从第二行起每行一家企业。"),
        _(
            "联系人、联系电话、电子邮箱三列可以不填，也可以删去（只有前两列的旧模板仍可上传）；填写时平台校验"
            "电话（手机号码或带区号的固定电话）和电子邮箱的格式。名单中的邮箱用于向未注册的企业发送注册邀请。"
        ),
        _("统一社会信用代码为 18 位，平台逐行校验其校验位；同一文件中不能重复。"),
        _("企业所属地区由统一社会信用代码第 3–8 位（登记管理机关行政区划码）确定。"),
        _("管理端口上传的名单只能包含本端口管辖范围内的企业。"),
        _("任何一行有错误时整份名单都不会导入，请按错误提示修改后重新上传。"),
    ):
        notes.append([line])
    return template.to_bytes()


def region_of(uscc: str, known: set[str] | frozenset[str]) -> tuple[str, str, str] | None:
    """(province, city, county) of the registering authority in a USCC (characters 3–8), or None.

    A code that is not in GB/T 2260 (a retired or renamed county, say) falls back to its province."""
    code = uscc[2:8]
    if code in known:
        return Region.codes_for(code)
    province = code[:2] + "0000"
    if province in known:
        return province, "", ""
    return None


def _most_specific(codes: tuple[str, str, str]) -> str:
    province, city, county = codes
    return county or city or province


def parse_roster(
    file: IO[bytes], *, scope: Scope | None = None, progress: jobs.Progress | None = None
) -> list[ParsedEntry]:
    """Read and check every row of the first sheet; raise RosterImportError listing all the errors.

    `scope`: for a port's roster, every enterprise must lie inside it (None: a national roster)."""
    problems = tabular.Problems()
    try:
        with tabular.open_table(
            file.read(), unreadable=_("无法读取 Excel 文件：文件已损坏或不是 .xlsx 格式。")
        ) as table:
            entries = _read_entries(table, problems, scope, progress)
    except tabular.FileError as exc:
        raise RosterImportError([RowError(0, "", exc.error["message"])]) from exc
    if problems:
        raise RosterImportError(problems.items)
    if not entries:
        raise RosterImportError([RowError(2, "", _("文件中没有企业数据：请从第二行起每行填写一家企业。"))])
    return entries


def _read_entries(
    table: tabular.Table, problems: tabular.Problems, scope: Scope | None, progress: jobs.Progress | None = None
) -> list[ParsedEntry]:
    header = next(table.rows, (1, ()))[1]
    match = tabular.match_header(header or (), ROSTER_COLUMNS, prefer="first")
    if match.missing:
        message = _("表头缺少列：%(missing)s。第一个工作表的第一行应为列名“%(uscc)s”和“%(name)s”。") % {
            "missing": "、".join(match.missing),
            "uscc": HEADER_USCC,
            "name": HEADER_NAME,
        }
        raise RosterImportError([RowError(1, "", message)])
    known = set(Region.objects.values_list("code", flat=True))
    entries: list[ParsedEntry] = []
    seen: dict[str, int] = {}
    body = list(itertools.islice(table.rows, MAX_ROWS + 1))  # one more than allowed: the row that says so
    if progress is not None:
        progress.total(len(body))
    for done, (number, values) in enumerate(body, start=1):
        if progress is not None:
            progress.row(done)
        raw_uscc, name, *contact = (tabular.text(v) for v in match.project(values))
        if not raw_uscc and not name and not any(contact):
            continue  # a blank line
        if number - 1 > MAX_ROWS:
            problems.add(number, "", _("名单过长：一次最多导入 %(max)s 家企业。") % {"max": MAX_ROWS})
            break
        entry, row_errors = _check_entry(number, raw_uscc, name, known=known, seen=seen, scope=scope)
        for message in row_errors:
            problems.add(number, "", message)
        checked_contact, contact_errors = check_contact(*contact)
        for column, message in contact_errors:
            problems.add(number, column, message)
        if entry is not None and not contact_errors:
            entries.append(replace(entry, **checked_contact))
    return entries


def check_contact(name: str = "", phone: str = "", email: str = "") -> tuple[dict[str, str], list[tuple[str, str]]]:
    """A roster row's contact, each cell optional: the cleaned values, and (column header, message) per bad cell."""
    errors: list[tuple[str, str]] = []
    name, phone, email = (name or "").strip(), (phone or "").strip(), (email or "").strip()
    if len(name) > 50:
        errors.append((HEADER_CONTACT, _("联系人过长：最多 50 个字符。")))
    if phone:
        try:
            phone = validate_contact_phone(phone)
        except ValidationError as exc:
            errors.extend((HEADER_PHONE, str(m)) for m in exc.messages)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors.append((HEADER_EMAIL, _("电子邮箱格式不正确：%(email)s") % {"email": email[:100]}))
        if len(email) > 254:
            errors.append((HEADER_EMAIL, _("电子邮箱过长：最多 254 个字符。")))
    return {"contact_name": name, "contact_phone": phone, "contact_email": email.lower()}, errors


def _check_entry(
    number: int, raw_uscc: str, name: str, *, known: set[str], seen: dict[str, int], scope: Scope | None
) -> tuple[ParsedEntry | None, list[str]]:
    """One row: its entry, or the reasons it has none (`seen`: the USCCs of the rows before, updated)."""
    row_errors: list[str] = []
    uscc = ""
    if not raw_uscc:
        row_errors.append(_("缺少统一社会信用代码。"))
    else:
        try:
            uscc = validate_uscc(raw_uscc)
        except ValidationError as exc:
            row_errors.extend(str(m) for m in exc.messages)
    if not name:
        row_errors.append(_("缺少企业名称。"))
    elif len(name) > 200:
        row_errors.append(_("企业名称过长：最多 200 个字符。"))
    codes = None
    if uscc:
        if uscc in seen:
            row_errors.append(_("统一社会信用代码 %(uscc)s 与第 %(row)s 行重复。") % {"uscc": uscc, "row": seen[uscc]})
        else:
            seen[uscc] = number
        codes = region_of(uscc, known)
        if codes is None:
            row_errors.append(
                _("统一社会信用代码 %(uscc)s 的行政区划码 %(code)s 不在 GB/T 2260 中，无法确定企业所属地区。")
                % {"uscc": uscc, "code": uscc[2:8]}
            )
        elif scope is not None and not scope.covers_region(_most_specific(codes)):
            row_errors.append(_("不在本端口管辖范围：%(uscc)s（%(name)s）。") % {"uscc": uscc, "name": name})
    if row_errors or codes is None:
        return None, row_errors
    return ParsedEntry(number, uscc, name, *codes), []


def validate_year(year: int) -> None:
    last = china_today().year + 1
    if not FIRST_YEAR <= year <= last:
        raise ValidationError(
            _("年度应在 %(first)s 至 %(last)s 之间。") % {"first": FIRST_YEAR, "last": last}, code="roster_year"
        )


def save_roster(
    *,
    user: Any,
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
        [
            RosterEntry(
                roster=roster,
                uscc=e.uscc,
                name=e.name,
                province_code=e.province_code,
                city_code=e.city_code,
                county_code=e.county_code,
                contact_name=e.contact_name,
                contact_phone=e.contact_phone,
                contact_email=e.contact_email,
            )
            for e in entries
        ],
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


def _merge_roster(*, roster: Roster, user: Any, source_name: str, entries: Iterable[ParsedEntry]) -> dict[str, int]:
    """Merge the parsed rows into `roster`: one row per USCC — a USCC already there takes the new name and the
    contact cells the new file fills in; a new USCC is added. Returns the counts added and updated."""
    entries = list(entries)
    roster = Roster.objects.select_for_update().get(pk=roster.pk)
    existing = {e.uscc: e for e in roster.entries.filter(uscc__in=[p.uscc for p in entries])}
    added, updated = [], []
    for parsed in entries:
        entry = existing.get(parsed.uscc)
        if entry is None:
            added.append(
                RosterEntry(
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
            )
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


def _owner_and_scope(user: Any) -> tuple[ManagementUnit | None, Scope | None]:
    """Whose roster an upload of `user` makes, and the scope its enterprises must lie in: a national
    administrator's is national (no owner, no limit); a port administrator's is its port's."""
    if has_role(user, Role.NATIONAL_ADMIN):
        return None, None
    if has_role(user, Role.PORT_ADMIN) and (owner := port_of(user)) is not None:
        return owner, unit_scope(owner)
    raise PermissionDenied(_("只有国家局管理员和管理端口管理员可以上传名单。"))


def _checked_fields(category: str, year: int, title: str) -> str:
    if category not in RosterCategory.values:
        raise ValidationError({"category": _("请选择名单类别。")})
    validate_year(year)
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": _("请填写名单名称。")})
    return title


@transaction.atomic
def import_roster(
    *,
    user: Any,
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
    return save_roster(
        user=user, owner=owner, category=category, year=year, title=title, source_name=source_name, entries=entries
    )


def roster_upload_create(
    *, user: Any, category: str, year: int, title: str, file: Any, merge_into: int | None = None
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
            roster = Roster.objects.get(pk=job.merge_into_id)
            merged = _("已合并到名单“%(title)s”：新增 %(added)s 家企业，更新 %(updated)s 家，合并后共 %(count)s 家。")
            message = merged % {
                "title": roster.title,
                "count": roster.entry_count,
                **counts,
            }
            return {"roster": roster, "entry_count": roster.entry_count, "message": message}
        roster = save_roster(
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


def can_delete(user: Any, roster: Roster) -> bool:
    """National administrators delete any roster; a port administrator deletes its own port's rosters."""
    role = getattr(user, "role", None)
    if role == Role.NATIONAL_ADMIN:
        return True
    if role == Role.PORT_ADMIN and roster.owner_id is not None:
        unit = port_of(user)
        return unit is not None and unit.pk == roster.owner_id
    return False


@transaction.atomic
def delete_roster(*, roster: Roster, user: Any) -> None:
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


# ---------------------------------------------------------------------------------------------------------------
# Coverage selectors


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@dataclass
class CoverageRow:
    key: str
    label: str
    entries: int
    covered: int

    @property
    def missing(self) -> int:
        return self.entries - self.covered

    @property
    def percent(self) -> float | None:
        return percent(self.covered, self.entries)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "entries": self.entries,
            "covered": self.covered,
            "missing": self.missing,
            "percent": self.percent,
        }


def approved_filing_exists(uscc_ref: str = "uscc") -> Exists:
    """Whether the enterprise with the outer row's USCC has at least one approved (published) product."""
    return Exists(Product.objects.filter(unit__uscc=OuterRef(uscc_ref), published_version__isnull=False))


def visible_rosters(user: Any, *, year: int | None = None, category: str | None = None) -> QuerySet[Roster]:
    qs = Roster.objects.visible_to(user)
    if year is not None:
        qs = qs.filter(year=year)
    if category:
        qs = qs.filter(category=category)
    return qs


def roster_entries(
    user: Any, *, year: int | None = None, category: str | None = None, roster: Roster | None = None
) -> QuerySet[RosterEntry]:
    """The entries the user sees: of the visible rosters, those inside the user's regions."""
    qs = RosterEntry.objects.visible_to(user).filter(roster__in=visible_rosters(user, year=year, category=category))
    if roster is not None:
        qs = qs.filter(roster=roster)
    return qs


def rosters_with_counts(user: Any, *, year: int | None = None, category: str | None = None) -> QuerySet[Roster]:
    """The visible rosters, each with `scope_count` (its entries in the user's scope) and `scope_covered`."""
    in_scope = RosterEntry.objects.visible_to(user).filter(roster=OuterRef("pk")).order_by().values("roster")
    return (
        visible_rosters(user, year=year, category=category)
        .select_related("owner", "uploaded_by")
        .annotate(
            scope_count=Coalesce(Subquery(in_scope.annotate(n=Count("id")).values("n")), Value(0)),
            scope_covered=Coalesce(
                Subquery(in_scope.filter(approved_filing_exists()).annotate(n=Count("id")).values("n")), Value(0)
            ),
        )
    )


def distinct_counts(filter_q: Q | None = None) -> tuple[Count, Count]:
    base = filter_q if filter_q is not None else Q()
    return (
        Count("uscc", distinct=True, filter=base if filter_q is not None else None),
        Count("uscc", distinct=True, filter=base & Q(covered=True)),
    )


def coverage_by_category(user: Any, *, year: int | None = None) -> tuple[list[CoverageRow], CoverageRow]:
    """Per category: distinct enterprises on the rosters in scope and how many have an approved filing;
    and the total (an enterprise on several categories' rosters counts once)."""
    entries = roster_entries(user, year=year).annotate(covered=approved_filing_exists()).order_by()
    n, c = distinct_counts()
    found = {row["roster__category"]: row for row in entries.values("roster__category").annotate(n=n, c=c).order_by()}
    rows = [
        CoverageRow(key=value, label=str(label), entries=found[value]["n"], covered=found[value]["c"])
        for value, label in RosterCategory.choices
        if value in found
    ]
    total = entries.aggregate(n=n, c=c)
    return rows, CoverageRow(key="", label=_("合计（去重）"), entries=total["n"], covered=total["c"])


def unit_scope(unit: ManagementUnit) -> Scope:
    """The regions of a management unit as a Scope (province units by province code, city units by city
    code, XPCC by its county-level cities)."""
    regions = list(unit.regions.all())
    return Scope(
        province_codes=frozenset(r.code for r in regions if r.level == RegionLevel.PROVINCE),
        city_codes=frozenset(r.code for r in regions if r.level == RegionLevel.CITY),
        county_codes=frozenset(r.code for r in regions if r.level == RegionLevel.COUNTY),
    )


def port_sort_key(unit: ManagementUnit) -> tuple[str, int, str]:
    parent = unit.parent.code if unit.parent_id and unit.parent else unit.code
    return parent, 0 if unit.kind != UnitKind.CITY else 1, unit.code


def coverage_by_port(user: Any, *, year: int | None = None, category: str | None = None) -> list[CoverageRow]:
    """Per management unit visible to the user (all 47 for the national office; a province and the city
    ports inside it for a province port): distinct enterprises in the unit's regions and how many are
    covered. One query: two filtered counts per unit."""
    units = sorted(
        ManagementUnit.objects.visible_to(user).select_related("parent").prefetch_related("regions"),
        key=port_sort_key,
    )
    entries = roster_entries(user, year=year, category=category).annotate(covered=approved_filing_exists()).order_by()
    aggregates: dict[str, Count] = {}
    for unit in units:
        scope = unit_scope(unit)
        if scope.has_regions:
            aggregates[f"n{unit.pk}"], aggregates[f"c{unit.pk}"] = distinct_counts(scope.region_q(""))
    figures = entries.aggregate(**aggregates) if aggregates else {}
    return [
        CoverageRow(
            key=unit.code,
            label=localized_name(unit),
            entries=figures.get(f"n{unit.pk}", 0) or 0,
            covered=figures.get(f"c{unit.pk}", 0) or 0,
        )
        for unit in units
    ]


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    months = []
    month = clock.month_of(first)
    while month <= last:
        months.append(month)
        month = clock.month_after(month)
    return months


def coverage_trend(user: Any, *, year: int | None = None, category: str | None = None) -> list[dict[str, Any]]:
    """The cumulative share of today's roster enterprises covered, by month of their first approval.

    The first approval of an enterprise is the earliest `decided_at` of its approved versions (a Min per
    unit, in the database). Months run from the first covered month to the current one."""
    entries = roster_entries(user, year=year, category=category).order_by()
    total = entries.values("uscc").distinct().count()
    first_approval = (
        ProductVersion.objects.filter(product__unit__uscc=OuterRef("uscc"), status=FilingStatus.APPROVED)
        .order_by()
        .values("product__unit__uscc")
        .annotate(first=Min("decided_at"))
        .values("first")[:1]
    )
    firsts = (
        entries.filter(approved_filing_exists())
        .annotate(first=Subquery(first_approval))
        .values_list("uscc", "first")
        .distinct()
    )
    today = china_today()
    by_month: dict[dt.date, int] = {}
    for _uscc, first in firsts:
        month = clock.month_of(timezone.localtime(first, clock.CHINA_TZ).date() if first else today)
        by_month[month] = by_month.get(month, 0) + 1
    if not by_month:
        return []
    trend, running = [], 0
    for month in _months(min(by_month), today):
        running += by_month.get(month, 0)
        trend.append(
            {"month": month.strftime("%Y-%m"), "covered": running, "entries": total, "percent": percent(running, total)}
        )
    return trend


def coverage(user: Any, *, year: int | None = None, category: str | None = None) -> dict[str, Any]:
    """Everything the coverage page and the API show, from the selectors above."""
    rows, total = coverage_by_category(user, year=year)
    ports = coverage_by_port(user, year=year, category=category)
    return {
        "year": year,
        "category": category or None,
        "total": total,
        "categories": rows,
        "ports": ports if len(ports) > 1 else [],
        "trend": coverage_trend(user, year=year, category=category),
    }


def roster_years(user: Any) -> list[int]:
    return sorted(set(Roster.objects.visible_to(user).values_list("year", flat=True)), reverse=True)


# The filing state of a roster enterprise without an approved filing: a fact of the enterprise, the same for
# every port that sees the entry (one area rule, docs/ONE_TRUTH.md §3); only the contacts depend on the viewer.
STATE_UNREGISTERED = "unregistered"
STATE_PENDING = "pending"
STATE_DRAFT = "draft"
STATE_REGISTERED = "registered"


def state_labels() -> dict[str, str]:
    return {
        STATE_UNREGISTERED: _("未注册"),
        STATE_PENDING: _("已提交，待审核"),
        STATE_DRAFT: _("有草稿或退回待修改"),
        STATE_REGISTERED: _("已注册，尚未填报"),
    }


def missing_entries(
    user: Any, *, year: int | None = None, category: str | None = None, roster: Roster | None = None
) -> QuerySet[RosterEntry]:
    """One row per enterprise (distinct USCC) in scope on the chosen rosters without an approved filing,
    ordered by region then USCC: values with uscc, name, province_code, city_code, county_code."""
    return (
        roster_entries(user, year=year, category=category, roster=roster)
        .filter(~approved_filing_exists())
        .order_by()
        .values("uscc")
        .annotate(
            name=Max("name"),
            province=Max("province_code"),
            city=Max("city_code"),
            county=Max("county_code"),
        )
        .order_by("province", "city", "county", "uscc")
    )


def describe_missing(user: Any, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add to each row of `missing_entries` its region names and, if the enterprise is registered, its
    filing state and (when its unit lies in the user's scope) the unit's contact: three queries per page.

    The state is read from the enterprise's unit wherever it is registered, so every port that sees the entry
    says the same (a roster enterprise of 深圳 whose unit moved to 广州: "registered" for 深圳 as for the
    national office); a unit outside the user's scope is marked `outside` and shows no contact."""
    usccs = [row["uscc"] for row in rows]
    units = {
        unit.uscc: unit
        for unit in FilingUnit.objects.filter(uscc__in=usccs).annotate(
            has_pending=Exists(
                ProductVersion.objects.filter(product__unit=OuterRef("pk"), status__in=list(PENDING_STATUSES))
            ),
            has_draft=Exists(
                ProductVersion.objects.filter(product__unit=OuterRef("pk"), status__in=list(EDITABLE_STATUSES))
            ),
        )
    }
    visible = set(units_in_scope(user, usccs))
    roster_contacts = roster_contacts_of(user, usccs)
    codes = {c for row in rows for c in (row["province"], row["city"], row["county"]) if c}
    names = dict(Region.objects.filter(code__in=codes).names())
    labels = state_labels()
    described = []
    for row in rows:
        unit = units.get(row["uscc"])
        if unit is not None:
            state = STATE_PENDING if unit.has_pending else STATE_DRAFT if unit.has_draft else STATE_REGISTERED
        else:
            state = STATE_UNREGISTERED
        outside = unit is not None and row["uscc"] not in visible
        label = labels[state]
        if outside:
            label = _("%(state)s（所在地不在本辖区，联系方式不显示）") % {"state": label}
        shown = unit if unit is not None and not outside else None
        region = "".join(
            names.get(c, "") for c in (row["province"], row["city"], row["county"]) if c and names.get(c) != "市辖区"
        )
        described.append(
            {
                **row,
                "region": region,
                "state": state,
                "outside": outside,
                "state_label": label,
                "unit_name": shown.name if shown else "",
                "unit_id": shown.pk if shown else None,
                "contact_name": shown.contact_name if shown else "",
                "contact_phone": shown.contact_phone if shown else "",
                "contact_email": shown.contact_email if shown else "",
                **roster_contacts.get(row["uscc"], EMPTY_CONTACT),
            }
        )
    return described


def units_in_scope(user: Any, usccs: Sequence[str]) -> dict[str, int]:
    """USCC → id of the registered unit, for the enterprises whose unit lies in the user's scope (the scoping
    rule: the read-only unit page `port:unit` opens these and no other). One query."""
    return dict(FilingUnit.objects.visible_to(user).filter(uscc__in=list(usccs)).values_list("uscc", "pk"))


EMPTY_CONTACT = {"roster_contact_name": "", "roster_contact_phone": "", "roster_contact_email": ""}


def roster_contacts_of(user: Any, usccs: Sequence[str]) -> dict[str, dict[str, str]]:
    """The roster contact of each enterprise, from the rosters the user sees: per field, the value of the latest
    roster (by year, then upload) that fills it in. One query."""
    contacts: dict[str, dict[str, str]] = {}
    entries = (
        roster_entries(user)
        .filter(uscc__in=list(usccs))
        .order_by("-roster__year", "-roster_id", "-id")
        .only("uscc", "contact_name", "contact_phone", "contact_email")
    )
    for entry in entries:
        found = contacts.setdefault(entry.uscc, dict(EMPTY_CONTACT))
        for field in ("contact_name", "contact_phone", "contact_email"):
            if not found[f"roster_{field}"] and getattr(entry, field):
                found[f"roster_{field}"] = getattr(entry, field)
    return contacts


# ---------------------------------------------------------------------------------------------------------------
# Demo data (called by `load_demo`)

DEMO_FILED = ["广州云帆智能装备有限公司", "深圳鹏芯微电子有限公司", "杭州西溪新材料科技有限公司"]
# (name, county code, organisation code body): made-up enterprises that have not filed
DEMO_UNFILED = [
    ("佛山禅城示例精密机械有限公司", "440604", "MA5DM001"),
    ("广州越秀示例智能科技有限公司", "440104", "MA5DM002"),
    ("深圳福田示例光电技术有限公司", "440304", "MA5DM003"),
    ("杭州上城示例生物医药有限公司", "330102", "MA2DM004"),
    ("宁波海曙示例新能源有限公司", "330203", "MA2DM005"),
]


# the roster contacts of the made-up enterprises (obviously fake: example.cn, 138-0000-xxxx), by organisation body
DEMO_CONTACTS = {
    "MA5DM001": ("冯示例", "138-0000-0101", "fengshili@foshan-demo.example.cn"),
    "MA5DM002": ("越示例", "138-0000-0102", "yueshili@yuexiu-demo.example.cn"),
    "MA5DM003": ("田示例", "0755-8000-0103", "tianshili@futian-demo.example.cn"),
    "MA2DM004": ("城示例", "138-0000-0104", ""),
    "MA2DM005": ("海示例", "", "haishili@haishu-demo.example.cn"),
}


@transaction.atomic
def load_demo_rosters(national_user: Any) -> Roster:
    """A national 国家知识产权优势企业 roster for this year: the three demo enterprises and five made-up
    ones in 广东 and 浙江 that have not filed. Running it twice changes nothing."""
    year = china_today().year
    title = _("%(year)s 年国家知识产权优势企业名单（演示）") % {"year": year}
    existing = Roster.objects.filter(
        category=RosterCategory.NATIONAL_ADVANTAGE, year=year, owner=None, title=title
    ).first()
    if existing is not None:
        return existing
    known = set(Region.objects.values_list("code", flat=True))
    pairs = [
        (uscc, name, ("", "", ""))
        for uscc, name in FilingUnit.objects.filter(name__in=DEMO_FILED).order_by("name").values_list("uscc", "name")
    ]
    pairs += [
        (build_uscc(region_code=county, org_body=org), name, DEMO_CONTACTS.get(org, ("", "", "")))
        for name, county, org in DEMO_UNFILED
    ]
    entries = []
    for number, (uscc, name, contact) in enumerate(pairs, start=2):
        codes = region_of(uscc, known)
        if codes is not None:
            entries.append(ParsedEntry(number, uscc, name, *codes, *contact))
    return save_roster(
        user=national_user,
        owner=None,
        category=RosterCategory.NATIONAL_ADVANTAGE,
        year=year,
        title=title,
        source_name="demo",
        entries=entries,
    )
