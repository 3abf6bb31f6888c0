"""Outside systems that verify filings by machine (issue 19, part 4): their OAuth2 registration and their calls.

A `VerificationClient` is the platform's record of one outside system (a provincial subsidy office, a bank's
IP-pledge desk): its name, what it may ask (scopes), where (a province or city, or the whole country), how
often (per minute and per day), until when, and whether it is suspended. The OAuth2 side (client id, the
hashed secret, the tokens) is django-oauth-toolkit's `Application`, one per client.

`ClientCall` is one row per answered API call: the usage page counts them per day, endpoint and status. The
audit log holds the same calls with what was asked (patent_platform/audit.py); this table is the cheap,
indexed count the national office reads.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, ClassVar, Self

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from oauth2_provider.settings import oauth2_settings

from patent_platform.choices import Role
from patent_platform.encrypted_fields import EncryptedCharField
from patent_platform.roles import has_role
from patent_platform.scoping import ScopedQuerySet
from verification.choices import ClientScope, ClientStatus, Endpoint

if TYPE_CHECKING:
    from patent_platform.scoping import Reader

MAX_PER_MINUTE = 100_000
MAX_PER_DAY = 100_000_000


class NationalOnlyQuerySet(ScopedQuerySet):
    """Rows of the national office: its administrators manage the verification clients; nobody else sees them
    (reviewers see all filings, not who verifies them)."""

    def visible_to(self, user: Reader) -> Self:
        # a person (pk) signed in, active, national administrator; a task's or a client's principal never
        person = getattr(user, "pk", None) is not None and getattr(user, "is_authenticated", False)
        if person and getattr(user, "is_active", False) and has_role(user, Role.NATIONAL_ADMIN):
            return self.all()
        return self.none()


class VerificationClient(models.Model):
    name = models.CharField(_("客户端名称"), max_length=100, unique=True, help_text=_("如：某省财政厅专项资金系统"))
    organisation = models.CharField(_("使用单位"), max_length=200)
    contact = EncryptedCharField(_("联系人及联系方式"), max_length=200, blank=True)  # personal data, encrypted
    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL,
        on_delete=models.PROTECT,
        related_name="verification_client",
        editable=False,
    )
    scopes = models.JSONField(_("权限范围"), default=list, help_text=_("可核验的内容"))
    # None: the whole country. Otherwise a province or a city: the client then reads what a port of that region
    # reads (the scoping rule, patent_platform/scoping.py).
    region = models.ForeignKey(
        "patent_platform.Region",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("数据范围"),
    )
    per_minute = models.PositiveIntegerField(
        _("每分钟请求上限"), default=60, validators=[MinValueValidator(1), MaxValueValidator(MAX_PER_MINUTE)]
    )
    per_day = models.PositiveIntegerField(
        _("每日请求上限"), default=10_000, validators=[MinValueValidator(1), MaxValueValidator(MAX_PER_DAY)]
    )
    valid_until = models.DateField(_("有效期至"), help_text=_("该日（北京时间）结束后不再接受其令牌"))
    status = models.CharField(_("状态"), max_length=20, choices=ClientStatus.choices, default=ClientStatus.ACTIVE)
    note = models.CharField(_("备注"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    secret_issued_at = models.DateTimeField(_("密钥生成时间"), null=True, blank=True, editable=False)

    objects = NationalOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("核验接口客户端")
        verbose_name_plural = _("核验接口客户端")
        ordering: ClassVar[list[str]] = ["name"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=models.Q(per_minute__gte=1), name="verification_client_per_minute"),
            models.CheckConstraint(condition=models.Q(per_day__gte=1), name="verification_client_per_day"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def client_id(self) -> str:
        return self.application.client_id

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])

    def scope_labels(self) -> list[str]:
        labels = dict(ClientScope.choices)
        return [str(labels.get(s, s)) for s in self.scopes or []]

    def expired_on(self, today: dt.date) -> bool:
        return today > self.valid_until

    def refusal(self, today: dt.date) -> str | None:
        """Why the client may not act today ("suspended", "expired"), or None."""
        if self.status != ClientStatus.ACTIVE:
            return "suspended"
        if self.expired_on(today):
            return "expired"
        return None


class ClientCallQuerySet(NationalOnlyQuerySet):
    pass


class ClientCall(models.Model):
    client = models.ForeignKey(VerificationClient, on_delete=models.CASCADE, related_name="calls")
    at = models.DateTimeField(_("时间"))
    day = models.DateField(_("日期"), help_text="the day in Asia/Shanghai, for the usage counts")
    endpoint = models.CharField(_("接口"), max_length=20, choices=Endpoint.choices)
    status_code = models.PositiveSmallIntegerField(_("状态码"))
    subject = models.CharField(_("查询对象"), max_length=40, blank=True)

    objects = ClientCallQuerySet.as_manager()

    class Meta:
        verbose_name = _("核验接口调用")
        verbose_name_plural = _("核验接口调用")
        ordering: ClassVar[list[str]] = ["-at", "-id"]
        indexes: ClassVar[list[models.Index]] = [
            # the usage page: one client's calls by day (then grouped by endpoint and status)
            models.Index(fields=["client", "day"], name="verification_call_client_day"),
        ]

    def __str__(self) -> str:
        return f"{self.client_id} {self.endpoint} {self.status_code}"
