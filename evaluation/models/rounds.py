"""Certification rounds and what they hold: `Round`, its `Candidate`s (one product-year each, scoped like the
product), their `IndicatorResult`s and the `CertificateEvent`s of a certificate's life.
"""

import datetime as dt
from typing import TYPE_CHECKING, ClassVar, Self

from django.apps import apps
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from evaluation.choices import (
    CandidateStatus,
    CertificateCause,
    CertificateStatus,
    Stage,
)
from evaluation.models.methods import SCORE, VALUE, BenchmarkSet, Indicator, MethodVersion, ReferenceQuerySet
from patent_platform.choices import Role
from patent_platform.scoping import ScopedQuerySet, authenticated_reader

if TYPE_CHECKING:
    from patent_platform.scoping import Reader


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


class CandidateQuerySet(ScopedQuerySet["Candidate"]):
    region_prefix = ""
    unit_field = "unit_id"

    def visible_to(self, user: "Reader") -> Self:
        reader = authenticated_reader(user)
        if reader is not None and reader.is_active and reader.role == Role.EXPERT:
            assignments = apps.get_model("evaluation", "Assignment")._default_manager  # evaluation.models.experts
            return self.filter(pk__in=assignments.filter(expert_id=reader.pk).values("candidate_id"))
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

    def visible_to(self, user: "Reader") -> Self:
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


class CertificateEventQuerySet(ScopedQuerySet):
    def visible_to(self, user: "Reader") -> Self:
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
