"""Port applications: apply (public), national approval or return, invitations, contacts, and scoping."""

import re
from collections.abc import Callable
from io import BytesIO
from typing import Any

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, TestCase
from django.urls import reverse
from openpyxl import load_workbook

from filings.models import Product
from patent_platform.choices import AuditAction, Role
from patent_platform.models import AuditEvent, User
from provincial import applications as service
from provincial.choices import ApplicationStatus
from provincial.models import ManagementUnit, PortApplication, PortContact, PortMembership

BACKEND = "django.contrib.auth.backends.ModelBackend"
STRONG = "Xk7#pL9!wQ2z"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
PDF_WITH_SCRIPT = b"%PDF-1.4\n1 0 obj<</S/JavaScript/JS(app.alert(1))>>endobj\ntrailer<<>>\n%%EOF"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


def text(response: Any) -> str:
    return response.content.decode()


def login(user: User) -> Client:
    client = Client()
    client.force_login(user, backend=BACKEND)
    return client


def unit(code: str) -> ManagementUnit:
    return ManagementUnit.objects.get(code=code)


def scan(content: bytes = PDF, name: str = "申请表.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


ADMIN = {"name": "林管理", "post": "科长", "office_phone": "020-87654321", "mobile": "13800000001"}


def contacts(*rows: dict[str, Any]) -> list[dict[str, Any]]:
    return list(rows) or [
        {**ADMIN, "email": "lin.admin@gz.example.cn", "is_admin": True},
        {"name": "周联络", "post": "干部", "office_phone": "", "mobile": "13800000002", "email": "zhou@gz.example.cn"},
    ]


def apply_post(target: ManagementUnit, rows: list[dict[str, Any]] | None = None, **overrides: Any) -> dict[str, Any]:
    rows = contacts() if rows is None else rows
    data: dict[str, Any] = {
        "unit": str(target.pk),
        "office_name": f"{target.name}知识产权局",
        "person_in_charge": "黄局长",
        "person_post": "副局长",
        "person_phone": "020-12345678",
        "applicant_email": "office@gz.example.cn",
        "form_scan": scan(),
        "contacts-TOTAL_FORMS": str(len(rows)),
        "contacts-INITIAL_FORMS": "0",
        "contacts-MIN_NUM_FORMS": "1",
        "contacts-MAX_NUM_FORMS": "20",
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            if key == "is_admin":
                if value:
                    data[f"contacts-{i}-is_admin"] = "on"
            else:
                data[f"contacts-{i}-{key}"] = value
    data.update(overrides)
    return data


def submit(target: ManagementUnit, rows: list[dict[str, Any]] | None = None) -> PortApplication:
    """An application as the public form stores it (through the service the form calls); its receipt is
    delivered as after a commit."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return service.submit_application(
            unit=target,
            office_name=f"{target.name}知识产权局",
            person_in_charge="黄局长",
            applicant_email="office@example.cn",
            form_scan=scan(),
            contacts=contacts() if rows is None else rows,
        )


@pytest.fixture
def national(make_user: Callable[..., User]) -> User:
    return make_user("national-t@example.cn", Role.NATIONAL_ADMIN)


# ---------------------------------------------------------------------------------------------
# Applying


def test_form_offers_the_units_not_open_grouped(client: Client, reference: None) -> None:
    guangdong = unit("440000")
    guangdong.is_open = True
    guangdong.save()
    page = text(client.get(reverse("port_apply:new")))
    assert '<optgroup label="省级">' in page
    assert '<optgroup label="新疆生产建设兵团">' in page
    assert '<optgroup label="副省级城市">' in page
    assert f'value="{unit("440100").pk}"' in page  # 广州市
    assert f'value="{guangdong.pk}"' not in page  # open already


def test_apply_stores_application_and_mails_a_receipt(
    client: Client, reference: None, django_capture_on_commit_callbacks: Any
) -> None:
    guangzhou = unit("440100")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("port_apply:new"), apply_post(guangzhou))
    assert response.status_code == 302
    assert response["Location"] == reverse("port_apply:done")
    application = PortApplication.objects.get()
    assert application.unit == guangzhou
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.form_scan.read() == PDF
    assert [c["email"] for c in application.contacts] == ["lin.admin@gz.example.cn", "zhou@gz.example.cn"]
    assert [c["is_admin"] for c in application.contacts] == [True, False]
    assert not guangzhou.is_open
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["office@gz.example.cn"]
    assert "已收到“广州市”管理端口开通申请" in mail.outbox[0].subject
    done = text(client.get(response["Location"]))
    assert "广州市" in done and "office@gz.example.cn" in done
    assert AuditEvent.objects.filter(action=AuditAction.CREATE, object_type="provincial.PortApplication").exists()


def test_apply_without_an_administrator_keeps_input_and_asks_for_the_file_again(
    client: Client, reference: None
) -> None:
    rows = [{**ADMIN, "email": "lin@gz.example.cn", "is_admin": False}]
    response = client.post(reverse("port_apply:new"), apply_post(unit("440100"), rows))
    assert response.status_code == 400
    page = text(response)
    assert "请至少勾选一位“端口管理员”" in page
    assert 'value="广州市知识产权局"' in page and 'value="lin@gz.example.cn"' in page
    assert 'data-testid="file-again"' in page
    assert not PortApplication.objects.exists()
    assert not mail.outbox


def test_apply_needs_a_contact_and_a_phone(client: Client, reference: None) -> None:
    response = client.post(reverse("port_apply:new"), apply_post(unit("440100"), []))
    assert response.status_code == 400
    assert not PortApplication.objects.exists()
    rows = [{"name": "无电话", "email": "x@gz.example.cn", "is_admin": True}]
    response = client.post(reverse("port_apply:new"), apply_post(unit("440100"), rows))
    assert response.status_code == 400
    assert "请至少填写办公电话或手机中的一项" in text(response)
    assert not PortApplication.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [(PNG, "只接受 PDF 文件"), (PDF_WITH_SCRIPT, "PDF 文件含有脚本或嵌入文件"), (b"", "文件为空")],
    ids=["png", "javascript", "empty"],
)
def test_apply_refuses_a_scan_that_is_not_a_clean_pdf(
    client: Client, reference: None, content: bytes, message: str
) -> None:
    data = apply_post(unit("440100"), form_scan=scan(content, "申请表.pdf"))
    response = client.post(reverse("port_apply:new"), data)
    assert response.status_code == 400
    assert message in text(response)
    assert not PortApplication.objects.exists()


def test_apply_for_an_open_unit_or_one_waiting_is_refused_clearly(client: Client, reference: None) -> None:
    guangdong = unit("440000")
    guangdong.is_open = True
    guangdong.save()
    response = client.post(reverse("port_apply:new"), apply_post(guangdong))
    assert response.status_code == 400
    assert "“广东省”的管理端口已开通" in text(response)

    submit(unit("330100"))
    response = client.post(reverse("port_apply:new"), apply_post(unit("330100")))
    assert response.status_code == 400
    assert "“杭州市”已有一份待审核的开通申请" in text(response)
    assert PortApplication.objects.count() == 1


# ---------------------------------------------------------------------------------------------
# Approval, invitation, activation


def invitation_path(message: Any) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/activate/\S+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_approval_opens_the_port_creates_the_administrator_and_invites_once(
    demo: None, django_capture_on_commit_callbacks: Any
) -> None:
    national = User.objects.get(email="national@example.cn")
    guangzhou = unit("440100")
    application = submit(guangzhou)
    mail.outbox.clear()
    client = login(national)
    page = text(client.get(reverse("national:application", args=[application.pk])))
    assert "lin.admin@gz.example.cn" in page and 'data-testid="approve"' in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("national:application_approve", args=[application.pk]))
    assert response.status_code == 302
    application.refresh_from_db()
    guangzhou.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    assert application.decided_by == national
    assert guangzhou.is_open
    assert list(PortContact.objects.filter(unit=guangzhou).values_list("email", "is_admin")) == [
        ("lin.admin@gz.example.cn", True),
        ("zhou@gz.example.cn", False),
    ]
    admin = User.objects.get(email="lin.admin@gz.example.cn")
    assert admin.role == Role.PORT_ADMIN
    assert not admin.has_usable_password()
    assert PortMembership.objects.get(user=admin).unit == guangzhou
    assert not User.objects.filter(email="zhou@gz.example.cn").exists()  # a contact, not an administrator
    # the new administrator sees the 广州 products only (the demo also has 深圳 and 杭州 products)
    visible = Product.objects.visible_to(admin)
    assert visible.exists()
    assert set(visible.values_list("city_code", flat=True)) == {"440100"}
    assert visible.count() == Product.objects.filter(city_code="440100").count()
    assert Product.objects.exclude(city_code="440100").exists()
    assert AuditEvent.objects.filter(
        action=AuditAction.TRANSITION,
        object_type="provincial.PortApplication",
        changes__status=["submitted", "approved"],
    ).exists()
    assert AuditEvent.objects.filter(action=AuditAction.PERMISSION, object_id=str(admin.pk)).exists()

    invitations = [m for m in mail.outbox if m.to == ["lin.admin@gz.example.cn"]]
    assert len(invitations) == 1
    assert any(m.to == ["office@example.cn"] and "已开通" in m.subject for m in mail.outbox)
    link = invitation_path(invitations[0])

    visitor = Client()
    step = visitor.get(link)
    assert step.status_code == 302  # Django moves the token into the session
    assert 'data-testid="activate-form"' in text(visitor.get(step["Location"]))
    done = visitor.post(step["Location"], {"new_password1": STRONG, "new_password2": STRONG})
    assert done.status_code == 302 and done["Location"] == reverse("home")
    landing = visitor.get(done["Location"], follow=True)
    assert landing.redirect_chain[-1][0] == reverse("port:home")
    assert "广州市" in text(landing)
    admin.refresh_from_db()
    assert admin.check_password(STRONG)

    again = Client().get(link, follow=True)
    assert 'data-testid="invalid-link"' in text(again)
    assert 'data-testid="activate-form"' not in text(again)
    # and it cannot be approved twice: another action came first (409, issue 17 §5)
    response = client.post(reverse("national:application_approve", args=[application.pk]))
    assert response.status_code == 409
    assert "不能再审核" in text(response)


def test_approval_refuses_an_email_of_another_role_and_changes_nothing(
    national: User, make_user: Callable[..., User], reference: None
) -> None:
    make_user("lin.admin@gz.example.cn", Role.ENTERPRISE)
    application = submit(unit("440100"))
    client = login(national)
    assert "lin.admin@gz.example.cn" in text(client.get(reverse("national:application", args=[application.pk])))
    response = client.post(reverse("national:application_approve", args=[application.pk]))
    assert response.status_code == 400
    assert "邮箱 lin.admin@gz.example.cn 已被平台上的“企业用户”账号使用" in text(response)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert not unit("440100").is_open
    assert not PortContact.objects.exists()
    assert User.objects.get(email="lin.admin@gz.example.cn").role == Role.ENTERPRISE


def test_approval_reuses_a_port_administrator_without_a_port_but_not_one_of_another_port(
    national: User, make_user: Callable[..., User], reference: None, django_capture_on_commit_callbacks: Any
) -> None:
    spare = make_user("lin.admin@gz.example.cn", Role.PORT_ADMIN)
    application = submit(unit("440100"))
    with django_capture_on_commit_callbacks(execute=True):
        service.application_approve(application=application, user=national)
    assert PortMembership.objects.get(user=spare).unit.code == "440100"
    assert User.objects.filter(email="lin.admin@gz.example.cn").count() == 1
    invitation = next(m for m in mail.outbox if m.to == [spare.email])
    assert "请使用您已设置的密码登录" in invitation.body  # has a password already: no reset link

    other = submit(unit("330100"))  # same administrator e-mail for 杭州市
    with pytest.raises(Exception, match="已是“广州市”的端口管理员"):
        service.application_approve(application=other, user=national)
    other.refresh_from_db()
    assert other.status == ApplicationStatus.SUBMITTED
    assert not unit("330100").is_open


def test_return_with_reason_mails_the_applicant_who_may_apply_again(
    national: User, reference: None, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    application = submit(unit("440100"))
    mail.outbox.clear()
    staff = login(national)
    response = staff.post(reverse("national:application_return", args=[application.pk]), {"reason": "  "})
    assert response.status_code == 400
    assert "请填写退回理由" in text(response)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            reverse("national:application_return", args=[application.pk]),
            {"reason": "申请表未盖章，请盖章后重新扫描。"},
        )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.RETURNED
    assert application.return_reason == "申请表未盖章，请盖章后重新扫描。"
    assert not unit("440100").is_open
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["office@example.cn"]
    assert "申请表未盖章，请盖章后重新扫描。" in mail.outbox[0].body
    assert AuditEvent.objects.filter(action=AuditAction.TRANSITION, changes__status=["submitted", "returned"]).exists()
    assert "申请表未盖章" in text(staff.get(reverse("national:application", args=[application.pk])))

    response = client.post(reverse("port_apply:new"), apply_post(unit("440100")))
    assert response.status_code == 302
    assert PortApplication.objects.filter(unit__code="440100").count() == 2


# ---------------------------------------------------------------------------------------------
# National pages: list, export, scan, ports and contacts


def test_list_filter_export_and_scan(national: User, reference: None) -> None:
    waiting = submit(unit("440100"))
    returned = submit(unit("330100"))
    service.application_return(application=returned, user=national, reason="材料不全")
    client = login(national)
    page = text(client.get(reverse("national:applications"), {"status": "submitted"}))
    assert f'data-application="{waiting.pk}"' in page and f'data-application="{returned.pk}"' not in page
    page = text(client.get(reverse("national:applications")))
    assert f'data-application="{waiting.pk}"' in page and f'data-application="{returned.pk}"' in page

    export = client.get(reverse("national:applications_export"), {"status": "returned"})
    assert export.status_code == 200
    rows = list(load_workbook(BytesIO(export.content), read_only=True).worksheets[0].iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][0] == "杭州市" and rows[1][-1] == "材料不全"
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, object_type="provincial.PortApplication").exists()

    response = client.get(reverse("national:application_scan", args=[waiting.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == PDF
    assert AuditEvent.objects.filter(action=AuditAction.DOWNLOAD, object_id=str(waiting.pk)).exists()


def test_ports_page_shows_open_admins_contacts_and_pending(
    national: User, reference: None, django_capture_on_commit_callbacks: Any
) -> None:
    approved = submit(unit("440100"))
    with django_capture_on_commit_callbacks(execute=True):
        service.application_approve(application=approved, user=national)
    pending = submit(unit("330100"))
    client = login(national)
    page = text(client.get(reverse("national:ports")))
    assert page.count('data-testid="port-row"') == ManagementUnit.objects.count() == 47
    assert "lin.admin@gz.example.cn" in page and "周联络" in page
    assert reverse("national:application", args=[pending.pk]) in page
    export = client.get(reverse("national:ports_export"))
    rows = list(load_workbook(BytesIO(export.content), read_only=True).worksheets[0].iter_rows(values_only=True))
    guangzhou = next(r for r in rows if r[0] == "440100")
    assert guangzhou[4] == "是" and "lin.admin@gz.example.cn" in guangzhou[5]
    assert next(r for r in rows if r[0] == "330100")[7] == "杭州市知识产权局"


def test_national_adds_and_removes_a_contact(national: User, reference: None) -> None:
    guangzhou = unit("440100")
    client = login(national)
    url = reverse("national:port_contact_add", args=[guangzhou.pk])
    response = client.post(url, {"name": "", "email": "not-an-email"})
    assert response.status_code == 400
    assert not PortContact.objects.exists()
    response = client.post(
        url, {"name": "吴联络", "post": "主任", "mobile": "13900000000", "email": "Wu@GZ.example.cn"}
    )
    assert response.status_code == 302
    contact = PortContact.objects.get()
    assert contact.email == "wu@gz.example.cn" and contact.unit == guangzhou and not contact.is_admin
    page = text(client.get(reverse("national:port", args=[guangzhou.pk])))
    assert "吴联络" in page and 'data-testid="contact-delete"' in page
    assert client.post(url, {"name": "重复", "mobile": "1", "email": "wu@gz.example.cn"}).status_code == 400
    response = client.post(reverse("national:port_contact_delete", args=[contact.pk]))
    assert response.status_code == 302
    assert not PortContact.objects.exists()
    assert AuditEvent.objects.filter(action=AuditAction.DELETE, object_type="provincial.PortContact").exists()


# ---------------------------------------------------------------------------------------------
# Scoping: national pages answer 404 to every other role, the login page to anonymous visitors


def national_urls(application: PortApplication, contact: PortContact) -> list[tuple[str, str]]:
    pk = application.pk
    return [
        ("get", reverse("national:applications")),
        ("get", reverse("national:applications_export")),
        ("get", reverse("national:application", args=[pk])),
        ("get", reverse("national:application_scan", args=[pk])),
        ("post", reverse("national:application_approve", args=[pk])),
        ("post", reverse("national:application_return", args=[pk])),
        ("get", reverse("national:ports")),
        ("get", reverse("national:ports_export")),
        ("get", reverse("national:port", args=[application.unit_id])),
        ("post", reverse("national:port_contact_add", args=[application.unit_id])),
        ("post", reverse("national:port_contact_delete", args=[contact.pk])),
    ]


def test_national_pages_are_404_for_other_roles_and_login_for_anonymous(
    reference: None, make_user: Callable[..., User]
) -> None:
    from provincial.services import port_add_admin

    reviewer = make_user("reviewer-t@example.cn", Role.REVIEWER)
    enterprise = make_user("ent-t@example.cn", Role.ENTERPRISE)
    port_admin = make_user("port-t@example.cn", Role.PORT_ADMIN)
    port_add_admin(unit=unit("440000"), user=port_admin)
    application = submit(unit("440100"))
    contact = PortContact.objects.create(unit=unit("440000"), name="某人", email="someone@example.cn")
    urls = national_urls(application, contact)
    for user in (port_admin, reviewer, enterprise):
        client = login(user)
        for method, url in urls:
            data = {"reason": "x", "name": "n", "email": "n@example.cn", "mobile": "1"} if method == "post" else {}
            response = getattr(client, method)(url, data)
            assert response.status_code == 404, (user.email, url, response.status_code)
    anonymous = Client()
    for method, url in urls:
        response = getattr(anonymous, method)(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert PortContact.objects.filter(pk=contact.pk).exists()
    assert PortContact.objects.count() == 1
    assert not AuditEvent.objects.filter(action__in=[AuditAction.EXPORT, AuditAction.DOWNLOAD]).exists()


def test_contacts_include_renders_a_ports_contacts(reference: None) -> None:
    from django.template.loader import render_to_string

    PortContact.objects.create(unit=unit("440000"), name="郑联络", email="zheng@example.cn", is_admin=True)
    html = render_to_string(
        "provincial/applications/_contacts.html", {"contacts": PortContact.objects.filter(unit__code="440000")}
    )
    assert "郑联络" in html and "zheng@example.cn" in html and "contact-delete" not in html
    empty = render_to_string("provincial/applications/_contacts.html", {"contacts": PortContact.objects.none()})
    assert 'data-testid="contacts-empty"' in empty
