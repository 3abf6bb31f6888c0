"""Excel bulk filing: templates downloaded and filled as a user would, uploaded through the pages.

A file is imported completely or not at all; every error names its Excel row and column.
"""

import datetime as dt
import subprocess
import time
from collections.abc import Callable
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from filings.choices import FilingStatus, ImportStatus, LicenceKind, RightKind
from filings.identifiers import build_patent_number, compute_patent_check
from filings.models import ImportJob, Patent, PatentLink, PatentRight, Product, ProductVersion
from filings.tasks import run_import
from filings.workflow import default_data_year
from patent_platform.choices import AuditAction
from patent_platform.models import AuditEvent, User

PATENT_HEADERS = [
    "申请号",
    "专利名称",
    "申请日",
    "授权公告日",
    "法律状态",
    "权利类型",
    "许可类型",
    "许可备案号",
    "权利期限至",
]


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def login(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def template(client: Client, kind: str) -> Workbook:
    response = client.get(reverse("imports:template", args=[kind]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    return load_workbook(BytesIO(response.content))


def fill(book: Workbook, rows: list[list[Any]]) -> bytes:
    sheet = book.worksheets[0]
    for r, values in enumerate(rows, start=2):
        for c, value in enumerate(values, start=1):
            sheet.cell(row=r, column=c, value=value)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def upload(django_capture_on_commit_callbacks: Callable) -> Callable[..., Any]:
    """Post a file to the upload page; the task enqueued on commit runs (in-process, eagerly)."""

    def post(client: Client, kind: str, content: bytes, name: str = "数据.xlsx") -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("imports:upload"), {"kind": kind, "file": SimpleUploadedFile(name, content)})

    return post


@pytest.fixture
def uploaded_job(upload: Callable[..., Any]) -> Callable[..., ImportJob]:
    def post(client: Client, kind: str, content: bytes) -> ImportJob:
        response = upload(client, kind, content)
        assert response.status_code == 302, response.content.decode()[:2000]
        job = ImportJob.objects.latest("created_at")
        assert response["Location"] == reverse("imports:job", args=[job.pk])
        job.refresh_from_db()
        return job

    return post


def error_report(client: Client, job: ImportJob) -> list[tuple[Any, ...]]:
    response = client.get(reverse("imports:errors", args=[job.pk]))
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(response.content)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("行号", "列名", "错误原因")
    return [r for r in rows[1:] if r[0] is not None]


def number(serial: int, type_digit: str = "1", year: int = 2020) -> str:
    return build_patent_number(year=year, type_digit=type_digit, serial=serial)


def wrong_check(serial: int) -> str:
    good = number(serial)
    bad = "0" if good[-1] != "0" else "1"
    return good[:-1] + bad


# ---------------------------------------------------------------------------------------------
# The happy path


@pytest.mark.django_db
def test_templates_have_headers_instructions_and_drop_downs(client: Client, filer_a: User) -> None:
    login(client, filer_a)
    book = template(client, "patents")
    assert book.sheetnames[:2] == ["专利", "说明"]
    data = book["专利"]
    assert [c.value for c in data[1]] == PATENT_HEADERS
    assert "201710601862.3" in data["A1"].comment.text
    guide = [r[0] for r in book["说明"].iter_rows(values_only=True)]
    assert all(h in guide for h in PATENT_HEADERS)  # every column is explained
    lists = {str(dv.sqref)[0]: dv.formula1 for dv in data.data_validations.dataValidation}
    assert set(lists) == {"E", "F", "G"}  # 法律状态, 权利类型, 许可类型
    options = [c.value for c in book["选项"]["B"]][1:]
    assert "被许可人" in options and "专利权人" in options

    book = template(client, "products")
    data = book["产品"]
    headers = [c.value for c in data[1]]
    assert headers[0] == "产品序号" and "上年度销售额（万元）" in headers and headers[-1] == "专利体现方式"
    class_validation = next(dv for dv in data.data_validations.dataValidation if "D2" in str(dv.sqref))
    column = class_validation.formula1.split("!$")[1][0]
    assert "03 新装备制造业" in [c.value for c in book["选项"][column]]
    guide = "\n".join(str(r[0]) for r in book["说明"].iter_rows(values_only=True))
    assert "必须已登记到本单位" in guide


@pytest.mark.django_db
def test_valid_patents_then_products_are_created_as_drafts(
    client: Client, uploaded_job: Callable, filer_a: User, unit_a: Any
) -> None:
    login(client, filer_a)
    owned, licensed, design = number(1), number(2, "2"), number(3, "3")
    content = fill(
        template(client, "patents"),
        [
            [owned, "一种智能分拣装置", dt.date(2020, 3, 5), dt.date(2021, 6, 1), "有效", "专利权人"],
            [
                "CN " + licensed.replace(".", ""),
                "一种夹具",
                "2020/4/8",
                None,
                None,
                "被许可人",
                "独占许可",
                "X2021440000123",
            ],
            [design, "分拣机外观", None, None, None, None, None, None, dt.date(2030, 12, 31)],
        ],
    )
    job = uploaded_job(client, "patents", content)
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE, job.errors
    assert (job.created_count, job.total_rows, job.processed_rows, job.errors) == (3, 3, 3, [])
    rights = {r.patent.number: r for r in PatentRight.objects.filter(unit=unit_a).select_related("patent")}
    assert set(rights) == {owned, licensed, design}
    assert rights[owned].kind == RightKind.OWNER and rights[owned].patent.grant_date == dt.date(2021, 6, 1)
    assert rights[owned].patent.title == "一种智能分拣装置"
    assert rights[licensed].kind == RightKind.LICENSEE and rights[licensed].licence_kind == LicenceKind.EXCLUSIVE
    assert rights[licensed].recordal_number == "X2021440000123"
    assert rights[licensed].patent.application_date == dt.date(2020, 4, 8)
    assert rights[design].patent.kind == "design" and rights[design].valid_until == dt.date(2030, 12, 31)
    assert all(r.created_by == filer_a for r in rights.values())
    event = AuditEvent.objects.get(action=AuditAction.IMPORT, object_type="filings.PatentRight")
    assert sorted(event.changes["ids"]) == sorted(str(r.pk) for r in rights.values())
    assert event.actor_id == filer_a.pk

    page = client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert "已导入 3 条" in page and 'hx-trigger="every 1s"' not in page

    year = default_data_year()
    content = fill(
        template(client, "products"),
        [
            [
                1,
                "智能分拣机",
                "FJ-200",
                "03 新装备制造业",
                "自动分拣",
                dt.date(2019, 5, 1),
                None,
                1200.5,
                300,
                1500,
                "是",
                owned,
                "是",
                60,
                "主体结构",
            ],
            [1, None, None, None, None, None, None, None, None, None, None, licensed, "否", 20, "夹持机构"],
            [2, "分拣机（外观款）", "FJ-200W", "03", None, None, year, 80, None, 90, "否", design, "是", 100, None],
        ],
    )
    job = uploaded_job(client, "products", content)
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE, job.errors
    assert job.created_count == 2
    versions = {v.name: v for v in ProductVersion.objects.filter(product__unit=unit_a)}
    assert set(versions) == {"智能分拣机", "分拣机（外观款）"}
    first = versions["智能分拣机"]
    assert (first.status, first.data_year, first.model, first.product_class.code) == (
        FilingStatus.DRAFT,
        year,
        "FJ-200",
        "03",
    )
    assert (first.sales, first.exports, first.output_value) == (Decimal("1200.50"), Decimal(300), Decimal(1500))
    assert first.certification_opt_in is True and first.first_sale_date == dt.date(2019, 5, 1)
    links = {link.right.patent.number: link for link in first.links.select_related("right__patent")}
    assert set(links) == {owned, licensed}
    assert links[owned].is_core and links[owned].contribution == 60 and links[owned].embodiment == "主体结构"
    assert not links[licensed].is_core and links[licensed].contribution == 20
    second = versions["分拣机（外观款）"]
    assert second.exports == 0 and second.certification_opt_in is False and second.links.count() == 1
    assert Product.objects.filter(unit=unit_a, filing_number__isnull=True).count() == 2
    event = AuditEvent.objects.get(action=AuditAction.IMPORT, object_type="filings.ProductVersion")
    assert sorted(event.changes["ids"]) == sorted(str(v.pk) for v in versions.values())

    home = client.get(reverse("imports:home")).content.decode()
    assert home.count('data-testid="job-row"') == 2
    export = client.get(reverse("imports:export"))
    rows = list(load_workbook(BytesIO(export.content)).worksheets[0].iter_rows(values_only=True))
    assert len(rows) == 3 and {r[2] for r in rows[1:]} == {"数据.xlsx"}
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, object_type="filings.ImportJob").exists()


# ---------------------------------------------------------------------------------------------
# All or nothing, with a report that names row, column and reason


@pytest.mark.django_db
def test_one_bad_patent_row_saves_nothing(
    client: Client, uploaded_job: Callable, filer_a: User, unit_a: Any, add_right: Callable
) -> None:
    login(client, filer_a)
    existing = add_right(unit_a, filer_a).patent.number
    bad = wrong_check(11)
    content = fill(
        template(client, "patents"),
        [
            [number(10), "好的专利"],
            [bad, "校验位错误的专利"],
            [number(12), "被许可但未写许可类型", None, None, None, "被许可人"],
            [number(10), "同一文件重复"],
            [existing, "已登记"],
            [number(13), None],
            [number(14), "日期颠倒", "2021-05-01", "2020-01-01", "不存在的状态"],
        ],
    )
    before = (Patent.objects.count(), PatentRight.objects.count())
    job = uploaded_job(client, "patents", content)
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert (Patent.objects.count(), PatentRight.objects.count()) == before
    report = error_report(client, job)
    by_place = {(r[0], r[1]): r[2] for r in report}
    expected_check = compute_patent_check(bad[:12])
    assert f"校验位应为 {expected_check}" in by_place[(3, "申请号")]
    assert "许可类型" in by_place[(4, "许可类型")]
    assert "与第 2 行的申请号" in by_place[(5, "申请号")]
    assert "本单位已登记" in by_place[(6, "申请号")]
    assert "请填写专利名称" in by_place[(7, "专利名称")]
    assert "不能早于申请日" in by_place[(8, "授权公告日")]
    assert "不是可选值" in by_place[(8, "法律状态")]
    assert not any(r[0] == 2 for r in report)  # the good row has no error
    page = client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert "未导入任何数据" in page and page.count('data-testid="error-row"') == len(report)


@pytest.mark.django_db
def test_one_bad_product_saves_nothing(
    client: Client, uploaded_job: Callable, filer_a: User, unit_a: Any, add_right: Callable
) -> None:
    login(client, filer_a)
    core, other = add_right(unit_a, filer_a).patent.number, add_right(unit_a, filer_a).patent.number
    foreign = number(77)
    year = default_data_year()
    content = fill(
        template(client, "products"),
        [
            [1, "合格产品", "A", "03", None, None, None, 100, 10, 120, "否", core, "是", 50, None],
            [2, "出口超销售", "B", "03", None, None, None, 100, 200, 120, "否", core, "是", 50, None],
            [3, "无核心专利", "C", "03", None, None, None, 100, 0, 120, "否", other, "否", 50, None],
            [4, "不一致", "D", "03", None, None, None, 100, 0, 120, "否", core, "是", 50, None],
            [4, "不一致", "D", "04", None, None, None, 100, 0, 120, "否", other, "否", 30, None],
            [5, "未登记专利", "E", "99", None, None, year + 1, -1, 0, "abc", "也许", foreign, "是", 150, None],
            [6, "贡献超百", "F", "03", None, None, None, 100, 0, 120, "否", core, "是", 70, None],
            [6, None, None, None, None, None, None, None, None, None, None, other, "否", 40, None],
        ],
    )
    job = uploaded_job(client, "products", content)
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert not Product.objects.exists() and not ProductVersion.objects.exists() and not PatentLink.objects.exists()
    by_place = {(r[0], r[1]): r[2] for r in error_report(client, job)}
    assert "出口额（200 万元）不能大于上年度销售额（100 万元）" in by_place[(3, "年度出口额（万元）")]
    # no core patent: a draft, as through the form and the API (one rule: the check before review refuses it)
    assert (4, "核心专利（是/否）") not in by_place
    assert "与第 5 行不一致" in by_place[(6, "产品分类代码")]
    assert "不存在或已停用" in by_place[(7, "产品分类代码")]
    assert f"2000 至 {year} 年" in by_place[(7, "数据年度")]
    assert "不能为负数" in by_place[(7, "上年度销售额（万元）")]
    assert "不是数字" in by_place[(7, "产值（万元）")]
    assert "是" in by_place[(7, "参与认定（是/否）")]
    assert "尚未登记到本单位" in by_place[(7, "专利申请号")]
    assert "0 到 100" in by_place[(7, "贡献度（%）")]
    assert "不能超过 100%" in by_place[(8, "贡献度（%）")]
    assert not any(row == 2 for row, _col in by_place)


@pytest.mark.django_db
def test_wrong_headers_and_empty_files_are_refused_clearly(
    client: Client, uploaded_job: Callable, filer_a: User
) -> None:
    login(client, filer_a)
    products = fill(template(client, "products"), [])
    job = uploaded_job(client, "patents", products)
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert job.message.startswith("第 1 行表头不符：缺少列“申请号”")
    assert "请使用平台模板" in job.message and "请在上传时选择“产品”" in job.message

    book = Workbook()
    book.active.append(["专利号", "名称"])
    book.active.append([number(5), "某专利"])
    out = BytesIO()
    book.save(out)
    job = uploaded_job(client, "patents", out.getvalue())
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and "缺少列“申请号”" in job.message
    assert error_report(client, job)[0][:2] == (1, "申请号")

    job = uploaded_job(client, "products", products)
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and "没有数据" in job.message
    assert not Product.objects.exists()


@pytest.mark.django_db
def test_non_xlsx_upload_is_refused(client: Client, upload: Callable, filer_a: User) -> None:
    login(client, filer_a)
    response = upload(client, "patents", b"%PDF-1.4 not a spreadsheet", name="专利.xlsx")
    assert response.status_code == 400
    assert "只接受 XLSX 文件" in response.content.decode()
    response = upload(client, "patents", "申请号,专利名称\n".encode(), name="专利.csv")
    assert response.status_code == 400
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_progress_panel_polls_while_queued_and_stops_when_finished(client: Client, filer_a: User, unit_a: Any) -> None:
    login(client, filer_a)
    content = fill(template(client, "patents"), [[number(40), "轮询测试"]])
    job = ImportJob.objects.create(
        unit=unit_a, kind="patents", original_name="p.xlsx", created_by=filer_a, file=ContentFile(content, "p.xlsx")
    )
    partial = client.get(reverse("imports:job_progress", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in partial and reverse("imports:job_progress", args=[job.pk]) in partial
    assert "排队中" in partial
    page = client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in page and "js/imports.js" in page

    run_import.delay(job.pk)
    partial = client.get(reverse("imports:job_progress", args=[job.pk])).content.decode()
    assert "hx-trigger" not in partial and "已导入 1 条" in partial
    assert 'data-percent="100"' in partial
    # a second delivery of the same task changes nothing
    assert run_import.delay(job.pk).get() == ImportStatus.DONE
    assert PatentRight.objects.filter(unit=unit_a).count() == 1


@pytest.mark.django_db
def test_uploader_who_lost_access_gets_an_error_and_nothing_is_saved(
    client: Client, filer_a: User, unit_a: Any
) -> None:
    login(client, filer_a)
    content = fill(template(client, "patents"), [[number(50), "专利一"], [number(51), "专利二"]])
    job = ImportJob.objects.create(
        unit=unit_a, kind="patents", original_name="p.xlsx", created_by=filer_a, file=ContentFile(content, "p.xlsx")
    )
    filer_a.unit_membership.delete()  # removed from the unit after uploading, before the job ran
    assert run_import.delay(job.pk).get() == ImportStatus.ERROR
    job.refresh_from_db()
    assert "已无权" in job.message and job.created_count == 0
    assert not PatentRight.objects.exists() and not Patent.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.IMPORT, object_type="filings.PatentRight").exists()


# ---------------------------------------------------------------------------------------------
# Scope: another unit's job and other roles answer 404


@pytest.mark.django_db
def test_jobs_are_scoped_to_the_unit_and_to_enterprise_users(
    client: Client,
    upload: Callable,
    uploaded_job: Callable,
    filer_a: User,
    filer_b: User,
    reviewer: User,
    unit_a: Any,
) -> None:
    login(client, filer_a)
    job = uploaded_job(client, "patents", fill(template(client, "patents"), [[wrong_check(60), "x"]]))
    own = [
        reverse("imports:job", args=[job.pk]),
        reverse("imports:job_progress", args=[job.pk]),
        reverse("imports:errors", args=[job.pk]),
    ]
    assert all(client.get(url).status_code == 200 for url in own)

    login(client, filer_b)
    assert all(client.get(url).status_code == 404 for url in own)
    assert "数据.xlsx" not in client.get(reverse("imports:home")).content.decode()

    login(client, reviewer)
    for url in [
        *own,
        reverse("imports:home"),
        reverse("imports:template", args=["patents"]),
        reverse("imports:export"),
    ]:
        assert client.get(url).status_code == 404, url
    assert upload(client, "patents", b"PK\x03\x04").status_code == 404

    client.logout()
    response = client.get(reverse("imports:home"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


# ---------------------------------------------------------------------------------------------
# A real Celery worker process (PostgreSQL test database, Redis broker)


@pytest.mark.worker
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_a_real_worker_imports_the_file(worker: subprocess.Popen, unit_a: Any, filer_a: User) -> None:
    from patent_platform.celery import app

    client = login(Client(), filer_a)
    content = fill(template(client, "patents"), [[number(90 + i), f"后台导入专利 {i}"] for i in range(120)])
    job = ImportJob.objects.create(
        unit=unit_a, kind="patents", original_name="p.xlsx", created_by=filer_a, file=ContentFile(content, "p.xlsx")
    )
    assert default_storage.exists(job.file.name)  # MEDIA_ROOT, or the test's prefix on the object store
    app.send_task("filings.tasks.run_import", args=[job.pk])
    deadline = time.monotonic() + 90
    while True:
        job.refresh_from_db()
        if job.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
            break
        assert worker.poll() is None, "the worker process died"
        assert time.monotonic() < deadline, f"the job did not finish within 90 s (status {job.status})"
        time.sleep(0.3)
    assert job.status == ImportStatus.DONE, (job.message, job.errors[:5])
    assert (job.created_count, job.processed_rows, job.total_rows) == (120, 120, 120)
    assert PatentRight.objects.filter(unit=unit_a).count() == 120
    assert Patent.objects.filter(title="后台导入专利 7").exists()
    partial = client.get(reverse("imports:job_progress", args=[job.pk])).content.decode()
    assert "已导入 120 条" in partial and "hx-trigger" not in partial
