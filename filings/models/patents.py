"""Patents (global, one per normalised application number) and a filing unit's rights to them.

A patent has no region and no owner field of its own: who may use it in a filing is the unit's
`PatentRight` (owner, co-owner, licensee, transferee, capital contribution). Scoping therefore goes
through the rights: a patent is visible to whoever can see one of the units holding a right to it.
"""

from typing import TYPE_CHECKING, ClassVar, Self

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from filings.choices import LegalStatus, LicenceKind, PatentKind, RightKind
from filings.identifiers import parse_patent_number
from patent_platform.scoping import ScopedQuerySet, scope_of
from patent_platform.typenames import StrOrPromise

if TYPE_CHECKING:
    from patent_platform.scoping import Reader


def patent_number_validator(value: str) -> None:
    parsed = parse_patent_number(value)
    if parsed.normalized != value:
        raise ValidationError(
            _("请填写规范化的申请号，例如 %(n)s。"), code="patent_format", params={"n": parsed.normalized}
        )


class PatentQuerySet(ScopedQuerySet):
    def visible_to(self, user: "Reader") -> Self:
        scope = scope_of(user)
        if scope.everything:
            return self.all()
        rights = PatentRight.objects.visible_to(user).values("patent_id")
        return self.filter(pk__in=rights)


class Patent(models.Model):
    number = models.CharField(
        _("申请号"),
        max_length=14,
        unique=True,
        validators=[patent_number_validator],
        help_text=_("规范化形式，如 201710601862.3"),
    )
    kind = models.CharField(_("专利类型"), max_length=20, choices=PatentKind.choices)
    pct = models.BooleanField(_("PCT 进入中国"), default=False)
    title = models.CharField(_("专利名称"), max_length=300)
    application_date = models.DateField(_("申请日"), null=True, blank=True)
    grant_date = models.DateField(_("授权公告日"), null=True, blank=True)
    legal_status = models.CharField(
        _("法律状态"), max_length=20, choices=LegalStatus.choices, default=LegalStatus.VALID
    )
    status_updated_at = models.DateTimeField(_("法律状态更新时间"), auto_now_add=True)
    # when a legal-status import last covered this patent, changed or not (the public product page's
    # "last checked"); None until the first import that names it
    status_checked_at = models.DateTimeField(_("法律状态核对时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)

    objects = PatentQuerySet.as_manager()

    class Meta:
        verbose_name = _("专利")
        verbose_name_plural = _("专利")
        ordering: ClassVar[list[str]] = ["number"]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def patent_number(self) -> str:
        """The granted patent's 专利号: ZL + the application number."""
        return f"ZL{self.number}"


class PatentRightQuerySet(ScopedQuerySet):
    region_prefix = "unit__"
    unit_field = "unit_id"


class PatentRight(models.Model):
    unit = models.ForeignKey("filings.FilingUnit", on_delete=models.CASCADE, related_name="patent_rights")
    patent = models.ForeignKey(Patent, on_delete=models.PROTECT, related_name="rights")
    kind = models.CharField(_("权利类型"), max_length=20, choices=RightKind.choices)
    licence_kind = models.CharField(_("许可类型"), max_length=20, choices=LicenceKind.choices, blank=True)
    recordal_number = models.CharField(_("许可备案号"), max_length=50, blank=True)
    valid_until = models.DateField(_("许可/权利期限至"), null=True, blank=True)
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = PatentRightQuerySet.as_manager()

    class Meta:
        verbose_name = _("专利权利")
        verbose_name_plural = _("专利权利")
        ordering: ClassVar[list[str]] = ["patent__number"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["unit", "patent"], name="patent_right_once_per_unit")
        ]

    def __str__(self) -> str:
        return f"{self.unit} · {self.get_kind_display()} · {self.patent.number}"

    def clean(self) -> None:
        errors: dict[str, StrOrPromise] = {}
        if self.kind == RightKind.LICENSEE:
            if not self.licence_kind:
                errors["licence_kind"] = _("被许可人须注明许可类型（独占、排他或普通）。")
        elif self.licence_kind or self.recordal_number:
            errors["licence_kind"] = _("只有被许可人需要填写许可类型和许可备案号。")
        if errors:
            raise ValidationError(errors)


class FilingPolicy(models.Model):
    """Platform setting: which patents may back a filing (DOMAIN.md §2, unknown → configurable).

    One row (pk 1). Default: all three types, valid patents only, licences need not be recorded.
    """

    allow_invention = models.BooleanField(_("发明专利可用于备案"), default=True)
    allow_utility_model = models.BooleanField(_("实用新型专利可用于备案"), default=True)
    allow_design = models.BooleanField(_("外观设计专利可用于备案"), default=True)
    allow_pending = models.BooleanField(_("审查中的申请可用于备案"), default=False)
    require_licence_recordal = models.BooleanField(_("许可须有备案号"), default=False)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("备案规则设置")
        verbose_name_plural = _("备案规则设置")

    def __str__(self) -> str:
        return str(_("备案规则设置"))

    @classmethod
    def current(cls) -> "FilingPolicy":
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj

    def allowed_kinds(self) -> set[str]:
        kinds: set[str] = set()
        if self.allow_invention:
            kinds.add(PatentKind.INVENTION)
        if self.allow_utility_model:
            kinds.add(PatentKind.UTILITY_MODEL)
        if self.allow_design:
            kinds.add(PatentKind.DESIGN)
        return kinds

    def allowed_statuses(self) -> set[str]:
        return {LegalStatus.VALID, LegalStatus.PENDING} if self.allow_pending else {LegalStatus.VALID}
