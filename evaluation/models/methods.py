"""The method as versioned data: `MethodVersion` (an indicator set and the pass rule; frozen once a round
has used it) with its `Indicator`s, and the per-class benchmarks (`BenchmarkSet`, `Benchmark`).

Reference data every signed-in user may read (`ReferenceQuerySet`).
"""

from typing import TYPE_CHECKING, ClassVar, Self

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from evaluation.choices import (
    BenchmarkStatus,
    Direction,
    MethodStatus,
    ScoreRule,
    Standard,
    Trait,
)
from evaluation.formulas import FORMULA_CHOICES
from patent_platform.choices import ADMIN_ROLES
from patent_platform.i18n import localized_name
from patent_platform.scoping import ScopedQuerySet
from patent_platform.typenames import Digits

if TYPE_CHECKING:
    from patent_platform.scoping import Reader

VALUE: Digits = {"max_digits": 24, "decimal_places": 4}
SCORE: Digits = {"max_digits": 5, "decimal_places": 2}


class ReferenceQuerySet(ScopedQuerySet):
    """Reference data of the evaluation: readable by every signed-in user with a business role (the three
    administrators of 三权分立 see no business data)."""

    def visible_to(self, user: "Reader") -> Self:
        if user is None or not getattr(user, "is_authenticated", False) or not user.is_active or not user.role:
            return self.none()
        if user.role in ADMIN_ROLES:
            return self.none()
        return self.all()


