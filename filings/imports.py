"""Excel bulk filing: the import job that reads a filled-in template (the templates and their columns are
`filings.import_template`).

A job reads the whole sheet first and checks every row and cell without writing anything; the errors
are collected as {row, column, message} (row = the Excel row number, column = the header). Only a file
without a single error is saved, in one transaction, acting as the user who uploaded it: patents
through the service a user's form calls (`services.patent_right_create`); products, whose rules
(those of `services.product_create`) are checked for the whole file against the unit's rights read
once, set-based with bulk_create (see `_save_products`). So a file is imported completely or not at all.
This module holds the rules (`ProductImport`); claiming, progress, the transaction and the retry are
patent_platform.jobs' runner, the same for every import.

The column headers are the file format and stay in Chinese whatever the user's language; the notes,
the instruction sheet and the error messages are translated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.db.models import Model
from django.http import Http404
from django.utils.translation import gettext as _

from filings import candidacy, rules, services
from filings.cells import read_patent
from filings.choices import ImportKind, RightKind
from filings.import_template import (
    COLUMNS,
    DATA_SHEETS,
    PATENT_COLUMNS,
    PRODUCT_COLUMNS,
    PRODUCT_FIELDS,
    Column,
)
from filings.models import (
    FilingPolicy,
    ImportJob,
    Patent,
    PatentLink,
    PatentRight,
    Product,
    ProductClass,
    ProductVersion,
)
from filings.rules import default_data_year
from patent_platform import audit, claims, jobs, tabular
from patent_platform.choices import AuditAction
from patent_platform.clock import china_today
from patent_platform.models import User
from patent_platform.signals import figures_changed
from patent_platform.tabular import CellError, Problems

PROGRESS_EVERY = 50  # rows between two progress updates a browser can watch
MAX_ROWS = 20000  # data rows per file
MAX_ERRORS = 5000  # errors kept on the job (the count in the message is always complete)

# ---------------------------------------------------------------------------------------------
# Reading cells (the readers are patent_platform.tabular's and filings.cells'; the classes are this file's)


def _class_reader() -> Callable[[Any], ProductClass]:
    active = {c.code: c for c in ProductClass.objects.filter(is_active=True)}
    by_number: dict[int, list[ProductClass]] = {}
    for code, pc in active.items():
        if code.isdecimal():
            by_number.setdefault(int(code), []).append(pc)

    def read(value: Any) -> ProductClass:
        code = tabular.plain(value).split(" ")[0].strip()
        if code in active:
            return active[code]
        if code.isdecimal() and len(by_number.get(int(code), [])) == 1:
            return by_number[int(code)][0]
        raise CellError(_("产品分类代码“%(value)s”不存在或已停用，请从下拉列表选择。") % {"value": tabular.text(value)})

    return read


READERS: dict[str, Callable[[Any], Any]] = {
    "int": tabular.integer,
    "decimal": tabular.decimal,
    "date": tabular.date,
    "bool": tabular.boolean,
    "patent": read_patent,
}


def _reader(column: Column, class_reader: Callable[[Any], Any]) -> Callable[[Any], Any]:
    if column.kind == "text":
        return tabular.bounded_text(column.max_length)
    if column.kind == "choice":
        return tabular.choice(column.choices)
    if column.kind == "class":
        return class_reader
    return READERS[column.kind]


# ---------------------------------------------------------------------------------------------
# The job


@dataclass
class Row:
    number: int  # Excel row number
    values: dict[str, Any] = field(default_factory=dict)  # key -> parsed value (absent: blank or invalid)
    bad: set[str] = field(default_factory=set)  # keys whose cell could not be read


def _unreadable() -> str:
    return _("无法读取该 Excel 文件，请使用平台模板另存为 .xlsx 后重新上传。")


def _read_rows(kind: str, data: bytes, columns: Sequence[Column]) -> list[tuple[int, tuple[Any, ...]]]:
    """The data rows (Excel row number, values in template column order); raises tabular.FileError."""
    with tabular.open_table(data, sheet=DATA_SHEETS[kind], unreadable=_unreadable()) as table:
        _match, rows = tabular.read_rows(
            table,
            columns,
            max_rows=MAX_ROWS,
            require="all",
            hint=lambda match: _other_template_hint(kind, match),
            empty=_("工作表“%(sheet)s”是空的：第 1 行应为表头，请使用平台模板。") % {"sheet": table.title},
            no_data=_("文件中没有数据：请从第 2 行起填写，每行一条。"),
        )
    return rows


def _other_template_hint(kind: str, match: tabular.HeaderMatch) -> str:
    """Said when the header is the other template's: the user chose the wrong kind on upload."""
    other = ImportKind.PRODUCTS if kind == ImportKind.PATENTS else ImportKind.PATENTS
    if all(match.has(c.header) for c in COLUMNS[other] if c.required):
        return _("这似乎是“%(kind)s”模板，请在上传时选择“%(kind)s”。") % {"kind": other.label}
    return ""


