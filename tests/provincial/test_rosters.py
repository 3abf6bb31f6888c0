"""Target rosters and coverage: upload (all or nothing), list, delete, coverage, the not-filed list and its
export, the API, and scope per role.

Demo data + `load_demo_rosters`: a national 国家知识产权优势企业 roster of 8 enterprises — the three demo
enterprises (广州 天河, 深圳 南山, 杭州 西湖; all three have approved products) and five that have not
filed: 佛山 禅城, 广州 越秀, 深圳 福田, 杭州 上城, 宁波 海曙. So 广东 5 (2 covered), 深圳 2 (1), 浙江 3 (1),
national 8 (3).
"""

import itertools
from collections.abc import Callable
from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, TestCase
from django.urls import resolve, reverse
from openpyxl import Workbook, load_workbook
from rest_framework.test import APIClient

from filings import identity, services, workflow
from filings.choices import VerificationMethod
from filings.identifiers import build_patent_number, build_uscc
from filings.models import FilingUnit, ProductClass, ProductVersion, UnitMembership
from filings.workflow import china_today
from patent_platform.choices import AuditAction, Role
from patent_platform.jobs import JobStatus
from patent_platform.models import AuditEvent, User
from provincial import rosters as svc
from provincial.choices import RosterCategory
from provincial.models import ManagementUnit, Roster, RosterEntry, RosterUpload
from provincial.services import port_add_admin
from tests.problems import fields

pytestmark = pytest.mark.django_db

FOSHAN = build_uscc(region_code="440604", org_body="MA5DM001")
YUEXIU = build_uscc(region_code="440104", org_body="MA5DM002")
FUTIAN = build_uscc(region_code="440304", org_body="MA5DM003")
SHANGCHENG = build_uscc(region_code="330102", org_body="MA2DM004")
HAISHU = build_uscc(region_code="330203", org_body="MA2DM005")
GD_UNFILED = {FOSHAN, YUEXIU, FUTIAN}
ZJ_UNFILED = {SHANGCHENG, HAISHU}
# new enterprises for uploads
NANHAI = build_uscc(region_code="440605", org_body="MA5UP001")  # 佛山 南海
BAOAN = build_uscc(region_code="440306", org_body="MA5UP002")  # 深圳 宝安
BINJIANG = build_uscc(region_code="330108", org_body="MA2UP003")  # 杭州 滨江

_serials = itertools.count(5000)
ROSTER_PAGES = ["rosters:list", "rosters:export", "rosters:upload", "rosters:template", "rosters:coverage"]
ROSTER_PAGES += ["rosters:coverage_export", "rosters:missing", "rosters:missing_export"]


# ---------------------------------------------------------------------------------------------------------------
# helpers and fixtures


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def xlsx(rows: list[list[Any]], headers: tuple[str, ...] = ("统一社会信用代码", "企业名称")) -> SimpleUploadedFile:
    book = Workbook()
    sheet = book.active
    sheet.append(list(headers))
    for row in rows:
        sheet.append(row)
    buffer = BytesIO()
    book.save(buffer)
    return SimpleUploadedFile("名单.xlsx", buffer.getvalue(), content_type="application/octet-stream")


def upload(client: Client, file: SimpleUploadedFile, **fields: Any) -> Any:
    """POST the upload form; the job it queues runs when the request's transaction commits (tasks run
    in-process in the tests), so the answer's redirect leads to a finished job."""
    data = {"category": RosterCategory.LITTLE_GIANT, "year": china_today().year, "title": "测试名单", **fields}
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(reverse("rosters:upload"), {**data, "file": file})


def upload_job(answer: Any) -> RosterUpload:
    assert answer.status_code == 302, answer.status_code
    return RosterUpload.objects.get(pk=resolve(answer["Location"]).kwargs["pk"])


def row_errors(answer: Any) -> list[svc.RowError]:
    """The problems of an upload that was refused (nothing saved)."""
    job = upload_job(answer)
    assert job.status == JobStatus.FAILED and job.roster_id is None, (job.status, job.message)
    return [svc.RowError(**error) for error in job.errors]


def sheet_rows(answer: Any) -> list[tuple[Any, ...]]:
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(BytesIO(answer.content), read_only=True)
    return [tuple(row) for row in book.worksheets[0].iter_rows(values_only=True)]


def figures(client: Client, **params: Any) -> dict[str, Any]:
    answer = client.get(reverse("rosters:coverage"), params)
    assert answer.status_code == 200
    return answer.context


@pytest.fixture
def users(demo_users: dict[str, User]) -> dict[str, User]:
    return demo_users


