"""The API's idempotency keys (patent_platform/api/idempotency.py) and the hourly purge of those older than
IDEMPOTENCY_KEY_HOURS (24 h), installed by patent_platform/beat.py (idempotent and reversible).
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from patent_platform import beat

SCHEDULES = (
    beat.Schedule(
        "idempotency: purge old keys",
        "patent_platform.purge_idempotency_keys",
        "23 * * * *",
        3300,
        "每小时删除超过保留期（IDEMPOTENCY_KEY_HOURS，默认 24 小时）的 API 幂等键",
    ),
)


class Migration(migrations.Migration):
    dependencies = [
        ("patent_platform", "0009_outbox_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.CreateModel(
            name="IdempotencyKey",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=255, verbose_name="幂等键")),
                ("fingerprint", models.CharField(max_length=64, verbose_name="请求指纹")),
                ("path", models.TextField(verbose_name="请求路径")),
                (
                    "state",
                    models.CharField(
                        choices=[("in_progress", "处理中"), ("done", "已完成")],
                        default="in_progress",
                        max_length=12,
                        verbose_name="状态",
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="首次使用时间")),
                ("started_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="处理开始时间")),
                ("finished_at", models.DateTimeField(blank=True, null=True, verbose_name="完成时间")),
                ("response_status", models.PositiveSmallIntegerField(blank=True, null=True, verbose_name="响应状态码")),
                ("response_content_type", models.CharField(blank=True, max_length=255, verbose_name="响应媒体类型")),
                ("response_location", models.TextField(blank=True, verbose_name="响应 Location")),
                ("response_body", models.BinaryField(blank=True, default=b"", verbose_name="响应正文")),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="账号",
                    ),
                ),
            ],
            options={
                "verbose_name": "幂等键",
                "verbose_name_plural": "幂等键",
                "indexes": [models.Index(fields=["created_at"], name="idempotency_created")],
                "constraints": [models.UniqueConstraint(fields=("user", "key"), name="idempotency_user_key")],
            },
        ),
        beat.installer(*SCHEDULES),
    ]
