"""Each verification client's quota: requests per minute and per day, set by the national office.

Counted like every other rate limit of the platform (patent_platform/ratelimit.py): fixed windows in Django's
cache, Redis in production and CI, so every gunicorn worker and every web server shares one count, created with
`cache.add` and counted with the atomic `cache.incr` (`ratelimit.increment`). The minute is a clock minute; the
day is the calendar day in Beijing (Asia/Shanghai), so "per day" means what the office reads on its usage page.
Every call that reaches the quota counts, refused ones included. Over either limit: 429 with Retry-After, the
seconds until the window that was exceeded ends (the longer wait when both were).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from patent_platform import clock, ratelimit
from verification.models import VerificationClient

KEY_PREFIX = "ratelimit:verify"


@dataclass(frozen=True)
class OverQuota:
    retry_after: int
    message: str


def _seconds_to_china_midnight(now: dt.datetime) -> int:
    local = timezone.localtime(now, clock.CHINA_TZ)
    midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), tzinfo=clock.CHINA_TZ)
    return max(1, math.ceil((midnight - local).total_seconds()))


def count_call(client: VerificationClient) -> OverQuota | None:
    """Count one call of `client`; an OverQuota when that goes over its per-minute or per-day limit."""
    moment = ratelimit.now()
    minute = int(moment // 60)
    now = dt.datetime.fromtimestamp(moment, tz=dt.UTC)
    day = timezone.localtime(now, clock.CHINA_TZ).date()
    in_minute = ratelimit.increment(f"{KEY_PREFIX}:m:{client.pk}:{minute}", timeout=61)
    in_day = ratelimit.increment(f"{KEY_PREFIX}:d:{client.pk}:{day.isoformat()}", timeout=2 * 86400)
    waits = []
    if in_minute > client.per_minute:
        waits.append(max(1, math.ceil((minute + 1) * 60 - moment)))
    if in_day > client.per_day:
        waits.append(_seconds_to_china_midnight(now))
    if not waits:
        return None
    wait = max(waits)
    if in_day > client.per_day:
        message = _("已超过该客户端每日 %(n)s 次的调用上限，请在 %(s)s 秒后（北京时间次日）重试。") % {
            "n": client.per_day,
            "s": wait,
        }
    else:
        message = _("已超过该客户端每分钟 %(n)s 次的调用上限，请在 %(s)s 秒后重试。") % {
            "n": client.per_minute,
            "s": wait,
        }
    return OverQuota(retry_after=wait, message=message)
