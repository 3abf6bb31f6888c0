"""Patent status drift: a legal-status file (XLSX or CSV) uploaded by a reviewer, checked row by row, applied
all-or-nothing; approved filings that rely on a patent that lapsed are flagged, their filer and reviewer
told by e-mail; the flag shows on the filer's page, the reviewer's list and the port's dashboard."""

import csv
import io
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from filings import drift, flags, workflow
from filings.choices import FilingStatus, ImportStatus, LegalStatus
from filings.identifiers import build_patent_number
from filings.models import (
    FilingFlag,
    FilingUnit,
    Patent,
    PatentRight,
    PatentStatusChange,
    PatentStatusImport,
    ProductVersion,
)
from patent_platform.choices import Role
from patent_platform.models import User
from provincial import dashboards
from provincial.models import ManagementUnit
from provincial.services import port_add_admin

pytestmark = pytest.mark.django_db
UNKNOWN = build_patent_number(year=2020, type_digit="1", serial=9999001)
UNKNOWN_2 = build_patent_number(year=2020, type_digit="1", serial=9999002)


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def xlsx(rows: list[list[Any]], header: list[str] | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header or ["申请号", "法律状态", "生效日期"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list[Any]], encoding: str = "utf-8", bom: bool = False) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["申请号", "法律状态", "生效日期"])
    writer.writerows(rows)
    data = out.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


@pytest.fixture
def upload(django_capture_on_commit_callbacks: Callable) -> Callable[..., Any]:
    """Post a file to the upload page as `user`; the task enqueued on commit runs in-process."""

    def post(user: User, content: bytes, name: str = "法律状态.xlsx") -> Any:
        client = Client()
        client.force_login(user)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("review:patent_status_upload"), {"file": SimpleUploadedFile(name, content)})

    return post


@pytest.fixture
def imported(upload: Callable[..., Any], reviewer: User) -> Callable[..., PatentStatusImport]:
    def run(content: bytes, name: str = "法律状态.xlsx", user: User | None = None) -> PatentStatusImport:
        response = upload(user or reviewer, content, name)
        assert response.status_code == 302, response.content.decode()[:2000]
        return PatentStatusImport.objects.order_by("-pk").first()

    return run


@pytest.fixture
def patent(approved_version: ProductVersion) -> Patent:
    return approved_version.links.get().right.patent


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def port_gd(make_user: Callable[..., User], reference: None) -> User:
    user = make_user("port-gd-drift@example.cn", Role.PORT_ADMIN)
    port_add_admin(unit=ManagementUnit.objects.get(code="440000"), user=user)
    return user


@pytest.fixture
def port_zj(make_user: Callable[..., User], reference: None) -> User:
    user = make_user("port-zj-drift@example.cn", Role.PORT_ADMIN)
    port_add_admin(unit=ManagementUnit.objects.get(code="330000"), user=user)
    return user


# ---------------------------------------------------------------------------------------------------------------
# Parsing


def test_templates_download_in_xlsx_and_csv_and_read_back_as_valid_files(reviewer: User) -> None:
    client = client_for(reviewer)
    answer = client.get(reverse("review:patent_status_template", args=["xlsx"]))
    assert answer.status_code == 200 and answer["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(answer.content))
    assert [c.value for c in book["法律状态"][1]] == ["申请号", "法律状态", "生效日期"]
    assert "说明" in book.sheetnames
    parsed = drift.parse(answer.content)
    assert not parsed.errors and [r.status for r in parsed.rows] == [LegalStatus.VALID, LegalStatus.LAPSED]
    answer = client.get(reverse("review:patent_status_template", args=["csv"]))
    assert answer.status_code == 200 and answer.content.startswith(b"\xef\xbb\xbf")
    parsed = drift.parse(answer.content)
    assert not parsed.errors and parsed.rows[1].patent == "200710308494.X"
    assert client.get(reverse("review:patent_status_template", args=["pdf"])).status_code == 404


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(csv_bytes([["ZL201710601862.3", "未缴年费终止", "2025-03-01"]]), id="utf8"),
        pytest.param(csv_bytes([["CN 2017106018623", "专利权终止", "2025/3/1"]], bom=True), id="utf8-bom"),
        pytest.param(csv_bytes([["201710601862.3", "失效（未缴年费等）", "2025年3月1日"]], "gb18030"), id="gb18030"),
        pytest.param(xlsx([["201710601862.3", "lapsed", "2025-03-01"]]), id="xlsx-code"),
    ],
)
def test_every_accepted_form_of_a_file_reads_the_same(content: bytes) -> None:
    parsed = drift.parse(content)
    assert parsed.errors == []
    (row,) = parsed.rows
    assert (row.patent, row.status, str(row.effective_date)) == ("201710601862.3", "lapsed", "2025-03-01")


