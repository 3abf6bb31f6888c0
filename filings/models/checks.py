"""Plausibility checks of submitted figures and the credit lists (issue 19, parts 2 and 3; docs/FLAGS.md).

- `CheckSettings`: the thresholds of the plausibility rules, a versioned record of the national office: a
  change writes a new row (version n+1), never edits an old one, so every check names the thresholds it used.
- `PlausibilityCheck`: one run of the rules on one submission of a version (`filings.checks.run_checks`,
  called by `workflow.version_submit` on every path). The newest run of a version is its current one (`is_current`);
  the earlier runs stay as history.
- `PlausibilityFlag`: one rule that fired in a run: the figure, the comparison value, the threshold, the score
  (the modified z-score of the peer rules) and the message. Flags inform the reviewer; nothing acts on them.
- `CreditListImport`: one uploaded file of a credit list (its full current content), applied all or nothing.
- `CreditListEntry`: a USCC on a list, from the import that listed it until the import that removed it; the
  rows are never deleted, so a unit's listing history stays.
"""

import uuid
from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from filings.choices import CheckRule, CreditListKind
from filings.models.drift import PlatformOnlyQuerySet
from patent_platform.i18n import render_stored
from patent_platform.jobs.models import Job
from patent_platform.scoping import ScopedQuerySet
from patent_platform.typenames import Digits

RATIO: Digits = {"max_digits": 8, "decimal_places": 2}