@pytest.fixture
def roster(users: dict[str, User]) -> Roster:
    return svc.load_demo_rosters(users["national"])


@pytest.fixture
def register(make_user: Callable[..., User]) -> Callable[..., tuple[FilingUnit, User]]:
    """register(uscc, name, county): an enterprise registered on the platform with its contact."""

    def make(uscc: str, name: str, county: str) -> tuple[FilingUnit, User]:
        unit = FilingUnit(
            uscc=uscc,
            name=name,
            region_id=county,
            contact_name=f"{name[:2]}联系人",
            contact_phone="0757-12345678",
            contact_email=f"{uscc.lower()}@example.cn",
        )
        unit.full_clean()
        unit.save()
        identity.unit_verify(unit=unit, method=VerificationMethod.ADMINISTRATOR, note="test")  # filings/identity.py
        user = make_user(f"{uscc.lower()}@example.cn", Role.ENTERPRISE)
        UnitMembership.objects.create(user=user, unit=unit, is_manager=True)
        return unit, user

    return make


def draft(unit: FilingUnit, user: User) -> ProductVersion:
    number = build_patent_number(year=2019, type_digit="1", serial=next(_serials))
    right = services.patent_right_create(unit=unit, user=user, data={"number": number, "title": f"测试专利 {number}"})
    return services.product_create(
        unit=unit,
        user=user,
        data={
            "name": "测试产品",
            "model": "T-1",
            "product_class": ProductClass.objects.get(code="03"),
            "sales": Decimal(1000),
            "exports": Decimal(100),
            "output_value": Decimal(1200),
        },
        links=[{"right": right.pk, "is_core": True, "contribution": Decimal(60), "embodiment": "主体结构"}],
    )


# ---------------------------------------------------------------------------------------------------------------
# demo roster


def test_demo_roster_has_the_demo_enterprises_and_five_unfiled_ones(users: dict[str, User], roster: Roster) -> None:
    assert roster.owner is None and roster.category == RosterCategory.NATIONAL_ADVANTAGE
    assert roster.year == china_today().year
    entries = {e.uscc: e for e in roster.entries.all()}
    assert len(entries) == roster.entry_count == 8
    assert set(entries) >= GD_UNFILED | ZJ_UNFILED
    assert set(FilingUnit.objects.values_list("uscc", flat=True)) <= set(entries)
    futian = entries[FUTIAN]
    assert (futian.province_code, futian.city_code, futian.county_code) == ("440000", "440300", "440304")
    assert svc.load_demo_rosters(users["national"]) == roster  # a second run changes nothing
    assert Roster.objects.count() == 1


# ---------------------------------------------------------------------------------------------------------------
# coverage


@pytest.mark.parametrize(
    ("who", "entries", "covered", "percent"),
    [("national", 8, 3, 37.5), ("guangdong", 5, 2, 40.0), ("shenzhen", 2, 1, 50.0), ("zhejiang", 3, 1, 33.3)],
)
def test_coverage_per_scope(
    users: dict[str, User], roster: Roster, who: str, entries: int, covered: int, percent: float
) -> None:
    context = figures(client_for(users[who]))
    total = context["total"]
    assert (total.entries, total.covered, total.missing, total.percent) == (
        entries,
        covered,
        entries - covered,
        percent,
    )
    [row] = context["categories"]
    assert (row.key, row.entries, row.covered) == (RosterCategory.NATIONAL_ADVANTAGE, entries, covered)
    # coverage over time: everything was approved this month
    assert context["trend"][-1] == {
        "month": china_today().strftime("%Y-%m"),
        "covered": covered,
        "entries": entries,
        "percent": percent,
    }
    page = client_for(users[who]).get(reverse("rosters:coverage")).content.decode()
    assert f'data-testid="total-entries">{entries}<' in page
    assert f'data-testid="total-covered">{covered}<' in page


def test_national_coverage_per_port(users: dict[str, User], roster: Roster) -> None:
    ports = {row.key: (row.entries, row.covered) for row in figures(client_for(users["national"]))["ports"]}
    assert len(ports) == ManagementUnit.objects.count() == 47
    assert ports["440000"] == (5, 2)
    assert ports["440100"] == (2, 1)  # 广州: 天河 (filed) + 越秀
    assert ports["440300"] == (2, 1)
    assert ports["330000"] == (3, 1)
    assert ports["330100"] == (2, 1)
    assert ports["330200"] == (1, 0)
    assert ports["110000"] == (0, 0)
    assert ports["XPCC"] == (0, 0)
    assert sum(n for code, (n, _c) in ports.items() if code.endswith("0000")) == 8  # provinces add up


