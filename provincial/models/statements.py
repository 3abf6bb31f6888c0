"""Filing statements (备案说明) of filing units, and the ports' progress reports with their attachments and comments."""

import uuid
from typing import TYPE_CHECKING, ClassVar, Self

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from patent_platform.scoping import ScopedQuerySet, scope_of
from provincial.choices import (
    ReportCategory,
)
from provincial.models.ports import ManagementUnit

if TYPE_CHECKING:
    from patent_platform.scoping import Reader


def statement_token() -> str:
    return uuid.uuid4().hex


class FilingStatementQuerySet(ScopedQuerySet):
    region_prefix = "unit__"
    unit_field = "unit_id"


class FilingStatement(models.Model):
    """A filing statement (备案情况证明) of one filing unit, as generated at one moment.

    `content` is the snapshot the PDF is drawn from (filed and certified products by year with their
    numbers); the public verification page (`token` in the QR code) shows the same snapshot, so a bureau
    sees exactly what the statement said and when, and whether the unit's filings changed since.
    """

    number = models.CharField(_("证明编号"), max_length=20, unique=True)
    token = models.CharField(max_length=32, unique=True, default=statement_token, editable=False)
    unit = models.ForeignKey("filings.FilingUnit", on_delete=models.PROTECT, related_name="statements")
    content = models.JSONField(_("证明内容"), default=dict)
    data_as_of = models.DateTimeField(_("数据截至"))
    generated_at = models.DateTimeField(_("生成时间"), auto_now_add=True)
    generated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    sha256 = models.CharField(max_length=64, blank=True, help_text="of the canonical JSON of `content`")

    objects = FilingStatementQuerySet.as_manager()

    class Meta:
        verbose_name = _("备案情况证明")
        verbose_name_plural = _("备案情况证明")
        ordering: ClassVar[list[str]] = ["-generated_at", "-id"]

    def __str__(self) -> str:
        return self.number


class ProgressReportQuerySet(ScopedQuerySet):
    def visible_to(self, user: "Reader") -> Self:
        """National administrators: every report. A port administrator: its own port's reports and
        those of the city ports inside its province (as for publications). Nobody else."""
        scope = scope_of(user)
        if scope.everything:
            return self.all() if getattr(user, "role", None) == "national_admin" else self.none()
        if not scope.has_regions:
            return self.none()
        return self.filter(unit__in=ManagementUnit.objects.visible_to(user))


class ProgressReport(models.Model):
    """A port's report to the national office: progress, a problem, good practice or a policy issued."""

    unit = models.ForeignKey(
        ManagementUnit, on_delete=models.PROTECT, related_name="reports", verbose_name=_("报送端口")
    )
    category = models.CharField(_("类别"), max_length=20, choices=ReportCategory.choices)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("正文"), max_length=20000)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("报送人")
    )
    submitted_at = models.DateTimeField(_("报送时间"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("国家局阅知时间"), null=True, blank=True)
    read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_typical = models.BooleanField(_("典型案例"), default=False)
    typical_marked_at = models.DateTimeField(null=True, blank=True)
    typical_marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ProgressReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("工作报送")
        verbose_name_plural = _("工作报送")
        ordering: ClassVar[list[str]] = ["-submitted_at", "-id"]

    def __str__(self) -> str:
        return self.title


def report_attachment_name(instance: "ProgressReportAttachment", filename: str) -> str:
    return f"reports/{uuid.uuid4().hex}.{instance.kind or 'bin'}"


class ProgressReportAttachmentQuerySet(ScopedQuerySet):
    def visible_to(self, user: "Reader") -> Self:
        """The attachments of the reports the user sees (`ProgressReport.objects.visible_to`)."""
        return self.filter(report__in=ProgressReport.objects.visible_to(user))


class ProgressReportAttachment(models.Model):
    report = models.ForeignKey(ProgressReport, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=report_attachment_name, max_length=200)
    kind = models.CharField(max_length=5, editable=False, help_text="pdf, jpg or png, by content")
    original_name = models.CharField(_("文件名"), max_length=200)
    size = models.PositiveIntegerField(default=0)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    objects = ProgressReportAttachmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("报送附件")
        verbose_name_plural = _("报送附件")
        ordering: ClassVar[list[str]] = ["id"]

    def __str__(self) -> str:
        return self.original_name


class ProgressReportComment(models.Model):
    report = models.ForeignKey(ProgressReport, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField(_("意见"), max_length=4000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("报送意见")
        verbose_name_plural = _("报送意见")
        ordering: ClassVar[list[str]] = ["created_at", "id"]

    def __str__(self) -> str:
        return self.body[:50]
