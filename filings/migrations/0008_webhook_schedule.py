"""The beat schedule of the webhook sender (filings/webhooks.py): every minute, the deliveries that are due
(new ones the broker or a worker left, and the retries after 1 min … 6 h) are sent; a message not started
within 55 seconds expires (the next minute's run does the work). Installed by patent_platform/beat.py
(idempotent and reversible).
"""

from django.db import migrations

from patent_platform import beat

SCHEDULES = (
    beat.Schedule(
        "webhooks: deliver due",
        "filings.deliver_webhooks",
        "* * * * *",
        55,
        "每分钟发送到期的 Webhook 事件（含失败后的重试）：消息队列中断或工作进程退出后补发",
    ),
)


class Migration(migrations.Migration):
    dependencies = [
        ("filings", "0007_webhooks"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [beat.installer(*SCHEDULES)]
