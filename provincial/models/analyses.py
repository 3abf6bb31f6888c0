"""Saved analyses (pivots) of their owners, and the subscriptions that deliver them (or a dashboard) by mail."""

from typing import TYPE_CHECKING, ClassVar, Self

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from patent_platform.scoping import ScopedQuerySet, authenticated_reader
from provincial.choices import (
    DeliveryStatus,
    SubscriptionFormat,
    SubscriptionFrequency,
    SubscriptionKind,
)
from provincial.models.ports import ManagementUnit, PortMembership

if TYPE_CHECKING:
    from patent_platform.scoping import Reader


class OwnedQuerySet(ScopedQuerySet):
    """Rows a person keeps for themselves (subscriptions and their deliveries): visible to their owner only,
    whatever the owner's role or area — the national office included."""

    owner_field = "owner_id"

    def visible_to(self, user: "Reader") -> Self:
        reader = authenticated_reader(user)
        if reader is None or reader.pk is None:
            return self.none()
        return self.filter(**{self.owner_field: reader.pk})


class SavedAnalysisQuerySet(OwnedQuerySet):
    """A saved analysis: its owner's, and the shared ones of the owner's port (the national office: those
    shared by national administrators, which belong to no port)."""

    def visible_to(self, user: "Reader") -> Self:
        from patent_platform.choices import Role

        reader = authenticated_reader(user)
        if reader is None or reader.pk is None:
            return self.none()
        membership = PortMembership.objects.filter(user_id=reader.pk).values_list("unit_id", flat=True).first()
        if membership is not None:
            shared = models.Q(shared=True, unit_id=membership)
        elif reader.role == Role.NATIONAL_ADMIN:
            shared = models.Q(shared=True, unit__isnull=True, owner__role=Role.NATIONAL_ADMIN)
        else:
            shared = models.Q(pk__in=[])
        return self.filter(models.Q(owner_id=reader.pk) | shared)


class SubscriptionQuerySet(OwnedQuerySet):
    pass


class SubscriptionDeliveryQuerySet(OwnedQuerySet):
    owner_field = "subscription__owner_id"


class SavedAnalysis(models.Model):
    """A pivot of the analysis page (provincial/analysis/) saved by a port or national administrator: its
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
