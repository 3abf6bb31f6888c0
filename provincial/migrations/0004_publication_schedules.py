"""The beat schedules of the publications (django-celery-beat's database scheduler), Asia/Shanghai.

- monthly: the 1st of each month at 01:00, last month's publications; a message not started within
  20 days expires (shorter than the month, so a backlog never runs twice in one period);
- sweep: hourly at minute 17, what the scheduled runs missed; expires after 50 minutes;
- year-end: 2 January at 02:00, the previous year's evaluation; expires after 20 days.

Idempotent (get_or_create on the task names, existing rows updated to the schedule) and reversible
(the rows are deleted; a crontab row is deleted only when no other task uses it).
"""

import json

from django.db import migrations
from django.utils import timezone

TZ = "Asia/Shanghai"
SCHEDULES = [
    # name, task, crontab (minute, hour, day_of_month, month_of_year, day_of_week), expire_seconds, description
    (
        "publications: monthly",
        "provincial.tasks.monthly_publications",
        ("0", "1", "1", "*", "*"),
        20 * 24 * 3600,
        "每月 1 日 01:00 生成上月各端口及全国的月度备案数据",
    ),
    (
        "publications: hourly sweep",
        "provincial.tasks.sweep_publications",
        ("17", "*", "*", "*", "*"),
        50 * 60,
        "每小时补生成遗漏、失败或中断的数据发布",
    ),
    (
        "publications: year-end evaluation",
        "provincial.tasks.yearend_publications",
        ("0", "2", "2", "1", "*"),
        20 * 24 * 3600,
        "每年 1 月 2 日 02:00 生成上一年度各端口成效评价",
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
        ("provincial", "0003_publications"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, delete)]
