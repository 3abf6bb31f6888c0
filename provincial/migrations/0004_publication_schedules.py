"""The beat schedules of the publications (django-celery-beat's database scheduler), Asia/Shanghai.

- monthly: the 1st of each month at 01:00, last month's publications; a message not started within
  20 days expires (shorter than the month, so a backlog never runs twice in one period);
- sweep: hourly at minute 17, what the scheduled runs missed; expires after 50 minutes;
- year-end: 2 January at 02:00, the previous year's evaluation; expires after 20 days.

Installed by patent_platform/beat.py (idempotent and reversible).
"""

from django.db import migrations

from patent_platform import beat

SCHEDULES = (
    beat.Schedule(
        "publications: monthly",
        "provincial.tasks.monthly_publications",
        "0 1 1 * *",
        20 * 24 * 3600,
        "每月 1 日 01:00 生成上月各端口及全国的月度备案数据",
    ),
    beat.Schedule(
        "publications: hourly sweep",
        "provincial.tasks.sweep_publications",
        "17 * * * *",
        50 * 60,
        "每小时补生成遗漏、失败或中断的数据发布",
    ),
    beat.Schedule(
        "publications: year-end evaluation",
        "provincial.tasks.yearend_publications",
        "0 2 2 1 *",
        20 * 24 * 3600,
        "每年 1 月 2 日 02:00 生成上一年度各端口成效评价",
    ),
)


class Migration(migrations.Migration):
    dependencies = [
        ("provincial", "0003_publications"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [beat.installer(*SCHEDULES)]
