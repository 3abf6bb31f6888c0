"""Credit lists: the 经营异常名录 and the 严重违法失信名单, imported by the national office (docs/FLAGS.md).

The file's meaning: **each file is the list's whole current content.** Importing a file for a list
- lists every USCC of the file that is not on that list now (a new `CreditListEntry`, `listed_by` the import);
- keeps every USCC of the file that is on it already (its entry unchanged: the listing keeps its first date);
- removes from that list every USCC on it now that the file does not hold (`removed_at`, `removed_by` the import).
Entries are never deleted: a unit's history (listed when, removed when, by which import) stays. USCCs that no
unit of the platform holds are listed too: a unit that registers later is flagged from its first submission.

The file (.xlsx or .csv in UTF-8 with or without BOM, or GB18030) is checked whole before anything is written
(patent_platform.jobs: check, then all or nothing): a USCC missing or invalid, the same USCC twice, a date
that cannot be read or lies in the future — each named by row and column in the error report, and nothing
applied. A file without data rows is refused as a whole (an empty list is not uploaded by mistake).

A unit on a list is flagged (`filings.checks.open_flags`) on the review page, at submission and before the
publicity of any certification round it is in (`evaluation.publicity.round_publicity_start` asks for a confirmation).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from filings.choices import CreditListKind
from filings.identifiers import validate_uscc
from filings.models import CreditListEntry, CreditListImport, FilingUnit
from patent_platform import audit, jobs, locks, tabular
from patent_platform.choices import AuditAction
from patent_platform.clock import china_today
from patent_platform.tabular import CellError, Column, Problems

PROGRESS_EVERY = 500
MAX_ROWS = 500_000  # the national 经营异常名录 is large; a file of the list's slice for the platform's units fits
MAX_ERRORS = 5000
SHEET = "信用名单"

COLUMNS = (
    Column(
        "uscc",
        "统一社会信用代码",
        True,
        gettext_lazy("18 位，如 91110108551385082Q；每个代码只能出现一次。"),
        aliases=("信用代码", "USCC"),
    ),
    Column("name", "单位名称", False, gettext_lazy("选填，便于核对。"), aliases=("企业名称", "市场主体名称")),
    Column(
        "decided_on",
        "列入日期",
        False,
        gettext_lazy("选填，如 2025-03-01；不能晚于今天。"),
        aliases=("列入时间", "决定日期"),
    ),
    Column("reason", "列入原因", False, gettext_lazy("选填，最多 500 字。"), aliases=("列入事由", "原因")),
    Column(
        "authority",
        "作出决定机关",
        False,
        gettext_lazy("选填，最多 200 字。"),
        aliases=("决定机关", "作出决定机关名称"),
    ),
)
EXAMPLE_ROWS = (
    (
        "91110108551385082Q",
        "示例科技有限公司",
        "2025-03-01",
        "通过登记的住所或者经营场所无法联系",
        "北京市海淀区市场监督管理局",
    ),
)


@dataclass
class Row:
    number: int
    uscc: str | None = None
    name: str = ""
    decided_on: dt.date | None = None
    reason: str = ""
    authority: str = ""


def general_rules() -> list[Any]:
    return [
        _("1. 每个文件是一份名单的全部当前内容：文件中有、名单中没有的单位列入；名单中有、文件中没有的单位移出。"),
        _("2. 第 1 行为表头（统一社会信用代码必填，其余选填），第 2 行起每行一个单位；示例行请删除或替换。"),
        _("3. 可上传 .xlsx 或 .csv 文件；CSV 用 UTF-8（可带 BOM）或 GB18030/GBK 编码，逗号分隔。"),
        _("4. 平台先校验全部行：只要有一处错误，整个文件都不会导入，并列出每处错误的行号、列名和原因。"),
        _("5. 列入、移出的记录永久保留；单位移出名单后，其提示自动解除。"),
    ]


def build_template_xlsx() -> bytes:
    template = tabular.TemplateBook(SHEET)
    template.header(COLUMNS)
    template.column(1, width=24, number_format=tabular.TEXT_FORMAT)
    template.column(2, width=28)
    template.column(3, width=14, number_format=tabular.DATE_FORMAT)
    template.column(4, width=40)
    template.column(5, width=30)
    template.text_cells(template.data, EXAMPLE_ROWS, first_columns=1)
    guide = template.sheet("说明", widths={"A": 16, "B": 90}, heading=_("信用名单导入说明"))
    for line in general_rules():
        guide.append(["", str(line)])
    guide.append([])
    for column in COLUMNS:
        guide.append([column.header, f"{_('必填') if column.required else _('选填')}。{column.note}"])
    return template.to_bytes()


def build_template_csv() -> bytes:
    return tabular.csv_bytes([[c.header for c in COLUMNS], *[list(row) for row in EXAMPLE_ROWS]])


_read_uscc = tabular.validated(validate_uscc)
_read_name = tabular.bounded_text(200)
_read_reason = tabular.bounded_text(500)
_read_authority = tabular.bounded_text(200)


def parse(data: bytes, progress: jobs.Progress | None = None) -> jobs.Checked:
    """Read and check every row; nothing is written. Raises FileError for the file as a whole."""
    with tabular.open_table(data, sheet=SHEET, csv_allowed=True) as table:
        _match, body = tabular.read_rows(
            table,
            COLUMNS,
            max_rows=MAX_ROWS,
            empty=_("文件是空的：第 1 行应为表头（统一社会信用代码等），请使用平台模板。"),
            no_data=_("文件中没有数据：请从第 2 行起填写，每行一个单位。名单不能用空文件清空。"),
        )
    today = china_today()
    problems = Problems(COLUMNS)
    rows: list[Row] = []
    first_row: dict[str, int] = {}
    if progress is not None:
        progress.total(len(body))
    for done, (number, (raw_uscc, raw_name, raw_date, raw_reason, raw_authority)) in enumerate(body, start=1):
        row = Row(number)
        if tabular.blank(raw_uscc):
            problems.add(number, "uscc", _("必填，请填写。"))
        else:
            try:
                row.uscc = _read_uscc(raw_uscc)
            except CellError as exc:
                problems.add(number, "uscc", exc)
        for key, raw, reader in (
            ("name", raw_name, _read_name),
            ("reason", raw_reason, _read_reason),
            ("authority", raw_authority, _read_authority),
        ):
            if not tabular.blank(raw):
                try:
                    setattr(row, key, reader(raw))
                except CellError as exc:
                    problems.add(number, key, exc)
        if not tabular.blank(raw_date):
            try:
                row.decided_on = tabular.date(raw_date)
                if row.decided_on > today:
                    problems.add(number, "decided_on", _("列入日期不能晚于今天。"))
            except CellError as exc:
                problems.add(number, "decided_on", exc)
        if row.uscc is not None:
            if row.uscc in first_row:
                problems.add(
                    number,
                    "uscc",
                    _("与第 %(row)s 行的统一社会信用代码 %(code)s 重复：每个单位只能出现一次。")
                    % {"row": first_row[row.uscc], "code": row.uscc},
                )
            else:
                first_row[row.uscc] = number
        rows.append(row)
        if progress is not None:
            progress.row(done)
    return jobs.Checked(rows=rows, errors=problems.sorted())


@dataclass
class Outcome:
    listed: int = 0
    kept: int = 0
    removed: int = 0
    on_platform: int = 0


def credit_list_apply(*, rows: list[Row], source: CreditListImport) -> Outcome:
    """Make the list `source.kind` hold exactly these USCCs (call inside a transaction; see the module)."""
    kind = source.kind
    # two imports of the same list applied at once would each see the other's listings missing: one at a time
    locks.advisory_xact_lock(f"credit-list:{kind}")
    wanted = {r.uscc: r for r in rows if r.uscc}
    current = dict(
        CreditListEntry.objects.select_for_update().filter(kind=kind, removed_at__isnull=True).values_list("uscc", "pk")
    )
    now = timezone.now()
    gone = sorted(pk for uscc, pk in current.items() if uscc not in wanted)
    for start in range(0, len(gone), 1000):
        CreditListEntry.objects.filter(pk__in=gone[start : start + 1000]).update(removed_at=now, removed_by=source)
    new = [
        CreditListEntry(
            kind=kind,
            uscc=uscc,
            name=row.name,
            reason=row.reason,
            decided_on=row.decided_on,
            authority=row.authority,
            listed_by=source,
        )
        for uscc, row in sorted(wanted.items())
        if uscc not in current
    ]
    CreditListEntry.objects.bulk_create(new, batch_size=1000)
    codes = sorted(wanted)
    on_platform = sum(
        FilingUnit.objects.filter(uscc__in=codes[start : start + 1000]).count() for start in range(0, len(codes), 1000)
    )
    outcome = Outcome(listed=len(new), kept=len(wanted) - len(new), removed=len(gone), on_platform=on_platform)
    audit.audit_event(
        action=AuditAction.IMPORT,
        obj=source,
        changes={
            "kind": kind,
            "listed": [e.uscc for e in new][:1000],
            "removed": sorted(u for u in current if u not in wanted)[:1000],
        },
        message=f"credit list import {source.pk} ({kind}): {outcome.listed} listed, {outcome.kept} kept, "
        f"{outcome.removed} removed",
    )
    return outcome


class CreditListImporter(jobs.Importer[CreditListImport]):
    """The rules of a credit-list import; patent_platform.jobs runs the job."""

    model = CreditListImport
    name = "credit list import"
    progress_every = PROGRESS_EVERY
    max_errors = MAX_ERRORS
    site_language = True

    def check(self, job: CreditListImport, data: bytes, progress: jobs.Progress) -> jobs.Checked:
        return parse(data, progress=progress)

    def apply(self, job: CreditListImport, rows: list[Row]) -> dict[str, Any]:
        outcome = credit_list_apply(rows=rows, source=job)
        message = _(
            "已导入%(list)s：新列入 %(listed)s 个单位，仍在名单 %(kept)s 个，移出 %(removed)s 个；"
            "文件中的单位有 %(on_platform)s 个在平台上注册。"
        ) % {
            "list": CreditListKind(job.kind).label,
            "listed": outcome.listed,
            "kept": outcome.kept,
            "removed": outcome.removed,
            "on_platform": outcome.on_platform,
        }
        return {
            "listed_count": outcome.listed,
            "kept_count": outcome.kept,
            "removed_count": outcome.removed,
            "on_platform_count": outcome.on_platform,
            "message": message,
        }


IMPORTER = CreditListImporter()


def run_credit_list_import(import_id: int, *, will_retry: bool = False) -> str:
    """Check a queued credit-list file and, if every row is valid, apply it (patent_platform.jobs.run_job)."""
    return jobs.run_job(IMPORTER, import_id, will_retry=will_retry)
