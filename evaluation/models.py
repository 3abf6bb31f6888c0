"""The T/PPAC 402-2022 method as versioned data, per-class benchmarks, certification rounds.

- `MethodVersion` fixes an indicator set and the pass rule. Once a round has used it, it is frozen:
  a change makes a new version (`evaluation.methods.copy_method`) and old results keep theirs.
- `BenchmarkSet` holds the benchmark values of one method version, product class and data year.
  A draft is edited; fixing it freezes it; a change after that is a new set with a higher number.
- `Round` is one certification round; `Candidate` one product-year in it, with its indicator results
  (`IndicatorResult`), additional information, expert assignments and objections.

Scoping: methods, benchmarks and rounds are reference data every signed-in user may read; a
candidate and everything hanging off it is scoped like the product (region codes copied onto the
candidate, the filing unit for enterprise users) and, for experts, by their assignments.
"""

import datetime as dt
import uuid
from pathlib import PurePosixPath
from typing import Any, ClassVar, Self

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from evaluation.choices import (
    BenchmarkStatus,
    CandidateStatus,
    CertificateCause,
    CertificateStatus,
    Direction,
    LockKind,
    MethodStatus,
    ObjectionStatus,
    ScoreRule,
    Stage,
    Standard,
    Trait,
    WhatIfStatus,
)
from evaluation.formulas import FORMULA_CHOICES
from patent_platform.choices import ADMIN_ROLES, Role
from patent_platform.encrypted_fields import EncryptedCharField
from patent_platform.i18n import localized_name
from patent_platform.roles import has_role
from patent_platform.scoping import ScopedQuerySet, scope_of
from patent_platform.typenames import Digits

VALUE: Digits = {"max_digits": 24, "decimal_places": 4}
SCORE: Digits = {"max_digits": 5, "decimal_places": 2}


class ReferenceQuerySet(ScopedQuerySet):
    """Reference data of the evaluation: readable by every signed-in user with a business role (the three
    administrators of 三权分立 see no business data)."""

    def visible_to(self, user: Any) -> Self:
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


class RoundQuerySet(ReferenceQuerySet):
    pass