@pytest.mark.parametrize(
    ("label", "status"),
    [
        ("期限届满", "expired"),
        ("全部无效", "invalidated"),
        ("宣告无效", "invalidated"),
        ("被宣告无效", "invalidated"),
        ("有效", "valid"),
        ("恢复", "valid"),
        ("审查中", "pending"),
        ("Expired", "expired"),
    ],
)
def test_status_labels_synonyms_and_codes(label: str, status: str) -> None:
    (row,) = drift.parse(csv_bytes([["201710601862.3", label, ""]])).rows
    assert row.status == status


def test_bad_rows_are_all_reported_with_their_row_numbers(
    imported: Callable[..., PatentStatusImport], patent: Patent
) -> None:
    content = xlsx(
        [
            [patent.number, "失效", None],  # row 2: fine on its own
            ["201710601862.4", "失效", None],  # row 3: wrong check digit
            [UNKNOWN, "不知道", None],  # row 4: unknown status
            ["ZL" + patent.number, "期限届满", None],  # row 5: the same patent as row 2
            [UNKNOWN_2, "部分无效", "2099-01-01"],  # row 6: partial, future date
            [None, None, None],  # blank rows are skipped
            [None, "有效", None],  # row 8: no number
        ]
    )
    job = imported(content)
    assert job.status == ImportStatus.FAILED
    rows = [(e["row"], e["column"]) for e in job.errors]
    assert rows == [(3, "申请号"), (4, "法律状态"), (5, "申请号"), (6, "法律状态"), (6, "生效日期"), (8, "申请号")]
    messages = {(e["row"], e["column"]): e["message"] for e in job.errors}
    assert "与第 2 行的申请号" in messages[(5, "申请号")] and "部分无效" in messages[(6, "法律状态")]
    assert "6 处错误" in job.message and "未导入任何数据" in job.message
    # nothing applied
    patent.refresh_from_db()
    assert patent.legal_status == LegalStatus.VALID
    assert not PatentStatusChange.objects.exists() and not FilingFlag.objects.exists()
    assert mail.outbox == []
    # the page lists them and the report downloads
    client = client_for(job.created_by)
    page = client.get(reverse("review:patent_status_detail", args=[job.pk])).content.decode()
    assert page.count('data-testid="error-row"') == 6
    report = client.get(reverse("review:patent_status_errors", args=[job.pk]))
    sheet = load_workbook(io.BytesIO(report.content)).active
    assert [c.value for c in sheet[1]] == ["行号", "列名", "错误原因"] and sheet.cell(2, 1).value == 3


def test_a_file_without_the_headers_or_the_data_is_refused_as_a_whole(
    imported: Callable[..., PatentStatusImport],
) -> None:
    job = imported(xlsx([["201710601862.3", "有效"]], header=["专利", "状态"]))
    assert job.status == ImportStatus.FAILED and "缺少列" in job.message
    job = imported(csv_bytes([]), name="空.csv")
    assert job.status == ImportStatus.FAILED and "没有数据" in job.message


def test_a_binary_file_that_is_no_spreadsheet_is_refused_on_the_form(
    upload: Callable[..., Any], reviewer: User
) -> None:
    answer = upload(reviewer, b"%PDF-1.4 not a table", "状态.csv")
    assert answer.status_code == 400
    assert "只接受 Excel（.xlsx）或 CSV" in answer.content.decode()
    assert not PatentStatusImport.objects.exists()


