"""The beat schedules of the dashboards' summary cells (provincial/summary.py), Asia/Shanghai.

- drain: every minute, the regions marked dirty by the platform's writes are recomputed (a dashboard read
  drains the dirty regions of its own area as well); a message not started within 50 s expires;
- rebuild: hourly at minute 41, every cell is recomputed from the base tables (writes outside the
  platform are caught there); expires after 50 minutes.

Idempotent and reversible, like 0004_publication_schedules.
"""

import json

from django.db import migrations
from django.utils import timezone

TZ = "Asia/Shanghai"
SCHEDULES = [
    (
        "summary: drain dirty regions",
        "provincial.tasks.drain_summary",
        ("*", "*", "*", "*", "*"),
        50,
        "每分钟重算有变动地区的统计汇总（看板读取时也会先重算本地区）",
    ),
    (
        "summary: rebuild",
        "provincial.tasks.rebuild_summary",
        ("41", "*", "*", "*", "*"),
        50 * 60,
        "每小时全量重算看板统计汇总",
    ),
]


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    for name, task, (minute, hour, day_of_month, month_of_year, day_of_week), expire, description in SCHEDULES:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month_of_year,
            day_of_week=day_of_week,
            timezone=TZ,
        )
        periodic, created = PeriodicTask.objects.get_or_create(
            name=name,
            defaults={
                "task": task,
                "crontab": crontab,
                "expire_seconds": expire,
                "args": json.dumps([]),
                "kwargs": json.dumps({}),
                "description": description,
                "enabled": True,
            },
        )
        if not created:
            periodic.task = task
            periodic.crontab = crontab
            periodic.interval = None
            periodic.solar = None
            periodic.clocked = None
            periodic.expire_seconds = expire
            periodic.expires = None
            periodic.save()
    # the scheduler reloads its schedule when this marker changes
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def delete(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    names = [row[0] for row in SCHEDULES]
    crontab_ids = set(PeriodicTask.objects.filter(name__in=names).values_list("crontab_id", flat=True))
    PeriodicTask.objects.filter(name__in=names).delete()
    CrontabSchedule.objects.filter(pk__in=crontab_ids - {None}, periodictask__isnull=True).delete()
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


class Migration(migrations.Migration):
    dependencies = [
        ("provincial", "0006_dashboard_summary"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, delete)]
