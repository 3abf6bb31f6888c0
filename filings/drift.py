"""Patent legal-status drift: the status file (format: docs/PATENT_STATUS.md), its import, and the flags.

An import reads the whole file (.xlsx, or .csv in UTF-8 with or without BOM, or GB18030) and checks every
row before it writes anything: the errors are collected as {row, column, message} with the file's row
numbers. Only a file without a single error is applied, in one transaction:

- `Patent.legal_status` / `status_updated_at` are updated for the patents whose status really changes
  (one UPDATE per new status); each such change writes a `PatentStatusChange` row (the patent's history);
- a change into ENDED_STATUSES (lapsed, expired, invalidated) raises a `FilingFlag` on every approved
  version that links a right to that patent (an open flag already there takes the newer status);
- a patent back to valid resolves its open flags ("专利恢复有效");
- patents the platform does not hold are counted, not errors; a row whose status is unchanged does nothing,
  so importing the same file again changes nothing.

In the import's transaction, one notice per new flag is written to the outbox (`filings.flags`, which also
holds resolving a flag by hand) for the filer and for the reviewer who approved the version.

This module holds the rules (`StatusImport`); claiming, progress, the transaction and the retry are
patent_platform.jobs' runner, the same for every import.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.dispatch import Signal
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from filings import flags, webhooks
from filings.cells import read_patent
from filings.choices import ENDED_STATUSES, FilingStatus, LegalStatus
from filings.models import FilingFlag, Patent, PatentLink, PatentStatusChange, PatentStatusImport
from patent_platform import audit, jobs, tabular
from patent_platform.choices import AuditAction
from patent_platform.clock import china_today
from patent_platform.signals import figures_changed
from patent_platform.tabular import CellError, Column, Problems
from patent_platform.tabular import decode_csv as decode_csv  # the upload form's CSV check (views/drift.py)

if TYPE_CHECKING:
    from patent_platform.models import User

PROGRESS_EVERY = 200  # rows between two progress updates a browser can watch
MAX_ROWS = 100_000  # data rows per file
MAX_ERRORS = 5000  # errors kept on the import (the count in the message is always complete)
SOURCE_LANGUAGE = tabular.SOURCE_LANGUAGE  # the file format (headers, status labels) is in Chinese
RESOLVED_BY_VALID = "专利恢复有效"  # the resolution of a flag whose patent is valid again (stored text)
SHEET = "法律状态"

# Sent by `apply`, inside its transaction, once the new statuses are written: `patent_ids` the patents whose
# status changed, `user` who applied them, `source` the import (or None). `apply` is the one place a
# patent's legal status changes (the import, the admin site and any other path go through it), so a rule
# that follows a patent's status (evaluation/lifecycle.py: a certificate is suspended while a core patent
# has ended) listens here and holds on every path. Receivers run in the transaction: what they write
# commits with the statuses, or neither does.
status_changed = Signal()


COLUMNS = (
    Column(
        "number",
        "申请号",
        True,
        gettext_lazy("如 201710601862.3 或 95115608.X；可带 CN、ZL 前缀、空格，可省略小数点。"),
        aliases=("专利申请号", "专利号"),
    ),
    Column(
        "status",
        "法律状态",
        True,
        gettext_lazy("有效、审查中、失效、期限届满、被宣告无效（同义词见说明），或代码 valid、lapsed 等。"),
        aliases=("当前法律状态", "专利法律状态"),
    ),
    Column(
        "effective_date",
        "生效日期",
        False,
        gettext_lazy("法律状态变化生效的日期，如 2025-03-01；可留空。"),
        aliases=("法律状态公告日", "公告日"),
    ),
)
HEADERS = {c.key: c.header for c in COLUMNS}

# Accepted values of 法律状态 (compared after NFKC, without spaces, case-insensitive) → LegalStatus.
SYNONYMS: dict[str, str] = {
    "有效": LegalStatus.VALID,
    "专利权有效": LegalStatus.VALID,
    "授权": LegalStatus.VALID,
    "恢复": LegalStatus.VALID,
    "权利恢复": LegalStatus.VALID,
    "专利权恢复": LegalStatus.VALID,
    "审查中": LegalStatus.PENDING,
    "审中": LegalStatus.PENDING,
    "实质审查": LegalStatus.PENDING,
    "失效": LegalStatus.LAPSED,
    "专利权终止": LegalStatus.LAPSED,
    "权利终止": LegalStatus.LAPSED,
    "未缴年费终止": LegalStatus.LAPSED,
    "未缴年费专利权终止": LegalStatus.LAPSED,
    "放弃专利权": LegalStatus.LAPSED,
    "期限届满": LegalStatus.EXPIRED,
    "届满终止": LegalStatus.EXPIRED,
    "专利权期限届满": LegalStatus.EXPIRED,
    "被宣告无效": LegalStatus.INVALIDATED,
    "无效": LegalStatus.INVALIDATED,
    "宣告无效": LegalStatus.INVALIDATED,
    "全部无效": LegalStatus.INVALIDATED,
    "宣告全部无效": LegalStatus.INVALIDATED,
    "专利权全部无效": LegalStatus.INVALIDATED,
}
PARTIAL = {"部分无效", "宣告部分无效", "专利权部分无效"}  # the patent stays in force: say so, do not guess


def _key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).lower()


def accepted_statuses() -> dict[str, str]:
    """Every accepted spelling (normalised) → status code: the labels, the codes and the synonyms."""
    values = {_key(code): code for code in LegalStatus.values}
    with translation.override(SOURCE_LANGUAGE):
        values.update({_key(str(label)): code for code, label in LegalStatus.choices})
    values.update({_key(k): v for k, v in SYNONYMS.items()})
    return values


def status_labels() -> list[tuple[str, str, list[str]]]:
    """(code, Chinese label, synonyms) per status, for the template's instructions and the docs."""
    with translation.override(SOURCE_LANGUAGE):
        labels = [(code, str(label)) for code, label in LegalStatus.choices]
    return [(code, label, [k for k, v in SYNONYMS.items() if v == code and k != label]) for code, label in labels]


