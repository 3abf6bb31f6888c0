"""The quota of a verification client holds across processes: two gunicorn workers (here: two forked processes)
counting the same client's calls in Redis let exactly `per_minute` of them through, never more."""

from __future__ import annotations

import multiprocessing
from types import SimpleNamespace

import pytest

from patent_platform import ratelimit
from verification import quota

MID_MINUTE = 1_800_000_030.0  # a fixed clock, half-way through a minute: no window ends during the test


def _burst(args: tuple[int, int, int]) -> int:
    """In a child process: `calls` calls of the client; how many were let through."""
    pk, per_minute, calls = args
    ratelimit.now = lambda: MID_MINUTE  # type: ignore[assignment]  # this process only
    client = SimpleNamespace(pk=pk, per_minute=per_minute, per_day=10**6)
    return sum(quota.count_call(client) is None for _ in range(calls))  # type: ignore[arg-type]


@pytest.mark.redis
def test_two_processes_share_one_quota_in_redis() -> None:
    context = multiprocessing.get_context("fork")
    with context.Pool(2) as pool:
        allowed = pool.map(_burst, [(987_654, 300, 250), (987_654, 300, 250)])
    assert sum(allowed) == 300  # of 500 calls: exactly the quota, however the two interleaved
    assert all(n > 0 for n in allowed)


@pytest.mark.embedded
def test_the_minute_and_the_day_each_refuse_with_their_own_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """On any cache (the local one of the embedded default too): the minute's wait ends with the minute, the
    day's at Beijing midnight, and a new minute lets the client through again while the day still allows."""
    now = [MID_MINUTE]
    monkeypatch.setattr(ratelimit, "now", lambda: now[0])
    client = SimpleNamespace(pk=4242, per_minute=2, per_day=3)
    assert quota.count_call(client) is None  # type: ignore[arg-type]
    assert quota.count_call(client) is None  # type: ignore[arg-type]
    over = quota.count_call(client)  # type: ignore[arg-type]
    assert over is not None and over.retry_after == 30 and "每分钟 2 次" in over.message
    now[0] += 60  # the next minute: the day has had 3 calls, the 4th is over the day's 3
    over = quota.count_call(client)  # type: ignore[arg-type]
    # 1_800_000_090 is 2027-01-15 08:01:30 UTC = 16:01:30 in Beijing: 7 h 58 min 30 s to Beijing midnight
    assert over is not None and over.retry_after == 28_710 and "每日 3 次" in over.message
