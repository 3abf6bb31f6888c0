"""The outbox (patent_platform/outbox.py): every notice the platform sends is a row written in the
transaction of the change that causes it, delivered after commit or by the beat sweep, retried with a
growing wait, shown to the operators when it fails, and sent once per recipient and notice.

The mail server is the one part stood in for (Django's locmem backend, and tests/mailbackends.py for a
mail server that cannot be reached)."""

import ast
import datetime as dt
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.db import transaction
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from evaluation import experts, rounds
from evaluation.choices import Stage
from filings import drift, identity, services, workflow
from filings.choices import FilingStatus, LegalStatus
from filings.models import FilingUnit, Patent, ProductClass, ProductVersion
from patent_platform import confirmation, duties, outbox, recovery
from patent_platform.models import Notice, NoticeStatus, User
from patent_platform.tasks import deliver_notices
from provincial import applications, reports
from provincial.choices import PublicationKind, ReportCategory
from provincial.models import ManagementUnit, PortContact, Publication
from provincial.publications import build
from provincial.publications import services as publications
from tests.evaluation.conftest import walk_second_round
from tests.factories import FilingUnitFactory, MemberFactory
from tests.provincial.test_applications import contacts, scan

ROOT = Path(__file__).resolve().parents[2]
APPS = ["patent_platform", "filings", "evaluation", "provincial"]
pytestmark = pytest.mark.embedded  # the outbox is the embedded default's too (SQLite, tasks in-process)
MAIL_NAMES = {"send_mail", "send_mass_mail", "mail_admins", "mail_managers", "EmailMessage", "EmailMultiAlternatives"}


# ---------------------------------------------------------------------------------------------
# No path around the outbox


def test_only_the_outbox_module_touches_djangos_mail_functions() -> None:
    """A module that sends mail by itself would bypass the transaction, the retries and the operators'
    view: only patent_platform/outbox.py may import from django.core.mail, and nobody calls `email_user`
    (Django's shortcut) or a password-reset form's `save` (which mails)."""
    offenders = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts or "settings" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            relative = str(path.relative_to(ROOT))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("django.core.mail"):
                    if relative != "patent_platform/outbox.py":
                        offenders.append(f"{relative}:{node.lineno} imports from {node.module}")
                elif isinstance(node, ast.Import) and any(a.name.startswith("django.core.mail") for a in node.names):
                    offenders.append(f"{relative}:{node.lineno} imports django.core.mail")
                elif (
                    isinstance(node, ast.Attribute)
                    and node.attr in {"email_user", *MAIL_NAMES}
                    and relative != "patent_platform/outbox.py"
                ):
                    offenders.append(f"{relative}:{node.lineno} uses .{node.attr}")
    assert offenders == []


# ---------------------------------------------------------------------------------------------
# Every sender, through the outbox


def _filer(version: ProductVersion) -> User:
    return version.product.unit.memberships.select_related("user").first().user


def _transition(users: dict[str, User]) -> None:
    version = ProductVersion.objects.filter(status=FilingStatus.SUBMITTED).first()
    workflow.version_return(version=version, user=users["reviewer"], reasons={"": "请补充核心专利的实施说明。"})


def _flag(users: dict[str, User]) -> None:
    version = ProductVersion.objects.filter(status=FilingStatus.APPROVED).first()
    patent = Patent.objects.filter(rights__links__version=version).first()
    with transaction.atomic():
        row = drift.Row(number=2, patent=patent.number, status=LegalStatus.LAPSED, effective_date=dt.date(2026, 3, 1))
        drift.legal_status_apply(rows=[row], source=None, user=users["reviewer"])


def _member(users: dict[str, User]) -> None:
    manager = users["ent-gz"]
    unit = FilingUnit.objects.get(memberships__user=manager)
    services.unit_member_add(manager=manager, unit=unit, email="colleague-outbox@example.cn", full_name="同事")


def _candidate(users: dict[str, User]) -> None:
    rnd = walk_second_round(users["national"], Stage.PATENT)
    rounds.round_request_information(
        rnd=rnd, user=users["national"], due=workflow.china_today() + dt.timedelta(days=10)
    )


def _expert(users: dict[str, User]) -> None:
    experts.expert_create(
        user=users["national"],
        email="expert-outbox@example.cn",
        full_name="评审专家",
        organisation="某大学",
        province_code="110000",
        classes=[ProductClass.objects.first()],
    )


def _publication(users: dict[str, User]) -> None:
    PortContact.objects.create(unit=ManagementUnit.objects.get(code="440300"), name="张三", email="zs@sz.example.cn")
    publications.ensure_publications(PublicationKind.MONTHLY, publications.previous_month())
    row = Publication.objects.get(kind=PublicationKind.MONTHLY, unit__code="440300")
    build.build_publication(row.pk)


