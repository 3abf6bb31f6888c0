"""The beat schedule of the inactive-accounts task (django-celery-beat's database scheduler): daily at
03:30 Asia/Shanghai; a message not started within 20 hours expires (the next day's run does the work).

Idempotent (get_or_create on the task name, an existing row updated to the schedule) and reversible (the
row is deleted; its crontab row only when no other task uses it).
"""

import json

from django.db import migrations
from django.utils import timezone

TZ = "Asia/Shanghai"
NAME = "accounts: disable inactive"
TASK = "patent_platform.disable_inactive_accounts"
CRONTAB = {"minute": "30", "hour": "3", "day_of_month": "*", "month_of_year": "*", "day_of_week": "*"}
EXPIRE_SECONDS = 20 * 3600
DESCRIPTION = "每日 03:30 停用长期未使用的账号（等保 2.0 三级），并结束其会话、删除其 API 令牌"


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    crontab, _ = CrontabSchedule.objects.get_or_create(timezone=TZ, **CRONTAB)
    periodic, created = PeriodicTask.objects.get_or_create(
        name=NAME,
        defaults={
            "task": TASK,
            "crontab": crontab,
            "expire_seconds": EXPIRE_SECONDS,
            "args": json.dumps([]),
            "kwargs": json.dumps({}),
            "description": DESCRIPTION,
            "enabled": True,
        },
    )
    if not created:
        periodic.task = TASK
        periodic.crontab = crontab
        periodic.interval = None
        periodic.solar = None
        periodic.clocked = None
        periodic.expire_seconds = EXPIRE_SECONDS
        periodic.expires = None
        periodic.save()
    # the scheduler reloads its schedule when this marker changes
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def delete(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    crontab_ids = set(PeriodicTask.objects.filter(name=NAME).values_list("crontab_id", flat=True))
    PeriodicTask.objects.filter(name=NAME).delete()
    CrontabSchedule.objects.filter(pk__in=crontab_ids - {None}, periodictask__isnull=True).delete()
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


class Migration(migrations.Migration):
    dependencies = [
        ("patent_platform", "0005_password_policy"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, delete)]
