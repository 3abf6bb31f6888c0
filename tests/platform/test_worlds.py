"""The test worlds follow the China date (tests/worlds.py): the demo is built with dates relative to the day
it was loaded (its round closes candidacy that day), so a run that crosses midnight in China builds it again
instead of giving later tests yesterday's world against today's clock (a CI run at 16:00 UTC failed so)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from evaluation.models import Round
from patent_platform.clock import china_today
from tests import conftest, worlds


def test_a_demo_built_yesterday_is_built_again_before_the_next_test_that_asks_for_it(
    transactional_db: None, demo_world: None, request: pytest.FixtureRequest
) -> None:
    worlds._snapshots["demo"].day = china_today() - dt.timedelta(days=1)
    assert worlds.demo_is_stale()
    conftest._rebuild_a_stale_demo(SimpleNamespace(fixturenames=["demo"], config=request.config))  # type: ignore[arg-type]
    assert worlds._snapshots["demo"].day == china_today()
    assert not worlds.demo_is_stale()
    worlds.ensure_demo()
    assert Round.objects.get().deadline == china_today()
