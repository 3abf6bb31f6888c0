"""The one installer of beat schedules (django-celery-beat's database scheduler), for the migrations.

A schedule is a row of `PeriodicTask` with a crontab in Asia/Shanghai, a task name, an expiry (a message
not started within `expire_seconds` is dropped: the next run does the work) and a description the admin
site shows. Each app's migration declares its schedules and calls `installer(...)`:

    operations = [beat.installer(beat.Schedule("notices: deliver due", "patent_platform.deliver_notices",
                                               "* * * * *", 55, "每分钟发送…"))]

Installing is idempotent (get_or_create on the name; an existing row is set to the declared schedule) and
reversible (the rows go; a crontab row only when no other task uses it). The scheduler reloads when the
`PeriodicTasks` marker changes. Migrations run this code with the historical models (`apps`), so it must
keep working with every migration that calls it: change it only compatibly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import migrations
from django.utils import timezone

TZ = "Asia/Shanghai"


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    crontab: str  # "minute hour day_of_month month_of_year day_of_week", Asia/Shanghai
    expire_seconds: int
    description: str

    def crontab_fields(self) -> dict[str, str]:
        minute, hour, day_of_month, month_of_year, day_of_week = self.crontab.split()
        return {
            "minute": minute,
            "hour": hour,
            "day_of_month": day_of_month,
            "month_of_year": month_of_year,
            "day_of_week": day_of_week,
        }


def install(apps: Any, schedules: tuple[Schedule, ...]) -> None:
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    for schedule in schedules:
        crontab, _ = CrontabSchedule.objects.get_or_create(timezone=TZ, **schedule.crontab_fields())
        periodic, created = PeriodicTask.objects.get_or_create(
            name=schedule.name,
            defaults={
                "task": schedule.task,
                "crontab": crontab,
                "expire_seconds": schedule.expire_seconds,
                "args": json.dumps([]),
                "kwargs": json.dumps({}),
                "description": schedule.description,
                "enabled": True,
            },
        )
        if not created:
            periodic.task = schedule.task
            periodic.crontab = crontab
            periodic.interval = None
            periodic.solar = None
            periodic.clocked = None
            periodic.expire_seconds = schedule.expire_seconds
            periodic.expires = None
            periodic.save()
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def uninstall(apps: Any, schedules: tuple[Schedule, ...]) -> None:
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    names = [s.name for s in schedules]
    crontab_ids = set(PeriodicTask.objects.filter(name__in=names).values_list("crontab_id", flat=True))
    PeriodicTask.objects.filter(name__in=names).delete()
    CrontabSchedule.objects.filter(pk__in=crontab_ids - {None}, periodictask__isnull=True).delete()
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def installer(*schedules: Schedule) -> migrations.RunPython:
    """The migration operation that installs `schedules` (and removes them when the migration is reversed)."""

    def forwards(apps: Any, schema_editor: Any) -> None:
        install(apps, schedules)

    def backwards(apps: Any, schema_editor: Any) -> None:
        uninstall(apps, schedules)

    return migrations.RunPython(forwards, backwards)
