"""The beat schedule of the inactive-accounts task (django-celery-beat's database scheduler): daily at
03:30 Asia/Shanghai; a message not started within 20 hours expires (the next day's run does the work).

Installed by patent_platform/beat.py (idempotent and reversible).
"""

from django.db import migrations

from patent_platform import beat

SCHEDULES = (
    beat.Schedule(
        "accounts: disable inactive",
        "patent_platform.disable_inactive_accounts",
        "30 3 * * *",
        20 * 3600,
        "每日 03:30 停用长期未使用的账号（等保 2.0 三级），并结束其会话、删除其 API 令牌",
    ),
)


class Migration(migrations.Migration):
    dependencies = [
        ("patent_platform", "0005_password_policy"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [beat.installer(*SCHEDULES)]
