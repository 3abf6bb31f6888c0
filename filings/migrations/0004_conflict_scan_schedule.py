"""The beat schedule of the daily conflict scan (filings/conflicts.py): 04:10 Asia/Shanghai, every patent
shared by more than one unit or with an open conflict is checked again (rights edited in the admin site
get no after-commit check); a message not started within 20 hours expires.

Installed by patent_platform/beat.py (idempotent and reversible).
"""

from django.db import migrations

from patent_platform import beat

SCHEDULES = (
    beat.Schedule(
        "filings: conflict scan",
        "filings.tasks.detect_conflicts",
        "10 4 * * *",
        20 * 3600,
        "每日 04:10 全量检查专利权属与许可冲突",
    ),
)


class Migration(migrations.Migration):
    dependencies = [
        ("filings", "0003_patent_drift"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [beat.installer(*SCHEDULES)]