def _report(users: dict[str, User]) -> None:
    reports.report_submit(user=users["shenzhen"], category=ReportCategory.PROGRESS, title="进展", body="本月进展。")


def _comment(users: dict[str, User]) -> None:
    with transaction.atomic():
        report = reports.report_submit(
            user=users["shenzhen"], category=ReportCategory.PROGRESS, title="进展", body="本月进展。"
        )
        Notice.objects.filter(kind="provincial.report_submitted").delete()  # this sender is the next one
    reports.report_comment_add(report_id=report.pk, user=users["national"], body="请补充数据。")


def _application(guangzhou: str = "440100") -> Any:
    return applications.submit_application(
        unit=ManagementUnit.objects.get(code=guangzhou),
        office_name="广州市知识产权局",
        person_in_charge="黄局长",
        applicant_email="office@example.cn",
        form_scan=scan(),
        contacts=contacts(),
    )


def _receipt(users: dict[str, User]) -> None:
    _application()


def _returned(users: dict[str, User]) -> None:
    application = _application()
    Notice.objects.all().delete()
    applications.application_return(application=application, user=users["national"], reason="申请表未盖章。")


def _approved(users: dict[str, User]) -> None:
    application = _application()
    Notice.objects.all().delete()
    applications.application_approve(application=application, user=users["national"])


def _reset(users: dict[str, User]) -> None:
    duties.user_send_password_reset(actor=users["secadmin"], user=users["ent-hz"])


def _forgotten(users: dict[str, User]) -> None:
    recovery.password_reset_request(email=users["ent-hz"].email)


def _recovery_code(users: dict[str, User]) -> None:
    recovery.recovery_codes_generate(user=users["ent-hz"])
    recovery.recovery_code_used(user=users["ent-hz"], device=recovery.recovery_device(users["ent-hz"]))


def _two_factor_reset(users: dict[str, User]) -> None:
    duties.user_reset_two_factor(actor=users["secadmin"], user=users["ent-hz"])


def _email_confirmation(users: dict[str, User]) -> None:
    confirmation.email_confirmation_send(user=User.objects.create_user("unconfirmed@example.cn", "Unconfirmed-2026!"))


