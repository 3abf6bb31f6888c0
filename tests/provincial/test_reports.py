"""Progress reports from localities (工作报送): submission, scoping per role, reading, comments, typical
cases, the e-mails, the Excel lists and the year-end figures.

On the demo (tests/conftest.py `demo`): 广东 and 深圳 each have one demo report (广东's marked typical),
plus reports made here for 广州 (a city port inside 广东, no account: made directly), 深圳 and 浙江.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from patent_platform.choices import AuditAction
from patent_platform.models import AuditEvent, User
from provincial import reports as service
from provincial.choices import ReportCategory
from provincial.models import (
    ManagementUnit,
    PortContact,
    ProgressReport,
    ProgressReportAttachment,
    ProgressReportComment,
)
from provincial.publications import figures

pytestmark = pytest.mark.django_db

DEMO_SZ = "深圳市专利产品备案工作进展（上半年）"  # the demo's 深圳 report
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
PDF_JS = b"%PDF-1.4\n1 0 obj<</OpenAction<</S/JavaScript/JS(app.alert(1))>>>>endobj\ntrailer<<>>\n%%EOF"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def make_report(code: str, title: str, *, attachment: bool = True, **extra: Any) -> ProgressReport:
    report = ProgressReport.objects.create(
        unit=ManagementUnit.objects.get(code=code),
        category=extra.pop("category", ReportCategory.PROGRESS),
        title=title,
        body=f"{title}正文",
        **extra,
    )
    if attachment:
        ProgressReportAttachment.objects.create(
            report=report, file=ContentFile(PDF, name="a.pdf"), kind="pdf", original_name=f"{title}.pdf", size=len(PDF)
        )
    return report


@pytest.fixture
def world(demo_users: dict[str, User]) -> dict[str, Any]:
    return {
        "users": demo_users,
        "gd": ProgressReport.objects.get(unit__code="440000"),  # the demo's, typical
        "sz": make_report("440300", "深圳报送"),
        "gz": make_report("440100", "广州报送"),
        "zj": make_report("330000", "浙江报送"),
    }


def listed(answer: Any) -> set[str]:
    assert answer.status_code == 200, answer.status_code
    return {r.title for r in answer.context["reports"]}


def form_data(**overrides: Any) -> dict[str, Any]:
    return {"category": ReportCategory.PROBLEM, "title": "备案审核周期较长", "body": "部分企业反映……"} | overrides


# ---------------------------------------------------------------------------------------------
# Submission


def test_a_port_submits_a_report_with_attachments_and_the_national_office_hears_of_it(
    demo_users: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(demo_users["shenzhen"])
    assert client.get(reverse("port:report_new")).status_code == 200
    files = [
        SimpleUploadedFile("说明.pdf", PDF, content_type="application/pdf"),
        SimpleUploadedFile("现场.png", PNG, content_type="image/png"),
    ]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(reverse("port:report_new"), form_data(attachments=files))
    report = ProgressReport.objects.get(title="备案审核周期较长")
    assert answer.status_code == 302 and answer["Location"] == reverse("port:report", args=[report.pk])
    assert report.unit.code == "440300" and report.submitted_by == demo_users["shenzhen"]
    assert report.category == ReportCategory.PROBLEM and report.read_at is None and not report.is_typical
    kinds = sorted(report.attachments.values_list("original_name", "kind", "size"))
    assert kinds == [("现场.png", "png", len(PNG)), ("说明.pdf", "pdf", len(PDF))]
    assert AuditEvent.objects.filter(action=AuditAction.CREATE, object_id=str(report.pk)).exists()

    assert [m.to for m in mail.outbox] == [["national@example.cn"]]
    message = mail.outbox[0]
    assert "深圳市" in message.subject and "备案审核周期较长" in message.subject
    assert reverse("national:report", args=[report.pk]) in message.body

    page = client.get(reverse("port:report", args=[report.pk])).content.decode()
    assert "备案审核周期较长" in page and "说明.pdf" in page and "国家局未阅" in page


def test_empty_fields_are_refused_with_messages(demo_users: dict[str, User]) -> None:
    client = client_for(demo_users["guangdong"])
    answer = client.post(reverse("port:report_new"), {"category": "", "title": " ", "body": ""})
    assert answer.status_code == 400
    html = answer.content.decode()
    for field, message in (("category", "请选择报送类别。"), ("title", "请填写标题。"), ("body", "请填写正文。")):
        assert f'data-testid="error-{field}"' in html and message in html
    assert ProgressReport.objects.filter(unit__code="440000").count() == 1  # the demo's only


def test_an_invalid_category_is_refused_and_the_input_kept(demo_users: dict[str, User]) -> None:
    client = client_for(demo_users["guangdong"])
    answer = client.post(reverse("port:report_new"), form_data(category="gossip", title="保留的标题"))
    assert answer.status_code == 400
    html = answer.content.decode()
    assert 'data-testid="error-category"' in html and 'value="保留的标题"' in html and "部分企业反映" in html


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("报告.pdf", EXE, "文件类型不被接受"),  # an executable renamed .pdf
        ("报告.pdf", PDF_JS, "含有脚本或嵌入文件"),
        ("空.pdf", b"", "文件为空"),
    ],
)
def test_a_refused_attachment_is_a_field_error_and_the_rest_is_kept(
    demo_users: dict[str, User], name: str, content: bytes, message: str
) -> None:
    client = client_for(demo_users["guangdong"])
    files = [SimpleUploadedFile("好.pdf", PDF), SimpleUploadedFile(name, content, content_type="application/pdf")]
    answer = client.post(reverse("port:report_new"), form_data(title="附件有问题的报送", attachments=files))
    assert answer.status_code == 400
    html = answer.content.decode()
    assert 'data-testid="error-attachments"' in html and message in html
    assert 'value="附件有问题的报送"' in html and "部分企业反映" in html and 'value="problem" selected' in html
    assert "请重新选择附件" in html  # the browser never sends the files again: say so
    assert not ProgressReport.objects.filter(title="附件有问题的报送").exists()
    assert not ProgressReportAttachment.objects.filter(report__title="附件有问题的报送").exists()


def test_no_more_than_five_attachments_and_the_size_limit(demo_users: dict[str, User], settings: Any) -> None:
    client = client_for(demo_users["guangdong"])
    files = [SimpleUploadedFile(f"{i}.pdf", PDF) for i in range(6)]
    answer = client.post(reverse("port:report_new"), form_data(attachments=files))
    assert answer.status_code == 400 and "最多上传 5 个附件" in answer.content.decode()
    settings.UPLOAD_MAX_BYTES = 40
    answer = client.post(reverse("port:report_new"), form_data(attachments=[SimpleUploadedFile("big.pdf", PDF)]))
    assert answer.status_code == 400 and "文件过大" in answer.content.decode()
    assert ProgressReport.objects.filter(unit__code="440000").count() == 1


def test_the_service_refuses_what_the_form_would(demo_users: dict[str, User]) -> None:
    from django.core.exceptions import PermissionDenied, ValidationError

    with pytest.raises(ValidationError) as info:
        service.report_submit(user=demo_users["shenzhen"], category="x", title="", body="b")
    assert set(info.value.message_dict) == {"category", "title"}
    with pytest.raises(PermissionDenied):
        service.report_submit(user=demo_users["national"], category="progress", title="t", body="b")


# ---------------------------------------------------------------------------------------------
# Scoping


def test_each_port_sees_its_own_and_a_province_its_city_ports(world: dict[str, Any]) -> None:
    users = world["users"]
    gd_page = client_for(users["guangdong"]).get(reverse("port:reports"))
    assert listed(gd_page) == {world["gd"].title, DEMO_SZ, "深圳报送", "广州报送"}
    html = gd_page.content.decode()
    assert html.count('data-testid="city-port-badge"') == 3  # 深圳's and 广州's: the city ports' reports
    assert listed(client_for(users["shenzhen"]).get(reverse("port:reports"))) == {"深圳报送", DEMO_SZ}
    assert listed(client_for(users["zhejiang"]).get(reverse("port:reports"))) == {"浙江报送"}
    national = client_for(users["national"])
    assert national.get(reverse("port:reports"))["Location"] == reverse("national:reports")
    assert listed(national.get(reverse("national:reports"))) == set(
        ProgressReport.objects.values_list("title", flat=True)
    )


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("guangdong", {"gd", "sz", "gz"}),
        ("shenzhen", {"sz"}),
        ("zhejiang", {"zj"}),
    ],
)
def test_details_and_attachments_outside_the_scope_answer_404(
    world: dict[str, Any], role: str, visible: set[str]
) -> None:
    client = client_for(world["users"][role])
    for key in ("gd", "sz", "gz", "zj"):
        report = world[key]
        expected = 200 if key in visible else 404
        assert client.get(reverse("port:report", args=[report.pk])).status_code == expected, key
        for attachment in report.attachments.all():
            answer = client.get(reverse("port:report_attachment", args=[attachment.pk]))
            assert answer.status_code == expected, key
            if expected == 200:
                assert b"".join(answer.streaming_content) == PDF
                assert "no-store" in answer["Cache-Control"]
        assert client.get(reverse("national:report", args=[report.pk])).status_code == 404


def test_the_zhejiang_port_gets_404_on_guangdongs_report_and_its_attachment(world: dict[str, Any]) -> None:
    attachment = ProgressReportAttachment.objects.create(
        report=world["gd"], file=ContentFile(PDF, name="g.pdf"), kind="pdf", original_name="广东.pdf", size=len(PDF)
    )
    client = client_for(world["users"]["zhejiang"])
    assert client.get(reverse("port:report", args=[world["gd"].pk])).status_code == 404
    assert client.get(reverse("port:report_attachment", args=[attachment.pk])).status_code == 404
    guangdong = client_for(world["users"]["guangdong"])
    answer = guangdong.get(reverse("port:report_attachment", args=[attachment.pk]))
    assert answer.status_code == 200 and b"".join(answer.streaming_content) == PDF
    assert AuditEvent.objects.filter(action=AuditAction.DOWNLOAD, object_id=str(world["gd"].pk)).count() == 1


@pytest.mark.parametrize("role", ["ent-gz", "reviewer", "expert1"])
def test_other_roles_do_not_find_the_pages(world: dict[str, Any], role: str) -> None:
    client = client_for(world["users"][role])
    report = world["sz"]
    attachment = report.attachments.first()
    for url in (
        reverse("port:reports"),
        reverse("port:reports_export"),
        reverse("port:report_new"),
        reverse("port:report", args=[report.pk]),
        reverse("port:report_attachment", args=[attachment.pk]),
        reverse("national:reports"),
        reverse("national:reports_export"),
        reverse("national:reports_typical"),
        reverse("national:report", args=[report.pk]),
        reverse("national:report_typical", args=[report.pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("port:report_new"), form_data()).status_code == 404
    assert client.post(reverse("national:report_comment", args=[report.pk]), {"body": "x"}).status_code == 404
    assert client.post(reverse("national:report_typical", args=[report.pk]), {"typical": "1"}).status_code == 404
    assert not ProgressReportComment.objects.filter(body="x").exists()
    assert not ProgressReport.objects.get(pk=report.pk).is_typical


def test_anonymous_visitors_are_sent_to_the_login_page(world: dict[str, Any]) -> None:
    client = Client()
    for url in (reverse("port:reports"), reverse("national:reports"), reverse("port:report", args=[world["sz"].pk])):
        answer = client.get(url)
        assert answer.status_code == 302 and answer["Location"].startswith(reverse("login"))


def test_ports_cannot_use_the_national_actions(world: dict[str, Any]) -> None:
    client = client_for(world["users"]["guangdong"])
    report = world["sz"]  # inside 广东's scope, but the actions are the national office's
    assert client.post(reverse("national:report_comment", args=[report.pk]), {"body": "省里的意见"}).status_code == 404
    assert client.post(reverse("national:report_typical", args=[report.pk]), {"typical": "1"}).status_code == 404
    assert client.get(reverse("port:report", args=[report.pk])).status_code == 200
    report.refresh_from_db()
    assert report.read_at is None and not report.is_typical and not report.comments.exists()


def test_filters_and_the_excel_list_follow_the_scope(world: dict[str, Any]) -> None:
    client = client_for(world["users"]["guangdong"])
    good = client.get(reverse("port:reports"), {"category": ReportCategory.GOOD_PRACTICE})
    assert listed(good) == {world["gd"].title}
    last_year = figures.dashboards.trend_months()[-1].year - 1
    ProgressReport.objects.filter(pk=world["gz"].pk).update(
        submitted_at=dt.datetime(last_year, 6, 1, 10, tzinfo=dt.UTC)
    )
    assert listed(client.get(reverse("port:reports"), {"year": str(last_year)})) == {"广州报送"}
    empty = client.get(reverse("port:reports"), {"category": ReportCategory.POLICY})
    assert 'data-testid="reports-empty"' in empty.content.decode()

    answer = client.get(reverse("port:reports_export"))
    assert answer.status_code == 200
    rows = list(load_workbook(BytesIO(answer.content), read_only=True).worksheets[0].iter_rows(values_only=True))
    assert rows[0][:4] == ("报送端口", "端口代码", "类别", "标题")
    assert {r[3] for r in rows[1:]} == {world["gd"].title, DEMO_SZ, "深圳报送", "广州报送"}
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, object_type="provincial.ProgressReport").exists()


def test_the_national_list_filters_and_counts_unread(world: dict[str, Any]) -> None:
    client = client_for(world["users"]["national"])
    page = client.get(reverse("national:reports"))
    unread = ProgressReport.objects.filter(read_at__isnull=True).count()
    assert page.context["unread"] == unread == 4  # the demo's 深圳 report and the three made here
    assert listed(client.get(reverse("national:reports"), {"unread": "on"})) == {
        "深圳报送",
        "广州报送",
        "浙江报送",
        DEMO_SZ,
    }
    assert listed(client.get(reverse("national:reports"), {"port": "330000"})) == {"浙江报送"}
    assert listed(client.get(reverse("national:reports"), {"typical": "on"})) == {world["gd"].title}
    assert listed(client.get(reverse("national:reports_typical"))) == {world["gd"].title}
    answer = client.get(reverse("national:reports_export"), {"port": "440300"})
    rows = list(load_workbook(BytesIO(answer.content), read_only=True).worksheets[0].iter_rows(values_only=True))
    assert {r[1] for r in rows[1:]} == {"440300"} and len(rows) == 3


# ---------------------------------------------------------------------------------------------
# The national office: read, comment, typical


def test_opening_a_report_marks_it_read_once(world: dict[str, Any]) -> None:
    national = world["users"]["national"]
    report = world["zj"]
    client = client_for(national)
    assert client.get(reverse("national:report", args=[report.pk])).status_code == 200
    report.refresh_from_db()
    assert report.read_by == national and report.read_at is not None
    first = report.read_at
    client.get(reverse("national:report", args=[report.pk]))
    report.refresh_from_db()
    assert report.read_at == first
    page = client_for(world["users"]["zhejiang"]).get(reverse("port:report", args=[report.pk])).content.decode()
    assert 'data-testid="read-badge"' in page


def test_a_comment_reaches_the_port_by_page_and_mail(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    report = world["sz"]
    PortContact.objects.create(unit=report.unit, name="深联系", email="contact@sz.example.cn")
    client = client_for(world["users"]["national"])
    mail.outbox.clear()
    answer = client.post(reverse("national:report_comment", args=[report.pk]), {"body": "  "})
    assert answer.status_code == 400 and "请填写意见。" in answer.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(reverse("national:report_comment", args=[report.pk]), {"body": "请补充培训人数。"})
    assert answer.status_code == 302
    comment = report.comments.get()
    assert comment.author == world["users"]["national"] and comment.body == "请补充培训人数。"
    assert AuditEvent.objects.filter(action=AuditAction.CREATE, object_type="provincial.ProgressReportComment").exists()
    assert sorted(m.to[0] for m in mail.outbox) == ["contact@sz.example.cn", "shenzhen@example.cn"]
    assert "请补充培训人数。" in mail.outbox[0].body
    assert reverse("port:report", args=[report.pk]) in mail.outbox[0].body
    page = client_for(world["users"]["shenzhen"]).get(reverse("port:report", args=[report.pk])).content.decode()
    assert "请补充培训人数。" in page
    # the province sees the comment on its city port's report too
    assert (
        "请补充培训人数。"
        in client_for(world["users"]["guangdong"]).get(reverse("port:report", args=[report.pk])).content.decode()
    )


def test_marking_a_typical_case_asks_first_and_is_audited(world: dict[str, Any]) -> None:
    report = world["zj"]
    national = world["users"]["national"]
    client = client_for(national)
    confirm = client.get(reverse("national:report_typical", args=[report.pk]))
    assert confirm.status_code == 200 and 'data-testid="typical-confirm"' in confirm.content.decode()
    report.refresh_from_db()
    assert not report.is_typical  # nothing happens before the confirmation
    assert client.post(reverse("national:report_typical", args=[report.pk]), {"typical": "x"}).status_code == 400
    answer = client.post(reverse("national:report_typical", args=[report.pk]), {"typical": "1"})
    assert answer.status_code == 302
    report.refresh_from_db()
    assert report.is_typical and report.typical_marked_by == national and report.typical_marked_at
    event = AuditEvent.objects.filter(
        action=AuditAction.UPDATE, object_type="provincial.ProgressReport", object_id=str(report.pk)
    ).latest("pk")
    assert event.changes == {"is_typical": [False, True]}
    page = client_for(world["users"]["zhejiang"]).get(reverse("port:report", args=[report.pk])).content.decode()
    assert 'data-testid="typical-badge"' in page
    assert "浙江报送" in {r.title for r in client.get(reverse("national:reports_typical")).context["reports"]}

    client.post(reverse("national:report_typical", args=[report.pk]), {"typical": "0"})
    report.refresh_from_db()
    assert not report.is_typical and report.typical_marked_at is None
    assert (
        AuditEvent.objects.filter(
            action=AuditAction.UPDATE, object_type="provincial.ProgressReport", object_id=str(report.pk)
        ).count()
        == 2
    )


# ---------------------------------------------------------------------------------------------
# The year-end evaluation


def test_year_end_cards_count_the_reports_of_the_year(world: dict[str, Any]) -> None:
    year = figures.dashboards.trend_months()[-1].year
    make_report("440300", "深圳政策", category=ReportCategory.POLICY, is_typical=True, attachment=False)
    old = make_report("440300", "深圳去年", attachment=False, is_typical=True)
    ProgressReport.objects.filter(pk=old.pk).update(submitted_at=dt.datetime(year - 1, 12, 31, 15, 59, tzinfo=dt.UTC))
    # 23:59 on 31 December in Beijing: last year's report; one second later (16:00 UTC) is this year's
    new_year = make_report("440300", "深圳元旦", attachment=False)
    ProgressReport.objects.filter(pk=new_year.pk).update(
        submitted_at=dt.datetime(year - 1, 12, 31, 16, 0, tzinfo=dt.UTC)
    )
    cards = figures.yearend_cards(year)
    by_code = {c["code"]: c for c in cards["cards"]}
    sz = by_code["440300"]
    # the demo's progress report, 深圳报送 (progress), 深圳政策 (policy), 深圳元旦 (progress)
    assert {r["key"]: r["count"] for r in sz["reports_by_category"]} == {
        "progress": 3,
        "problem": 0,
        "good_practice": 0,
        "policy": 1,
    }
    assert (sz["reports"], sz["typical"]) == (4, 1)
    assert (by_code["440000"]["reports"], by_code["440000"]["typical"]) == (1, 1)  # 广州's are not 广东's
    assert by_code["440100"]["reports"] == 1
    assert cards["national"]["reports"] == 7 and cards["national"]["typical"] == 2
    assert Decimal(sz["score_parts"]["reports"]) == Decimal("33.3")  # 4 of 12
    assert Decimal(sz["score_parts"]["typical"]) == Decimal("100.0")  # ties with 广东 at the top


def test_the_demo_reports_load_once(demo: None) -> None:
    before = ProgressReport.objects.count()
    call_command("load_demo", verbosity=0, stdout=io.StringIO())
    assert ProgressReport.objects.count() == before == 2
    assert ProgressReport.objects.filter(is_typical=True, unit__code="440000").count() == 1
