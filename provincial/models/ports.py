"""Management units (管理端口): the provinces, XPCC and the sub-provincial cities.

A unit's administrators are granted the port permission on the unit's Region rows; the scoping rule
then reads those grants. A province sees the cities inside it; a city port sees only its own city.
XPCC has no GB/T 2260 province code of its own: its unit has the internal code `XPCC` (clearly not a
GB code) and is granted its county-level cities 659001–659012.
"""

import uuid
from typing import TYPE_CHECKING, ClassVar, Self

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from patent_platform.choices import RegionLevel, Role
from patent_platform.encrypted_fields import (
    BlindIndexField,
    EncryptedCharField,
    EncryptedEmailField,
    EncryptedJSONField,
)
from patent_platform.i18n import localized_name
from patent_platform.models import Region
from patent_platform.scoping import ScopedQuerySet, authenticated_reader, scope_of
from provincial.choices import (
    ApplicationStatus,
    UnitKind,
)

if TYPE_CHECKING:
    from patent_platform.scoping import Reader


class ManagementUnitQuerySet(ScopedQuerySet):
    def visible_to(self, user: "Reader") -> Self:
        """National: all ports. A port administrator: the ports whose regions lie inside its scope (a
        province sees itself and the city ports inside it; a city port only itself). 47 rows: the
        check runs on the regions in Python."""
        scope = scope_of(user)
        if scope.everything:
            return self.all()
        if not scope.has_regions:
            return self.none()
        ids = [
            unit.pk
            for unit in ManagementUnit.objects.prefetch_related("regions")
            if any(scope.covers_region(region.code) for region in unit.regions.all())
        ]
        return self.filter(pk__in=ids)


class ManagementUnit(models.Model):
    code = models.CharField(_("端口代码"), max_length=10, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=10, choices=UnitKind.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    regions = models.ManyToManyField("patent_platform.Region", verbose_name=_("管辖区划"), related_name="+")
    separately_planned = models.BooleanField(_("计划单列市"), default=False)
    is_open = models.BooleanField(_("端口已开通"), default=False)

    objects = ManagementUnitQuerySet.as_manager()

    class Meta:
        verbose_name = _("管理端口")
        verbose_name_plural = _("管理端口")
        ordering: ClassVar[list[str]] = ["code"]

    def __str__(self) -> str:
        return localized_name(self)

    @property
    def name_en(self) -> str:
        """The English name: the unit's region's (its code is the region's), the corps' own English name."""
        if self.code == XPCC_CODE_EN[0]:
            return str(XPCC_CODE_EN[1])
        return _region_names_en().get(self.code, "")


XPCC_CODE_EN = ("XPCC", "Xinjiang Production and Construction Corps")


def _region_names_en() -> dict[str, str]:
    """{code: English name} of the provinces and cities (the units' regions), read once per process."""
    global _REGION_NAMES_EN
    if not _REGION_NAMES_EN:
        _REGION_NAMES_EN = dict(Region.objects.exclude(level=RegionLevel.COUNTY).values_list("code", "name_en"))
    return _REGION_NAMES_EN


_REGION_NAMES_EN: dict[str, str] = {}


class PortMembership(models.Model):
    """A port administrator belongs to one management unit."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="port_membership")
    unit = models.ForeignKey(ManagementUnit, on_delete=models.PROTECT, related_name="memberships")

    class Meta:
        verbose_name = _("端口管理员")
        verbose_name_plural = _("端口管理员")

    def __str__(self) -> str:
        return f"{self.user} @ {self.unit}"


class PortContactQuerySet(ScopedQuerySet):
    def visible_to(self, user: "Reader") -> Self:
        return self.filter(unit__in=ManagementUnit.objects.visible_to(user))


class PortContact(models.Model):
    """A contact of a port (attachment 2 of the notice); used for notifications and publications."""

    unit = models.ForeignKey(ManagementUnit, on_delete=models.CASCADE, related_name="contacts")
    # personal data, stored encrypted (patent_platform/fieldcrypto.py); the e-mail looked up by exact match
    name = EncryptedCharField(_("姓名"), max_length=50)
    post = models.CharField(_("职务"), max_length=50, blank=True)
    office_phone = EncryptedCharField(_("办公电话"), max_length=30, blank=True)
    mobile = EncryptedCharField(_("手机"), max_length=30, blank=True)
    email = EncryptedEmailField(_("电子邮箱"), blind_index="email_bidx")
    email_bidx = BlindIndexField(source="email", kind="email", db_index=True)
    is_admin = models.BooleanField(_("端口管理员"), default=False, help_text=_("开通端口时为其创建账号并发送邀请"))
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PortContactQuerySet.as_manager()

    class Meta:
        verbose_name = _("端口联系人")
        verbose_name_plural = _("端口联系人")
        ordering: ClassVar[list[str]] = ["unit", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.unit})"


def application_scan_name(instance: "PortApplication", filename: str) -> str:
    return f"port-applications/{uuid.uuid4().hex}.pdf"


class PortApplicationQuerySet(ScopedQuerySet):
    """Applications are read by the national office only (and the applicant through the e-mail)."""

    def visible_to(self, user: "Reader") -> Self:
        reader = authenticated_reader(user)
        return self.all() if reader is not None and reader.role == Role.NATIONAL_ADMIN else self.none()


class PortApplication(models.Model):
    """An office applies for its management port (attachment 3: the office, the person in charge, the
    stamped form as a PDF scan; attachment 2: the contacts, kept as a list until approval)."""

    unit = models.ForeignKey(
        ManagementUnit, on_delete=models.PROTECT, related_name="applications", verbose_name=_("申请开通的端口")
    )
    office_name = models.CharField(_("申请单位"), max_length=200)
    person_in_charge = models.CharField(_("负责人"), max_length=50)
    person_post = models.CharField(_("负责人职务"), max_length=50, blank=True)
    # personal data, stored encrypted (patent_platform/fieldcrypto.py); the contacts list as one token
    person_phone = EncryptedCharField(_("负责人电话"), max_length=30, blank=True)
    applicant_email = EncryptedEmailField(
        _("联系邮箱"), help_text=_("审核结果发送到此邮箱"), blind_index="applicant_email_bidx"
    )
    applicant_email_bidx = BlindIndexField(source="applicant_email", kind="email", db_index=True)
    form_scan = models.FileField(_("盖章申请表扫描件（PDF）"), upload_to=application_scan_name, max_length=200)
    contacts = EncryptedJSONField(_("联系人"), default=list)
    status = models.CharField(
        _("状态"), max_length=20, choices=ApplicationStatus.choices, default=ApplicationStatus.SUBMITTED
    )
    return_reason = models.TextField(_("退回理由"), blank=True)
    submitted_at = models.DateTimeField(_("提交时间"), auto_now_add=True)
    decided_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = PortApplicationQuerySet.as_manager()

    class Meta:
        verbose_name = _("端口开通申请")
        verbose_name_plural = _("端口开通申请")
        ordering: ClassVar[list[str]] = ["-submitted_at"]

    def __str__(self) -> str:
        return f"{self.unit} · {self.office_name}"
