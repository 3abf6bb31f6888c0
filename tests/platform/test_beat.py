"""Every beat schedule the migrations install (patent_platform/beat.py): each names a registered task, in
Asia/Shanghai, with an expiry shorter than its period; installing twice changes nothing; removing and
installing again gives the same rows."""

import importlib
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django_celery_beat.models import PeriodicTask

from patent_platform import beat
from patent_platform.celery import app

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.embedded


def migration_schedules() -> list[beat.Schedule]:
    found = []
    for path in sorted(ROOT.glob("*/migrations/0*.py")):
        if "beat.installer" in path.read_text(encoding="utf-8"):
            module = importlib.import_module(f"{path.parent.parent.name}.migrations.{path.stem}")
            found += list(module.SCHEDULES)
    return found


def rows() -> list[tuple[str, str, str, int, str]]:
    return sorted(
        (p.name, p.task, str(p.crontab), p.expire_seconds, p.description)
        for p in PeriodicTask.objects.select_related("crontab")
    )


def test_every_schedule_is_installed_once_names_a_task_and_expires_before_its_next_run(db: None) -> None:
    schedules = migration_schedules()
    assert len(schedules) == 13 and len({s.name for s in schedules}) == 13
    app.loader.import_default_modules()
    for schedule in schedules:
        assert schedule.task in app.tasks, schedule
        row = PeriodicTask.objects.get(name=schedule.name)
        assert (row.task, row.expire_seconds, str(row.crontab.timezone)) == (
            schedule.task,
            schedule.expire_seconds,
            beat.TZ,
        )
        minute, hour, day, _month, _ = schedule.crontab.split()
        period = 60 if minute == "*" else 3600 if hour == "*" else 86400 if day == "*" else 28 * 86400
        assert schedule.expire_seconds < period, schedule


def test_installing_is_idempotent_and_reversible(db: None) -> None:
    schedules = tuple(migration_schedules())
    before = rows()
    beat.install(django_apps, schedules)
    assert rows() == before
    beat.uninstall(django_apps, schedules)
    assert not PeriodicTask.objects.filter(name__in=[s.name for s in schedules]).exists()
    beat.install(django_apps, schedules)
    assert rows() == before