class CheckSettings(models.Model):
    """Thresholds of the plausibility rules. The defaults are the platform's own starting values, chosen so that
    only large departures are flagged; they come from no standard (docs/FLAGS.md gives the reasoning)."""

    version = models.PositiveIntegerField(_("版本"), unique=True)
    yoy_factor = models.DecimalField(
        _("同比变化倍数"),
        **RATIO,
        default=Decimal(3),
        validators=[MinValueValidator(Decimal("1.01")), MaxValueValidator(1000)],
        help_text=_("本年度数值超过上一年度的该倍数，或低于上一年度的该倍数分之一时提示。"),
    )
    yoy_min_base = models.DecimalField(
        _("同比比较的最小基数（万元）"),
        max_digits=14,
        decimal_places=2,
        default=Decimal(10),
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("上一年度数值低于该值时不比较同比（基数太小，倍数没有意义）。"),
    )
    peer_z_threshold = models.DecimalField(
        _("同类偏离阈值（修正 Z 分数）"),
        **RATIO,
        default=Decimal("3.5"),
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(100)],
        help_text=_("修正 Z 分数的绝对值超过该值时提示。"),
    )
    peer_min_group = models.PositiveIntegerField(
        _("同类比较的最少产品数"),
        default=10,
        validators=[MinValueValidator(3), MaxValueValidator(100000)],
        help_text=_("同一产品分类、同一数据年度已提交和已通过的版本少于该数时不计算分数。"),
    )
    exports_share_max = models.DecimalField(
        _("出口额占销售额的上限"),
        max_digits=4,
        decimal_places=2,
        default=Decimal(1),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(1)],
        help_text=_("出口额超过销售额的该比例时提示；1 表示出口额超过销售额。"),
    )
    output_share_min = models.DecimalField(
        _("产值占销售额的下限"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("0.2"),
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("产值低于销售额的该比例时提示；0 表示不检查。"),
    )
    patent_jump_factor = models.DecimalField(
        _("关联专利数突增倍数"),
        **RATIO,
        default=Decimal(2),
        validators=[MinValueValidator(Decimal("1.01")), MaxValueValidator(1000)],
        help_text=_("关联专利数超过上一年度的该倍数，且增加数不少于下项时提示。"),
    )
    patent_jump_min = models.PositiveIntegerField(
        _("关联专利数最少增加"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(10000)],
    )
    note = models.CharField(_("修改说明"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("生效时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = PlatformOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("数据合理性检查设置")
        verbose_name_plural = _("数据合理性检查设置")
        ordering: ClassVar[list[str]] = ["-version"]

    def __str__(self) -> str:
        return f"{_('数据合理性检查设置')} v{self.version}"


class PlausibilityCheckQuerySet(ScopedQuerySet):
    region_prefix = "version__product__"
    unit_field = "version__product__unit_id"


class PlausibilityCheck(models.Model):
    version = models.ForeignKey("filings.ProductVersion", on_delete=models.CASCADE, related_name="plausibility_checks")
    settings = models.ForeignKey(CheckSettings, on_delete=models.PROTECT, related_name="checks")
    previous = models.ForeignKey(
        "filings.ProductVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    flag_count = models.PositiveSmallIntegerField(_("提示数"), default=0)
    is_current = models.BooleanField(default=True)
    checked_at = models.DateTimeField(_("检查时间"), auto_now_add=True)

    objects = PlausibilityCheckQuerySet.as_manager()

    class Meta:
        verbose_name = _("数据合理性检查")
        verbose_name_plural = _("数据合理性检查")
        ordering: ClassVar[list[str]] = ["-checked_at", "-id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            # the current run of a version: the one `open_flags` and the report read
            models.UniqueConstraint(
                fields=["version"], condition=models.Q(is_current=True), name="one_current_check_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.version_id} · {self.checked_at:%Y-%m-%d}"


class PlausibilityFlag(models.Model):
    check_run = models.ForeignKey(PlausibilityCheck, on_delete=models.CASCADE, related_name="flags")
    rule = models.CharField(_("规则"), max_length=30, choices=CheckRule.choices)
    figure = models.DecimalField(_("填报数值"), max_digits=20, decimal_places=4)
    comparison = models.DecimalField(_("比较值"), max_digits=20, decimal_places=4)
    threshold = models.DecimalField(_("阈值"), max_digits=20, decimal_places=4)
    score = models.DecimalField(_("分数"), max_digits=20, decimal_places=4, null=True, blank=True)
    message = models.CharField(_("说明"), max_length=500)
    # the message's msgid and parameters (patent_platform.i18n.Deferred): shown in the reader's language
    message_stored = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("数据合理性提示")
        verbose_name_plural = _("数据合理性提示")
        ordering: ClassVar[list[str]] = ["check_run", "id"]

    def __str__(self) -> str:
        return f"{self.check_run_id} · {self.rule}"

    @property
    def display_message(self) -> str:
        """The message in the reader's language (the check ran in a task, in Chinese)."""
        return render_stored(self.message_stored, self.message)


def credit_upload_name(instance: "CreditListImport", filename: str) -> str:
    suffix = ".csv" if filename.lower().endswith(".csv") else ".xlsx"
    return f"credit-lists/{uuid.uuid4().hex}{suffix}"


class CreditListImport(Job):
    """A credit-list file (filings.credit_lists): the list's whole current content, applied all or nothing."""

    kind = models.CharField(_("名单"), max_length=20, choices=CreditListKind.choices)
    file = models.FileField(upload_to=credit_upload_name, max_length=200)
    listed_count = models.PositiveIntegerField(_("新列入"), default=0)
    kept_count = models.PositiveIntegerField(_("仍在名单"), default=0)
    removed_count = models.PositiveIntegerField(_("移出名单"), default=0)
    on_platform_count = models.PositiveIntegerField(_("平台上的单位"), default=0)

    objects = PlatformOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("信用名单导入")
        verbose_name_plural = _("信用名单导入")
        ordering: ClassVar[list[str]] = ["-created_at"]

    def __str__(self) -> str:
        return self.original_name


class CreditListEntry(models.Model):
    kind = models.CharField(_("名单"), max_length=20, choices=CreditListKind.choices)
    uscc = models.CharField(_("统一社会信用代码"), max_length=18)
    name = models.CharField(_("单位名称"), max_length=200, blank=True)
    reason = models.CharField(_("列入原因"), max_length=500, blank=True)
    decided_on = models.DateField(_("列入日期"), null=True, blank=True)
    authority = models.CharField(_("作出决定机关"), max_length=200, blank=True)
    listed_at = models.DateTimeField(_("平台记录列入时间"), auto_now_add=True)
    listed_by = models.ForeignKey(CreditListImport, on_delete=models.PROTECT, related_name="listed")
    removed_at = models.DateTimeField(_("平台记录移出时间"), null=True, blank=True)
    removed_by = models.ForeignKey(
        CreditListImport, null=True, blank=True, on_delete=models.PROTECT, related_name="removed"
    )

    objects = PlatformOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("信用名单记录")
        verbose_name_plural = _("信用名单记录")
        ordering: ClassVar[list[str]] = ["-listed_at", "-id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["kind", "uscc"], condition=models.Q(removed_at__isnull=True), name="one_open_listing"
            )
        ]
        indexes: ClassVar[list[models.Index]] = [
            # open_flags / the round page: is this USCC on a list now
            models.Index(fields=["uscc", "removed_at"], name="credit_listing_uscc"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.uscc}"

    @property
    def is_open(self) -> bool:
        return self.removed_at is None