def test_port_sees_only_its_own_ports_in_the_per_port_table(users: dict[str, User], roster: Roster) -> None:
    ports = {row.key: (row.entries, row.covered) for row in figures(client_for(users["guangdong"]))["ports"]}
    assert ports == {"440000": (5, 2), "440100": (2, 1), "440300": (2, 1)}
    assert figures(client_for(users["shenzhen"]))["ports"] == []  # one port: no table


def test_an_approval_raises_coverage_and_the_trend(
    users: dict[str, User], roster: Roster, register: Callable[..., tuple[FilingUnit, User]]
) -> None:
    unit, filer = register(FOSHAN, "佛山禅城示例精密机械有限公司", "440604")
    version = draft(unit, filer)
    workflow.version_submit(version=version, user=filer)
    before = figures(client_for(users["guangdong"]))["total"]
    assert (before.entries, before.covered) == (5, 2)  # submitted is not covered
    workflow.version_approve(version=version, user=users["reviewer"])
    for who, expected in [("guangdong", (5, 3)), ("national", (8, 4)), ("zhejiang", (3, 1)), ("shenzhen", (2, 1))]:
        context = figures(client_for(users[who]))
        assert (context["total"].entries, context["total"].covered) == expected, who
        assert context["trend"][-1]["covered"] == expected[1]


def test_an_enterprise_on_two_rosters_counts_once_in_the_total(users: dict[str, User], roster: Roster) -> None:
    answer = upload(
        client_for(users["guangdong"]), xlsx([[FUTIAN, "深圳福田示例光电技术有限公司"], [NANHAI, "佛山南海"]])
    )
    assert answer.status_code == 302
    context = figures(client_for(users["guangdong"]))
    by_category = {row.key: (row.entries, row.covered) for row in context["categories"]}
    assert by_category == {RosterCategory.NATIONAL_ADVANTAGE: (5, 2), RosterCategory.LITTLE_GIANT: (2, 0)}
    assert (context["total"].entries, context["total"].covered) == (6, 2)  # 福田 once
    # the category filter narrows the per-port table and the trend; the year filter everything
    narrowed = figures(client_for(users["guangdong"]), category=RosterCategory.LITTLE_GIANT)
    assert {row.key: row.entries for row in narrowed["ports"]} == {"440000": 2, "440100": 0, "440300": 1}
    assert narrowed["trend"] == []
    empty = figures(client_for(users["guangdong"]), year=2001)
    assert empty["total"].entries == 0
    assert (
        b'data-testid="coverage-empty"'
        in client_for(users["guangdong"]).get(reverse("rosters:coverage"), {"year": 2001}).content
    )


def test_coverage_export(users: dict[str, User], roster: Roster) -> None:
    rows = sheet_rows(client_for(users["zhejiang"]).get(reverse("rosters:coverage_export")))
    assert rows[0] == ("维度", "名称", "名单企业数", "已备案", "未备案", "覆盖率（%）")
    assert ("名单类别", "国家知识产权优势企业", 3, 1, 2, 33.3) in rows
    assert ("管理端口", "杭州市", 2, 1, 1, 50.0) in rows
    assert not any(row[1] in {"广东省", "深圳市"} for row in rows)
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, actor_id=users["zhejiang"].pk).exists()


# ---------------------------------------------------------------------------------------------------------------
# upload


def test_template_download_then_upload_as_national(users: dict[str, User]) -> None:
    client = client_for(users["national"])
    template = client.get(reverse("rosters:template"))
    assert template.status_code == 200
    book = load_workbook(BytesIO(template.content))
    assert [c.value for c in book.worksheets[0][1]] == [
        "统一社会信用代码",
        "企业名称",
        "联系人",
        "联系电话",
        "电子邮箱",
    ]
    book.worksheets[0].append([NANHAI, "佛山南海示例有限公司"])
    book.worksheets[0].append([BINJIANG.lower(), "  杭州滨江示例有限公司 "])  # normalised
    buffer = BytesIO()
    book.save(buffer)
    answer = upload(
        client,
        SimpleUploadedFile("t.xlsx", buffer.getvalue()),
        category=RosterCategory.NATIONAL_DEMONSTRATION,
        title="2025 年国家知识产权示范企业",
        year=2025,
    )
    job = upload_job(answer)
    assert answer["Location"] == reverse("rosters:upload_detail", args=[job.pk])
    saved = Roster.objects.latest("id")
    assert (job.status, job.roster, job.entry_count, job.created_by) == (JobStatus.DONE, saved, 2, users["national"])
    job_page = client.get(answer["Location"]).content.decode()
    assert "已导入名单“2025 年国家知识产权示范企业”：2 家企业。" in job_page and 'data-testid="roster-link"' in job_page
    assert (saved.owner, saved.year, saved.entry_count, saved.uploaded_by) == (None, 2025, 2, users["national"])
    assert saved.source_name == "t.xlsx"
    entries = {e.uscc: e for e in saved.entries.all()}
    assert entries[BINJIANG].name == "杭州滨江示例有限公司"
    assert (entries[NANHAI].province_code, entries[NANHAI].city_code, entries[NANHAI].county_code) == (
        "440000",
        "440600",
        "440605",
    )
    event = AuditEvent.objects.filter(action=AuditAction.IMPORT, object_type=RosterEntry._meta.label).latest("id")
    assert sorted(event.changes["ids"]) == sorted(str(e.pk) for e in entries.values())
    listing = client.get(reverse("rosters:list")).content.decode()
    assert "2025 年国家知识产权示范企业" in listing


