"""Dashboard summary tables (issue 7): the dashboards read pre-aggregated cells, not the base tables.
provincial/dashboards/ builds and refreshes them; docs/PERFORMANCE.md says how fresh they are."""

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from patent_platform.scoping import ScopedQuerySet


class SummaryKind(models.TextChoices):
    REGION = "region", _("地区合计")
    CLASS = "class", _("产品分类")
    SECTION = "section", _("行业门类")
    SCALE = "scale", _("企业规模")
    MONTH = "month", _("首次通过月份")


class SummaryCellQuerySet(ScopedQuerySet):
    """Cells are read like the products they count: by the region codes of the scope. Enterprise users,
    whose scope is their own unit, see none (the dashboards are not theirs)."""

    region_prefix = ""


class SummaryCell(models.Model):
    """The figures of one county-level region (its province, city and county codes, as a product carries
    them), for one kind of breakdown and one key: `region` (key empty) holds every total of the region;
    `class`, `section`, `scale` and `month` hold the approved products per product class id, GB/T 4754
    section letter, unit scale and month of first approval (YYYY-MM, Asia/Shanghai)."""

    province_code = models.CharField(max_length=6)
    city_code = models.CharField(max_length=6, blank=True)
    county_code = models.CharField(max_length=6, blank=True)
    kind = models.CharField(max_length=10, choices=SummaryKind.choices)
    key = models.CharField(max_length=20, blank=True)
    units = models.PositiveIntegerField(default=0)
    filed = models.PositiveIntegerField(default=0)
    approved = models.PositiveIntegerField(default=0)
    certified = models.PositiveIntegerField(default=0)
    flagged = models.PositiveIntegerField(default=0)
    sales = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    exports = models.DecimalField(max_digits=20, decimal_places=2, default=0)

    objects = SummaryCellQuerySet.as_manager()

    class Meta:
        verbose_name = _("统计汇总单元")
        verbose_name_plural = _("统计汇总单元")
        indexes: ClassVar[list[models.Index]] = [
            # a port's dashboard: WHERE kind = … AND province_code IN (…) (city and county ports likewise)
            models.Index(fields=["kind", "province_code"], name="summary_kind_province"),
            models.Index(fields=["kind", "city_code"], name="summary_kind_city"),
            models.Index(fields=["kind", "county_code"], name="summary_kind_county"),
        ]

    def __str__(self) -> str:
        return f"{self.province_code}/{self.city_code}/{self.county_code} {self.kind} {self.key}"


class SummaryDirty(models.Model):
    """A region whose filings changed since its cells were computed; written in the same transaction as
    the change, drained by the next dashboard read of that region or by the periodic refresh."""

    province_code = models.CharField(max_length=6)
    city_code = models.CharField(max_length=6, blank=True)
    county_code = models.CharField(max_length=6, blank=True)

    class Meta:
        verbose_name = _("待刷新统计地区")
        verbose_name_plural = _("待刷新统计地区")

    def __str__(self) -> str:
        return f"{self.province_code}/{self.city_code}/{self.county_code}"


class SummaryState(models.Model):
    """One row: when the cells were last rebuilt in full and last refreshed (dirty regions drained)."""

    built_at = models.DateTimeField(null=True)
    refreshed_at = models.DateTimeField(null=True)
    build_seconds = models.FloatField(default=0)

    class Meta:
        verbose_name = _("统计汇总状态")
        verbose_name_plural = _("统计汇总状态")

    def __str__(self) -> str:
        return f"summary built {self.built_at}"
