"""Credit lists: the national office uploads a list's whole current content (XLSX or CSV by USCC); every row is
checked first and a bad row — named by row and column — means nothing is applied; a listed unit is flagged on
the review page; a later file without it removes it and clears the flag; the history of both stays."""

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from filings import checks, workflow
from filings.choices import CreditListKind, ImportStatus
from filings.identifiers import build_uscc
from filings.models import CreditListEntry, CreditListImport, ProductVersion
from patent_platform.choices import Role
from patent_platform.models import User
from tests.factories import FilingUnitFactory, MemberFactory, ProductVersionFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
HEADER = ["统一社会信用代码", "单位名称", "列入日期", "列入原因", "作出决定机关"]
OUTSIDER = build_uscc(region_code="110108", org_body="MA01CL01")  # no unit of the platform holds it


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def xlsx(rows: list[list[Any]], header: list[str] = HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_gb18030(rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("gb18030")


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def national(make_user: Callable[..., User]) -> User:
    return make_user("national-credit@example.cn", Role.NATIONAL_ADMIN)


@pytest.fixture
def upload(national: User, django_capture_on_commit_callbacks: Callable) -> Callable[..., CreditListImport]:
    """Upload a file for a list through the page; the task enqueued on commit runs in-process."""

    def post(content: bytes, kind: str = CreditListKind.ABNORMAL, name: str = "名录.xlsx") -> CreditListImport:
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(national).post(
                reverse("checks:credit_upload"), {"kind": kind, "file": SimpleUploadedFile(name, content)}
            )
        assert response.status_code == 302, response.content.decode()[:2000]
        return CreditListImport.objects.order_by("-pk").first()

    return post


@pytest.fixture
def submitted(reference: None) -> ProductVersion:
    unit = FilingUnitFactory()
    filer = MemberFactory(unit=unit).user
    version = ProductVersionFactory(unit=unit, user=filer)
    workflow.version_submit(version=version, user=filer)
    return version


def credit_rules(version: ProductVersion) -> list[str]:
    return [f.rule for f in checks.open_flags([version.pk])[version.pk] if f.kind == "credit_list"]


def test_templates_download_and_read_back(national: User) -> None:
    client = client_for(national)
    book = load_workbook(io.BytesIO(client.get(reverse("checks:credit_template", args=["xlsx"])).content))
    assert [c.value for c in book["信用名单"][1]] == HEADER
    text = client.get(reverse("checks:credit_template", args=["csv"])).content.decode("utf-8-sig")
    assert text.splitlines()[0] == ",".join(HEADER)
    assert client.get(reverse("checks:credit_template", args=["pdf"])).status_code == 404


def test_only_the_national_office_imports_and_reviewers_read_the_list(reference: None) -> None:
    reviewer = UserFactory(role=Role.REVIEWER)
    assert client_for(reviewer).get(reverse("checks:credit_home")).status_code == 404
    assert client_for(reviewer).post(reverse("checks:credit_upload")).status_code == 404
    assert client_for(reviewer).get(reverse("checks:credit_entries")).status_code == 200
    assert client_for(MemberFactory().user).get(reverse("checks:credit_entries")).status_code == 404


def test_bad_rows_are_named_by_row_and_column_and_nothing_is_applied(
    upload: Callable[..., CreditListImport], submitted: ProductVersion
) -> None:
    uscc = submitted.product.unit.uscc
    bad_check = uscc[:-1] + ("0" if uscc[-1] != "0" else "1")
    job = upload(
        xlsx(
            [
                [uscc, "甲公司", "2025-03-01", "无法联系", "某市场监管局"],
                [bad_check, "乙公司", None, None, None],
                ["", "丙公司", None, None, None],
                [uscc, "甲公司（重复）", None, None, None],
                [OUTSIDER, "丁公司", "2999-01-01", None, None],
                [OUTSIDER[:-2], "戊公司", "下周", None, None],
            ]
        )
    )
    assert job.status == ImportStatus.FAILED
    cells = [(e["row"], e["column"]) for e in job.errors]
    assert cells == [
        (3, "统一社会信用代码"),
        (4, "统一社会信用代码"),
        (5, "统一社会信用代码"),
        (6, "列入日期"),
        (7, "统一社会信用代码"),
        (7, "列入日期"),
    ]
    assert "第 2 行" in job.errors[2]["message"]  # the duplicate names its first row
    assert not CreditListEntry.objects.exists()
    assert credit_rules(submitted) == []
    report = client_for(job.created_by).get(reverse("checks:credit_errors", args=[job.pk]))
    rows = list(load_workbook(io.BytesIO(report.content)).active.iter_rows(values_only=True))
    assert rows[1][:2] == (3, "统一社会信用代码")


def test_an_empty_file_does_not_clear_a_list(upload: Callable[..., CreditListImport]) -> None:
    upload(xlsx([[OUTSIDER, "丁公司", None, None, None]]))
    job = upload(xlsx([]))
    assert job.status == ImportStatus.FAILED and "没有数据" in job.message
    assert CreditListEntry.objects.filter(removed_at__isnull=True).count() == 1


def test_listing_flags_the_unit_and_removal_clears_it_with_the_history_kept(
    upload: Callable[..., CreditListImport], submitted: ProductVersion
) -> None:
    unit = submitted.product.unit
    first = upload(
        xlsx(
            [
                [unit.uscc, unit.name, "2025-03-01", "通过登记的住所无法联系", "某区市场监督管理局"],
                [OUTSIDER, "丁公司", None, None, None],
            ]
        )
    )
    assert first.status == ImportStatus.DONE
    assert (first.listed_count, first.kept_count, first.removed_count, first.on_platform_count) == (2, 0, 0, 1)
    assert credit_rules(submitted) == [CreditListKind.ABNORMAL]
    reviewer = UserFactory(role=Role.REVIEWER)
    page = client_for(reviewer).get(reverse("review:detail", args=[submitted.pk])).content.decode()
    assert 'data-testid="credit-flag" data-rule="abnormal"' in page and "通过登记的住所无法联系" in page

    # the other list is separate: listing there adds a second flag, and does not touch the first list
    serious = upload(csv_gb18030([[unit.uscc, unit.name, "", "", ""]]), kind=CreditListKind.SERIOUS, name="失信.csv")
    assert serious.status == ImportStatus.DONE
    assert credit_rules(submitted) == [CreditListKind.ABNORMAL, CreditListKind.SERIOUS]

    # the same file again changes nothing
    again = upload(xlsx([[unit.uscc, unit.name, None, None, None], [OUTSIDER, "丁公司", None, None, None]]))
    assert (again.listed_count, again.kept_count, again.removed_count) == (0, 2, 0)

    # the next abnormal-list file no longer holds the unit: removed, the flag cleared at once
    later = upload(xlsx([[OUTSIDER, "丁公司", None, None, None]]), name="名录-新.xlsx")
    assert (later.listed_count, later.kept_count, later.removed_count) == (0, 1, 1)
    assert credit_rules(submitted) == [CreditListKind.SERIOUS]
    entry = CreditListEntry.objects.get(kind=CreditListKind.ABNORMAL, uscc=unit.uscc)
    assert entry.listed_by == first and entry.removed_by == later and entry.removed_at is not None
    history = client_for(reviewer).get(reverse("checks:credit_entries"), {"q": unit.uscc, "state": "all"})
    html = history.content.decode()
    assert html.count(f'data-uscc="{unit.uscc}"') == 2 and 'data-testid="entry-removed"' in html
    assert "名录-新.xlsx" in html

    # listed again later: a new entry, the old one stays in the history
    upload(xlsx([[unit.uscc, unit.name, None, None, None]]))
    assert CreditListEntry.objects.filter(kind=CreditListKind.ABNORMAL, uscc=unit.uscc).count() == 2
    assert credit_rules(submitted) == [CreditListKind.ABNORMAL, CreditListKind.SERIOUS]


def test_a_unit_that_registers_after_its_listing_is_flagged_at_its_first_submission(
    upload: Callable[..., CreditListImport], reference: None
) -> None:
    upload(xlsx([[OUTSIDER, "丁公司", None, None, None]]))
    unit = FilingUnitFactory(uscc=OUTSIDER, region_id="110108")
    filer = MemberFactory(unit=unit).user
    version = ProductVersionFactory(unit=unit, user=filer)
    workflow.version_submit(version=version, user=filer)
    assert credit_rules(version) == [CreditListKind.ABNORMAL]
    assert ProductVersion.objects.get(pk=version.pk).status == "submitted"  # a flag decides nothing


def test_entries_export_and_history_export(upload: Callable[..., CreditListImport], national: User) -> None:
    upload(xlsx([[OUTSIDER, "丁公司", None, "原因", None]]))
    client = client_for(national)
    sheet = load_workbook(io.BytesIO(client.get(reverse("checks:credit_entries_export")).content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][1] == OUTSIDER and rows[1][4] == "原因"
    jobs = load_workbook(io.BytesIO(client.get(reverse("checks:credit_export")).content)).active
    assert jobs.max_row == 2


def test_the_import_pages_show_counts_result_and_history(
    upload: Callable[..., CreditListImport], national: User
) -> None:
    client = client_for(national)
    assert 'data-testid="imports-empty"' in client.get(reverse("checks:credit_home")).content.decode()
    job = upload(xlsx([[OUTSIDER, "丁公司", None, None, None]]))
    home = client.get(reverse("checks:credit_home")).content.decode()
    assert 'data-testid="import-row"' in home and "经营异常名录：<strong>1</strong>" in home
    detail = client.get(reverse("checks:credit_detail", args=[job.pk])).content.decode()
    assert 'data-testid="listed-count">1<' in detail and job.message in detail
    assert client.get(reverse("checks:credit_progress", args=[job.pk])).status_code == 200
