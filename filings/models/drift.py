"""Patent legal-status drift and conflicting claims (issue 9).

- `PatentStatusImport`: one uploaded Excel/CSV of legal statuses (format: docs/PATENT_STATUS.md),
  validated in the background and applied all-or-nothing.
- `PatentStatusChange`: the history of a patent's legal status (one row per change, whatever its source).
- `FilingFlag`: an approved version relies on a patent that lapsed, expired or was invalidated. The flag
  stays on the version (its history); it is resolved, never deleted.
- `PatentConflict`: the same patent owned by unrelated filing units, or licensed with no owner on the
  platform; shown to reviewers with both sides.
"""

import uuid
from typing import TYPE_CHECKING, ClassVar, Self

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from filings.choices import ConflictKind, ConflictStatus, LegalStatus
from patent_platform.jobs.models import Job
from patent_platform.scoping import ScopedQuerySet, scope_of

if TYPE_CHECKING:
    from patent_platform.scoping import Reader


def status_upload_name(instance: "PatentStatusImport", filename: str) -> str:
    suffix = ".csv" if filename.lower().endswith(".csv") else ".xlsx"
    return f"patent-status/{uuid.uuid4().hex}{suffix}"


class PlatformOnlyQuerySet(ScopedQuerySet):
    """Rows read by national administrators and platform reviewers only (scope: everything)."""

    def visible_to(self, user: "Reader") -> Self:
        return self.all() if scope_of(user).everything else self.none()


class PatentStatusImport(Job):
    """A legal-status file (filings.drift), applied all or nothing."""

    file = models.FileField(upload_to=status_upload_name, max_length=200)
    # the job's fields, with the labels this model has always had (its migrations name them)
    total_rows = models.PositiveIntegerField(_("行数"), default=0)
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    changed_count = models.PositiveIntegerField(_("状态变化的专利"), default=0)
    unchanged_count = models.PositiveIntegerField(_("状态未变的专利"), default=0)
    unknown_count = models.PositiveIntegerField(_("平台上没有的专利"), default=0)
    flagged_count = models.PositiveIntegerField(_("被标记的备案"), default=0)

    objects = PlatformOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("专利法律状态导入")
        verbose_name_plural = _("专利法律状态导入")
        ordering: ClassVar[list[str]] = ["-created_at"]

    def __str__(self) -> str:
        return self.original_name


class PatentStatusChangeQuerySet(ScopedQuerySet):
    def visible_to(self, user: "Reader") -> Self:
        from filings.models.patents import Patent

        return self.filter(patent__in=Patent.objects.visible_to(user))


class PatentStatusChange(models.Model):
    patent = models.ForeignKey("filings.Patent", on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(_("原法律状态"), max_length=20, choices=LegalStatus.choices)
    to_status = models.CharField(_("新法律状态"), max_length=20, choices=LegalStatus.choices)
    effective_date = models.DateField(_("生效日期"), null=True, blank=True)
    source = models.ForeignKey(
        PatentStatusImport, null=True, blank=True, on_delete=models.SET_NULL, related_name="changes"
    )
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    objects = PatentStatusChangeQuerySet.as_manager()

    class Meta:
        verbose_name = _("专利法律状态变更")
        verbose_name_plural = _("专利法律状态变更")
        ordering: ClassVar[list[str]] = ["-recorded_at", "-id"]

    def __str__(self) -> str:
        return f"{self.patent_id}: {self.from_status} → {self.to_status}"


class FilingFlagQuerySet(ScopedQuerySet):
    region_prefix = "version__product__"
    unit_field = "version__product__unit_id"

    def open(self) -> Self:
        return self.filter(resolved_at__isnull=True)


class FilingFlag(models.Model):
    """An approved version relies on a patent that is no longer valid."""

    version = models.ForeignKey("filings.ProductVersion", on_delete=models.CASCADE, related_name="flags")
    patent = models.ForeignKey("filings.Patent", on_delete=models.PROTECT, related_name="flags")
    change = models.ForeignKey(PatentStatusChange, null=True, on_delete=models.SET_NULL, related_name="flags")
    legal_status = models.CharField(_("专利法律状态"), max_length=20, choices=LegalStatus.choices)
    raised_at = models.DateTimeField(_("标记时间"), auto_now_add=True)
    notified_at = models.DateTimeField(_("通知时间"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution = models.CharField(_("处理说明"), max_length=500, blank=True)

    objects = FilingFlagQuerySet.as_manager()

    class Meta:
        verbose_name = _("备案专利状态提示")
        verbose_name_plural = _("备案专利状态提示")
        ordering: ClassVar[list[str]] = ["-raised_at", "-id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["version", "patent"],
                condition=models.Q(resolved_at__isnull=True),
                name="one_open_flag_per_version_patent",
            )
        ]
        indexes: ClassVar[list[models.Index]] = [
            # dashboards: open flags per region (joined through the version's product)
            models.Index(fields=["resolved_at", "version"], name="flag_open"),
        ]

    def __str__(self) -> str:
        return f"{self.version_id} · {self.patent_id} · {self.legal_status}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class PatentConflict(models.Model):
    """A patent claimed inconsistently across filing units; `rights` are the sides."""

    patent = models.ForeignKey("filings.Patent", on_delete=models.CASCADE, related_name="conflicts")
    kind = models.CharField(_("冲突类型"), max_length=30, choices=ConflictKind.choices)
    status = models.CharField(_("状态"), max_length=20, choices=ConflictStatus.choices, default=ConflictStatus.OPEN)
    rights = models.ManyToManyField("filings.PatentRight", related_name="conflicts", verbose_name=_("涉及的权利"))
    detected_at = models.DateTimeField(_("发现时间"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(_("处理说明"), max_length=1000, blank=True)

    objects = PlatformOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("专利权属冲突")
        verbose_name_plural = _("专利权属冲突")
        ordering: ClassVar[list[str]] = ["-detected_at", "-id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["patent", "kind"],
                condition=models.Q(status="open"),
                name="one_open_conflict_per_patent_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.patent_id} · {self.get_kind_display()}"
