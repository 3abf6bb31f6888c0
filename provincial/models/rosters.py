"""Target rosters (名单) of the ports, their uploads and entries, and the follow-ups sent about them."""

import uuid
from typing import TYPE_CHECKING, Any, ClassVar, Self

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from patent_platform.encrypted_fields import (
    EncryptedCharField,
    EncryptedEmailField,
)
from patent_platform.jobs.models import Job
from patent_platform.models import Region
from patent_platform.scoping import ScopedQuerySet, scope_of
from provincial.choices import (
    FollowUpKind,
    RosterCategory,
)
from provincial.models.ports import ManagementUnit

if TYPE_CHECKING:
    from patent_platform.scoping import Reader


def _enclosing_codes(scope: Any) -> set[str]:
    """The provinces and cities that contain the scope's cities and counties (not the scope's own codes)."""
    codes: set[str] = set()
    for code in scope.city_codes | scope.county_codes:
        province, city, _county = Region.codes_for(code)
        codes |= {province} | ({city} if city and city != code else set())
    return codes - scope.province_codes - scope.city_codes


class RosterQuerySet(ScopedQuerySet):
    def visible_to(self, user: "Reader") -> Self:
        """National rosters (owner empty), the rosters of the ports in the user's scope, and the rosters of
        the ports whose area encloses it (a province port's, for its city ports): every roster's entries are
        themselves scoped by region (RosterEntry), so a city port sees the province's enterprises of its own
        city — and counts them as the province counts that city (one area rule, docs/ONE_TRUTH.md)."""
        scope = scope_of(user)
        if scope.everything:
            return self.all()
        if not scope.has_regions:
            return self.none()
        return self.filter(
            models.Q(owner__isnull=True)
            | models.Q(owner__in=ManagementUnit.objects.visible_to(user))
            | models.Q(owner__in=ManagementUnit.objects.filter(regions__code__in=_enclosing_codes(scope)))
        )


class Roster(models.Model):
    """A target list of enterprises for a category and year, uploaded as Excel (USCC and name)."""

    category = models.CharField(_("名单类别"), max_length=30, choices=RosterCategory.choices)
    year = models.PositiveSmallIntegerField(_("年度"))
    title = models.CharField(_("名单名称"), max_length=200)
    owner = models.ForeignKey(
        ManagementUnit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="rosters",
        verbose_name=_("上传端口"),
        help_text=_("为空表示国家局上传的全国名单"),
    )
    source_name = models.CharField(_("来源文件"), max_length=200, blank=True)
    entry_count = models.PositiveIntegerField(_("企业数"), default=0)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    objects = RosterQuerySet.as_manager()

    class Meta:
        verbose_name = _("重点企业名单")
        verbose_name_plural = _("重点企业名单")
        ordering: ClassVar[list[str]] = ["-year", "category", "id"]

    def __str__(self) -> str:
        return self.title


def roster_upload_name(instance: "RosterUpload", filename: str) -> str:
    return f"rosters/{uuid.uuid4().hex}.xlsx"


class RosterUploadQuerySet(ScopedQuerySet):
    def visible_to(self, user: "Reader") -> Self:
        """National administrators see every upload; a port the uploads of the ports in its area (its own
        and, for a province, its cities'), as it sees their rosters — not the national uploads, whose
        rows and errors cover the whole country. Other roles see none."""
        scope = scope_of(user)
        if scope.everything:
            return self.all()
        if not scope.has_regions:
            return self.none()
        return self.filter(owner__in=ManagementUnit.objects.visible_to(user))