def test_upload_page_says_whose_roster_it_will_be(users: dict[str, User]) -> None:
    page = client_for(users["shenzhen"]).get(reverse("rosters:upload")).content.decode()
    assert "上传为 深圳市 的名单" in page and 'data-testid="roster-template"' in page
    assert f'value="{china_today().year}"' in page
    assert "国家局上传的名单为全国名单" in client_for(users["national"]).get(reverse("rosters:upload")).content.decode()


def test_columns_in_any_order_and_blank_lines(users: dict[str, User]) -> None:
    file = xlsx([["佛山南海", NANHAI], [None, None], ["深圳宝安", BAOAN]], headers=("企业名称", "统一社会信用代码"))
    assert upload(client_for(users["national"]), file).status_code == 302
    assert set(Roster.objects.latest("id").entries.values_list("uscc", flat=True)) == {NANHAI, BAOAN}


def test_unknown_region_code_falls_back_to_its_province_or_is_an_error(users: dict[str, User]) -> None:
    odd = build_uscc(region_code="449999", org_body="MA5UP009")
    assert upload(client_for(users["national"]), xlsx([[odd, "区划码已撤销的企业"]])).status_code == 302
    entry = RosterEntry.objects.get(uscc=odd)
    assert (entry.province_code, entry.city_code, entry.county_code) == ("440000", "", "")
    nowhere = build_uscc(region_code="990101", org_body="MA5UP010")
    answer = upload(client_for(users["national"]), xlsx([[nowhere, "无法确定地区的企业"]]), year=china_today().year - 1)
    assert [(e.row, "不在 GB/T 2260" in e.message) for e in row_errors(answer)] == [(2, True)]


def test_bad_rows_are_listed_and_nothing_is_saved(users: dict[str, User], roster: Roster) -> None:
    bad_check = NANHAI[:-1] + ("0" if NANHAI[-1] != "0" else "1")
    file = xlsx(
        [
            [BAOAN, "深圳宝安示例"],  # good
            [bad_check, "校验码错误的企业"],
            [BINJIANG, "杭州滨江示例"],  # good
            [BAOAN, "重复的企业"],
            [None, "缺少代码的企业"],
            ["91440300MA5UP0", "位数不够"],
            [YUEXIU, None],
        ]
    )
    client = client_for(users["national"])
    before = (Roster.objects.count(), RosterEntry.objects.count(), AuditEvent.objects.count())
    answer = upload(client, file, title="有错误的名单")
    errors = [(e.row, e.message) for e in row_errors(answer)]
    rows = [row for row, _m in errors]
    assert rows == [3, 5, 6, 7, 8]
    assert "校验码（第 18 位）" in errors[0][1]
    assert "与第 2 行重复" in errors[1][1]
    assert "缺少统一社会信用代码" in errors[2][1]
    assert "应为 18 位" in errors[3][1]
    assert "缺少企业名称" in errors[4][1]
    # nothing saved: no roster, no entry, and nothing audited but the upload itself
    assert (Roster.objects.count(), RosterEntry.objects.count()) == before[:2]
    assert list(AuditEvent.objects.order_by("id")[before[2] :].values_list("object_type", flat=True)) == [
        RosterUpload._meta.label
    ]
    page = client.get(answer["Location"]).content.decode()
    assert 'data-testid="errors-table"' in page and page.count('data-testid="error-row"') == 5
    assert "有错误的名单" in page  # the page names the upload
    report = sheet_rows(client.get(reverse("rosters:upload_errors", args=[upload_job(answer).pk])))
    assert [row[0] for row in report[1:6]] == [3, 5, 6, 7, 8]