# ---------------------------------------------------------------------------------------------
# Templates


EXAMPLE_ROWS = (("201710601862.3", "有效", None), ("ZL 200710308494.X", "未缴年费终止", "2025-03-01"))


def build_template_xlsx() -> bytes:
    template = tabular.TemplateBook(SHEET)
    template.header(COLUMNS)
    template.column(1, width=22, number_format=tabular.TEXT_FORMAT)
    template.column(2, width=22, number_format=tabular.TEXT_FORMAT)
    template.column(3, width=16, number_format=tabular.DATE_FORMAT)
    template.text_cells(template.data, EXAMPLE_ROWS, first_columns=2)
    guide = template.sheet("说明", widths={"A": 16, "B": 90}, heading=_("专利法律状态导入说明"))
    for line in general_rules():
        guide.append(["", str(line)])
    guide.append([])
    for column in COLUMNS:
        guide.append([column.header, f"{_('必填') if column.required else _('选填')}。{column.note}"])
    guide.append([])
    for code, label, synonyms in status_labels():
        guide.append([label, "、".join([code, *synonyms])])
    return template.to_bytes()


def build_template_csv() -> bytes:
    """The CSV template in UTF-8 with a BOM (Excel on Windows then opens it with the right encoding)."""
    return tabular.csv_bytes([[c.header for c in COLUMNS], *[[v or "" for v in row] for row in EXAMPLE_ROWS]])


def general_rules() -> list[Any]:
    return [
        _("1. 第 1 行为表头（申请号、法律状态、生效日期），第 2 行起每行一项专利；示例行请删除或替换。"),
        _("2. 可上传 .xlsx 或 .csv 文件；CSV 用 UTF-8（可带 BOM）或 GB18030/GBK 编码，逗号分隔。"),
        _(
            "3. 平台先校验全部行：只要有一处错误（申请号无效、法律状态无法识别、同一申请号重复），"
            "整个文件都不会导入，并列出每处错误的行号、列名和原因。"
        ),
        _("4. 平台上没有的专利只计数，不算错误；法律状态未变化的专利不做任何改动，同一文件重复导入不会重复处理。"),
        _(
            "5. 专利变为失效、期限届满或被宣告无效时，使用该专利的已通过备案会被标记，"
            "并通知备案单位和通过该备案的审核员；专利恢复有效时，标记自动解除。"
        ),
    ]


