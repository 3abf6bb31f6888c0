"""Management units (管理端口): the provinces, XPCC and the sub-provincial cities.

A unit's administrators are granted the port permission on the unit's Region rows; the scoping rule
then reads those grants. A province sees the cities inside it; a city port sees only its own city.
XPCC has no GB/T 2260 province code of its own: its unit has the internal code `XPCC` (clearly not a
GB code) and is granted its county-level cities 659001–659012.
"""

import uuid
from typing import Any, ClassVar, Self

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from patent_platform.choices import RegionLevel
from patent_platform.encrypted_fields import (
    BlindIndexField,
    EncryptedCharField,
    EncryptedEmailField,
    EncryptedJSONField,
)
from patent_platform.i18n import localized_name
from patent_platform.jobs.models import Job
from patent_platform.models import Region
from patent_platform.scoping import ScopedQuerySet, scope_of
from provincial.choices import (
    ApplicationStatus,
    DeliveryStatus,
    FollowUpKind,
    PublicationKind,
    PublicationStatus,
    ReportCategory,
    RosterCategory,
    SignoffState,
    SubscriptionFormat,
    SubscriptionFrequency,
    SubscriptionKind,
    UnitKind,
)


class ManagementUnitQuerySet(ScopedQuerySet):
    def visible_to(self, user: Any) -> Self:
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
    def visible_to(self, user: Any) -> Self:
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

    def visible_to(self, user: Any) -> Self:
        return self.all() if getattr(user, "is_authenticated", False) and user.role == "national_admin" else self.none()


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


def _enclosing_codes(scope: Any) -> set[str]:
    """The provinces and cities that contain the scope's cities and counties (not the scope's own codes)."""
    codes: set[str] = set()
    for code in scope.city_codes | scope.county_codes:
        province, city, _county = Region.codes_for(code)
        codes |= {province} | ({city} if city and city != code else set())
    return codes - scope.province_codes - scope.city_codes


class RosterQuerySet(ScopedQuerySet):
    def visible_to(self, user: Any) -> Self:
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
    def visible_to(self, user: Any) -> Self:
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


# ---------------------------------------------------------------------------------------------
# Publications: the monthly filing data of each port and the year-end evaluation of localities


NATIONAL_SCOPE = "NATIONAL"  # the `scope_key` of the national office's own publications


class PublicationQuerySet(ScopedQuerySet):
    def visible_to(self, user: Any) -> Self:
        """National: every publication. A port administrator: those of the ports inside its scope (a
        province port sees its city ports' too) and the national monthly publications the national office
        has released (the revision released: a rebuild is hidden until it is released again); other national
        publications only national users."""
        scope = scope_of(user)
        if scope.everything:
            return self.all()
        if not scope.has_regions:
            return self.none()
        released = models.Q(
            scope_key=NATIONAL_SCOPE, kind=PublicationKind.MONTHLY, released_revision=models.F("revision")
        )
        return self.filter(models.Q(unit__in=ManagementUnit.objects.visible_to(user)) | released)


