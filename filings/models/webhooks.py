"""Webhooks of a filing unit (issue 24, "told, not polled"): the endpoints a unit registers and the log of
deliveries to them. The rules (who may register, verification, signing, retries) live in filings/webhooks.py.

Only the users of the unit see its endpoints and deliveries: an endpoint's URL and secret are the unit's
own integration, not filing data, so reviewers, ports and national administrators (who see the unit's
filings) do not see them — for them the rows are absent, as out of scope is everywhere (404).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, ClassVar, Self

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from patent_platform.choices import Role
from patent_platform.roles import has_role
from patent_platform.scoping import ScopedQuerySet

if TYPE_CHECKING:
    from patent_platform.scoping import Reader

# The event types an endpoint may subscribe to (`webhook.verification` is sent to every endpoint when it is
# verified, and cannot be chosen).
EVENT_TYPES: dict[str, Any] = {
    "filing.returned": _("备案被退回修改"),
    "filing.approved": _("备案通过"),
    "filing.revoked": _("备案被撤销"),
    "filing.flagged": _("关联专利法律状态变化提示"),
    "product.certified": _("产品被认定为专利密集型产品"),
}
VERIFICATION_EVENT = "webhook.verification"


def all_event_types() -> list[str]:
    return list(EVENT_TYPES)


class WebhookEndpointStatus(models.TextChoices):
    PENDING = "pending", _("待验证")
    ACTIVE = "active", _("已启用")
    DISABLED = "disabled", _("已停用")


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", _("待发送")
    DELIVERED = "delivered", _("已送达")
    RETRYING = "retrying", _("失败，将重试")
    DEAD = "dead", _("已放弃")


class UnitMembersOnlyQuerySet(ScopedQuerySet):
    """Rows of a filing unit that only the unit's own (enterprise) users see; every other role sees none."""

    def visible_to(self, user: Reader) -> Self:
        if not has_role(user, Role.ENTERPRISE):
            return self.none()
        return super().visible_to(user)


class WebhookEndpointQuerySet(UnitMembersOnlyQuerySet):
    unit_field = "unit_id"


class WebhookEndpoint(models.Model):
    unit = models.ForeignKey(
        "filings.FilingUnit", on_delete=models.CASCADE, related_name="webhook_endpoints", verbose_name=_("备案单位")
    )
    url = models.URLField(_("接收地址"), max_length=500)
    # `whsec_` + base64 of 32 random bytes (Standard Webhooks); the HMAC key is the decoded bytes. Stored as
    # is: the platform must compute the signature, so it cannot keep only a hash.
    secret = models.CharField(_("签名密钥"), max_length=100, editable=False)
    events = models.JSONField(_("订阅的事件"), default=all_event_types)
    status = models.CharField(
        _("状态"), max_length=20, choices=WebhookEndpointStatus.choices, default=WebhookEndpointStatus.PENDING
    )
    verified_at = models.DateTimeField(_("验证时间"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("创建人")
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = WebhookEndpointQuerySet.as_manager()

    class Meta:
        verbose_name = _("Webhook 接收地址")
        verbose_name_plural = _("Webhook 接收地址")
        ordering: ClassVar[list[str]] = ["created_at", "id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["unit", "url"], name="webhook_endpoint_url_once_per_unit"),
        ]

    def __str__(self) -> str:
        return self.url

    def subscribes_to(self, event_type: str) -> bool:
        return event_type == VERIFICATION_EVENT or event_type in (self.events or [])


class WebhookDeliveryQuerySet(UnitMembersOnlyQuerySet):
    unit_field = "endpoint__unit_id"


class WebhookDelivery(models.Model):
    """One event for one endpoint, with its attempts. A retry and a replay send the same event again: the
    same `event_id` (the `webhook-id` header, so the receiver can drop duplicates) and the same body."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField(_("事件标识"), default=uuid.uuid4, editable=False)
    event_type = models.CharField(_("事件类型"), max_length=40)
    payload = models.JSONField(_("内容"))  # the whole body: {"type", "timestamp", "data"}
    status = models.CharField(
        _("状态"), max_length=20, choices=WebhookDeliveryStatus.choices, default=WebhookDeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试时间"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("最近响应状态码"), null=True, blank=True)
    last_error = models.CharField(_("最近错误"), max_length=300, blank=True)
    last_attempt_at = models.DateTimeField(_("最近尝试时间"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("送达时间"), null=True, blank=True)
    replayed_at = models.DateTimeField(_("最近重发时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    # The sender's claim (filings/webhooks.py `_claim`): a token and a lease, so two workers never send one
    # delivery at the same time; a worker killed mid-send leaves the lease to run out.
    claim = models.UUIDField(null=True, blank=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)

    objects = WebhookDeliveryQuerySet.as_manager()

    class Meta:
        verbose_name = _("Webhook 投递")
        verbose_name_plural = _("Webhook 投递")
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_event_once_per_endpoint"),
        ]
        indexes: ClassVar[list[models.Index]] = [
            # the sender's sweep: deliveries waiting to be sent, by due time
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status__in=["pending", "retrying"]),
                name="webhook_delivery_due",
            ),
            # the delivery log of an endpoint, newest first
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} → {self.endpoint_id}"