class MethodVersion(models.Model):
    code = models.CharField(_("版本号"), max_length=30, unique=True)
    name = models.CharField(_("名称"), max_length=200)
    statement = models.TextField(_("说明"), help_text=_("本版本的依据与适用范围"))
    status = models.CharField(_("状态"), max_length=10, choices=MethodStatus.choices, default=MethodStatus.DRAFT)
    standard = models.CharField(
        _("所依据的标准"), max_length=30, choices=Standard.choices, default=Standard.PPAC_402_2022
    )
    standard_other = models.CharField(
        _("其他标准的编号与名称"), max_length=200, blank=True, help_text=_("所依据的标准为“其他标准”时填写")
    )
    edition = models.CharField(_("标准版次"), max_length=50, blank=True, help_text=_("例如 2022、2025"))
    clauses_required = models.BooleanField(
        _("每个指标须注明所依据的标准条款"),
        default=False,
        help_text=_("勾选后，缺少条款号的指标使本版本不完整，不能启用"),
    )
    # the pass rule: empty while a draft is being completed from its standard (never a guessed value)
    min_passed_per_trait = models.PositiveSmallIntegerField(
        _("每个特征至少达标指标数"), default=1, null=True, blank=True, validators=[MaxValueValidator(20)]
    )
    min_passed_total = models.PositiveSmallIntegerField(
        _("合计至少达标指标数"), default=5, null=True, blank=True, validators=[MaxValueValidator(50)]
    )
    default_percentile = models.PositiveSmallIntegerField(
        _("基准值建议分位数"),
        default=50,
        validators=[MinValueValidator(1), MaxValueValidator(99)],
        help_text=_("按同类已通过备案产品的分布建议基准值时使用的百分位数"),
    )
    score_rule = models.CharField(
        _("专家评分合成规则"), max_length=20, choices=ScoreRule.choices, default=ScoreRule.MEAN, blank=True
    )
    expert_pass_score = models.DecimalField(
        _("产业性评价通过分数"),
        **SCORE,
        default=70,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    based_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("修订自")
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ReferenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("评价方法版本")
        verbose_name_plural = _("评价方法版本")
        ordering: ClassVar[list[str]] = ["-id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            # at most one version is current at a time
            models.UniqueConstraint(
                fields=["status"], condition=Q(status=MethodStatus.ACTIVE), name="one_active_method"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_frozen(self) -> bool:
        """Used by a round: never changed again."""
        return self.rounds.exists()

    @classmethod
    def active(cls) -> "MethodVersion | None":
        return cls.objects.filter(status=MethodStatus.ACTIVE).first()

    @property
    def standard_designation(self) -> str:
        """The standard's number as printed (the other standard's as entered)."""
        if self.standard == Standard.OTHER:
            return self.standard_other
        return str(self.standard)

    @property
    def standard_label(self) -> str:
        """The standard's number and title, e.g. on a certificate."""
        if self.standard == Standard.OTHER:
            return self.standard_other
        return str(self.get_standard_display())

    @property
    def rule_label(self) -> str:
        """Which rule produced a verdict: the standard and the method version (results, certificates, exports)."""
        return f"{self.standard_designation} · {self.code}"


class Indicator(models.Model):
    method = models.ForeignKey(MethodVersion, on_delete=models.CASCADE, related_name="indicators")
    code = models.CharField(_("指标代码"), max_length=20)
    name = models.CharField(_("指标名称"), max_length=100)
    name_en = models.CharField(_("英文名称"), max_length=200, blank=True)
    trait = models.CharField(_("所属特征"), max_length=20, choices=Trait.choices)
    unit = models.CharField(_("单位"), max_length=20, blank=True)
    unit_en = models.CharField(_("英文单位"), max_length=40, blank=True)
    formula = models.CharField(
        _("计算公式"), max_length=40, choices=FORMULA_CHOICES, blank=True, help_text=_("未录入时本版本不完整")
    )
    clause = models.CharField(
        _("标准条款"), max_length=50, blank=True, help_text=_("本指标所依据的标准条款号，例如 5.2.1；未知时留空")
    )
    direction = models.CharField(_("方向"), max_length=10, choices=Direction.choices, default=Direction.HIGHER)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)

    objects = ReferenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("评价指标")
        verbose_name_plural = _("评价指标")
        ordering: ClassVar[list[str]] = ["method", "order", "id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["method", "code"], name="indicator_code_once_per_method"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {localized_name(self)}"

    @property
    def formula_text(self) -> str:
        from evaluation.formulas import FORMULAS

        return str(FORMULAS[self.formula].text) if self.formula in FORMULAS else ""


class BenchmarkSet(models.Model):
    method = models.ForeignKey(MethodVersion, on_delete=models.PROTECT, related_name="benchmark_sets")
    product_class = models.ForeignKey(
        "filings.ProductClass", on_delete=models.PROTECT, related_name="benchmark_sets", verbose_name=_("产品分类")
    )
    data_year = models.PositiveSmallIntegerField(_("数据年度"))
    number = models.PositiveSmallIntegerField(_("版本"), default=1)
    status = models.CharField(_("状态"), max_length=10, choices=BenchmarkStatus.choices, default=BenchmarkStatus.DRAFT)
    percentile = models.PositiveSmallIntegerField(
        _("建议分位数"), default=50, validators=[MinValueValidator(1), MaxValueValidator(99)]
    )
    sample_size = models.PositiveIntegerField(_("样本数"), default=0)
    note = models.CharField(_("说明"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    fixed_at = models.DateTimeField(_("确定时间"), null=True, blank=True)
    fixed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ReferenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("基准值")
        verbose_name_plural = _("基准值")
        ordering: ClassVar[list[str]] = ["-data_year", "product_class__code", "-number"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["method", "product_class", "data_year", "number"], name="benchmark_set_number"
            ),
            # one draft at a time per method, class and year
            models.UniqueConstraint(
                fields=["method", "product_class", "data_year"],
                condition=Q(status=BenchmarkStatus.DRAFT),
                name="one_draft_benchmark_set",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_class} · {self.data_year} · v{self.number}"

    @property
    def is_fixed(self) -> bool:
        return self.status == BenchmarkStatus.FIXED


class Benchmark(models.Model):
    set = models.ForeignKey(BenchmarkSet, on_delete=models.CASCADE, related_name="values")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="benchmarks")
    value = models.DecimalField(_("基准值"), **VALUE, null=True, blank=True)
    suggested = models.DecimalField(_("建议值"), **VALUE, null=True, blank=True)

    objects = ReferenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("指标基准值")
        verbose_name_plural = _("指标基准值")
        ordering: ClassVar[list[str]] = ["indicator__order", "indicator_id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["set", "indicator"], name="benchmark_once_per_indicator")
        ]

    def __str__(self) -> str:
        return f"{self.indicator.code} = {self.value}"