# ---------------------------------------------------------------------------------------------
# Reading the file


@dataclass
class Row:
    number: int  # the file's row number
    patent: str | None = None
    status: str | None = None
    effective_date: dt.date | None = None


Parsed = jobs.Checked  # the rows read and every problem found


def _status(value: Any, accepted: dict[str, str]) -> str:
    text = tabular.plain(value)
    key = _key(text)
    if key in accepted:
        return accepted[key]
    if key in {_key(p) for p in PARTIAL}:
        raise CellError(_("“%(value)s”：部分无效宣告后专利权仍然有效，请填写“有效”。") % {"value": text})
    raise CellError(
        _("无法识别的法律状态“%(value)s”：请填写有效、审查中、失效、期限届满或被宣告无效（同义词见模板说明）。")
        % {"value": tabular.text(value)}
    )


def parse(data: bytes, progress: jobs.Progress | None = None) -> Parsed:
    """Read and check every row; nothing is written. Raises FileError for the file as a whole."""
    with tabular.open_table(data, sheet=SHEET, csv_allowed=True) as table:
        _match, body = tabular.read_rows(
            table,
            COLUMNS,
            max_rows=MAX_ROWS,
            empty=_("文件是空的：第 1 行应为表头（申请号、法律状态、生效日期），请使用平台模板。"),
            no_data=_("文件中没有数据：请从第 2 行起填写，每行一项专利。"),
        )
    accepted = accepted_statuses()
    today = china_today()
    problems = Problems(COLUMNS)
    error = problems.add
    rows: list[Row] = []
    first_row: dict[str, int] = {}
    if progress is not None:
        progress.total(len(body))
    for done, (number, (raw_number, raw_status, raw_date)) in enumerate(body, start=1):
        row = Row(number)
        if tabular.blank(raw_number):
            error(number, "number", _("必填，请填写。"))
        else:
            try:
                row.patent = read_patent(raw_number)
            except CellError as exc:
                error(number, "number", exc)
        if tabular.blank(raw_status):
            error(number, "status", _("必填，请填写。"))
        else:
            try:
                row.status = _status(raw_status, accepted)
            except CellError as exc:
                error(number, "status", exc)
        if not tabular.blank(raw_date):
            try:
                row.effective_date = tabular.date(raw_date)
                if row.effective_date > today:
                    error(number, "effective_date", _("生效日期不能晚于今天。"))
            except CellError as exc:
                error(number, "effective_date", exc)
        if row.patent is not None:
            if row.patent in first_row:
                error(
                    number,
                    "number",
                    _("与第 %(row)s 行的申请号 %(n)s 重复：每项专利只能出现一次。")
                    % {"row": first_row[row.patent], "n": row.patent},
                )
            else:
                first_row[row.patent] = number
        rows.append(row)
        if progress is not None:
            progress.row(done)
    return Parsed(rows=rows, errors=problems.sorted())


# ---------------------------------------------------------------------------------------------
# Applying a valid file


@dataclass
class Outcome:
    changed: int = 0
    unchanged: int = 0
    unknown: int = 0
    flagged: int = 0
    resolved: int = 0
    new_flag_ids: list[int] | None = None


def _chunks(items: list[Any], size: int = 500) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _current_statuses(numbers: Iterable[str]) -> dict[str, tuple[int, str]]:
    """The primary key and stored legal status of each known patent among `numbers`."""
    current: dict[str, tuple[int, str]] = {}
    for chunk in _chunks(sorted(numbers)):
        current.update(
            (number, (pk, status))
            for pk, number, status in Patent.objects.filter(number__in=chunk).values_list(
                "pk", "number", "legal_status"
            )
        )
    return current