# ---------------------------------------------------------------------------------------------------------------
# Applying


def test_a_lapse_flags_the_approved_filing_writes_history_and_mails_filer_and_reviewer(
    imported: Callable[..., PatentStatusImport],
    approved_version: ProductVersion,
    patent: Patent,
    new_version: Callable[..., ProductVersion],
    unit_a: FilingUnit,
    filer_a: User,
    reviewer: User,
) -> None:
    right = PatentRight.objects.get(unit=unit_a, patent=patent)
    link = [{"right": right.pk, "is_core": True, "contribution": Decimal(50), "embodiment": ""}]
    draft = new_version(unit_a, filer_a, links=link, name="草稿产品")
    submitted = new_version(unit_a, filer_a, links=link, name="待审产品")
    workflow.version_submit(version=submitted, user=filer_a)
    mail.outbox.clear()

    job = imported(csv_bytes([[patent.number, "未缴年费终止", "2025-03-01"], [UNKNOWN, "失效", ""]]), "状态.csv")
    assert job.status == ImportStatus.DONE, job.errors
    assert (job.total_rows, job.changed_count, job.unchanged_count, job.unknown_count, job.flagged_count) == (
        2,
        1,
        0,
        1,
        1,
    )
    patent.refresh_from_db()
    assert patent.legal_status == LegalStatus.LAPSED
    change = PatentStatusChange.objects.get()
    assert (change.patent, change.from_status, change.to_status, str(change.effective_date), change.source) == (
        patent,
        "valid",
        "lapsed",
        "2025-03-01",
        job,
    )
    flag = FilingFlag.objects.get()
    assert (flag.version, flag.patent, flag.change, flag.legal_status) == (approved_version, patent, change, "lapsed")
    assert not FilingFlag.objects.filter(version__in=[draft, submitted]).exists()
    assert flag.notified_at is not None
    flag_mail = [m for m in mail.outbox if m.subject.startswith(f"【专利产品备案】{approved_version.name}：关联专利")]
    to = sorted(m.to[0] for m in flag_mail)
    assert to == sorted([filer_a.email, reviewer.email])
    for message in flag_mail:
        assert patent.number in message.subject and "失效" in message.subject
        assert "2025-03-01" in message.body
    filer_mail = next(m for m in flag_mail if m.to == [filer_a.email])
    assert reverse("enterprise:version", args=[approved_version.pk]) in filer_mail.body and "撤回" in filer_mail.body
    reviewer_mail = next(m for m in flag_mail if m.to == [reviewer.email])
    assert reverse("review:detail", args=[approved_version.pk]) in reviewer_mail.body


def test_reimporting_the_same_file_changes_nothing(
    imported: Callable[..., PatentStatusImport], approved_version: ProductVersion, patent: Patent
) -> None:
    content = xlsx([[patent.number, "期限届满", None]])
    first = imported(content)
    assert (first.changed_count, first.flagged_count) == (1, 1)
    sent = len(mail.outbox)
    again = imported(content)
    assert again.status == ImportStatus.DONE
    assert (again.changed_count, again.unchanged_count, again.flagged_count) == (0, 1, 0)
    assert PatentStatusChange.objects.count() == 1 and FilingFlag.objects.count() == 1
    assert len(mail.outbox) == sent


