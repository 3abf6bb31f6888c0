"""Reading a roster file: the template, the columns and the checks of every row (nothing is saved here)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import IO

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from filings.identifiers import validate_uscc
from patent_platform import jobs, tabular
from patent_platform.clock import china_today
from patent_platform.models import Region
from patent_platform.scoping import Scope
from patent_platform.validators import validate_contact_phone

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
        raise RosterImportError([RowError(0, "", str(exc.error["message"]))]) from exc
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
            entries.append(
                replace(
                    entry,
                    contact_name=checked_contact["contact_name"],
                    contact_phone=checked_contact["contact_phone"],
                    contact_email=checked_contact["contact_email"],
                )
            )
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