def _parse(
    columns: Sequence[Column], data: list[tuple[int, tuple[Any, ...]]], problems: Problems, progress: jobs.Progress
) -> list[Row]:
    readers = {}
    class_reader = _class_reader()
    for column in columns:
        readers[column.key] = _reader(column, class_reader)
    parsed: list[Row] = []
    for done, (number, values) in enumerate(data, start=1):
        row = Row(number)
        for column, raw in zip(columns, values, strict=True):
            if tabular.blank(raw):
                continue
            try:
                row.values[column.key] = readers[column.key](raw)
            except CellError as exc:
                row.bad.add(column.key)
                problems.add(number, column.key, exc)
        parsed.append(row)
        progress.row(done)
    return parsed


def _required(rows: Iterable[Row], columns: Sequence[Column], problems: Problems) -> None:
    for row in rows:
        for column in columns:
            if column.required and column.key not in row.values and column.key not in row.bad:
                problems.add(row.number, column.key, _("必填，请填写。"))


def _chunks(items: list[str], size: int = 500) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _check_patents(job: ImportJob, rows: list[Row], problems: Problems) -> None:
    _required(rows, PATENT_COLUMNS, problems)
    numbers = sorted({r.values["number"] for r in rows if "number" in r.values})
    known: set[str] = set()
    registered: set[str] = set()
    for chunk in _chunks(numbers):
        known.update(Patent.objects.filter(number__in=chunk).values_list("number", flat=True))
        registered.update(
            PatentRight.objects.filter(unit=job.unit, patent__number__in=chunk).values_list("patent__number", flat=True)
        )
    policy = FilingPolicy.current()
    today = china_today()
    first_row: dict[str, int] = {}
    for row in rows:
        _check_patent_number(row, first_row, known, registered, problems)
        _check_patent_dates(row, today, problems)
        _check_patent_licence(row, policy, problems)


def _check_patent_number(
    row: Row, first_row: dict[str, int], known: set[str], registered: set[str], problems: Problems
) -> None:
    """A patent row's number: not twice in the file, not yet the unit's, titled when the platform lacks it."""
    v = row.values
    number = v.get("number")
    if not number:
        return
    if number in first_row:
        problems.add(
            row.number,
            "number",
            _("与第 %(row)s 行的申请号 %(n)s 重复。") % {"row": first_row[number], "n": number},
        )
    else:
        first_row[number] = row.number
    if number in registered:
        problems.add(row.number, "number", _("本单位已登记专利 %(n)s，无须重复导入。") % {"n": number})
    if number not in known and not v.get("title") and "title" not in row.bad:
        problems.add(row.number, "title", _("平台尚无专利 %(n)s 的记录，请填写专利名称。") % {"n": number})


def _check_patent_dates(row: Row, today: Any, problems: Problems) -> None:
    """A patent row's dates: none in the future, the grant not before the application."""
    v = row.values
    for key in ("application_date", "grant_date"):
        if key in v and v[key] > today:
            problems.add(row.number, key, _("日期不能晚于今天。"))
    if "application_date" in v and "grant_date" in v and v["grant_date"] < v["application_date"]:
        problems.add(row.number, "grant_date", _("授权公告日不能早于申请日。"))


