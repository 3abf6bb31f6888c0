"""Months signed off, two clicks at once (docs/ONE_TRUTH.md §5, the helpers of tests/platform/test_parallel_actions.py):
sign-off, problem note, reopen, remind and release, each POSTed by two sessions at the same moment on PostgreSQL.
One wins; the other is told another action came first (409); nothing answers 500; the state change, its audit
record and its notices are written once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from patent_platform.choices import AuditAction
from patent_platform.clock import previous_month
from patent_platform.models import AuditEvent, Notice, User
from provincial.choices import SignoffState
from provincial.models import NATIONAL_SCOPE, MonthSignoff, Publication
from tests.platform.test_parallel_actions import Written, one_won_on_pages, page, race_pages
from tests.provincial.test_publication_views import make_publication

MONTH = previous_month()
GD, SZ, ZJ = "440000", "440300", "330000"


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.mark.postgres
def test_month_sign_off_actions_twice_at_once_on_postgres(
    transactional_db: None, demo: None, demo_users: dict[str, User]
) -> None:
    pubs = {code: make_publication(code) for code in (GD, SZ, ZJ, NATIONAL_SCOPE)}
    month = f"{MONTH:%Y-%m}"
    national = [page(demo_users["national"]), page(demo_users["national"])]

    # the port signs from two windows
    written = Written()
    shenzhen = [page(demo_users["shenzhen"]), page(demo_users["shenzhen"])]
    answers = race_pages(reverse("port:month_sign", args=[month]), shenzhen, {"port": SZ, "edition": "1"})
    one_won_on_pages(answers)
    row = MonthSignoff.objects.get(unit__code=SZ, period=MONTH)
    assert row.state == SignoffState.SIGNED and written.events(row) == 1

    # a problem noted twice at once
    written = Written()
    zhejiang = [page(demo_users["zhejiang"]), page(demo_users["zhejiang"])]
    data = {"port": ZJ, "edition": "1", "note": "杭州市数据少计 1 件。"}
    one_won_on_pages(race_pages(reverse("port:month_problem", args=[month]), zhejiang, data))
    row = MonthSignoff.objects.get(unit__code=ZJ, period=MONTH)
    assert row.state == SignoffState.PROBLEM and written.events(row) == 1

    # the national office reopens 深圳 from two windows
    written = Written()
    url = reverse("national:month_reopen", args=[month, SZ])
    one_won_on_pages(race_pages(url, national, {"reason": "审核时间更正"}))
    row = MonthSignoff.objects.get(unit__code=SZ, period=MONTH)
    assert row.state == SignoffState.OPEN and row.reopen_count == 1 and written.events(row) == 1
    assert Notice.objects.filter(kind="provincial.month_reopened").count() == 1
    written.notices_once()

    # remind: one reminder per port
    written = Written()
    one_won_on_pages(race_pages(reverse("national:months_remind"), national, {"period": month}))
    reminders = Notice.objects.filter(kind="provincial.month_reminder")
    assert sorted(reminders.values_list("recipient", flat=True)) == ["guangdong@example.cn", "shenzhen@example.cn"]
    assert AuditEvent.objects.filter(message="month sign-off reminder", action=AuditAction.UPDATE).count() == 2
    written.notices_once()

    # release: once
    written = Written()
    data = {"period": month, "edition": "1"}
    one_won_on_pages(race_pages(reverse("national:months_release"), national, data))
    released = Publication.objects.get(pk=pubs[NATIONAL_SCOPE].pk)
    assert released.is_released and written.events(released) == 1
    written.notices_once()
