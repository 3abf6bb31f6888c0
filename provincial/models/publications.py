"""Publications: the monthly filing data of each port and the year-end evaluation of localities; and the
months signed off (a port reviews its month's figures and signs them off or notes a problem, issue 20)."""

from typing import TYPE_CHECKING, Any, ClassVar, Self

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from patent_platform.scoping import ScopedQuerySet, scope_of
from provincial.choices import (
    PublicationKind,
    PublicationStatus,
    SignoffState,
)
from provincial.models.ports import ManagementUnit

if TYPE_CHECKING:
    from patent_platform.scoping import Reader

NATIONAL_SCOPE = "NATIONAL"  # the `scope_key` of the national office's own publications


class PublicationQuerySet(ScopedQuerySet):
    def visible_to(self, user: "Reader") -> Self:
        """National: every publication. A port administrator: those of the ports inside its scope (a
        province port sees its city ports' too) and the national monthly publications the national office
        has released (the revision released: a rebuild is hidden until it is released again); other national
        publications only national users."""
        scope = scope_of(user)
        if scope.everything:
            return self.all()
        if not scope.has_regions:
            return self.none()
        released = models.Q(
            scope_key=NATIONAL_SCOPE, kind=PublicationKind.MONTHLY, released_revision=models.F("revision")
        )
        return self.filter(models.Q(unit__in=ManagementUnit.objects.visible_to(user)) | released)