def test_a_further_ending_updates_the_open_flag_and_back_to_valid_resolves_it(
    imported: Callable[..., PatentStatusImport], approved_version: ProductVersion, patent: Patent
) -> None:
    imported(xlsx([[patent.number, "失效", None]]))
    sent = len(mail.outbox)
    job = imported(xlsx([[patent.number, "宣告无效", "2025-06-01"]]))
    assert (job.changed_count, job.flagged_count) == (1, 0)
    flag = FilingFlag.objects.get()
    assert flag.legal_status == LegalStatus.INVALIDATED and flag.is_open
    assert len(mail.outbox) == sent  # no second flag, no second mail
    job = imported(xlsx([[patent.number, "恢复", None]]))
    flag.refresh_from_db()
    assert not flag.is_open and flag.resolution == "专利恢复有效" and flag.resolved_by == job.created_by
    assert "解除 1 个标记" in job.message
    assert list(
        PatentStatusChange.objects.filter(patent=patent).order_by("id").values_list("to_status", flat=True)
    ) == [
        "lapsed",
        "invalidated",
        "valid",
    ]
    # a new lapse raises a new flag (the old one stays in the history)
    imported(xlsx([[patent.number, "失效", None]]))
    assert FilingFlag.objects.filter(version=approved_version).count() == 2
    assert FilingFlag.objects.open().count() == 1


def test_a_lapse_does_not_flag_withdrawn_or_revoked_versions(
    imported: Callable[..., PatentStatusImport], approved_version: ProductVersion, patent: Patent, filer_a: User
) -> None:
    workflow.version_withdraw(version=approved_version, user=filer_a)
    job = imported(xlsx([[patent.number, "失效", None]]))
    assert (job.changed_count, job.flagged_count) == (1, 0)
    assert not FilingFlag.objects.exists()


# ---------------------------------------------------------------------------------------------------------------
# Who sees what


@pytest.fixture
def flagged(
    imported: Callable[..., PatentStatusImport], approved_version: ProductVersion, patent: Patent
) -> FilingFlag:
    imported(xlsx([[patent.number, "专利权终止", "2025-03-01"]]))
    return FilingFlag.objects.get()


def test_the_filer_sees_the_banner_the_count_and_the_history(
    flagged: FilingFlag, filer_a: User, filer_b: User, reviewer: User
) -> None:
    client = client_for(filer_a)
    page = client.get(reverse("enterprise:version", args=[flagged.version_id])).content.decode()
    assert 'data-testid="flag-banner"' in page and flagged.patent.number in page
    assert "失效" in page and "2025-03-01" in page and "撤回" in page
    home = client.get(reverse("enterprise:home")).content.decode()
    assert 'data-testid="flags-summary"' in home and 'data-testid="flag-count">1<' in home
    # another unit: its own home shows nothing, the version is not found
    other = client_for(filer_b)
    assert other.get(reverse("enterprise:version", args=[flagged.version_id])).status_code == 404
    assert 'data-testid="flags-summary"' not in other.get(reverse("enterprise:home")).content.decode()
    # resolved: the banner goes, the history stays
    flags.flag_resolve(flag_id=flagged.pk, user=reviewer, note="备案单位已更换专利")
    page = client.get(reverse("enterprise:version", args=[flagged.version_id])).content.decode()
    assert 'data-testid="flag-banner"' not in page
    assert 'data-testid="flag-history-row"' in page and "备案单位已更换专利" in page


def test_reviewers_list_filter_export_and_resolve_with_a_required_note(flagged: FilingFlag, reviewer: User) -> None:
    client = client_for(reviewer)
    page = client.get(reverse("review:flags"))
    assert page.status_code == 200 and page.context["paginator"].count == 1
    assert client.get(reverse("review:flags"), {"state": "resolved"}).context["paginator"].count == 0
    assert client.get(reverse("review:flags"), {"province": "330000"}).context["paginator"].count == 0
    assert client.get(reverse("review:flags"), {"q": "ZL" + flagged.patent.number}).context["paginator"].count == 1
    export = client.get(reverse("review:flags_export"))
    sheet = load_workbook(io.BytesIO(export.content)).active
    assert sheet.max_row == 2 and sheet.cell(2, 1).value == flagged.patent.number
    detail = client.get(reverse("review:detail", args=[flagged.version_id])).content.decode()
    assert 'data-testid="flag-banner"' in detail and 'data-testid="flag-resolve-link"' in detail
    url = reverse("review:flag_resolve", args=[flagged.pk])
    form = client.get(url).content.decode()
    assert "data-confirm" in form
    answer = client.post(url, {"note": "  "})
    assert answer.status_code == 400 and "请填写处理说明" in answer.content.decode()
    flagged.refresh_from_db()
    assert flagged.is_open
    answer = client.post(url, {"note": "已核实，备案单位已撤回"})
    assert answer.status_code == 302
    flagged.refresh_from_db()
    assert not flagged.is_open and flagged.resolution == "已核实，备案单位已撤回" and flagged.resolved_by == reviewer
    assert client.post(url, {"note": "再次"}).status_code == 400  # already resolved