def _check_patent_licence(row: Row, policy: FilingPolicy, problems: Problems) -> None:
    """A patent row's licence columns: required of a licensee (per the policy), blank for any other kind."""
    v = row.values
    kind = v.get("kind", RightKind.OWNER)
    if "kind" in row.bad:
        return
    if kind == RightKind.LICENSEE:
        if "licence_kind" not in v and "licence_kind" not in row.bad:
            problems.add(row.number, "licence_kind", _("被许可人须注明许可类型（独占、排他或普通）。"))
        if policy.require_licence_recordal and not v.get("recordal_number"):
            problems.add(row.number, "recordal_number", _("平台要求许可须经备案，请填写许可备案号。"))
    else:
        for key in ("licence_kind", "recordal_number"):
            if v.get(key):
                problems.add(row.number, key, _("只有权利类型为“被许可人”时才填写此列，请留空。"))


def _check_products(job: ImportJob, rows: list[Row], problems: Problems) -> list[dict[str, Any]]:
    """Group the rows into products and check them; returns the products to create."""
    _required(rows, [c for c in PRODUCT_COLUMNS if not c.product_level], problems)
    groups: dict[int, list[Row]] = {}
    for row in rows:
        if "seq" in row.values:
            groups.setdefault(row.values["seq"], []).append(row)
    numbers = sorted({r.values["patent"] for r in rows if "patent" in r.values})
    rights: dict[str, int] = {}
    for chunk in _chunks(numbers):
        rights.update(
            PatentRight.objects.filter(unit=job.unit, patent__number__in=chunk).values_list("patent__number", "pk")
        )
    right_numbers = {pk: number for number, pk in rights.items()}  # the unit's rights this file names
    existing = set(ProductVersion.objects.filter(product__unit=job.unit).values_list("name", "model", "data_year"))
    max_year = default_data_year()
    today = china_today()
    seen_names: dict[tuple[str, str, int], int] = {}
    refusals: dict[int, str | None] = {}  # a data year's opt-in refusal: the same for every product of the file
    products = []
    for seq, group in groups.items():
        first = group[0].number
        data = _product_data(seq, group, problems)
        year = data.get("data_year", max_year)
        _check_product_year(first, data, year, refusals, problems)
        if data.get("first_sale_date") and data["first_sale_date"] > today:
            problems.add(first, "first_sale_date", _("日期不能晚于今天。"))
        # the figures' rules are those every path applies (a blank export figure is 0, the others required)
        for key, message in rules.figure_errors({k: data.get(k) for k in rules.FIGURES}).items():
            if not any(key in r.bad for r in group):  # an unreadable cell has said so already
                problems.add(first, key, message)
        _check_product_name(
            seq, first, (data.get("name", ""), data.get("model", ""), year), seen_names, existing, problems
        )
        links, link_errors = _product_links(group, rights, problems)
        # no core patent: saved as a draft like a form's or the API's; the check before review refuses it
        if not link_errors:
            # the rules of a patent list the product form also applies (the sum of contributions, ...)
            for message in rules.link_shape_errors(job.unit_id, links, rights=right_numbers):
                problems.add(first, "contribution", message)
        products.append({"row": first, "data": data, "links": links, "data_year": year})
    return products


def _product_data(seq: int, group: list[Row], problems: Problems) -> dict[str, Any]:
    """A product's fields from the rows of its sequence number (the rows after the first may leave them blank)."""
    first = group[0].number
    data: dict[str, Any] = {}
    for column in PRODUCT_FIELDS:
        holder: Row | None = None
        for row in group:
            if column.key not in row.values:
                continue
            if holder is None:
                holder, data[column.key] = row, row.values[column.key]
            elif row.values[column.key] != data[column.key]:
                problems.add(
                    row.number,
                    column.key,
                    _("与第 %(row)s 行不一致：产品序号 %(seq)s 的各行产品信息须相同（第 2 行起可留空）。")
                    % {"row": holder.number, "seq": seq},
                )
        if (
            column.required
            and column.key not in rules.FIGURES  # the figures' rule is the services' (below)
            and holder is None
            and not any(column.key in r.bad for r in group)
        ):
            problems.add(first, column.key, _("必填，请填写。"))
    return data