def _proof() -> dict[str, Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
    return {"letter": SimpleUploadedFile("l.pdf", pdf), "licence": SimpleUploadedFile("b.pdf", pdf)}


def _unit_identity(users: dict[str, User]) -> None:
    unit = FilingUnitFactory(verified=False)
    manager = MemberFactory(unit=unit).user
    with override_settings(MEDIA_ROOT=tempfile.mkdtemp()):
        request = identity.verification_submit(user=manager, **_proof())
    identity.identity_request_decide(request=request, user=users["reviewer"], accept=False, reason="公章不清晰")


def _suspended(users: dict[str, User]) -> None:
    unit = FilingUnitFactory(verified=False)
    MemberFactory(unit=unit)
    data = {"email": "claimant@example.cn", "password": "Xk7#pL9!wQ2z"}
    with override_settings(MEDIA_ROOT=tempfile.mkdtemp()):
        _user, claim = identity.claim_open(uscc=unit.uscc, user_data=data, **_proof())
    identity.identity_request_decide(request=claim, user=users["reviewer"], accept=True)


def _follow_up_invitation(users: dict[str, User]) -> None:
    """A port invites an enterprise of the demo roster that has not registered (provincial/followup.py)."""
    from filings.identifiers import build_uscc
    from provincial import followup, rosters

    rosters.load_demo_rosters(users["national"])
    yuexiu = build_uscc(region_code="440104", org_body="MA5DM002")
    followup.follow_up_send(user=users["guangdong"], usccs=[yuexiu], kind="invitation")


def _follow_up_reminder(users: dict[str, User]) -> None:
    """A port reminds a registered enterprise of the demo roster that has not filed."""
    from filings.identifiers import build_uscc
    from provincial import followup, rosters

    rosters.load_demo_rosters(users["national"])
    foshan = build_uscc(region_code="440604", org_body="MA5DM001")
    MemberFactory(unit=FilingUnitFactory(uscc=foshan, region_id="440604"))
    followup.follow_up_send(user=users["guangdong"], usccs=[foshan], kind="reminder")


def _reminder(users: dict[str, User]) -> None:
    """The calendar's reminder of a coming deadline (evaluation/schedule.py): information due in two days."""
    from evaluation import schedule

    rnd = walk_second_round(users["national"], Stage.PATENT)
    rounds.round_request_information(rnd=rnd, user=users["national"], due=workflow.china_today() + dt.timedelta(days=2))
    Notice.objects.all().delete()
    assert schedule.send_reminders(workflow.china_today())


def _month_publications() -> None:
    from tests.provincial.test_publication_views import make_publication

    for code in ("440000", "440300", "330000", "NATIONAL"):
        make_publication(code)


def _month_reminder(users: dict[str, User]) -> None:
    from provincial.publications import signoff

    with override_settings(MEDIA_ROOT=tempfile.mkdtemp()):
        _month_publications()
    signoff.signoff_remind(user=users["national"], period=publications.previous_month())


def _month_reopened(users: dict[str, User]) -> None:
    from provincial.models import ManagementUnit
    from provincial.publications import signoff

    with override_settings(MEDIA_ROOT=tempfile.mkdtemp()):
        _month_publications()
    unit = ManagementUnit.objects.get(code="440300")
    signoff.signoff_sign(user=users["shenzhen"], unit=unit, period=publications.previous_month(), edition=1)
    signoff.signoff_reopen(
        user=users["national"], unit=unit, period=publications.previous_month(), reason="审核时间更正"
    )


def _national_released(users: dict[str, User]) -> None:
    from provincial.publications import signoff

    with override_settings(MEDIA_ROOT=tempfile.mkdtemp()):
        _month_publications()
    signoff.publication_release(user=users["national"], period=publications.previous_month(), edition=1)


def _subscription(users: dict[str, User]) -> None:
    from provincial import subscriptions

    subscriptions.subscription_create(
        owner=users["guangdong"],
        kind="dashboard",
        analysis_id=None,
        port_code="",
        frequency="monthly",
        file_format="xlsx",
    )
    with override_settings(MEDIA_ROOT=tempfile.mkdtemp()):
        subscriptions.run_due()


SENDERS: dict[str, Callable[[dict[str, User]], None]] = {
    "filings.transition": _transition,
    "filings.flag": _flag,
    "filings.member_invitation": _member,
    "evaluation.candidate": _candidate,
    "evaluation.expert_invitation": _expert,
    "provincial.publication": _publication,
    "provincial.month_reminder": _month_reminder,
    "provincial.month_reopened": _month_reopened,
    "provincial.national_released": _national_released,
    "provincial.report_submitted": _report,
    "provincial.report_comment": _comment,
    "provincial.application_receipt": _receipt,
    "provincial.application_returned": _returned,
    "provincial.application_approved": _approved,
    "provincial.port_admin_invitation": _approved,
    "accounts.password_reset": _reset,
    "accounts.password_forgotten": _forgotten,
    "accounts.recovery_code_used": _recovery_code,
    "accounts.two_factor_reset": _two_factor_reset,
    "accounts.email_confirmation": _email_confirmation,
    "accounts.suspended": _suspended,
    "filings.unit_identity": _unit_identity,
    "evaluation.reminder": _reminder,
    "provincial.follow_up_reminder": _follow_up_reminder,
    "provincial.invitation": _follow_up_invitation,
    "provincial.subscription": _subscription,
}


def test_the_list_of_senders_is_the_list_of_kinds() -> None:
    assert set(SENDERS) == set(outbox.KINDS)


@pytest.mark.parametrize("kind", sorted(SENDERS))
def test_each_sender_writes_its_notice_in_the_transaction_and_the_outbox_sends_it_once(
    kind: str, demo: None, demo_users: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        SENDERS[kind](demo_users)
    written = list(Notice.objects.filter(kind=kind))
    assert written, f"{kind}: no notice written"
    assert mail.outbox == []  # nothing sent inside the transaction
    assert {n.status for n in written} == {NoticeStatus.PENDING}
    for callback in callbacks:  # the commit
        callback()
    sent = [m for m in mail.outbox if m.subject == written[0].subject]
    assert sorted(m.to[0] for m in sent) == sorted(n.recipient for n in written if n.subject == written[0].subject)
    assert all(len(m.to) == 1 for m in mail.outbox)  # one message per recipient
    for notice in written:
        notice.refresh_from_db()
        assert notice.status == NoticeStatus.SENT and notice.sent_at is not None and notice.attempts == 1
    count = len(mail.outbox)
    deliver_notices.delay()  # the sweep again: nothing more
    assert len(mail.outbox) == count


def test_a_change_that_rolls_back_leaves_no_notice(demo: None, demo_users: dict[str, User]) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        _transition(demo_users)
        assert Notice.objects.filter(kind="filings.transition").exists()
        raise RuntimeError("something after the return failed")
    assert not Notice.objects.exists()


def test_a_one_time_link_is_made_when_sent_never_stored(
    demo: None, demo_users: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _reset(demo_users)
    notice = Notice.objects.get(kind="accounts.password_reset")
    assert outbox.LINK_PLACEHOLDER in notice.body and "/accounts/activate/" not in notice.body
    (message,) = mail.outbox
    link = re.search(r"https?://[^/\s]+(/accounts/activate/\S+/)", message.body)
    assert link, message.body
    assert Client().get(link.group(1), follow=True).status_code == 200


# ---------------------------------------------------------------------------------------------
# Idempotency, retries, leases, the operators


def _enqueue(source: str = "1", recipients: tuple[str, ...] = ("a@example.cn",)) -> list[str]:
    return outbox.enqueue("filings.transition", source=source, recipients=recipients, subject="主题", body="正文")


def test_the_same_notice_written_twice_is_one_row_and_one_message(db: None) -> None:
    with transaction.atomic():
        _enqueue(recipients=("A@example.cn", "a@example.cn ", "b@example.cn"))
        _enqueue(recipients=("a@example.cn",))
    assert sorted(Notice.objects.values_list("recipient", flat=True)) == ["a@example.cn", "b@example.cn"]
    assert outbox.deliver() == {"sent": 2, "failed": 0}
    assert outbox.deliver() == {"sent": 0, "failed": 0}
    assert sorted(m.to[0] for m in mail.outbox) == ["a@example.cn", "b@example.cn"]


def test_a_refused_notice_waits_longer_each_time_then_fails_and_an_operator_requeues_it(
    db: None, settings: Any, make_user: Callable[..., User]
) -> None:
    _enqueue()
    settings.EMAIL_BACKEND = "tests.mailbackends.RefusingBackend"
    waits = []
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        before = timezone.now()
        assert outbox.deliver() == {"sent": 0, "failed": 1}
        notice = Notice.objects.get()
        assert notice.attempts == attempt and "unreachable" in notice.last_error and notice.claim is None
        waits.append(round((notice.due_at - before).total_seconds() / 60))
        assert outbox.deliver() == {"sent": 0, "failed": 0}  # not due yet
        Notice.objects.update(due_at=timezone.now())
    assert waits[:7] == [1, 2, 4, 8, 16, 32, 60]
    assert Notice.objects.get().status == NoticeStatus.FAILED
    assert outbox.deliver() == {"sent": 0, "failed": 0}  # given up

    security = make_user("sec-outbox@example.cn", "security_admin")
    client = Client()
    client.force_login(security)
    page = client.get(reverse("security-notices")).content.decode()
    assert 'data-status="failed"' in page and "unreachable" in page
    assert "a@example.cn" not in page and "正文" not in page  # masked recipient, no message text
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    response = client.post(reverse("security-notices"), {"id": Notice.objects.get().pk})
    assert response.status_code == 302
    outbox.deliver()
    assert Notice.objects.get().status == NoticeStatus.SENT and [m.to for m in mail.outbox] == [["a@example.cn"]]
    export = client.get(reverse("security-notices-export"), {"status": "sent"})
    assert export.status_code == 200 and export["Content-Type"].startswith("application/vnd.openxmlformats")


def test_a_deliverer_that_died_holding_a_claim_is_replaced_when_its_lease_runs_out(db: None) -> None:
    _enqueue()
    _token, ids = outbox._claim(10)  # a worker took the row, then was killed before sending
    assert ids and outbox.deliver() == {"sent": 0, "failed": 0}  # its lease holds
    Notice.objects.update(lease_until=timezone.now() - dt.timedelta(seconds=1))
    assert outbox.deliver() == {"sent": 1, "failed": 0}
    assert len(mail.outbox) == 1 and Notice.objects.get().claim is None


@pytest.mark.parametrize(
    ("role", "status"),
    [("security_admin", 200), ("system_admin", 200), ("national_admin", 404), ("audit_admin", 404), ("reviewer", 404)],
)
def test_the_notices_page_is_for_the_security_and_system_administrators(
    db: None, make_user: Callable[..., User], role: str, status: int
) -> None:
    client = Client()
    client.force_login(make_user(f"{role}-outbox@example.cn", role))
    assert client.get(reverse("security-notices")).status_code == status
    assert client.get(reverse("security-notices-export")).status_code == status


def test_beat_sweeps_the_outbox_every_minute(db: None) -> None:
    task = PeriodicTask.objects.get(task="patent_platform.deliver_notices")
    assert task.enabled and task.expire_seconds == 55
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_month) == ("*", "*", "*")
