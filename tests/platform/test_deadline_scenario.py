"""The deadline-day load scenario (bench/deadline.py, bench/locust_deadline.py; issue 21, part 5) runs whole on
the demo: locust signs enterprises and a port in through the login page, saves a draft's form as a browser
sends it, submits drafts on the page and on the API, searches, opens product pages and verifies, against
gunicorn + PostgreSQL + Redis + a Celery worker — and not one request fails. (The figures are the bench's;
this test keeps the scenario itself working as the pages change.)"""

from __future__ import annotations

import os

import pytest
from django.conf import settings

from bench import deadline
from filings.choices import FilingStatus
from filings.models import ProductVersion
from patent_platform.models import User

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]


def test_the_deadline_scenario_runs_on_the_demo_without_one_failed_request(
    transactional_db: None, demo: None, demo_users: dict[str, User]
) -> None:
    drafts = set(ProductVersion.objects.filter(status=FilingStatus.DRAFT).values_list("pk", flat=True))
    assert drafts, "the demo holds no draft to submit"
    database = settings.DATABASES["default"]
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    logged: list[str] = []
    # one gunicorn worker and a think time: the scenario is checked, not measured, and the tests beside it
    # (another pytest-xdist process: a worker's retry timed to the minute) keep a core
    measured = deadline.deadline_day(
        url, os.environ["REDIS_URL"], users=10, seconds=10, workers=1, log=logged.append, wait=1.0
    )
    kinds = {row["name"]: row for row in measured["mixed"]}
    report = "\n".join(logged) + "\n" + deadline.table(measured["mixed"])
    assert {"log in", "search: a word", "product page", "enterprise: edit form", "API: product list"} <= set(kinds)
    failed = {name: row["failures"] for name, row in kinds.items() if row["failures"]}
    assert not failed, report
    assert kinds["Aggregated"]["requests"] > 30
    assert next(r for r in measured["bare"] if r["name"] == "Aggregated")["requests"] > 30
    submitted = ProductVersion.objects.filter(pk__in=drafts).exclude(status=FilingStatus.DRAFT).count()
    if "enterprise: submit" in kinds or "API: submit" in kinds:
        assert submitted >= 1  # a submission that answered as expected moved its draft on