class Publication(models.Model):
    """One publication of one port (or of the national office: `unit` empty) for one period and kind.

    The row is created before the files: building it is claimed with a conditional UPDATE (status
    pending/failed, or building with an expired lease) that stores a fresh `claim` token; only the
    claimant whose token still matches may mark it ready. Files are written under a temporary name and
    moved into place, so a reader never sees half a file; a worker killed half-way leaves the row
    building until its lease expires and the next run (the hourly sweep) completes it.
    """

    unit = models.ForeignKey(
        ManagementUnit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="publications",
        verbose_name=_("管理端口"),
    )
    scope_key = models.CharField(max_length=10, editable=False, help_text="unit code, or NATIONAL")
    kind = models.CharField(_("类型"), max_length=10, choices=PublicationKind.choices)
    period = models.DateField(_("期间"), help_text=_("月度：该月 1 日；年度：该年 1 月 1 日"))
    status = models.CharField(
        _("状态"), max_length=10, choices=PublicationStatus.choices, default=PublicationStatus.PENDING
    )
    claim = models.UUIDField(null=True, blank=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    revision = models.PositiveSmallIntegerField(_("版次"), default=0, help_text=_("重新生成一次加 1"))
    progress = models.PositiveSmallIntegerField(_("进度（%）"), default=0)
    error = models.TextField(_("错误信息"), blank=True)
    xlsx_file = models.CharField(max_length=300, blank=True)
    xlsx_sha256 = models.CharField(max_length=64, blank=True)
    xlsx_size = models.PositiveBigIntegerField(default=0)
    pdf_file = models.CharField(max_length=300, blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    pdf_size = models.PositiveBigIntegerField(default=0)
    figures = models.JSONField(_("数据快照"), default=dict, blank=True)
    data_as_of = models.DateTimeField(_("数据截至"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    built_at = models.DateTimeField(_("生成时间"), null=True, blank=True)
    notified_at = models.DateTimeField(_("通知时间"), null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The national monthly publication is released to the ports only by the national office's action
    # (`provincial.publications.signoff.publication_release`): the revision released, when and by whom. A rebuild makes
    # a new revision, which is not released until the office releases it again.
    released_revision = models.PositiveSmallIntegerField(_("已发布版次"), null=True, blank=True)
    released_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = PublicationQuerySet.as_manager()

    class Meta:
        verbose_name = _("数据发布")
        verbose_name_plural = _("数据发布")
        ordering: ClassVar[list[str]] = ["-period", "kind", "scope_key"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            # exactly one publication per (port, period, kind): the monthly run and the sweep may race
            models.UniqueConstraint(fields=["scope_key", "kind", "period"], name="one_publication_per_port_period"),
            models.CheckConstraint(
                condition=(models.Q(unit__isnull=True, scope_key=NATIONAL_SCOPE))
                | (models.Q(unit__isnull=False) & ~models.Q(scope_key=NATIONAL_SCOPE)),
                name="publication_scope_key_matches_unit",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            # the sweep: rows still to build, oldest first
            models.Index(fields=["status", "lease_until"], name="publication_todo"),
        ]

    def __str__(self) -> str:
        who = self.unit.name if self.unit is not None else _("全国")
        return f"{who} · {self.get_kind_display()} · {self.period:%Y-%m}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.scope_key = self.unit.code if self.unit is not None else NATIONAL_SCOPE
        super().save(*args, **kwargs)

    # One numbering for every label of a build (issue 17): revision 0 is the first edition, 第 1 版, whose
    # files are named …-r1-…; each rebuild of a built row is the next. The same number names the files on
    # disk and for download, heads the files' content, and is shown on the pages and in the notice.
    @property
    def edition(self) -> int:
        return self.revision + 1

    @property
    def edition_label(self) -> str:
        return str(_("第 %(n)s 版") % {"n": self.edition})

    def file_edition(self, ext: str) -> int:
        """The edition of the file the row names for `ext` (while a rebuild runs: the previous edition's)."""
        import re

        if self.status == PublicationStatus.READY:
            return self.edition
        match = re.search(r"-r(\d+)-[0-9a-f]{8}\.", getattr(self, f"{ext}_file", "") or "")
        return max(1, int(match.group(1))) if match else self.edition

    @property
    def is_released(self) -> bool:
        """The national publication of this revision was released by the national office."""
        return self.released_revision is not None and self.released_revision == self.revision


# ---------------------------------------------------------------------------------------------
# Months signed off: a port reviews its month's figures and signs them off or notes a problem (issue 20)


class MonthSignoffQuerySet(ScopedQuerySet):
    def visible_to(self, user: "Reader") -> Self:
        """National: every port's month. A port administrator: the months of the ports inside its scope (a
        province sees its city ports' too; only its own may be signed, `signoff.signoff_sign` checks)."""
        scope = scope_of(user)
        if scope.everything:
            return self.all()
        if not scope.has_regions:
            return self.none()
        return self.filter(unit__in=ManagementUnit.objects.visible_to(user))


class MonthSignoff(models.Model):
    """One port's answer for one closed month: open (not yet), signed off (the edition it signed), or a
    problem noted. Only the national office reopens a signed month, with a reason; the audit log keeps every
    step. State changes go through `provincial.publications.signoff` only."""

    unit = models.ForeignKey(
        ManagementUnit, on_delete=models.PROTECT, related_name="signoffs", verbose_name=_("管理端口")
    )
    period = models.DateField(_("月份"), help_text=_("该月 1 日"))
    state = models.CharField(_("确认状态"), max_length=10, choices=SignoffState.choices, default=SignoffState.OPEN)
    note = models.TextField(_("说明"), blank=True, max_length=2000)
    edition = models.PositiveSmallIntegerField(_("确认的版次"), null=True, blank=True)
    decided_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reopened_at = models.DateTimeField(_("重新打开时间"), null=True, blank=True)
    reopened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reopen_reason = models.TextField(_("重新打开的理由"), blank=True, max_length=1000)
    reopen_count = models.PositiveSmallIntegerField(_("重新打开次数"), default=0)
    reminded_on = models.DateField(_("最近提醒日期"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MonthSignoffQuerySet.as_manager()

    class Meta:
        verbose_name = _("月度数据确认")
        verbose_name_plural = _("月度数据确认")
        ordering: ClassVar[list[str]] = ["-period", "unit__code"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["unit", "period"], name="one_signoff_per_port_month")
        ]

    def __str__(self) -> str:
        return f"{self.unit.name} · {self.period:%Y-%m} · {self.get_state_display()}"