def test_wrong_headers_wrong_file_and_bad_fields(users: dict[str, User]) -> None:
    client = client_for(users["national"])
    answer = upload(client, xlsx([[NANHAI, "佛山南海"]], headers=("信用代码", "企业名称")))
    [error] = row_errors(answer)
    assert error.row == 1 and "表头缺少列：统一社会信用代码" in error.message
    pdf = SimpleUploadedFile("名单.xlsx", b"%PDF-1.4 not a spreadsheet")
    answer = upload(client, pdf)
    assert answer.status_code == 400 and "只接受 XLSX" in str(answer.context["form"].errors["file"])
    answer = upload(client, xlsx([]))
    assert "没有企业数据" in row_errors(answer)[0].message
    answer = upload(client, xlsx([[NANHAI, "佛山南海"]]), year=1990, title="  ", category="nope")
    assert answer.status_code == 400
    assert set(answer.context["form"].errors) == {"year", "title", "category"}
    assert Roster.objects.count() == 1  # only the demo roster


def test_port_uploads_only_enterprises_in_its_scope(users: dict[str, User]) -> None:
    guangdong = client_for(users["guangdong"])
    answer = upload(guangdong, xlsx([[NANHAI, "佛山南海"], [BINJIANG, "杭州滨江示例"], [BAOAN, "深圳宝安"]]))
    [error] = row_errors(answer)
    assert error.row == 3 and "不在本端口管辖范围" in error.message
    assert Roster.objects.count() == 1  # only the demo roster
    # a city port: 佛山 is in 广东 but not in 深圳
    answer = upload(client_for(users["shenzhen"]), xlsx([[BAOAN, "深圳宝安"], [NANHAI, "佛山南海"]]))
    assert [e.row for e in row_errors(answer)] == [3]
    assert upload(guangdong, xlsx([[NANHAI, "佛山南海"], [BAOAN, "深圳宝安"]])).status_code == 302
    saved = Roster.objects.latest("id")
    assert saved.owner == ManagementUnit.objects.get(code="440000")


# ---------------------------------------------------------------------------------------------------------------
# list, scope and delete


def _port_rosters(users: dict[str, User]) -> dict[str, Roster]:
    upload(client_for(users["guangdong"]), xlsx([[NANHAI, "佛山南海"], [BAOAN, "深圳宝安"]]), title="广东名单")
    upload(client_for(users["shenzhen"]), xlsx([[BAOAN, "深圳宝安"]]), title="深圳名单")
    upload(client_for(users["zhejiang"]), xlsx([[BINJIANG, "杭州滨江"]]), title="浙江名单")
    return {r.title: r for r in Roster.objects.all()}


def _listed(user: User) -> dict[str, tuple[int, int]]:
    answer = client_for(user).get(reverse("rosters:list"))
    assert answer.status_code == 200
    return {r.title: (r.scope_count, r.scope_covered) for r in answer.context["rosters"]}


def test_each_port_lists_its_rosters_with_counts_in_its_scope(users: dict[str, User], roster: Roster) -> None:
    _port_rosters(users)
    national = roster.title
    assert _listed(users["national"]) == {national: (8, 3), "广东名单": (2, 0), "深圳名单": (1, 0), "浙江名单": (1, 0)}
    assert _listed(users["guangdong"]) == {national: (5, 2), "广东名单": (2, 0), "深圳名单": (1, 0)}
    # 深圳 sees its province's roster, with the province's 深圳 enterprises (the one area rule)
    assert _listed(users["shenzhen"]) == {national: (2, 1), "广东名单": (1, 0), "深圳名单": (1, 0)}
    assert _listed(users["zhejiang"]) == {national: (3, 1), "浙江名单": (1, 0)}
    rows = sheet_rows(client_for(users["zhejiang"]).get(reverse("rosters:export")))
    assert {row[0] for row in rows[1:]} == {national, "浙江名单"}
    assert (national, "国家知识产权优势企业", roster.year, "全国（国家局）", 3, 1, 33.3) in [row[:7] for row in rows]


