"""The beat schedules of the dashboards" summary cells (provincial/summary.py), Asia/Shanghai.

- drain: every minute, the regions marked dirty by the platform's writes are recomputed (a dashboard read
  drains the dirty regions of its own area as well); a message not started within 50 s expires;
- rebuild: hourly at minute 41, every cell is recomputed from the base tables (writes outside the
  platform are caught there); expires after 50 minutes.

Installed by patent_platform/beat.py (idempotent and reversible).
"""

from django.db import migrations

from patent_platform import beat

SCHEDULES = (
    beat.Schedule(
        "summary: drain dirty regions",
        "provincial.tasks.drain_summary",
        "* * * * *",
        50,
        "每分钟重算有变动地区的统计汇总（看板读取时也会先重算本地区）",
    ),
    beat.Schedule(
        "summary: rebuild",
        "provincial.tasks.rebuild_summary",
        "41 * * * *",
        50 * 60,
        "每小时全量重算看板统计汇总",
    ),
)


class Migration(migrations.Migration):
    dependencies = [
        ("provincial", "0006_dashboard_summary"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [beat.installer(*SCHEDULES)]
