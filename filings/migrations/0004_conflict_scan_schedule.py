"""The beat schedule of the daily conflict scan (filings/conflicts.py): 04:10 Asia/Shanghai, every patent
shared by more than one unit or with an open conflict is checked again (rights edited in the admin site
get no after-commit check); a message not started within 20 hours expires.

Idempotent and reversible, like provincial/0004_publication_schedules.
"""

import json

from django.db import migrations
from django.utils import timezone

TZ = "Asia/Shanghai"
SCHEDULES = [
    (
        "filings: conflict scan",
        "filings.tasks.detect_conflicts",
        ("10", "4", "*", "*", "*"),
        20 * 3600,
        "每日 04:10 全量检查专利权属与许可冲突",
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
        ("filings", "0003_patent_drift"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, delete)]