def test_delete_rules(users: dict[str, User], roster: Roster) -> None:
    rosters = _port_rosters(users)
    guangdong = client_for(users["guangdong"])
    # a national roster the port can see but not delete: 403 (it is in scope: 404 would say it is not there)
    assert guangdong.get(reverse("rosters:delete", args=[roster.pk])).status_code == 403
    assert guangdong.post(reverse("rosters:delete", args=[roster.pk])).status_code == 403
    # another port's roster it sees (深圳 inside 广东) is not its own either
    assert guangdong.post(reverse("rosters:delete", args=[rosters["深圳名单"].pk])).status_code == 403
    # a roster out of scope: 404
    assert guangdong.post(reverse("rosters:delete", args=[rosters["浙江名单"].pk])).status_code == 404
    # 深圳 sees 广东's roster (its 深圳 enterprises) but may not delete it: 403, like the national roster
    assert (
        client_for(users["shenzhen"]).get(reverse("rosters:delete", args=[rosters["广东名单"].pk])).status_code == 403
    )
    assert Roster.objects.count() == 4
    page = guangdong.get(reverse("rosters:list")).content.decode()
    assert page.count('data-testid="roster-delete"') == 1  # only its own roster offers the button
    # the port deletes its own after a confirmation page
    confirm = guangdong.get(reverse("rosters:delete", args=[rosters["广东名单"].pk]))
    assert confirm.status_code == 200 and "不可恢复" in confirm.content.decode()
    assert guangdong.post(reverse("rosters:delete", args=[rosters["广东名单"].pk])).status_code == 302
    assert not Roster.objects.filter(title="广东名单").exists()
    assert not RosterEntry.objects.filter(uscc=NANHAI).exists()
    assert AuditEvent.objects.filter(action=AuditAction.DELETE, object_type=Roster._meta.label).count() == 1
    # the national office deletes anything
    national = client_for(users["national"])
    assert national.post(reverse("rosters:delete", args=[rosters["浙江名单"].pk])).status_code == 302
    assert national.post(reverse("rosters:delete", args=[roster.pk])).status_code == 302
    assert set(Roster.objects.values_list("title", flat=True)) == {"深圳名单"}


@pytest.mark.parametrize("who", ["reviewer", "ent-gz"])
def test_other_roles_get_404_everywhere(users: dict[str, User], roster: Roster, who: str) -> None:
    client = client_for(users[who])
    for name in ROSTER_PAGES:
        assert client.get(reverse(name)).status_code == 404, name
    assert client.post(reverse("rosters:upload"), {}).status_code == 404
    assert client.post(reverse("rosters:delete", args=[roster.pk])).status_code == 404
    assert Roster.objects.filter(pk=roster.pk).exists()


def test_anonymous_is_sent_to_login(roster: Roster) -> None:
    for name in ROSTER_PAGES:
        answer = Client().get(reverse(name))
        assert answer.status_code == 302 and answer["Location"].startswith(reverse("login")), name


def test_a_new_port_without_grants_sees_nothing(users: dict[str, User], roster: Roster, make_user: Callable) -> None:
    ningbo = make_user("ningbo@example.cn", Role.PORT_ADMIN)
    port_add_admin(unit=ManagementUnit.objects.get(code="330200"), user=ningbo)
    context = figures(client_for(ningbo))
    assert (context["total"].entries, context["total"].covered) == (1, 0)  # 宁波 海曙 only
    missing = client_for(ningbo).get(reverse("rosters:missing")).context
    assert [row["uscc"] for row in missing["rows"]] == [HAISHU]


# ---------------------------------------------------------------------------------------------------------------
# the not-filed list


def _missing(user: User, **params: Any) -> dict[str, Any]:
    answer = client_for(user).get(reverse("rosters:missing"), params)
    assert answer.status_code == 200
    return answer.context


def test_missing_list_per_scope(users: dict[str, User], roster: Roster) -> None:
    expected = {
        "national": GD_UNFILED | ZJ_UNFILED,
        "guangdong": GD_UNFILED,
        "shenzhen": {FUTIAN},
        "zhejiang": ZJ_UNFILED,
    }
    for who, usccs in expected.items():
        context = _missing(users[who])
        assert {row["uscc"] for row in context["rows"]} == usccs, who
        assert context["total"] == len(usccs)
        assert {row["state"] for row in context["rows"]} == {svc.STATE_UNREGISTERED}
        assert {row["state_label"] for row in context["rows"]} == {"未注册"}
    row = next(r for r in _missing(users["shenzhen"])["rows"])
    assert row["name"] == "深圳福田示例光电技术有限公司" and row["region"] == "广东省深圳市福田区"


