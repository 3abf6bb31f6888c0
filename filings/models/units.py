"""Filing units (备案单位), their members, and product classes.

A filing unit keeps the province, city and county codes of its address (GB/T 2260, 6 digits): they
are what the scoping rule filters on, with plain indexes.
"""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from filings.choices import ClassScheme, UnitKind, UnitScale, VerificationMethod
from filings.identifiers import validate_uscc
from filings.industries import validate_industry
from patent_platform.encrypted_fields import EncryptedCharField, EncryptedEmailField
from patent_platform.i18n import localized_name
from patent_platform.scoping import ScopedQuerySet


def uscc_validator(value: str) -> None:
    validate_uscc(value)


class FilingUnitQuerySet(ScopedQuerySet):
    region_prefix = ""
    unit_field = "id"


class FilingUnit(models.Model):
    uscc = models.CharField(_("统一社会信用代码"), max_length=18, unique=True, validators=[uscc_validator])
    name = models.CharField(_("单位名称"), max_length=200)
    kind = models.CharField(_("单位类型"), max_length=20, choices=UnitKind.choices, default=UnitKind.COMPANY)
    region = models.ForeignKey("patent_platform.Region", on_delete=models.PROTECT, verbose_name=_("所在地区"))
    province_code = models.CharField(_("省级代码"), max_length=6, db_index=True, editable=False)
    city_code = models.CharField(_("地级代码"), max_length=6, blank=True, db_index=True, editable=False)
    county_code = models.CharField(_("县级代码"), max_length=6, blank=True, db_index=True, editable=False)
    address = models.CharField(_("地址"), max_length=300, blank=True)
    industry = models.CharField(
        _("所属行业"),
        max_length=5,
        blank=True,
        validators=[validate_industry],
        help_text=_("GB/T 4754-2017 门类或大类代码"),
    )
    scale = models.CharField(_("企业规模"), max_length=10, choices=UnitScale.choices, blank=True)
    # personal data, stored encrypted (patent_platform/fieldcrypto.py)
    contact_name = EncryptedCharField(_("联系人"), max_length=50, blank=True)
    contact_phone = EncryptedCharField(_("联系电话"), max_length=30, blank=True)
    contact_email = EncryptedEmailField(_("联系邮箱"), blank=True)
    created_at = models.DateTimeField(_("注册时间"), auto_now_add=True)
    # Identity (filings/identity.py, docs/UNITS.md): a registered unit may prepare drafts, but submits only
    # once verified — a reviewer accepted its proof (or a claim), or a trusted identity provider asserted its
    # USCC. Empty: not verified. Set only by `identity.unit_verify`.
    verified_at = models.DateTimeField(_("身份核验时间"), null=True, blank=True, editable=False)
    verified_via = models.CharField(
        _("核验方式"), max_length=20, choices=VerificationMethod.choices, blank=True, editable=False
    )

    objects = FilingUnitQuerySet.as_manager()

    class Meta:
        verbose_name = _("备案单位")
        verbose_name_plural = _("备案单位")
        ordering: ClassVar[list[str]] = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        from filings.models.search_text import refresh_text
        from patent_platform.models import Region

        self.province_code, self.city_code, self.county_code = Region.codes_for(self.region_id)
        super().save(*args, **kwargs)  # type: ignore[arg-type]
        # a new name: its published products are searched by it
        refresh_text(
            self.products.filter(published_version__isnull=False).exclude(search_text__endswith=f"\n{self.name}")
        )
        # Products carry their unit's region codes for scoping without a join; keep them in step.
        self.products.exclude(
            province_code=self.province_code, city_code=self.city_code, county_code=self.county_code
        ).update(province_code=self.province_code, city_code=self.city_code, county_code=self.county_code)

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class UnitMembership(models.Model):
    """An enterprise user belongs to one filing unit; several users may share a unit."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="unit_membership")
    unit = models.ForeignKey(FilingUnit, on_delete=models.CASCADE, related_name="memberships")
    is_manager = models.BooleanField(_("单位管理员"), default=False)

    class Meta:
        verbose_name = _("单位成员")
        verbose_name_plural = _("单位成员")

    def __str__(self) -> str:
        return f"{self.user} @ {self.unit}"


class ProductClass(models.Model):
    """Product classes maintained by the national office; benchmarks hang off them."""

    code = models.CharField(_("分类代码"), max_length=20, unique=True)
    name = models.CharField(_("分类名称"), max_length=100)
    name_en = models.CharField(_("英文名称"), max_length=200, blank=True)
    scheme = models.CharField(_("分类体系"), max_length=20, choices=ClassScheme.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("产品分类")
        verbose_name_plural = _("产品分类")
        ordering: ClassVar[list[str]] = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {localized_name(self)}"