def _status_changes(
    wanted: dict[str, Row], current: dict[str, tuple[int, str]], outcome: Outcome, *, source: Any, user: User | None
) -> tuple[list[PatentStatusChange], dict[str, list[int]]]:
    """The (unsaved) changes of the patents whose status differs, and their ids by new status; counts the rest."""
    changes: list[PatentStatusChange] = []
    by_status: dict[str, list[int]] = defaultdict(list)
    for number, (pk, old) in current.items():
        row = wanted[number]
        status = cast(str, row.status)  # `apply` passes only the rows with a status
        if status == old:
            outcome.unchanged += 1
            continue
        by_status[status].append(pk)
        changes.append(
            PatentStatusChange(
                patent_id=pk,
                from_status=old,
                to_status=status,
                effective_date=row.effective_date,
                source=source,
                recorded_by=user if getattr(user, "pk", None) else None,
            )
        )
    return changes, by_status


def _save_changes(changes: list[PatentStatusChange], by_status: dict[str, list[int]], now: Any) -> dict[int, Any]:
    """Write the new statuses and their change records; returns the change id of each patent."""
    for status, ids in by_status.items():
        for chunk in _chunks(sorted(ids)):
            Patent.objects.filter(pk__in=chunk).update(legal_status=status, status_updated_at=now)
    PatentStatusChange.objects.bulk_create(changes, batch_size=1000)
    change_ids = {c.patent_id: c.pk for c in changes}
    if None in change_ids.values():  # a backend that does not return ids from a bulk insert
        change_ids = dict(
            PatentStatusChange.objects.filter(patent_id__in=list(change_ids), recorded_at__gte=now)
            .order_by("patent_id", "id")
            .values_list("patent_id", "pk")
        )
    return change_ids


def _resolve_valid_flags(valid: list[int], *, user: User | None, now: Any) -> int:
    """Resolve the open flags of the patents that are valid again; returns how many."""
    resolved = 0
    for chunk in _chunks(valid):
        resolved += (
            FilingFlag.objects.open()
            .filter(patent_id__in=chunk)
            .update(
                resolved_at=now,
                resolved_by=user if getattr(user, "pk", None) else None,
                resolution=RESOLVED_BY_VALID,
            )
        )
    return resolved


def _raise_flags(ended: list[int], new_status: dict[int, str], change_ids: dict[int, Any]) -> list[FilingFlag]:
    """Flag each approved filing that relies on an ended patent (an open flag is updated instead); saved."""
    new_flags: list[FilingFlag] = []
    for chunk in _chunks(ended):
        pairs = set(
            PatentLink.objects.filter(right__patent_id__in=chunk, version__status=FilingStatus.APPROVED)
            .values_list("version_id", "right__patent_id")
            .distinct()
        )
        existing: dict[tuple[int, int], int] = {
            (v, p): pk
            for pk, v, p in FilingFlag.objects.open()
            .filter(patent_id__in=chunk)
            .values_list("pk", "version_id", "patent_id")
        }
        # an open flag (lapsed, now expired, say) takes the newer status and change; no second flag
        for patent_id in chunk:
            still_open = [pk for (v, p), pk in existing.items() if p == patent_id]
            if still_open:
                FilingFlag.objects.filter(pk__in=still_open).update(
                    legal_status=new_status[patent_id], change_id=change_ids.get(patent_id)
                )
        for version_id, patent_id in sorted(pairs - set(existing)):
            new_flags.append(
                FilingFlag(
                    version_id=version_id,
                    patent_id=patent_id,
                    change_id=change_ids.get(patent_id),
                    legal_status=new_status[patent_id],
                )
            )
    FilingFlag.objects.bulk_create(new_flags, batch_size=1000)
    return new_flags


def _saved_flag_ids(new_flags: list[FilingFlag], ended: list[int], now: Any) -> list[int]:
    """The ids of the flags just raised (read back on a backend that does not return ids from a bulk insert)."""
    ids = [f.pk for f in new_flags if f.pk is not None]
    if len(ids) == len(new_flags):
        return ids
    wanted_pairs = {(f.version_id, f.patent_id) for f in new_flags}
    return [
        pk
        for pk, v, p in FilingFlag.objects.open()
        .filter(patent_id__in=ended, raised_at__gte=now)
        .values_list("pk", "version_id", "patent_id")
        if (v, p) in wanted_pairs
    ]