def test_missing_list_states_and_contacts(
    users: dict[str, User], roster: Roster, register: Callable[..., tuple[FilingUnit, User]]
) -> None:
    foshan, foshan_user = register(FOSHAN, "佛山禅城示例精密机械有限公司", "440604")
    workflow.version_submit(version=draft(foshan, foshan_user), user=foshan_user)
    yuexiu, yuexiu_user = register(YUEXIU, "广州越秀示例智能科技有限公司", "440104")
    draft(yuexiu, yuexiu_user)
    # 福田's enterprise registered its address in 杭州: outside 广东's scope, so 广东 sees no contact
    register(FUTIAN, "深圳福田示例光电技术有限公司", "330106")
    register(HAISHU, "宁波海曙示例新能源有限公司", "330203")
    states = {row["uscc"]: row for row in _missing(users["guangdong"])["rows"]}
    assert {u: r["state"] for u, r in states.items()} == {
        FOSHAN: svc.STATE_PENDING,
        YUEXIU: svc.STATE_DRAFT,
        FUTIAN: svc.STATE_REGISTERED,  # its state, as the national office sees it (one area rule)
    }
    assert states[FUTIAN]["outside"] and not states[FOSHAN]["outside"]
    assert states[FUTIAN]["state_label"] == "已注册，尚未填报（所在地不在本辖区，联系方式不显示）"
    assert states[FOSHAN]["contact_email"] == f"{FOSHAN.lower()}@example.cn"
    assert states[FOSHAN]["contact_phone"] == "0757-12345678"
    assert states[FUTIAN]["contact_email"] == states[FUTIAN]["contact_phone"] == ""
    page = client_for(users["guangdong"]).get(reverse("rosters:missing")).content.decode()
    assert f"{FOSHAN.lower()}@example.cn" in page and f"{FUTIAN.lower()}@example.cn" not in page
    national = {row["uscc"]: row for row in _missing(users["national"])["rows"]}
    assert national[FUTIAN]["state"] == svc.STATE_REGISTERED
    assert national[FUTIAN]["contact_email"] == f"{FUTIAN.lower()}@example.cn"
    assert national[HAISHU]["state"] == svc.STATE_REGISTERED
    assert national[SHANGCHENG]["state"] == svc.STATE_UNREGISTERED


def test_missing_export_contents(
    users: dict[str, User], roster: Roster, register: Callable[..., tuple[FilingUnit, User]]
) -> None:
    register(FOSHAN, "佛山禅城示例精密机械有限公司", "440604")
    answer = client_for(users["guangdong"]).get(
        reverse("rosters:missing_export"), {"category": RosterCategory.NATIONAL_ADVANTAGE}
    )
    rows = sheet_rows(answer)
    assert rows[0][8:] == (
        "名单联系人",
        "名单联系电话",
        "名单电子邮箱",
        "最近提醒时间",
        "最近提醒方式",
        "提醒后注册时间",
    )
    assert rows[0][:8] == (
        "统一社会信用代码",
        "企业名称",
        "所属地区",
        "备案状态",
        "平台注册单位名称",
        "联系人",
        "联系电话",
        "电子邮箱",
    )
    by_uscc = {row[0]: row for row in rows[1:]}
    assert set(by_uscc) == GD_UNFILED
    # the roster's contact of the demo, and no follow-up yet
    assert by_uscc[FOSHAN][8:] == ("冯示例", "138-0000-0101", "fengshili@foshan-demo.example.cn", None, None, None)
    assert by_uscc[FOSHAN][:8] == (
        FOSHAN,
        "佛山禅城示例精密机械有限公司",
        "广东省佛山市禅城区",
        "已注册，尚未填报",
        "佛山禅城示例精密机械有限公司",
        "佛山联系人",
        "0757-12345678",
        f"{FOSHAN.lower()}@example.cn",
    )
    assert by_uscc[YUEXIU][3] == "未注册" and by_uscc[YUEXIU][5] is None
    event = AuditEvent.objects.filter(action=AuditAction.EXPORT, actor_id=users["guangdong"].pk).latest("id")
    assert event.changes["rows"] == 3 and event.object_type == RosterEntry._meta.label


def test_missing_list_by_roster_and_pagination(users: dict[str, User], roster: Roster) -> None:
    rosters = _port_rosters(users)
    context = _missing(users["guangdong"], roster=rosters["广东名单"].pk)
    assert {row["uscc"] for row in context["rows"]} == {NANHAI, BAOAN}
    assert context["category"] == RosterCategory.LITTLE_GIANT
    # another province's roster: 404, on the page and the export
    client = client_for(users["guangdong"])
    assert client.get(reverse("rosters:missing"), {"roster": rosters["浙江名单"].pk}).status_code == 404
    assert client.get(reverse("rosters:missing_export"), {"roster": rosters["浙江名单"].pk}).status_code == 404
    assert client.get(reverse("rosters:missing"), {"roster": "abc"}).status_code == 404
    # 60 enterprises: two pages of 50 and 10, in the same order as the export
    many = [[build_uscc(region_code="440605", org_body=f"MA5P{n:04d}"), f"企业{n}"] for n in range(60)]
    assert upload(client_for(users["national"]), xlsx(many), title="六十家").status_code == 302
    big = Roster.objects.get(title="六十家")
    first = _missing(users["guangdong"], roster=big.pk)
    second = _missing(users["guangdong"], roster=big.pk, page=2)
    assert (len(first["rows"]), len(second["rows"]), first["total"]) == (50, 10, 60)
    listed = [row["uscc"] for row in first["rows"] + second["rows"]]
    exported = [row[0] for row in sheet_rows(client.get(reverse("rosters:missing_export"), {"roster": big.pk}))[1:]]
    assert listed == exported and len(set(listed)) == 60
    page = client.get(reverse("rosters:missing"), {"roster": big.pk}).content.decode()
    assert f'href="?category=little_giant&amp;roster={big.pk}&amp;page=2"' in page


