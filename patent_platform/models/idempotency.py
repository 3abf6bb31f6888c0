"""The `Idempotency-Key` of the API's POSTs (patent_platform/api/idempotency.py): one row per user and key.

The first request with a key writes its row "in progress" (committed before its view runs); when the view
has answered, the answer (status, body, content type, Location) is stored and the row is "done", so that a
retry with the same key gets that answer again instead of doing the work twice. Rows are kept
IDEMPOTENCY_KEY_HOURS (24 h) after the key's first use, then purged (`patent_platform.purge_idempotency_keys`).
"""

from typing import ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class IdempotencyState(models.TextChoices):
    IN_PROGRESS = "in_progress", _("处理中")
    DONE = "done", _("已完成")


class IdempotencyKey(models.Model):
    user = models.ForeignKey("patent_platform.User", on_delete=models.CASCADE, related_name="+", verbose_name=_("账号"))
    key = models.CharField(_("幂等键"), max_length=255)
    # SHA-256 of the method, the path with its query string and the SHA-256 of the body
    fingerprint = models.CharField(_("请求指纹"), max_length=64)
    path = models.TextField(_("请求路径"))
    state = models.CharField(
        _("状态"), max_length=12, choices=IdempotencyState.choices, default=IdempotencyState.IN_PROGRESS
    )
    created_at = models.DateTimeField(_("首次使用时间"), default=timezone.now)
    # when the request that holds the row began: one still "in progress" after IDEMPOTENCY_LEASE_SECONDS was
    # abandoned (its process died) and the next retry takes it over
    started_at = models.DateTimeField(_("处理开始时间"), default=timezone.now)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(_("响应状态码"), null=True, blank=True)
    response_content_type = models.CharField(_("响应媒体类型"), max_length=255, blank=True)
    response_location = models.TextField(_("响应 Location"), blank=True)
    response_body = models.BinaryField(_("响应正文"), default=b"", blank=True)

    class Meta:
        verbose_name = _("幂等键")
        verbose_name_plural = _("幂等键")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key")
        ]
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.key}"
