"""The outbox: one row per notice and recipient, written in the transaction of the change that causes it.

A notice is never sent from a request or a task directly. The change writes its rows (patent_platform/
outbox.py `enqueue`); after commit a task is asked to deliver them, and a beat sweep every minute delivers
whatever is due and unsent (the broker was down, the mail server refused, a worker died). The `key` is the
notice's identity per recipient: writing the same notice twice adds nothing, and a row sent is never sent
again by the platform.
"""

from typing import ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class NoticeStatus(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("发送失败")


class Notice(models.Model):
    key = models.CharField(_("幂等键"), max_length=400, unique=True)
    kind = models.CharField(_("通知类型"), max_length=60, db_index=True)
    recipient = models.EmailField(_("收件人"), max_length=254)
    subject = models.CharField(_("主题"), max_length=300)
    # A one-time link (account activation, password reset) is never stored: the body holds the
    # placeholder LINK_PLACEHOLDER and the link is made for `link_user` when the message is sent.
    body = models.TextField(_("正文"))
    link_user = models.ForeignKey(
        "patent_platform.User",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("一次性链接的账号"),
    )
    status = models.CharField(_("状态"), max_length=10, choices=NoticeStatus.choices, default=NoticeStatus.PENDING)
    created_at = models.DateTimeField(_("生成时间"), default=timezone.now)
    due_at = models.DateTimeField(_("下次发送时间"), default=timezone.now)
    attempts = models.PositiveIntegerField(_("已尝试次数"), default=0)
    claim = models.UUIDField(_("发送认领"), null=True, blank=True)
    lease_until = models.DateTimeField(_("认领到期"), null=True, blank=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    last_error = models.TextField(_("最近错误"), blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知（发件箱）")
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["status", "due_at"], name="notice_status_due")]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient}"