def _check_product_year(
    first: int, data: dict[str, Any], year: int, refusals: dict[int, str | None], problems: Problems
) -> None:
    """A product's data year is open, and its certification opt-in is allowed for that year."""
    if message := rules.data_year_error(year):
        problems.add(first, "data_year", message)
    elif data.get("certification_opt_in"):
        if year not in refusals:
            refusals[year] = candidacy.opt_in_refusal(year, None)
        if refusal := refusals[year]:
            problems.add(first, "certification_opt_in", refusal)


def _check_product_name(
    seq: int,
    first: int,
    name_key: tuple[str, str, int],
    seen_names: dict[tuple[str, str, int], int],
    existing: set[tuple[str, str, int]],
    problems: Problems,
) -> None:
    """A product's (name, model, year) is neither another sequence number's in the file nor the unit's already."""
    if not name_key[0]:
        return
    if name_key in seen_names:
        problems.add(
            first,
            "name",
            _("与产品序号 %(seq)s 的产品名称、型号规格相同：同一产品请使用相同的产品序号。")
            % {"seq": seen_names[name_key]},
        )
    seen_names.setdefault(name_key, seq)
    if name_key in existing:
        problems.add(
            first,
            "name",
            _("本单位已有 %(year)s 年度的同名同型号产品“%(name)s”，请勿重复导入。")
            % {"year": name_key[2], "name": name_key[0]},
        )


def _product_links(group: list[Row], rights: dict[str, int], problems: Problems) -> tuple[list[dict[str, Any]], bool]:
    """The patent links of a product's rows, and whether any row's link was refused."""
    links = []
    rows_by_right: dict[int, int] = {}
    link_errors = False
    for row in group:
        number = row.values.get("patent")
        if number is None:
            continue
        right = rights.get(number)
        contribution = row.values.get("contribution", Decimal(0))
        usable = True
        if right is None:
            usable = False
            problems.add(
                row.number,
                "patent",
                _("专利 %(n)s 尚未登记到本单位：请先在“专利管理”中登记，或先用专利模板导入。") % {"n": number},
            )
        elif right in rows_by_right:
            usable = False
            problems.add(
                row.number,
                "patent",
                _("专利 %(n)s 已在第 %(row)s 行关联到同一产品。") % {"n": number, "row": rows_by_right[right]},
            )
        if contribution > 100:
            usable = False
            problems.add(row.number, "contribution", _("贡献度须在 0 到 100 之间。"))
        if not usable or right is None:
            link_errors = True
            continue
        rows_by_right[right] = row.number
        links.append(
            {
                "right": right,
                "is_core": row.values.get("is_core", False),
                "contribution": contribution,
                "embodiment": row.values.get("embodiment", ""),
            }
        )
    return links, link_errors


def _save_patents(job: ImportJob, rows: list[Row], user: User) -> list[int]:
    ids = []
    for row in rows:
        data = {"number": row.values["number"], **{k: v for k, v in row.values.items() if k != "number"}}
        try:
            right = services.patent_right_create(unit=job.unit, user=user, data=data)
        except ValidationError as exc:
            raise jobs.RowFailed(row.number, " ".join(exc.messages)) from exc
        except DatabaseError as exc:
            if claims.connection_lost(exc):  # not the row's fault: the job is retried
                raise
            raise jobs.RowFailed(row.number, str(exc)) from exc
        ids.append(right.pk)
    return ids


BATCH_SIZE = 1000  # rows per INSERT when the products are saved