def legal_status_apply(*, rows: list[Row], source: PatentStatusImport | None, user: User | None) -> Outcome:
    """Write the statuses of valid rows (call inside a transaction); returns the counts and new flags."""
    wanted = {r.patent: r for r in rows if r.patent and r.status}
    current = _current_statuses(wanted)
    outcome = Outcome(unknown=len(wanted) - len(current), new_flag_ids=[])
    checked_at = timezone.now()
    for chunk in _chunks(sorted(pk for pk, _status in current.values())):
        # every patent the file names was checked now, whether its status changed or not
        Patent.objects.filter(pk__in=chunk).update(status_checked_at=checked_at)
    changes, by_status = _status_changes(wanted, current, outcome, source=source, user=user)
    outcome.changed = len(changes)
    if not changes:
        return outcome
    now = timezone.now()
    change_ids = _save_changes(changes, by_status, now)

    ended = sorted(pk for status, ids in by_status.items() if status in ENDED_STATUSES for pk in ids)
    valid = sorted(by_status.get(LegalStatus.VALID, []))
    new_status = {c.patent_id: c.to_status for c in changes}
    if valid:
        outcome.resolved += _resolve_valid_flags(valid, user=user, now=now)
    new_flags = _raise_flags(ended, new_status, change_ids)
    outcome.flagged = len(new_flags)
    outcome.new_flag_ids = _saved_flag_ids(new_flags, ended, now)
    if outcome.new_flag_ids:
        # in this transaction: the flags and their notices commit together
        flags.queue_flag_notices(outcome.new_flag_ids)
        webhooks.emit_flags(outcome.new_flag_ids)  # and their webhook events
    if outcome.flagged or outcome.resolved:
        # the flags were written set-based: the dashboards' "flagged" figure of these products moves
        for chunk in _chunks(sorted({c.patent_id for c in changes})):
            figures_changed.send(
                sender=FilingFlag,
                products=PatentLink.objects.filter(right__patent_id__in=chunk)
                .values_list("version__product_id", flat=True)
                .distinct(),
            )
    status_changed.send(sender=Patent, patent_ids=sorted(change_ids), user=user, source=source)
    audit.audit_bulk(
        action=AuditAction.IMPORT,
        model=Patent,
        ids=[c.patent_id for c in changes],
        message=f"patent status import {source.pk if source else '-'}: {len(changes)} changed, "
        f"{outcome.flagged} flags raised, {outcome.resolved} resolved",
    )
    return outcome


# ---------------------------------------------------------------------------------------------
# The import job


class StatusImport(jobs.Importer[PatentStatusImport]):
    """The rules of a legal-status import; patent_platform.jobs runs the job."""

    model = PatentStatusImport
    name = "patent status import"
    progress_every = PROGRESS_EVERY
    max_errors = MAX_ERRORS
    site_language = True  # the import's messages and the flags' notices are the site's

    def check(self, job: PatentStatusImport, data: bytes, progress: jobs.Progress) -> jobs.Checked:
        return parse(data, progress=progress)

    def apply(self, job: PatentStatusImport, rows: list[Row]) -> dict[str, Any]:
        outcome = legal_status_apply(rows=rows, source=job, user=job.created_by)
        message = _(
            "已导入：%(changed)s 项专利法律状态变化，%(unchanged)s 项未变，%(unknown)s 项平台上没有；"
            "新标记 %(flagged)s 个备案，解除 %(resolved)s 个标记。"
        ) % {
            "changed": outcome.changed,
            "unchanged": outcome.unchanged,
            "unknown": outcome.unknown,
            "flagged": outcome.flagged,
            "resolved": outcome.resolved,
        }
        return {
            "changed_count": outcome.changed,
            "unchanged_count": outcome.unchanged,
            "unknown_count": outcome.unknown,
            "flagged_count": outcome.flagged,
            "message": message,
        }


IMPORTER = StatusImport()


def run_status_import(import_id: int, *, will_retry: bool = False) -> str:
    """Validate a queued status file and, if every row is valid, apply it; returns the final status
    (patent_platform.jobs.run_job: claim, progress, all or nothing, retry)."""
    return jobs.run_job(IMPORTER, import_id, will_retry=will_retry)