class RosterUpload(Job):
    """An uploaded roster file, checked in the background and saved all or nothing as one Roster
    (provincial.rosters.RosterImport, run by patent_platform.jobs)."""

    file = models.FileField(upload_to=roster_upload_name, max_length=200)
    category = models.CharField(_("名单类别"), max_length=30, choices=RosterCategory.choices)
    year = models.PositiveSmallIntegerField(_("年度"))
    title = models.CharField(_("名单名称"), max_length=200)
    owner = models.ForeignKey(
        ManagementUnit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("上传端口"),
        help_text=_("为空表示国家局上传的全国名单"),
    )
    roster = models.ForeignKey(
        Roster, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("导入的名单")
    )
    merge_into = models.ForeignKey(
        Roster,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("合并到名单"),
        help_text=_("上传人确认合并到同一端口、类别和年度的已有名单"),
    )
    entry_count = models.PositiveIntegerField(_("企业数"), default=0)

    objects = RosterUploadQuerySet.as_manager()

    class Meta:
        verbose_name = _("名单上传")
        verbose_name_plural = _("名单上传")
        ordering: ClassVar[list[str]] = ["-created_at"]

    def __str__(self) -> str:
        return self.original_name


class RosterEntryQuerySet(ScopedQuerySet):
    region_prefix = ""


class RosterEntry(models.Model):
    """One enterprise on a roster. Its region comes from the USCC (characters 3–8: the registering
    authority's GB/T 2260 code), so ports see the entries of their own regions."""

    roster = models.ForeignKey(Roster, on_delete=models.CASCADE, related_name="entries")
    uscc = models.CharField(_("统一社会信用代码"), max_length=18, db_index=True)
    name = models.CharField(_("企业名称"), max_length=200)
    province_code = models.CharField(max_length=6, db_index=True)
    city_code = models.CharField(max_length=6, blank=True, db_index=True)
    county_code = models.CharField(max_length=6, blank=True, db_index=True)
    # the roster's contact for following the enterprise up; personal data, stored encrypted
    # (patent_platform/fieldcrypto.py), optional in the file (docs/PORTS.md)
    contact_name = EncryptedCharField(_("联系人"), max_length=50, blank=True)
    contact_phone = EncryptedCharField(_("联系电话"), max_length=30, blank=True)
    contact_email = EncryptedEmailField(_("电子邮箱"), blank=True)

    objects = RosterEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("名单企业")
        verbose_name_plural = _("名单企业")
        ordering: ClassVar[list[str]] = ["roster", "id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["roster", "uscc"], name="roster_entry_once")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.uscc})"


class FollowUpQuerySet(ScopedQuerySet):
    region_prefix = ""


class FollowUp(models.Model):
    """One reminder or invitation a port (or the national office) sent to an enterprise on a roster that has
    not filed (provincial/followup.py). The enterprise's region (from its USCC, as on the roster) scopes it:
    every port whose area contains the enterprise sees who reminded it and when. At most one per enterprise
    and China day, whoever sends it (the constraint)."""

    uscc = models.CharField(_("统一社会信用代码"), max_length=18, db_index=True)
    name = models.CharField(_("企业名称"), max_length=200)
    province_code = models.CharField(max_length=6, db_index=True)
    city_code = models.CharField(max_length=6, blank=True, db_index=True)
    county_code = models.CharField(max_length=6, blank=True, db_index=True)
    kind = models.CharField(_("类型"), max_length=20, choices=FollowUpKind.choices)
    port = models.ForeignKey(
        ManagementUnit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="follow_ups",
        verbose_name=_("发送端口"),
        help_text=_("为空表示国家局发送"),
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("发送人")
    )
    sent_at = models.DateTimeField(_("发送时间"), db_index=True)
    sent_on = models.DateField(_("发送日期（北京时间）"))
    # the addresses written to, masked (patent_platform/masking.py): what the list shows, and no plaintext kept
    recipients_masked = models.CharField(_("收件地址（已脱敏）"), max_length=500)
    recipient_count = models.PositiveSmallIntegerField(_("收件人数"), default=1)

    objects = FollowUpQuerySet.as_manager()

    class Meta:
        verbose_name = _("督促备案记录")
        verbose_name_plural = _("督促备案记录")
        ordering: ClassVar[list[str]] = ["-sent_at", "-id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["uscc", "sent_on"], name="follow_up_once_a_day")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.name} · {self.sent_on}"
