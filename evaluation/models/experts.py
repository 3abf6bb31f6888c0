"""The expert review: `ExpertProfile`s (national administrators only), the scoring `CRITERIA`, the
`Assignment`s of candidates to experts with their scores, and the `Objection`s lodged in a publicity period.
"""

from typing import TYPE_CHECKING, ClassVar, Self

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from evaluation.choices import (
    ObjectionStatus,
)
from evaluation.models.methods import SCORE
from evaluation.models.rounds import Candidate
from patent_platform.choices import Role
from patent_platform.encrypted_fields import EncryptedCharField
from patent_platform.roles import has_role
from patent_platform.scoping import ScopedQuerySet, authenticated_reader, scope_of

if TYPE_CHECKING:
    from patent_platform.scoping import Reader


class NationalOnlyQuerySet(ScopedQuerySet):
    """Rows only national administrators read (they name people: experts, objectors)."""

    def visible_to(self, user: "Reader") -> Self:
        reader = authenticated_reader(user)
        if reader is not None and reader.is_active and has_role(reader, Role.NATIONAL_ADMIN):
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
    def visible_to(self, user: "Reader") -> Self:
        reader = authenticated_reader(user)
        if reader is None or not reader.is_active:
            return self.none()
        if reader.role == Role.EXPERT:
            return self.filter(expert=reader)
        if scope_of(reader).everything and reader.role == Role.NATIONAL_ADMIN:
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