def _save_products(job: ImportJob, products: list[dict[str, Any]]) -> list[int]:
    """Save the checked products set-based (what `services.product_create` writes, product by product).

    `_check_products` has already applied every rule `product_create` applies (figures, the patent
    list against the unit's rights, the names) to the whole file, so each version is only checked
    against its fields' own validators here: the uniqueness of (product, data year) holds for a new
    product, the classes were read from the active ones, and the database's CHECK constraints are the
    figure rules above. Products, versions and links are then written with bulk_create; the import's
    audit record (`audit_bulk`, in `ProductImport.apply`) names every version; the dashboards' summary is told through
    `figures_changed`, as no post_save signal is sent."""
    unit, user = job.unit, job.created_by
    services.require_filer(user, unit)  # 404 (see ProductImport.apply) if the uploader lost access meanwhile
    versions: list[ProductVersion] = []
    for product in products:
        version = ProductVersion(data_year=product["data_year"])
        for f in services.VERSION_FIELDS:
            if f in product["data"]:
                if f == "product_class":
                    version.product_class = product["data"][f]
                else:
                    setattr(version, f, product["data"][f])
        try:
            version.full_clean(exclude=["product", "product_class"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            raise jobs.RowFailed(product["row"], " ".join(exc.messages)) from exc
        versions.append(version)
    for start in range(0, len(products), BATCH_SIZE):
        batch = products[start : start + BATCH_SIZE]
        batch_versions = versions[start : start + BATCH_SIZE]
        try:
            made = Product.objects.bulk_create(
                [
                    Product(
                        unit=unit,
                        created_by=user,
                        province_code=unit.province_code,
                        city_code=unit.city_code,
                        county_code=unit.county_code,
                    )
                    for _ in batch
                ]
            )
            for made_product, version in zip(made, batch_versions, strict=True):
                version.product = made_product
            ProductVersion.objects.bulk_create(batch_versions)
            PatentLink.objects.bulk_create(
                [
                    PatentLink(
                        version=version,
                        right_id=int(link["right"]),
                        is_core=bool(link.get("is_core")),
                        contribution=tabular.decimal_or_zero(link.get("contribution")),
                        embodiment=(link.get("embodiment") or "").strip(),
                    )
                    for version, product in zip(batch_versions, batch, strict=True)
                    for link in product["links"]
                ],
                batch_size=BATCH_SIZE,
            )
        except DatabaseError as exc:
            if claims.connection_lost(exc):  # not the rows' fault: the job is retried
                raise
            raise jobs.RowFailed(batch[0]["row"], str(exc)) from exc
        figures_changed.send(sender=Product, products=[p.pk for p in made])
    return [v.pk for v in versions]


class ProductImport(jobs.Importer[ImportJob]):
    """The rules of an Excel bulk filing (patents or products); patent_platform.jobs runs the job."""

    model = ImportJob
    name = "import job"
    related = ("unit", "created_by")
    progress_every = PROGRESS_EVERY
    max_errors = MAX_ERRORS

    def read(self, job: ImportJob) -> bytes:
        try:
            return super().read(job)
        except Exception as exc:  # the stored file is gone or unreadable: as a damaged workbook
            raise tabular.FileError(_unreadable()) from exc

    def check(self, job: ImportJob, data: bytes, progress: jobs.Progress) -> jobs.Checked:
        columns = COLUMNS[job.kind]
        problems = Problems(columns)
        table = _read_rows(job.kind, data, columns)
        progress.total(len(table))
        rows = _parse(columns, table, problems, progress)
        if job.kind == ImportKind.PATENTS:
            _check_patents(job, rows, problems)
            return jobs.Checked(rows, problems.sorted())
        products = _check_products(job, rows, problems)
        return jobs.Checked(products, problems.sorted())

    def apply(self, job: ImportJob, rows: Any) -> dict[str, Any]:
        user = job.created_by
        if user is None:
            raise jobs.JobError(_("上传该文件的账号已不存在，未导入任何数据。"))
        try:
            if job.kind == ImportKind.PATENTS:
                model: type[Model] = PatentRight
                ids = _save_patents(job, rows, user)
            else:
                model, ids = ProductVersion, _save_products(job, rows)
        except Http404 as exc:  # the uploader lost access since the upload (the services' check)
            raise jobs.JobError(_("上传该文件的账号已无权为本单位登记数据，未导入任何数据。")) from exc
        audit.audit_bulk(
            action=AuditAction.IMPORT, model=model, ids=ids, message=f"import job {job.pk}: {job.original_name}"
        )
        return {"created_count": len(ids), "message": _("已导入 %(n)s 条，均为草稿。") % {"n": len(ids)}}


IMPORTER = ProductImport()


def run_import_job(job_id: int, *, will_retry: bool = False) -> str:
    """Validate a queued job's file and, if every row is valid, save it all; returns the final status
    (patent_platform.jobs.run_job: claim, progress, all or nothing, retry)."""
    return jobs.run_job(IMPORTER, job_id, will_retry=will_retry)
