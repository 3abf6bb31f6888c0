"""Products: a stable record plus one version per data year, its patent links, images and review trail.

The status lives on the version and changes only through `filings.workflow`. The product keeps its
filing number (产品备案号, allocated at the first approval, never reused) and the version the public
sees (`published_version`: the newest approved one).
"""

import uuid
from pathlib import PurePosixPath
from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from filings.choices import FilingStatus, ImportKind
from patent_platform.jobs.models import Job
from patent_platform.scoping import ScopedQuerySet
from patent_platform.typenames import Digits

MONEY: Digits = {"max_digits": 14, "decimal_places": 2}


class ProductQuerySet(ScopedQuerySet):
    region_prefix = ""
    unit_field = "unit_id"

    def public(self) -> "ProductQuerySet":
        """Products the public may see: those with an approved version."""
        return self.filter(published_version__isnull=False)


class Product(models.Model):
    unit = models.ForeignKey("filings.FilingUnit", on_delete=models.PROTECT, related_name="products")
    filing_number = models.CharField(_("产品备案号"), max_length=20, unique=True, null=True, blank=True)
    published_version = models.OneToOneField(
        "filings.ProductVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    # The public search's text (filings/search.py): the published version's name and the unit's name, one
    # per line, kept in step where either changes (workflow._republish, FilingUnit.save: models/search_text.py)
    # so that a word is matched on this table alone, through its gram index, in the order of the results.
    search_text = models.TextField(default="", db_default="", blank=True, editable=False)
    # Copied from the unit (kept in step by FilingUnit.save) so scoping and statistics need no join.
    province_code = models.CharField(_("省级代码"), max_length=6, db_index=True, editable=False)
    city_code = models.CharField(_("地级代码"), max_length=6, blank=True, db_index=True, editable=False)
    county_code = models.CharField(_("县级代码"), max_length=6, blank=True, db_index=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ProductQuerySet.as_manager()

    class Meta:
        verbose_name = _("备案产品")
        verbose_name_plural = _("备案产品")
        ordering: ClassVar[list[str]] = ["-id"]

    def __str__(self) -> str:
        return self.filing_number or f"#{self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.unit_id and not self.province_code:
            unit = self.unit
            self.province_code, self.city_code, self.county_code = unit.province_code, unit.city_code, unit.county_code
        super().save(*args, **kwargs)

    def latest_version(self) -> "ProductVersion | None":
        return self.versions.order_by("-data_year").first()


class ProductVersionQuerySet(ScopedQuerySet):
    region_prefix = "product__"
    unit_field = "product__unit_id"


class ProductVersion(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="versions")
    data_year = models.PositiveSmallIntegerField(
        _("数据年度"),
        validators=[MinValueValidator(2000), MaxValueValidator(2100)],
        help_text=_("销售额等数据所属的年度"),
    )
    status = models.CharField(
        _("状态"), max_length=20, choices=FilingStatus.choices, default=FilingStatus.DRAFT, db_index=True
    )
    name = models.CharField(_("产品名称"), max_length=200)
    model = models.CharField(_("型号规格"), max_length=200, blank=True)
    product_class = models.ForeignKey("filings.ProductClass", on_delete=models.PROTECT, verbose_name=_("产品分类"))
    description = models.TextField(_("产品简介"), max_length=4000, blank=True)
    first_sale_date = models.DateField(_("首次销售日期"), null=True, blank=True)
    sales = models.DecimalField(_("上年度销售额（万元）"), **MONEY, default=0)
    exports = models.DecimalField(_("年度出口额（万元）"), **MONEY, default=0)
    output_value = models.DecimalField(_("产值（万元）"), **MONEY, default=0)
    certification_opt_in = models.BooleanField(_("参与专利密集型产品认定"), default=False)
    review_round = models.PositiveSmallIntegerField(_("审核轮次"), default=0, editable=False)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True, editable=False, db_index=True)
    decided_at = models.DateTimeField(_("审核时间"), null=True, blank=True, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    # The approval span, for "approved at T" (`provincial.dashboards.versions_approved_at`), written by the
    # workflow with the transitions: `approved_at` the time of the `approve` transition, `approval_ended_at`
    # the time of the transition that took the version out of "approved" (revoke or withdraw; a version is
    # approved at most once, and a newer approved year does not end an older one's approval). While the
    # version is approved the as-of figures read its approval time from `decided_at` (corrections of it
    # show), so these two matter once it has left.
    approved_at = models.DateTimeField(_("通过备案时间"), null=True, blank=True, editable=False)
    approval_ended_at = models.DateTimeField(_("备案失效时间"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ProductVersionQuerySet.as_manager()

    class Meta:
        verbose_name = _("产品年度版本")
        verbose_name_plural = _("产品年度版本")
        ordering: ClassVar[list[str]] = ["-data_year", "-id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["product", "data_year"], name="one_version_per_data_year"),
            models.CheckConstraint(condition=models.Q(sales__gte=0), name="version_sales_non_negative"),
            models.CheckConstraint(condition=models.Q(exports__gte=0), name="version_exports_non_negative"),
            models.CheckConstraint(condition=models.Q(output_value__gte=0), name="version_output_non_negative"),
            models.CheckConstraint(
                condition=models.Q(exports__lte=models.F("sales")), name="version_exports_within_sales"
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            # the review queue: pending versions, oldest submission first
            models.Index(fields=["status", "submitted_at"], name="version_queue"),
            # approved at T: the approved versions by decision time, the ones that left by approval span
            models.Index(fields=["status", "decided_at"], name="version_decided"),
            models.Index(
                fields=["approved_at", "approval_ended_at"],
                condition=models.Q(approved_at__isnull=False),
                name="version_approval_span",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.data_year})"

    @property
    def is_editable(self) -> bool:
        from filings.choices import EDITABLE_STATUSES

        return self.status in EDITABLE_STATUSES


class PatentLinkQuerySet(ScopedQuerySet):
    region_prefix = "version__product__"
    unit_field = "version__product__unit_id"


class PatentLink(models.Model):
    """A patent embodied in a product version, through the unit's right to it."""

    version = models.ForeignKey(ProductVersion, on_delete=models.CASCADE, related_name="links")
    right = models.ForeignKey(
        "filings.PatentRight", on_delete=models.PROTECT, related_name="links", verbose_name=_("专利")
    )
    is_core = models.BooleanField(_("核心专利"), default=False)
    contribution = models.DecimalField(
        _("贡献度（%）"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("该专利对产品的贡献，0–100"),
    )
    embodiment = models.CharField(_("专利在产品中的体现"), max_length=500, blank=True)

    objects = PatentLinkQuerySet.as_manager()

    class Meta:
        verbose_name = _("产品关联专利")
        verbose_name_plural = _("产品关联专利")
        ordering: ClassVar[list[str]] = ["-is_core", "-contribution", "id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["version", "right"], name="patent_once_per_version"),
            models.CheckConstraint(
                condition=models.Q(contribution__gte=0, contribution__lte=100), name="link_contribution_0_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.version} ← {self.right.patent.number}"


def random_image_name(instance: "ProductImage", filename: str) -> str:
    suffix = PurePosixPath(filename).suffix.lower()[:5]
    return f"products/{uuid.uuid4().hex}{suffix}"


class ProductImageQuerySet(ScopedQuerySet):
    region_prefix = "version__product__"
    unit_field = "version__product__unit_id"


class ProductImage(models.Model):
    version = models.ForeignKey(ProductVersion, on_delete=models.CASCADE, related_name="images")
    file = models.FileField(_("图片"), upload_to=random_image_name, max_length=200)
    content_type = models.CharField(max_length=50, editable=False)
    caption = models.CharField(_("说明"), max_length=100, blank=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    objects = ProductImageQuerySet.as_manager()

    class Meta:
        verbose_name = _("产品图片")
        verbose_name_plural = _("产品图片")
        ordering: ClassVar[list[str]] = ["id"]

    def __str__(self) -> str:
        return self.caption or self.file.name or ""


class ReturnReason(models.Model):
    """Why a reviewer returned a version, per field ("patents" for the patent list, "" for general)."""

    version = models.ForeignKey(ProductVersion, on_delete=models.CASCADE, related_name="return_reasons")
    review_round = models.PositiveSmallIntegerField()
    field = models.CharField(max_length=50, blank=True)
    message = models.CharField(_("退回理由"), max_length=1000)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["review_round", "id"]

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ReviewOverride(models.Model):
    """A reviewer approved a version despite an overridable finding of the rule set (an open ownership conflict
    on one of its patents), with a reason; shown on the review page and the filer's version page, audited.
    Written only by `workflow.version_approve` (`rules.version_findings` says which findings are overridable)."""

    version = models.ForeignKey(ProductVersion, on_delete=models.CASCADE, related_name="overrides")
    code = models.CharField(_("问题类型"), max_length=30)
    message = models.CharField(_("检查发现的问题"), max_length=1000)
    conflict = models.ForeignKey(
        "filings.PatentConflict", null=True, blank=True, on_delete=models.SET_NULL, related_name="overrides"
    )
    reason = models.CharField(_("说明理由"), max_length=1000)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("审核员说明理由通过")
        verbose_name_plural = _("审核员说明理由通过")
        ordering: ClassVar[list[str]] = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.version_id}: {self.code}"


class Transition(models.Model):
    """The filing's own history (also written to the audit log): who, when, from, to, why."""

    version = models.ForeignKey(ProductVersion, on_delete=models.CASCADE, related_name="transitions")
    action = models.CharField(max_length=20)
    from_status = models.CharField(max_length=20, choices=FilingStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=FilingStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.version_id}: {self.from_status} → {self.to_status}"


class FilingNumberSequence(models.Model):
    """The last serial used per (year, province); rows are locked while a number is taken."""

    year = models.PositiveSmallIntegerField()
    province_code = models.CharField(max_length=2)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["year", "province_code"], name="one_sequence_per_year_province")
        ]

    def __str__(self) -> str:
        return f"{self.year}-{self.province_code}: {self.last}"


def import_upload_name(instance: "ImportJob", filename: str) -> str:
    return f"imports/{uuid.uuid4().hex}.xlsx"


class ImportJobQuerySet(ScopedQuerySet):
    region_prefix = "unit__"
    unit_field = "unit_id"


class ImportJob(Job):
    """An Excel bulk filing: validated in the background; saved only if every row is valid (filings.imports)."""

    unit = models.ForeignKey("filings.FilingUnit", on_delete=models.CASCADE, related_name="import_jobs")
    kind = models.CharField(_("导入内容"), max_length=20, choices=ImportKind.choices)
    file = models.FileField(upload_to=import_upload_name, max_length=200)
    created_count = models.PositiveIntegerField(default=0)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("批量导入")
        verbose_name_plural = _("批量导入")
        ordering: ClassVar[list[str]] = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.original_name}"