class Publication(models.Model):
    """One publication of one port (or of the national office: `unit` empty) for one period and kind.

    The row is created before the files: building it is claimed with a conditional UPDATE (status
    pending/failed, or building with an expired lease) that stores a fresh `claim` token; only the
    claimant whose token still matches may mark it ready. Files are written under a temporary name and
    moved into place, so a reader never sees half a file; a worker killed half-way leaves the row
    building until its lease expires and the next run (the hourly sweep) completes it.
    """

    unit = models.ForeignKey(
        ManagementUnit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="publications",
        verbose_name=_("管理端口"),
    )
    scope_key = models.CharField(max_length=10, editable=False, help_text="unit code, or NATIONAL")
    kind = models.CharField(_("类型"), max_length=10, choices=PublicationKind.choices)
    period = models.DateField(_("期间"), help_text=_("月度：该月 1 日；年度：该年 1 月 1 日"))
    status = models.CharField(
        _("状态"), max_length=10, choices=PublicationStatus.choices, default=PublicationStatus.PENDING
    )
    claim = models.UUIDField(null=True, blank=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    revision = models.PositiveSmallIntegerField(_("版次"), default=0, help_text=_("重新生成一次加 1"))
    progress = models.PositiveSmallIntegerField(_("进度（%）"), default=0)
    error = models.TextField(_("错误信息"), blank=True)
    xlsx_file = models.CharField(max_length=300, blank=True)
    xlsx_sha256 = models.CharField(max_length=64, blank=True)
    xlsx_size = models.PositiveBigIntegerField(default=0)
    pdf_file = models.CharField(max_length=300, blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    pdf_size = models.PositiveBigIntegerField(default=0)
    figures = models.JSONField(_("数据快照"), default=dict, blank=True)
    data_as_of = models.DateTimeField(_("数据截至"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    built_at = models.DateTimeField(_("生成时间"), null=True, blank=True)
    notified_at = models.DateTimeField(_("通知时间"), null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The national monthly publication is released to the ports only by the national office's action
    # (`provincial.publications.signoff.release`): the revision released, when and by whom. A rebuild makes
    # a new revision, which is not released until the office releases it again.
    released_revision = models.PositiveSmallIntegerField(_("已发布版次"), null=True, blank=True)
    released_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = PublicationQuerySet.as_manager()

    class Meta:
        verbose_name = _("数据发布")
        verbose_name_plural = _("数据发布")
        ordering: ClassVar[list[str]] = ["-period", "kind", "scope_key"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            # exactly one publication per (port, period, kind): the monthly run and the sweep may race
            models.UniqueConstraint(fields=["scope_key", "kind", "period"], name="one_publication_per_port_period"),
            models.CheckConstraint(
                condition=(models.Q(unit__isnull=True, scope_key=NATIONAL_SCOPE))
                | (models.Q(unit__isnull=False) & ~models.Q(scope_key=NATIONAL_SCOPE)),
                name="publication_scope_key_matches_unit",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            # the sweep: rows still to build, oldest first
            models.Index(fields=["status", "lease_until"], name="publication_todo"),
        ]

    def __str__(self) -> str:
        who = self.unit.name if self.unit_id else _("全国")
        return f"{who} · {self.get_kind_display()} · {self.period:%Y-%m}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.scope_key = self.unit.code if self.unit_id else NATIONAL_SCOPE
        super().save(*args, **kwargs)

    # One numbering for every label of a build (issue 17): revision 0 is the first edition, 第 1 版, whose
    # files are named …-r1-…; each rebuild of a built row is the next. The same number names the files on
    # disk and for download, heads the files' content, and is shown on the pages and in the notice.
    @property
    def edition(self) -> int:
        return self.revision + 1

    @property
    def edition_label(self) -> str:
        return str(_("第 %(n)s 版") % {"n": self.edition})

    def file_edition(self, ext: str) -> int:
        """The edition of the file the row names for `ext` (while a rebuild runs: the previous edition's)."""
        import re

        if self.status == PublicationStatus.READY:
            return self.edition
        match = re.search(r"-r(\d+)-[0-9a-f]{8}\.", getattr(self, f"{ext}_file", "") or "")
        return max(1, int(match.group(1))) if match else self.edition

    @property
    def is_released(self) -> bool:
        """The national publication of this revision was released by the national office."""
        return self.released_revision is not None and self.released_revision == self.revision


# ---------------------------------------------------------------------------------------------
# Months signed off: a port reviews its month's figures and signs them off or notes a problem (issue 20)


class MonthSignoffQuerySet(ScopedQuerySet):
    def visible_to(self, user: Any) -> Self:
        """National: every port's month. A port administrator: the months of the ports inside its scope (a
        province sees its city ports' too; only its own may be signed, `signoff.sign_off` checks)."""
        scope = scope_of(user)
        if scope.everything:
            return self.all()
        if not scope.has_regions:
            return self.none()
        return self.filter(unit__in=ManagementUnit.objects.visible_to(user))


class MonthSignoff(models.Model):
    """One port's answer for one closed month: open (not yet), signed off (the edition it signed), or a
    problem noted. Only the national office reopens a signed month, with a reason; the audit log keeps every
    step. State changes go through `provincial.publications.signoff` only."""

    unit = models.ForeignKey(
        ManagementUnit, on_delete=models.PROTECT, related_name="signoffs", verbose_name=_("管理端口")
    )
    period = models.DateField(_("月份"), help_text=_("该月 1 日"))
    state = models.CharField(_("确认状态"), max_length=10, choices=SignoffState.choices, default=SignoffState.OPEN)
    note = models.TextField(_("说明"), blank=True, max_length=2000)
    edition = models.PositiveSmallIntegerField(_("确认的版次"), null=True, blank=True)
    decided_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reopened_at = models.DateTimeField(_("重新打开时间"), null=True, blank=True)
    reopened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reopen_reason = models.TextField(_("重新打开的理由"), blank=True, max_length=1000)
    reopen_count = models.PositiveSmallIntegerField(_("重新打开次数"), default=0)
    reminded_on = models.DateField(_("最近提醒日期"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MonthSignoffQuerySet.as_manager()

    class Meta:
        verbose_name = _("月度数据确认")
        verbose_name_plural = _("月度数据确认")
        ordering: ClassVar[list[str]] = ["-period", "unit__code"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["unit", "period"], name="one_signoff_per_port_month")
        ]

    def __str__(self) -> str:
        return f"{self.unit.name} · {self.period:%Y-%m} · {self.get_state_display()}"


def statement_token() -> str:
    return uuid.uuid4().hex


class FilingStatementQuerySet(ScopedQuerySet):
    region_prefix = "unit__"
    unit_field = "unit_id"


class FilingStatement(models.Model):
    """A filing statement (备案情况证明) of one filing unit, as generated at one moment.

    `content` is the snapshot the PDF is drawn from (filed and certified products by year with their
    numbers); the public verification page (`token` in the QR code) shows the same snapshot, so a bureau
    sees exactly what the statement said and when, and whether the unit's filings changed since.
    """

    number = models.CharField(_("证明编号"), max_length=20, unique=True)
    token = models.CharField(max_length=32, unique=True, default=statement_token, editable=False)
    unit = models.ForeignKey("filings.FilingUnit", on_delete=models.PROTECT, related_name="statements")
    content = models.JSONField(_("证明内容"), default=dict)
    data_as_of = models.DateTimeField(_("数据截至"))
    generated_at = models.DateTimeField(_("生成时间"), auto_now_add=True)
    generated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    sha256 = models.CharField(max_length=64, blank=True, help_text="of the canonical JSON of `content`")

    objects = FilingStatementQuerySet.as_manager()

    class Meta:
        verbose_name = _("备案情况证明")
        verbose_name_plural = _("备案情况证明")
        ordering: ClassVar[list[str]] = ["-generated_at", "-id"]

    def __str__(self) -> str:
        return self.number


class ProgressReportQuerySet(ScopedQuerySet):
    def visible_to(self, user: Any) -> Self:
        """National administrators: every report. A port administrator: its own port's reports and
        those of the city ports inside its province (as for publications). Nobody else."""
        scope = scope_of(user)
        if scope.everything:
            return self.all() if getattr(user, "role", None) == "national_admin" else self.none()
        if not scope.has_regions:
            return self.none()
        return self.filter(unit__in=ManagementUnit.objects.visible_to(user))


class ProgressReport(models.Model):
    """A port's report to the national office: progress, a problem, good practice or a policy issued."""

    unit = models.ForeignKey(
        ManagementUnit, on_delete=models.PROTECT, related_name="reports", verbose_name=_("报送端口")
    )
    category = models.CharField(_("类别"), max_length=20, choices=ReportCategory.choices)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("正文"), max_length=20000)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("报送人")
    )
    submitted_at = models.DateTimeField(_("报送时间"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("国家局阅知时间"), null=True, blank=True)
    read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_typical = models.BooleanField(_("典型案例"), default=False)
    typical_marked_at = models.DateTimeField(null=True, blank=True)
    typical_marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ProgressReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("工作报送")
        verbose_name_plural = _("工作报送")
        ordering: ClassVar[list[str]] = ["-submitted_at", "-id"]

    def __str__(self) -> str:
        return self.title


def report_attachment_name(instance: "ProgressReportAttachment", filename: str) -> str:
    return f"reports/{uuid.uuid4().hex}.{instance.kind or 'bin'}"


class ProgressReportAttachmentQuerySet(ScopedQuerySet):
    def visible_to(self, user: Any) -> Self:
        """The attachments of the reports the user sees (`ProgressReport.objects.visible_to`)."""
        return self.filter(report__in=ProgressReport.objects.visible_to(user))


class ProgressReportAttachment(models.Model):
    report = models.ForeignKey(ProgressReport, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=report_attachment_name, max_length=200)
    kind = models.CharField(max_length=5, editable=False, help_text="pdf, jpg or png, by content")
    original_name = models.CharField(_("文件名"), max_length=200)
    size = models.PositiveIntegerField(default=0)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    objects = ProgressReportAttachmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("报送附件")
        verbose_name_plural = _("报送附件")
        ordering: ClassVar[list[str]] = ["id"]

    def __str__(self) -> str:
        return self.original_name


class ProgressReportComment(models.Model):
    report = models.ForeignKey(ProgressReport, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField(_("意见"), max_length=4000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("报送意见")
        verbose_name_plural = _("报送意见")
        ordering: ClassVar[list[str]] = ["created_at", "id"]

    def __str__(self) -> str:
        return self.body[:50]


# ---------------------------------------------------------------------------------------------
# Dashboard summary tables (issue 7): the dashboards read pre-aggregated cells, not the base tables.
# provincial/dashboards/ builds and refreshes them; docs/PERFORMANCE.md says how fresh they are.


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


class OwnedQuerySet(ScopedQuerySet):
    """Rows a person keeps for themselves (subscriptions and their deliveries): visible to their owner only,
    whatever the owner's role or area — the national office included."""

    owner_field = "owner_id"

    def visible_to(self, user: Any) -> Self:
        if user is None or not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
            return self.none()
        return self.filter(**{self.owner_field: user.pk})


class SavedAnalysisQuerySet(OwnedQuerySet):
    """A saved analysis: its owner's, and the shared ones of the owner's port (the national office: those
    shared by national administrators, which belong to no port)."""

    def visible_to(self, user: Any) -> Self:
        from patent_platform.choices import Role

        if user is None or not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
            return self.none()
        membership = PortMembership.objects.filter(user_id=user.pk).values_list("unit_id", flat=True).first()
        if membership is not None:
            shared = models.Q(shared=True, unit_id=membership)
        elif user.role == Role.NATIONAL_ADMIN:
            shared = models.Q(shared=True, unit__isnull=True, owner__role=Role.NATIONAL_ADMIN)
        else:
            shared = models.Q(pk__in=[])
        return self.filter(models.Q(owner_id=user.pk) | shared)


class SubscriptionQuerySet(OwnedQuerySet):
    pass


class SubscriptionDeliveryQuerySet(OwnedQuerySet):
    owner_field = "subscription__owner_id"


class SavedAnalysis(models.Model):
    """A pivot of the analysis page (provincial/analysis.py) saved by a port or national administrator: its
    definition as JSON (validated by the engine when saved and when opened), visible to its owner and, when
    shared, to the other administrators of the same port (the national office: to the national administrators).
    Whoever opens it sees the figures of their own scope."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="analyses")
    unit = models.ForeignKey(
        ManagementUnit, null=True, blank=True, on_delete=models.CASCADE, related_name="analyses", verbose_name=_("端口")
    )
    name = models.CharField(_("名称"), max_length=100)
    definition = models.JSONField(_("分析定义"))
    shared = models.BooleanField(_("在本端口内共享"), default=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = SavedAnalysisQuerySet.as_manager()

    class Meta:
        verbose_name = _("保存的分析")
        verbose_name_plural = _("保存的分析")
        ordering: ClassVar[list[str]] = ["name", "id"]
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["unit", "shared"], name="analysis_unit_shared")]

    def __str__(self) -> str:
        return self.name


class Subscription(models.Model):
    """A user's subscription to a saved analysis or a port dashboard, as a file by mail each month or week
    (provincial/subscriptions.py). Built as the subscriber: the figures of the subscriber's area when built."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions", verbose_name=_("订阅人")
    )
    kind = models.CharField(_("订阅内容"), max_length=20, choices=SubscriptionKind.choices)
    analysis = models.ForeignKey(
        SavedAnalysis,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="subscriptions",
        verbose_name=_("保存的分析"),
    )
    port_code = models.CharField(_("端口代码"), max_length=20, blank=True)  # the dashboard's port ("": own area)
    name = models.CharField(_("名称"), max_length=200)
    format = models.CharField(
        _("文件格式"), max_length=10, choices=SubscriptionFormat.choices, default=SubscriptionFormat.XLSX
    )
    frequency = models.CharField(_("频率"), max_length=10, choices=SubscriptionFrequency.choices)
    active = models.BooleanField(_("有效"), default=True)
    note = models.CharField(_("说明"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("订阅")
        verbose_name_plural = _("订阅")
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["active", "frequency"], name="subscription_due")]

    def __str__(self) -> str:
        return self.name


class SubscriptionDelivery(models.Model):
    """One period of a subscription, built once (UNIQUE subscription, period; claimed by a conditional UPDATE
    with a token and a lease, as the publications)."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("订阅")
    )
    period = models.CharField(_("期间"), max_length=10)  # "2026-11" (month) or "2026-W48" (ISO week)
    status = models.CharField(_("状态"), max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    file = models.CharField(_("文件"), max_length=300, blank=True)  # a name in Django's default storage
    size = models.PositiveBigIntegerField(default=0)
    claim = models.UUIDField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(_("错误"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    built_at = models.DateTimeField(_("生成时间"), null=True, blank=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)

    objects = SubscriptionDeliveryQuerySet.as_manager()

    class Meta:
        verbose_name = _("订阅发送记录")
        verbose_name_plural = _("订阅发送记录")
        ordering: ClassVar[list[str]] = ["-period", "-id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["subscription", "period"], name="subscription_delivery_once"),
        ]

    def __str__(self) -> str:
        return f"{self.subscription} {self.period}"