def test_import_and_flag_pages_are_for_reviewers_and_the_national_office_only(
    flagged: FilingFlag, filer_a: User, port_gd: User, make_user: Callable[..., User], reviewer: User
) -> None:
    job = PatentStatusImport.objects.get()
    urls = [
        reverse("review:patent_status"),
        reverse("review:patent_status_export"),
        reverse("review:patent_status_template", args=["xlsx"]),
        reverse("review:patent_status_detail", args=[job.pk]),
        reverse("review:patent_status_progress", args=[job.pk]),
        reverse("review:patent_status_errors", args=[job.pk]),
        reverse("review:flags"),
        reverse("review:flags_export"),
        reverse("review:flag_resolve", args=[flagged.pk]),
    ]
    national = make_user("national-drift@example.cn", Role.NATIONAL_ADMIN)
    for user in (reviewer, national):
        client = client_for(user)
        for url in urls:
            assert client.get(url).status_code == 200, (user.email, url)
    for user in (filer_a, port_gd, make_user("expert-drift@example.cn", Role.EXPERT)):
        client = client_for(user)
        for url in urls:
            assert client.get(url).status_code == 404, (user.email, url)
        assert client.post(reverse("review:flag_resolve", args=[flagged.pk]), {"note": "x"}).status_code == 404
        assert client.post(reverse("review:patent_status_upload"), {}).status_code == 404
    anonymous = Client().get(reverse("review:flags"))
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    flagged.refresh_from_db()
    assert flagged.is_open


def test_the_port_dashboard_counts_flagged_filings_of_its_region_only(
    flagged: FilingFlag, port_gd: User, port_zj: User, filer_a: User
) -> None:
    for user, expected in ((port_gd, 1), (port_zj, 0)):
        area = dashboards.area_for(user)
        direct = (
            area.products()
            .filter(
                published_version__isnull=False,
                versions__status=FilingStatus.APPROVED,
                versions__flags__resolved_at__isnull=True,
            )
            .distinct()
            .count()
        )
        assert dashboards.totals(area)["flagged"] == direct == expected
        client = client_for(user)
        home = client.get(reverse("port:home"), {"period": "current"})  # a flag raised now
        assert f'data-testid="figure-flagged">{expected}<' in home.content.decode()
        export = client.get(reverse("port:dashboard_export"), {"period": "current"})
        sheet = load_workbook(io.BytesIO(export.content)).active
        assert ["总体", "关联专利失效待处理的备案产品", expected] in [
            [c.value for c in row][:3] for row in sheet.iter_rows()
        ]
        api = client.get("/api/v1/provincial/dashboard/", {"period": "current"})
        assert api.status_code == 200 and api.json()["totals"]["flagged"] == expected
    # resolved flags no longer count
    flags.flag_resolve(flag_id=flagged.pk, user=User.objects.get(role=Role.REVIEWER), note="已处理")
    assert dashboards.totals(dashboards.area_for(port_gd))["flagged"] == 0


def test_the_progress_panel_polls_while_queued(reviewer: User) -> None:
    job = PatentStatusImport.objects.create(original_name="x.csv", created_by=reviewer)
    client = client_for(reviewer)
    url = reverse("review:patent_status_progress", args=[job.pk])
    partial = client.get(url).content.decode()
    assert 'hx-trigger="every 1s"' in partial and url in partial
    PatentStatusImport.objects.filter(pk=job.pk).update(status=ImportStatus.DONE, message="已导入")
    partial = client.get(url).content.decode()
    assert "hx-trigger" not in partial and 'data-testid="import-result"' in partial
