"""The beat schedule of the outbox sweep (django-celery-beat's database scheduler): every minute; a message
not started within 55 seconds expires (the next minute's run does the work).

Idempotent (get_or_create on the task name) and reversible (the row is deleted; its interval row only
when no other task uses it).
"""

import json

from django.db import migrations
from django.utils import timezone

NAME = "notices: deliver due"
TASK = "patent_platform.deliver_notices"
EXPIRE_SECONDS = 55
DESCRIPTION = "每分钟发送到期未发出的通知（发件箱）：消息队列或邮件服务器中断后补发"


def create(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    interval, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    periodic, created = PeriodicTask.objects.get_or_create(
        name=NAME,
        defaults={
            "task": TASK,
            "interval": interval,
            "expire_seconds": EXPIRE_SECONDS,
            "args": json.dumps([]),
            "kwargs": json.dumps({}),
            "description": DESCRIPTION,
            "enabled": True,
        },
    )
    if not created:
        periodic.task = TASK
        periodic.interval = interval
        periodic.crontab = None
        periodic.solar = None
        periodic.clocked = None
        periodic.expire_seconds = EXPIRE_SECONDS
        periodic.expires = None
        periodic.save()
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def delete(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    interval_ids = set(PeriodicTask.objects.filter(name=NAME).values_list("interval_id", flat=True))
    PeriodicTask.objects.filter(name=NAME).delete()
    IntervalSchedule.objects.filter(pk__in=interval_ids - {None}, periodictask__isnull=True).delete()
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


class Migration(migrations.Migration):
    dependencies = [
        ("patent_platform", "0008_outbox"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, delete)]