class Round(models.Model):
    name = models.CharField(_("批次名称"), max_length=200)
    data_year = models.PositiveSmallIntegerField(_("数据年度"))
    method = models.ForeignKey(
        MethodVersion, on_delete=models.PROTECT, related_name="rounds", verbose_name=_("评价方法版本")
    )
    deadline = models.DateField(
        _("申报截止日"),
        help_text=_("截至该日（含）已通过审核、且选择参与认定的备案参与本批次；此后不再接受参与认定"),
    )
    stage = models.CharField(_("阶段"), max_length=20, choices=Stage.choices, default=Stage.PATENT)
    evaluation_requested_at = models.DateTimeField(_("专利性评价请求时间"), null=True, blank=True)
    evaluated_at = models.DateTimeField(_("专利性评价完成时间"), null=True, blank=True)
    evaluation_runs = models.PositiveIntegerField(_("专利性评价次数"), default=0)
    info_due = models.DateField(_("补充材料截止日"), null=True, blank=True)
    experts_per_product = models.PositiveSmallIntegerField(
        _("每个产品评审专家数"), default=3, validators=[MinValueValidator(3), MaxValueValidator(15)]
    )
    scoring_due = models.DateField(_("专家评分截止日"), null=True, blank=True)
    publicity_days = models.PositiveSmallIntegerField(
        _("公示期（工作日）"), default=5, validators=[MinValueValidator(1), MaxValueValidator(30)]
    )
    objections_due = models.DateField(
        _("异议处理截止日"), null=True, blank=True, help_text=_("公示期内提出的异议，国家局在该日前处理完毕")
    )
    publicity_start = models.DateField(_("公示开始日"), null=True, blank=True)
    publicity_end = models.DateField(_("公示截止日"), null=True, blank=True)
    finalized_at = models.DateTimeField(_("结果公布时间"), null=True, blank=True)
    certificate_validity_months = models.PositiveSmallIntegerField(
        _("证书有效期（月）"),
        default=36,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text=_("自认定结果公布之日起计算；公开文件未规定有效期，由国家知识产权局按批次设定"),
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = RoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("认定批次")
        verbose_name_plural = _("认定批次")
        ordering: ClassVar[list[str]] = ["-data_year", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def evaluating(self) -> bool:
        """A patent evaluation was asked for and has not finished since (the task is queued or running)."""
        requested = self.evaluation_requested_at
        return requested is not None and (self.evaluated_at is None or self.evaluated_at < requested)


class CandidateQuerySet(ScopedQuerySet):
    region_prefix = ""
    unit_field = "unit_id"

    def visible_to(self, user: Any) -> Self:
        if getattr(user, "is_authenticated", False) and user.is_active and user.role == Role.EXPERT:
            return self.filter(pk__in=Assignment.objects.filter(expert=user).values("candidate_id"))
        return super().visible_to(user)

    def public(self) -> Self:
        """Candidates the public may see: on a list under publicity, or certified."""
        return self.filter(
            Q(status=CandidateStatus.CERTIFIED, round__stage=Stage.FINAL)
            | Q(status=CandidateStatus.PROPOSED, round__stage=Stage.PUBLICITY)
        )


class Candidate(models.Model):
    """A product-year in a round. Region codes are copied from the product for scoping."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="candidates")
    version = models.ForeignKey(
        "filings.ProductVersion", on_delete=models.PROTECT, related_name="candidacies", verbose_name=_("产品")
    )
    product = models.ForeignKey("filings.Product", on_delete=models.PROTECT, related_name="candidacies")
    unit = models.ForeignKey("filings.FilingUnit", on_delete=models.PROTECT, related_name="candidacies")
    product_class = models.ForeignKey("filings.ProductClass", on_delete=models.PROTECT, related_name="+")
    province_code = models.CharField(max_length=6, db_index=True, editable=False)
    city_code = models.CharField(max_length=6, blank=True, db_index=True, editable=False)
    county_code = models.CharField(max_length=6, blank=True, db_index=True, editable=False)
    benchmark_set = models.ForeignKey(BenchmarkSet, on_delete=models.PROTECT, related_name="candidates")
    status = models.CharField(
        _("状态"), max_length=20, choices=CandidateStatus.choices, default=CandidateStatus.PATENT_FAILED
    )
    passed_protection = models.PositiveSmallIntegerField(default=0)
    passed_value = models.PositiveSmallIntegerField(default=0)
    passed_dependence = models.PositiveSmallIntegerField(default=0)
    passed_benefit = models.PositiveSmallIntegerField(default=0)
    passed_total = models.PositiveSmallIntegerField(_("达标指标数"), default=0)
    patent_passed = models.BooleanField(_("通过专利性评价"), default=False)
    expert_score = models.DecimalField(_("产业性评价得分"), **SCORE, null=True, blank=True)
    certificate_number = models.CharField(_("证书编号"), max_length=20, unique=True, null=True, blank=True)
    certified_at = models.DateTimeField(_("认定时间"), null=True, blank=True)
    info_extended_to = models.DateField(_("准予补充材料至"), null=True, blank=True)

    # The certificate's life (evaluation/lifecycle.py is the only writer of these fields): the validity
    # period, the status as last recorded (the readers correct it for the day they read: expiry and a
    # yearly update missed at a cut-off that has passed since), why it is suspended, and its revocation.
    valid_from = models.DateField(_("有效期起"), null=True, blank=True)
    valid_until = models.DateField(_("有效期至"), null=True, blank=True)
    certificate_status = models.CharField(
        _("证书状态"), max_length=10, choices=CertificateStatus.choices, blank=True, default="", db_default=""
    )
    status_changed_at = models.DateTimeField(_("证书状态变更时间"), null=True, blank=True)
    # the engine inserts candidates with INSERT … SELECT: the columns it does not name need database defaults
    suspension = models.JSONField(
        _("暂停原因"), null=True, blank=True, default=dict, help_text='{"patents": [申请号…], "update_year": 年度}'
    )
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    revocation_ground = models.CharField(
        _("撤销依据"), max_length=20, choices=CertificateCause.choices, blank=True, default="", db_default=""
    )
    revocation_reason = models.TextField(_("撤销理由"), max_length=3000, blank=True, default="", db_default="")

    objects = CandidateQuerySet.as_manager()

    class Meta:
        verbose_name = _("参评产品")
        verbose_name_plural = _("参评产品")
        ordering: ClassVar[list[str]] = ["round", "product_class__code", "id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            # a product-year is evaluated in one round only
            models.UniqueConstraint(fields=["version"], name="candidate_once_per_version"),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["round", "status"], name="candidate_round_status"),
            # the daily re-check reads the certificates not yet revoked or expired
            models.Index(
                fields=["certificate_status"],
                condition=Q(certificate_number__isnull=False),
                name="candidate_certificate_status",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.round} · {self.version}"

    def passed_in(self, trait: str) -> int:
        return getattr(self, f"passed_{trait}")

    @property
    def info_due(self) -> "dt.date | None":
        """The last day this product may add its information: the round's, or a lock exception's."""
        return self.info_extended_to or self.round.info_due

    def status_on(self, today: "dt.date") -> str:
        """The status as of `today`: a request for information past its deadline reads as not supplied even
        before the daily task has closed it (evaluation/schedule.py `close_overdue_information`)."""
        due = self.info_due
        if self.status == CandidateStatus.INFO_REQUESTED and due is not None and today > due:
            return CandidateStatus.INFO_MISSING
        return self.status

    @property
    def current_status(self) -> str:
        from patent_platform.clock import china_today

        return self.status_on(china_today())

    @property
    def current_status_display(self) -> str:
        return str(CandidateStatus(self.current_status).label)


class IndicatorResultQuerySet(ScopedQuerySet):
    region_prefix = "candidate__"
    unit_field = "candidate__unit_id"

    def visible_to(self, user: Any) -> Self:
        return self.filter(candidate__in=Candidate.objects.visible_to(user))


class IndicatorResult(models.Model):
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="results")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="results")
    value = models.DecimalField(_("指标值"), **VALUE, null=True, blank=True)
    benchmark = models.DecimalField(_("基准值"), **VALUE, null=True, blank=True)
    passed = models.BooleanField(_("达标"), default=False)

    objects = IndicatorResultQuerySet.as_manager()

    class Meta:
        verbose_name = _("指标结果")
        verbose_name_plural = _("指标结果")
        ordering: ClassVar[list[str]] = ["indicator__order", "indicator_id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["candidate", "indicator"], name="result_once_per_indicator")
        ]

    def __str__(self) -> str:
        return f"{self.indicator.code}: {self.value}"


def random_attachment_name(instance: Any, filename: str) -> str:
    suffix = PurePosixPath(filename).suffix.lower()[:5]
    return f"evaluation/{uuid.uuid4().hex}{suffix}"


class AdditionalInfoQuerySet(ScopedQuerySet):
    def visible_to(self, user: Any) -> Self:
        return self.filter(candidate__in=Candidate.objects.visible_to(user))


class AdditionalInfo(models.Model):
    """What a filer adds after passing the patent evaluation (for the experts)."""

    candidate = models.OneToOneField(Candidate, on_delete=models.CASCADE, related_name="info")
    market_position = models.TextField(_("市场地位与竞争优势"), max_length=3000)
    technology = models.TextField(_("技术先进性"), max_length=3000)
    patent_use = models.TextField(_("专利运用与保护情况"), max_length=3000)
    attachment = models.FileField(_("证明材料（PDF）"), upload_to=random_attachment_name, blank=True, max_length=200)
    submitted_at = models.DateTimeField(_("提交时间"), auto_now=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    objects = AdditionalInfoQuerySet.as_manager()

    class Meta:
        verbose_name = _("补充材料")
        verbose_name_plural = _("补充材料")

    def __str__(self) -> str:
        return str(self.candidate)


class NationalOnlyQuerySet(ScopedQuerySet):
    """Rows only national administrators read (they name people: experts, objectors)."""

    def visible_to(self, user: Any) -> Self:
        if getattr(user, "is_authenticated", False) and user.is_active and has_role(user, Role.NATIONAL_ADMIN):
            return self.all()
        return self.none()


class ExpertProfile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="expert_profile")
    organisation = models.CharField(_("工作单位"), max_length=200)
    province_code = models.CharField(_("所在省份代码"), max_length=6)
    title = models.CharField(_("职称"), max_length=100, blank=True)
    classes = models.ManyToManyField(
        "filings.ProductClass", related_name="experts", verbose_name=_("评审领域（产品分类）")
    )
    is_active = models.BooleanField(_("在库"), default=True)

    objects = NationalOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("专家信息")
        verbose_name_plural = _("专家信息")

    def __str__(self) -> str:
        return f"{self.user} · {self.organisation}"


# The scoring form: criteria and their maximum points (total 100).
CRITERIA = [
    ("technology", _("技术先进性"), 30),
    ("market", _("市场竞争力"), 30),
    ("patent", _("专利对产品的支撑作用"), 25),
    ("benefit", _("经济与社会效益"), 15),
]


class AssignmentQuerySet(ScopedQuerySet):
    def visible_to(self, user: Any) -> Self:
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        if user.role == Role.EXPERT:
            return self.filter(expert=user)
        if scope_of(user).everything and user.role == Role.NATIONAL_ADMIN:
            return self.all()
        return self.none()


class Assignment(models.Model):
    """An expert's task: score one candidate (the industry evaluation)."""

    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="assignments")
    expert = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments")
    technology = models.DecimalField(_("技术先进性（30 分）"), **SCORE, null=True, blank=True)
    market = models.DecimalField(_("市场竞争力（30 分）"), **SCORE, null=True, blank=True)
    patent = models.DecimalField(_("专利对产品的支撑作用（25 分）"), **SCORE, null=True, blank=True)
    benefit = models.DecimalField(_("经济与社会效益（15 分）"), **SCORE, null=True, blank=True)
    total = models.DecimalField(_("总分"), **SCORE, null=True, blank=True)
    comments = models.TextField(_("评审意见"), max_length=3000, blank=True)
    scored_at = models.DateTimeField(_("评分时间"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("专家评审任务")
        verbose_name_plural = _("专家评审任务")
        ordering: ClassVar[list[str]] = ["candidate", "id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["candidate", "expert"], name="expert_once_per_candidate"),
            models.CheckConstraint(
                condition=Q(total__gte=0, total__lte=100) | Q(total__isnull=True), name="total_0_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.candidate} ← {self.expert}"


class Objection(models.Model):
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="objections")
    name = models.CharField(_("异议人（单位或姓名）"), max_length=200)
    contact = EncryptedCharField(_("联系方式"), max_length=100)  # personal data, encrypted
    reasons = models.TextField(_("异议理由"), max_length=5000)
    lodged_at = models.DateTimeField(_("提出时间"), auto_now_add=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    status = models.CharField(
        _("处理结果"), max_length=10, choices=ObjectionStatus.choices, default=ObjectionStatus.PENDING
    )
    decision = models.TextField(_("处理意见"), max_length=3000, blank=True)
    decided_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = NationalOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("异议")
        verbose_name_plural = _("异议")
        ordering: ClassVar[list[str]] = ["-lodged_at"]

    def __str__(self) -> str:
        return f"{self.candidate} · {self.name}"


class WhatIfRun(models.Model):
    """A what-if comparison run in the background (`evaluation.whatif`): what was asked, its progress and the
    report as plain data. It reads the round's tables and never writes them; national administrators only."""

    method = models.ForeignKey(
        MethodVersion, on_delete=models.CASCADE, related_name="+", verbose_name=_("测算方法版本")
    )
    round = models.ForeignKey(Round, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    data_year = models.PositiveSmallIntegerField(_("数据年度"), null=True, blank=True)
    product_class = models.ForeignKey(
        "filings.ProductClass", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(_("状态"), max_length=10, choices=WhatIfStatus.choices, default=WhatIfStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = NationalOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("方法对比测算")
        verbose_name_plural = _("方法对比测算")
        ordering: ClassVar[list[str]] = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.method} · {self.round or self.data_year}"

    @property
    def running(self) -> bool:
        return self.status in (WhatIfStatus.QUEUED, WhatIfStatus.RUNNING)

    @property
    def percent(self) -> int:
        if not self.total:
            return 0 if self.running else 100
        return min(100, round(100 * self.done / self.total))


class LockExceptionQuerySet(ScopedQuerySet):
    """The national office reads every exception; a filer or a port those of the candidates they may see."""

    def visible_to(self, user: Any) -> Self:
        if getattr(user, "is_authenticated", False) and user.is_active and has_role(user, Role.NATIONAL_ADMIN):
            return self.all()
        return self.filter(candidate__in=Candidate.objects.visible_to(user))


class LockException(models.Model):
    """The national office lets one product past a deadline, with a reason (audited, shown on the result).

    `cutoff`: a product-year admitted to the round after its filing cut-off (its filer may still opt in,
    and the patent evaluation takes it in); `info`: a candidate may add its information until `until`.
    """

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="lock_exceptions")
    kind = models.CharField(_("类型"), max_length=10, choices=LockKind.choices)
    version = models.ForeignKey(
        "filings.ProductVersion", on_delete=models.PROTECT, related_name="lock_exceptions", verbose_name=_("产品")
    )
    candidate = models.ForeignKey(
        Candidate, null=True, blank=True, on_delete=models.CASCADE, related_name="lock_exceptions"
    )
    until = models.DateField(_("准予至"), null=True, blank=True)
    reason = models.TextField(_("理由"), max_length=2000)
    granted_at = models.DateTimeField(_("准予时间"), auto_now_add=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = LockExceptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("锁定例外")
        verbose_name_plural = _("锁定例外")
        ordering: ClassVar[list[str]] = ["granted_at", "id"]

    def __str__(self) -> str:
        return f"{self.round} · {self.get_kind_display()} · {self.version_id}"


class Holiday(models.Model):
    """A day the national office marks off the Monday–Friday working week (a public holiday), or on it
    (a weekend day worked in exchange, 调休上班). The 公示 period counts working days."""

    date = models.DateField(_("日期"), unique=True)
    name = models.CharField(_("名称"), max_length=50)
    is_workday = models.BooleanField(_("调休上班"), default=False, help_text=_("勾选：该周末日按工作日计算"))

    objects = ReferenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("节假日")
        verbose_name_plural = _("节假日")
        ordering: ClassVar[list[str]] = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class CertificateEventQuerySet(ScopedQuerySet):
    def visible_to(self, user: Any) -> Self:
        return self.filter(candidate__in=Candidate.objects.visible_to(user))


class CertificateEvent(models.Model):
    """One change of a certificate's status: from, to, why (a cause and, for a revocation, the office's
    reason), what it rests on (`details`: the patents, the data year of the missed update) and who or what
    made it (`actor` for a person; `source` for the import, the workflow action or the daily re-check)."""

    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="certificate_events")
    at = models.DateTimeField(_("时间"), db_index=True)
    from_status = models.CharField(_("原状态"), max_length=10, choices=CertificateStatus.choices, blank=True)
    to_status = models.CharField(_("新状态"), max_length=10, choices=CertificateStatus.choices)
    cause = models.CharField(_("原因"), max_length=20, choices=CertificateCause.choices)
    reason = models.TextField(_("说明"), max_length=3000, blank=True)
    details = models.JSONField(default=dict, blank=True)
    source = models.CharField(_("来源"), max_length=100, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = CertificateEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("证书状态变更")
        verbose_name_plural = _("证书状态变更")
        ordering: ClassVar[list[str]] = ["candidate", "at", "id"]

    def __str__(self) -> str:
        return f"{self.candidate_id}: {self.from_status} → {self.to_status}"
