"""Progress reports from localities (工作报送): a port reports progress, a problem, good practice or a
policy issued to the national office; the national office reads it, comments and marks typical cases.

Every read goes through `ProgressReport.objects.visible_to` (national administrators: all; a port: its
own and its city ports'); writes re-read their row locked through `lock_visible`. E-mails are sent by
Celery tasks (`provincial.tasks`) after the transaction commits: a new report to the national
administrators, a national comment to the port's contacts and administrators.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from patent_platform import audit, clock, outbox
from patent_platform.choices import AuditAction, Role
from patent_platform.models import User
from patent_platform.roles import require_role
from patent_platform.scoping import EVERYTHING, lock_visible, principal_for
from patent_platform.uploads import validate_upload
from provincial.choices import ReportCategory
from provincial.models import (
    ManagementUnit,
    PortContact,
    PortMembership,
    ProgressReport,
    ProgressReportAttachment,
    ProgressReportComment,
)

MAX_ATTACHMENTS = 5
ATTACHMENT_KINDS = ("pdf", "jpg", "png")
SUBJECT_PREFIX = "【专利产品备案】"


def attachment_max_bytes() -> int:
    limit: int = settings.UPLOAD_MAX_BYTES
    return limit


def unit_of(user: User) -> ManagementUnit | None:
    """The management unit a port administrator belongs to (None for anyone else)."""
    if getattr(user, "role", None) != Role.PORT_ADMIN:
        return None
    membership = PortMembership.objects.filter(user_id=user.pk).select_related("unit").first()
    return membership.unit if membership else None


def check_attachment(file: Any) -> str:
    """The kind of one attachment (pdf, jpg, png by content), or ValidationError saying what is wrong."""
    return validate_upload(file, allowed=ATTACHMENT_KINDS, max_bytes=attachment_max_bytes())


# ---------------------------------------------------------------------------------------------
# Submitting


def report_submit(*, user: User, category: str, title: str, body: str, files: Sequence[Any] = ()) -> ProgressReport:
    """A port administrator's report with its attachments, in one transaction; the national
    administrators are told by e-mail after commit."""
    unit = unit_of(user)
    if unit is None:
        raise PermissionDenied(_("只有管理端口的管理员可以报送。"))
    errors: dict[str, list[str]] = {}
    if category not in ReportCategory.values:
        errors["category"] = [_("请选择报送类别。")]
    if not title.strip():
        errors["title"] = [_("请填写标题。")]
    if not body.strip():
        errors["body"] = [_("请填写正文。")]
    if len(files) > MAX_ATTACHMENTS:
        errors["attachments"] = [_("最多上传 %(n)s 个附件。") % {"n": MAX_ATTACHMENTS}]
    kinds = []
    for file in files if "attachments" not in errors else ():
        try:
            kinds.append(check_attachment(file))
        except ValidationError as exc:
            errors.setdefault("attachments", []).extend(f"{file.name}：{m}" for m in exc.messages)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        report = ProgressReport.objects.create(
            unit=unit, category=category, title=title.strip(), body=body.strip(), submitted_by=user
        )
        for file, kind in zip(files, kinds, strict=True):
            attachment = ProgressReportAttachment(
                report=report, kind=kind, original_name=(file.name or "")[-200:], size=file.size
            )
            attachment.file = file
            attachment.save()
        audit.audit_event(
            action=AuditAction.CREATE,
            obj=report,
            actor=user,
            changes={
                "unit": unit.code,
                "category": category,
                "title": report.title,
                "attachments": [a.original_name for a in report.attachments.all()],
            },
            message="progress report submitted",
        )
        queue_submitted_notice(report.pk)
    return report


# ---------------------------------------------------------------------------------------------
# The national office: read, comment, typical


def report_mark_read(*, report: ProgressReport, user: User) -> bool:
    """The first national administrator to open a report marks it read; True if this call did."""
    if getattr(user, "role", None) != Role.NATIONAL_ADMIN or report.read_at is not None:
        return False
    now = timezone.now()
    done = (
        ProgressReport.objects.visible_to(user)
        .filter(pk=report.pk, read_at__isnull=True)
        .update(read_at=now, read_by=user)
    )
    if done:
        report.read_at, report.read_by = now, user
    return bool(done)


def report_comment_add(*, report_id: int, user: User, body: str) -> ProgressReportComment:
    require_role(user, Role.NATIONAL_ADMIN, message=_("只有国家局管理员可以提出意见。"))
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": [_("请填写意见。")]})
    with transaction.atomic():
        report = lock_visible(ProgressReport.objects.all(), user, report_id)
        comment = ProgressReportComment.objects.create(report=report, author=user, body=body)
        if report.read_at is None:
            report.read_at, report.read_by = timezone.now(), user
            report.save(update_fields=["read_at", "read_by"])
        audit.audit_event(
            action=AuditAction.CREATE,
            obj=comment,
            actor=user,
            object_repr=f"{report.title} · {_('意见')}",
            changes={"report": report.pk, "unit": report.unit.code, "body": body},
            message="progress report comment",
        )
        queue_comment_notice(comment.pk)
    return comment


def report_set_typical(*, report_id: int, user: User, typical: bool) -> ProgressReport:
    """Mark (or unmark) a report as a typical case (典型案例); audited with the before and after."""
    require_role(user, Role.NATIONAL_ADMIN, message=_("只有国家局管理员可以标记典型案例。"))
    with transaction.atomic():
        report = lock_visible(ProgressReport.objects.all(), user, report_id)
        if report.is_typical == typical:
            return report
        report.is_typical = typical
        report.typical_marked_at = timezone.now() if typical else None
        report.typical_marked_by = user if typical else None
        report.save(update_fields=["is_typical", "typical_marked_at", "typical_marked_by"])
        audit.audit_event(
            action=AuditAction.UPDATE,
            obj=report,
            actor=user,
            changes={"is_typical": [not typical, typical]},
            message="progress report marked typical" if typical else "progress report typical mark removed",
        )
    return report


def unread_count(user: User) -> int:
    return ProgressReport.objects.visible_to(user).filter(read_at__isnull=True).count()


# ---------------------------------------------------------------------------------------------
# Year-end figures


def year_counts(reader: Any, year: int, unit: ManagementUnit | None) -> dict[str, Any]:
    """The reports of `unit` (None: every port) submitted in `year` (Asia/Shanghai) as `reader` sees
    them: the number by category and how many of them are marked typical (at the time of reading)."""
    start, end = clock.year_start(year), clock.year_start(year + 1)
    qs = ProgressReport.objects.visible_to(reader).filter(submitted_at__gte=start, submitted_at__lt=end)
    if unit is not None:
        qs = qs.filter(unit=unit)
    rows = dict(qs.order_by().values_list("category").annotate(n=Count("pk")))
    typical = qs.filter(is_typical=True).count()
    return {
        "total": sum(rows.values()),
        "by_category": [
            {"key": value, "label": str(label), "count": rows.get(value, 0)} for value, label in ReportCategory.choices
        ],
        "typical": typical,
    }


# ---------------------------------------------------------------------------------------------
# Mail


def _reader() -> Any:
    return principal_for(EVERYTHING, label="report mail")


def _unique(emails: Any) -> list[str]:
    return outbox.normalise(emails)


def national_recipients() -> list[str]:
    return _unique(User.objects.filter(role=Role.NATIONAL_ADMIN, is_active=True).values_list("email", flat=True))


def port_recipients(unit: ManagementUnit) -> list[str]:
    """The port's contacts and its administrators' accounts."""
    contacts = PortContact.objects.filter(unit=unit).values_list("email", flat=True)
    admins = PortMembership.objects.filter(unit=unit, user__is_active=True).values_list("user__email", flat=True)
    return _unique([*contacts, *admins])


def _link(name: str, pk: int) -> str:
    site: str = settings.SITE_URL
    return site.rstrip("/") + reverse(name, args=[pk])


def _send(kind: str, source: int, subject: str, lines: list[str], recipients: list[str]) -> list[str]:
    """Write the notice to the outbox (in the caller's transaction)."""
    return outbox.enqueue(kind, source=str(source), recipients=recipients, subject=subject, body="\n".join(lines))


def queue_submitted_notice(report_id: int) -> list[str]:
    report = ProgressReport.objects.visible_to(_reader()).select_related("unit").filter(pk=report_id).first()
    if report is None:
        return []
    with translation.override(settings.LANGUAGE_CODE):
        subject = SUBJECT_PREFIX + _("%(unit)s报送：%(title)s") % {"unit": report.unit.name, "title": report.title}
        lines = [
            _("您好："),
            _("%(unit)s报送了一份%(category)s：")
            % {"unit": report.unit.name, "category": report.get_category_display()},
            report.title,
            _("查看和提出意见：%(url)s") % {"url": _link("national:report", report.pk)},
            _("此邮件由系统自动发送，请勿回复。"),
        ]
    return _send("provincial.report_submitted", report.pk, subject, lines, national_recipients())


def queue_comment_notice(comment_id: int) -> list[str]:
    reports = ProgressReport.objects.visible_to(_reader())
    comment = (
        ProgressReportComment.objects.filter(pk=comment_id, report__in=reports).select_related("report__unit").first()
    )
    if comment is None:
        return []
    report = comment.report
    with translation.override(settings.LANGUAGE_CODE):
        subject = SUBJECT_PREFIX + _("国家局对“%(title)s”提出了意见") % {"title": report.title}
        lines = [
            _("您好："),
            _("国家知识产权局对贵端口报送的“%(title)s”提出了意见：") % {"title": report.title},
            comment.body,
            _("查看详情：%(url)s") % {"url": _link("port:report", report.pk)},
            _("此邮件由系统自动发送，请勿回复。"),
        ]
    return _send("provincial.report_comment", comment.pk, subject, lines, port_recipients(report.unit))


# ---------------------------------------------------------------------------------------------
# Demo


DEMO_REPORTS = [
    # (port administrator, category, title, body, typical, comment)
    (
        "guangdong@example.cn",
        ReportCategory.GOOD_PRACTICE,
        "广东省推动专利产品备案与“专精特新”培育联动的做法",
        "一、将专利产品备案情况纳入省级专精特新中小企业认定的参考材料。\n"
        "二、在各地市知识产权服务站设立备案咨询窗口，上半年累计指导企业 120 余家。\n"
        "三、对通过备案的产品在省级展会中集中展示。",
        True,
        "做法扎实，已作为典型案例在全国交流。请继续总结与金融支持联动的经验。",
    ),
    (
        "shenzhen@example.cn",
        ReportCategory.PROGRESS,
        "深圳市专利产品备案工作进展（上半年）",
        "上半年深圳市共有 3 家企业完成备案注册，提交备案产品 5 件，通过 3 件。下一步将面向集成电路企业开展专题培训。",
        False,
        "",
    ),
]


def load_demo_reports(national: Any) -> int:
    """The demo's reports (idempotent: a title already reported is skipped). Returns how many exist."""
    for email, category, title, body, typical, comment in DEMO_REPORTS:
        user = User.objects.filter(email=email).first()
        unit = unit_of(user) if user else None
        if unit is None or ProgressReport.objects.filter(unit=unit, title=title).exists():
            continue
        report = ProgressReport.objects.create(unit=unit, category=category, title=title, body=body, submitted_by=user)
        if comment:
            ProgressReportComment.objects.create(report=report, author=national, body=comment)
            report.read_at, report.read_by = timezone.now(), national
        if typical:
            report.is_typical, report.typical_marked_at, report.typical_marked_by = True, timezone.now(), national
        report.save()
    return ProgressReport.objects.filter(title__in=[r[2] for r in DEMO_REPORTS]).count()
