"""Every notice the platform sends goes through here (docs/OPERATIONS.md, "通知发件箱").

- `enqueue` writes one `Notice` row per recipient inside the caller's transaction: the notice exists
  exactly when the change that causes it does (a rolled-back change leaves none; a committed one always
  has its rows, whatever happens to Redis, the worker or the mail server afterwards). Its `key` (kind,
  source, recipient) makes writing it twice harmless.
- After commit a delivery task is asked for (`deliver_notices`); if the broker is down the request still
  succeeds and the beat sweep (every minute) delivers what is due.
- `deliver` claims due rows with a token and a lease (SKIP LOCKED on PostgreSQL: two deliverers never take
  the same row), sends each message, marks it sent; a failure records the error and sets the next attempt
  (1, 2, 4 … 60 minutes); after MAX_ATTEMPTS the row is `failed` and shown to the system and security
  administrators. A deliverer killed between the mail server's answer and the mark sends that message again
  when its lease runs out: at least once to the mail server, once per recipient and notice as far as the
  platform can tell.

This module is the only place that imports Django's mail functions (tests/platform/test_outbox.py checks).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patent_platform.claims import DB_ERRORS, on_fresh_connection
from patent_platform.models.outbox import Notice, NoticeStatus

if TYPE_CHECKING:
    from patent_platform.models import User

logger = logging.getLogger("patent_platform.outbox")

# Every kind of notice the platform sends, by the module that writes it (the admin's filter shows the label).
KINDS: dict[str, Any] = {
    "filings.transition": _("备案状态变化（退回、通过、撤销、重新提交）"),
    "filings.flag": _("关联专利法律状态变化提示"),
    "filings.member_invitation": _("备案单位成员设置密码"),
    "evaluation.candidate": _("认定轮次通知（补充材料、认定结果）"),
    "evaluation.reminder": _("认定批次截止日提醒（补充材料、专家评分、异议处理）"),
    "evaluation.expert_invitation": _("评审专家设置密码"),
    "provincial.publication": _("月度与年度发布已生成"),
    "provincial.month_reminder": _("提醒管理端口确认月度数据"),
    "provincial.month_reopened": _("国家局重新打开已确认的月度数据"),
    "provincial.national_released": _("全国月度备案数据已发布"),
    "provincial.report_submitted": _("管理端口工作报送"),
    "provincial.report_comment": _("工作报送的意见"),
    "provincial.application_receipt": _("端口开通申请回执"),
    "provincial.application_returned": _("端口开通申请退回"),
    "provincial.application_approved": _("端口开通申请通过"),
    "provincial.port_admin_invitation": _("端口管理员设置密码"),
    "provincial.follow_up_reminder": _("管理端口提醒名单企业备案"),
    "provincial.invitation": _("管理端口邀请名单企业注册备案"),
    "provincial.subscription": _("订阅的统计文件已生成（分析、统计概览）"),
    "accounts.password_reset": _("安全管理员重置密码"),
    "accounts.password_forgotten": _("找回密码（用户自助）"),
    "accounts.recovery_code_used": _("使用了双因素认证恢复码"),
    "accounts.two_factor_reset": _("安全管理员重置双因素认证"),
    "accounts.email_confirmation": _("确认电子邮箱"),
    "accounts.suspended": _("账号因单位认领被停用"),
    "filings.unit_identity": _("备案单位身份核验与认领的结果"),
}

# The page a one-time link opens, per kind (default: the activation page, which logs the user in).
LINK_VIEWS: dict[str, str] = {
    "accounts.password_forgotten": "password_reset_confirm",
    "accounts.email_confirmation": "email_confirm",
}

# Where a one-time link (made for `link_user` when the message is sent, never stored) goes in the body.
LINK_PLACEHOLDER = "{{one_time_link}}"

MAX_ATTEMPTS = 10
LEASE = dt.timedelta(minutes=10)  # longer than a batch of messages can take (EMAIL_TIMEOUT each)
BATCH = 200


def retry_delay(attempts: int) -> dt.timedelta:
    """The wait before attempt `attempts + 1`: 1, 2, 4, 8 … minutes, at most an hour."""
    return dt.timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


def normalise(recipients: Iterable[str | None]) -> list[str]:
    seen: dict[str, None] = {}
    for address in recipients:
        if address and address.strip():
            seen.setdefault(address.strip().lower(), None)
    return sorted(seen)


def link_days() -> int:
    """How many days a one-time link stays valid (Django's PASSWORD_RESET_TIMEOUT), for the notice's text."""
    return max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)


def link_lines(user: User, lead: Any = None) -> list[str]:
    """The lines of a notice that carries a one-time link: how long it holds (`lead`, with `%(days)s`;
    default: set your password), the link (made when the notice is sent) and the account it opens."""
    lead = lead or _("请在 %(days)s 天内打开以下链接设置密码（链接只能使用一次）：")
    return [str(lead % {"days": link_days()}), LINK_PLACEHOLDER, str(_("登录账号：%(email)s") % {"email": user.email})]


def notice_key(kind: str, source: str, recipient: str) -> str:
    return f"{kind}:{source}:{recipient}"


def enqueue(
    kind: str,
    *,
    source: str,
    recipients: Iterable[str | None],
    subject: str,
    body: str,
    link_user: User | None = None,
    kick: bool = True,
) -> list[str]:
    """Write the notice for each recipient in the current transaction (or a transaction of its own);
    returns the recipients. `source` identifies what caused it (e.g. the transition's id): the same kind,
    source and recipient are one notice, written once. A caller writing many notices in a loop passes
    `kick=False` and calls `kick_after_commit()` once after the loop."""
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r}: add it to patent_platform.outbox.KINDS")
    if link_user is not None and LINK_PLACEHOLDER not in body:
        raise ValueError("a notice with a one-time link needs LINK_PLACEHOLDER in its body")
    addresses = normalise(recipients)
    if not addresses:
        return []
    now = timezone.now()
    rows = [
        Notice(
            key=notice_key(kind, source, address),
            kind=kind,
            recipient=address,
            subject=str(subject)[:300],
            body=str(body),
            link_user=link_user,
            created_at=now,
            due_at=now,
        )
        for address in addresses
    ]
    with transaction.atomic():
        Notice.objects.bulk_create(rows, ignore_conflicts=True)
        if kick:
            kick_after_commit()
    return addresses


def _kick() -> None:
    from patent_platform.tasks import deliver_notices

    try:
        deliver_notices.delay()  # the broker unreachable: logged, and the beat sweep delivers
    except Exception:  # in-process (the embedded default): the committed change stands, the notice waits
        logger.exception("notice delivery after commit failed; the rows stay pending for the sweep")


def kick_after_commit() -> None:
    """Ask for a delivery once the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(_kick)


def _claim(limit: int) -> tuple[uuid.UUID, list[int]]:
    token = uuid.uuid4()
    now = timezone.now()
    with transaction.atomic():
        due = (
            Notice.objects.filter(status=NoticeStatus.PENDING, due_at__lte=now)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .order_by("due_at", "pk")
            .select_for_update(skip_locked=True)
        )
        ids = list(due.values_list("pk", flat=True)[:limit])
        if ids:
            Notice.objects.filter(pk__in=ids).update(claim=token, lease_until=now + LEASE)
    return token, ids


def _body(notice: Notice) -> str:
    user = notice.link_user  # None without a query when the notice carries no link
    if user is None:
        return notice.body
    from patent_platform.links import activation_link

    link = activation_link(user, view=LINK_VIEWS.get(notice.kind, "activate"))
    return notice.body.replace(LINK_PLACEHOLDER, link)


def _failed(notice: Notice, token: uuid.UUID, error: str) -> None:
    attempts = notice.attempts + 1
    final = attempts >= MAX_ATTEMPTS
    Notice.objects.filter(pk=notice.pk, claim=token).update(
        attempts=attempts,
        last_error=error[:2000],
        status=NoticeStatus.FAILED if final else NoticeStatus.PENDING,
        due_at=timezone.now() + retry_delay(attempts),
        claim=None,
        lease_until=None,
    )
    log = logger.error if final else logger.warning
    log("notice %s (%s → %s) attempt %s failed: %s", notice.pk, notice.kind, notice.recipient, attempts, error)


def deliver(limit: int = BATCH) -> dict[str, int]:
    """Send the notices that are due; returns counts of sent and failed messages."""
    counts = {"sent": 0, "failed": 0}
    while True:
        token, ids = _claim(limit)
        if not ids:
            return counts
        _send_claimed(token, ids, counts)
        if len(ids) < limit:
            return counts


def _send_claimed(token: uuid.UUID, ids: list[int], counts: dict[str, int]) -> None:
    notices = list(Notice.objects.filter(pk__in=ids, claim=token).select_related("link_user").order_by("pk"))
    try:
        connection = get_connection(fail_silently=False)
        connection.open()
    except Exception as exc:  # the mail server is unreachable: every claimed notice waits for its next turn
        for notice in notices:
            _failed(notice, token, f"{type(exc).__name__}: {exc}")
        counts["failed"] += len(notices)
        return
    try:
        for notice in notices:
            if notice.link_user is not None and not notice.link_user.is_active:
                _failed_for_good(notice, token, "账号已停用，未发送一次性链接 / account disabled: link not sent")
                counts["failed"] += 1
                continue
            message = EmailMessage(
                notice.subject, _body(notice), settings.DEFAULT_FROM_EMAIL, [notice.recipient], connection=connection
            )
            try:
                message.send()
            except Exception as exc:
                _failed(notice, token, f"{type(exc).__name__}: {exc}")
                counts["failed"] += 1
                continue
            # sent: mark it on a new database connection if this one was lost meanwhile (else the lease
            # runs out and the message goes again)
            on_fresh_connection(partial(_mark_sent, notice.pk, token))
            counts["sent"] += 1
    finally:
        try:
            connection.close()
        except Exception:  # closing a broken SMTP session
            logger.warning("closing the mail connection failed", exc_info=True)
        _release(token, ids)


def _mark_sent(pk: int, token: uuid.UUID) -> int:
    return Notice.objects.filter(pk=pk, claim=token).update(
        status=NoticeStatus.SENT,
        sent_at=timezone.now(),
        attempts=F("attempts") + 1,
        last_error="",
        claim=None,
        lease_until=None,
    )


def _release(token: uuid.UUID, ids: list[int]) -> None:
    """A delivery never ends holding a claim: what it did not get to (an error part-way) is due again at once."""
    try:
        on_fresh_connection(lambda: Notice.objects.filter(pk__in=ids, claim=token).update(claim=None, lease_until=None))
    except DB_ERRORS:  # the database still unreachable: the lease frees the rows
        logger.warning("could not release the claim of notices %s; their lease frees them", ids[:20])


def _failed_for_good(notice: Notice, token: uuid.UUID, error: str) -> None:
    Notice.objects.filter(pk=notice.pk, claim=token).update(
        attempts=F("attempts") + 1, last_error=error, status=NoticeStatus.FAILED, claim=None, lease_until=None
    )


def retry(ids: Iterable[int]) -> int:
    """Put failed (or waiting) notices back in the queue now (the administrators' "重新发送")."""
    with transaction.atomic():
        count = Notice.objects.filter(pk__in=list(ids), status__in=[NoticeStatus.FAILED, NoticeStatus.PENDING]).update(
            status=NoticeStatus.PENDING, due_at=timezone.now(), attempts=0, claim=None, lease_until=None
        )
        if count:
            kick_after_commit()
    return count


def overview() -> dict[str, int]:
    """How many notices wait, have failed, and were sent in the last day (the operators' figures)."""
    now = timezone.now()
    pending = Notice.objects.filter(status=NoticeStatus.PENDING)
    return {
        "pending": pending.count(),
        "overdue": pending.filter(due_at__lt=now - dt.timedelta(minutes=5)).count(),
        "failed": Notice.objects.filter(status=NoticeStatus.FAILED).count(),
        "sent_24h": Notice.objects.filter(status=NoticeStatus.SENT, sent_at__gte=now - dt.timedelta(days=1)).count(),
    }