# ---------------------------------------------------------------------------------------------------------------
# API (its routes are listed in tests/provincial/rosters_urls.py until provincial/api/urls.py includes them)


@pytest.mark.urls("tests.provincial.rosters_urls")
def test_api_rosters_with_counts_in_scope(users: dict[str, User], roster: Roster) -> None:
    _port_rosters(users)
    answer = api_for(users["guangdong"]).get("/api/v1/provincial/rosters/")
    assert answer.status_code == 200
    got = {
        r["title"]: (r["entries_in_scope"], r["covered_in_scope"], r["coverage_percent"])
        for r in answer.json()["results"]
    }
    assert got == {roster.title: (5, 2, 40.0), "广东名单": (2, 0, 0.0), "深圳名单": (1, 0, 0.0)}
    national = next(r for r in answer.json()["results"] if r["owner"] is None)
    assert national["entry_count"] == 8 and national["category"] == RosterCategory.NATIONAL_ADVANTAGE
    filtered = api_for(users["guangdong"]).get("/api/v1/provincial/rosters/", {"category": "little_giant"}).json()
    assert {r["title"] for r in filtered["results"]} == {"广东名单", "深圳名单"}


@pytest.mark.urls("tests.provincial.rosters_urls")
@pytest.mark.parametrize("who", ["national", "guangdong", "shenzhen", "zhejiang"])
def test_api_coverage_equals_the_page(users: dict[str, User], roster: Roster, who: str) -> None:
    _port_rosters(users)
    data = api_for(users[who]).get("/api/v1/provincial/coverage/").json()
    page = figures(client_for(users[who]))
    assert data["total"] == page["total"].as_dict()
    assert data["categories"] == [row.as_dict() for row in page["categories"]]
    assert data["ports"] == [row.as_dict() for row in page["ports"]]
    assert data["trend"] == page["trend"]
    year = roster.year
    narrowed = api_for(users[who]).get("/api/v1/provincial/coverage/", {"year": year, "category": "little_giant"})
    assert narrowed.json()["trend"] == figures(client_for(users[who]), year=year, category="little_giant")["trend"]


@pytest.mark.urls("tests.provincial.rosters_urls")
def test_api_errors_and_roles(users: dict[str, User], roster: Roster) -> None:
    national = api_for(users["national"])
    assert national.get("/api/v1/provincial/coverage/", {"year": "abc"}).status_code == 400
    assert "category" in fields(national.get("/api/v1/provincial/coverage/", {"category": "nope"}))
    assert national.get("/api/v1/provincial/coverage/", {"year": 2001}).json()["total"]["entries"] == 0
    for who in ("reviewer", "ent-gz"):
        for url in ("/api/v1/provincial/rosters/", "/api/v1/provincial/coverage/"):
            assert api_for(users[who]).get(url).status_code == 404, (who, url)
    for url in ("/api/v1/provincial/rosters/", "/api/v1/provincial/coverage/"):
        assert api_for(None).get(url).status_code in (401, 403)


@pytest.mark.urls("tests.provincial.rosters_urls")
def test_api_schema_documents_the_endpoints(users: dict[str, User]) -> None:
    schema = api_for(users["national"]).get("/api/schema/", {"format": "json"}).json()
    assert "/api/v1/provincial/rosters/" in schema["paths"]
    assert "/api/v1/provincial/coverage/" in schema["paths"]
    assert {"total", "categories", "ports", "trend"} <= set(
        schema["components"]["schemas"]["RosterCoverage"]["properties"]
    )


def test_an_upload_whose_uploader_is_gone_still_shows(users: dict[str, User], make_user: Callable) -> None:
    answer = upload(client_for(users["national"]), xlsx([[NANHAI, "佛山南海"]]), title="留下的名单")
    job = upload_job(answer)
    RosterUpload.objects.filter(pk=job.pk).update(created_by=None)  # the account was deleted (SET_NULL)
    other = make_user("other-national@example.cn", Role.NATIONAL_ADMIN)
    page = client_for(other).get(reverse("rosters:upload_detail", args=[job.pk]))
    assert page.status_code == 200 and "留下的名单" in page.content.decode()
