"""The beat schedule of the outbox sweep (patent_platform/outbox.py): every minute, the notices that are due
and unsent are delivered; a message not started within 55 seconds expires (the next minute's run does the
work). Installed by patent_platform/beat.py (idempotent and reversible).
"""

from django.db import migrations

from patent_platform import beat

SCHEDULES = (
    beat.Schedule(
        "notices: deliver due",
        "patent_platform.deliver_notices",
        "* * * * *",
        55,
        "每分钟发送到期未发出的通知（发件箱）：消息队列或邮件服务器中断后补发",
    ),
)


class Migration(migrations.Migration):
    dependencies = [
        ("patent_platform", "0008_outbox"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [beat.installer(*SCHEDULES)]
