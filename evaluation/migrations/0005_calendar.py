"""The yearly calendar of a round (evaluation/schedule.py): stage deadlines, the 公示 period in working
days, the national office's holidays, lock exceptions; and the daily beat schedule of the calendar task
(close overdue information requests, start evaluations whose cut-off has passed, send reminders)."""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from patent_platform import beat

SCHEDULES = (
    beat.Schedule(
        "certification: calendar",
        "evaluation.calendar_tick",
        "10 0 * * *",
        6 * 3600,
        "每天 0:10：逾期未补充材料的按未补充处理，申报截止后开始专利性评价，发送截止日提醒（每人每个截止日一次）",
    ),
)


class Migration(migrations.Migration):
    dependencies = [
        ("evaluation", "0004_standards"),
        ("filings", "0008_webhook_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Holiday",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("date", models.DateField(unique=True, verbose_name="日期")),
                ("name", models.CharField(max_length=50, verbose_name="名称")),
                (
                    "is_workday",
                    models.BooleanField(default=False, help_text="勾选：该周末日按工作日计算", verbose_name="调休上班"),
                ),
            ],
            options={
                "verbose_name": "节假日",
                "verbose_name_plural": "节假日",
                "ordering": ["date"],
            },
        ),
        migrations.AddField(
            model_name="candidate",
            name="info_extended_to",
            field=models.DateField(blank=True, null=True, verbose_name="准予补充材料至"),
        ),
        migrations.AddField(
            model_name="round",
            name="objections_due",
            field=models.DateField(
                blank=True,
                help_text="公示期内提出的异议，国家局在该日前处理完毕",
                null=True,
                verbose_name="异议处理截止日",
            ),
        ),
        migrations.AddField(
            model_name="round",
            name="publicity_days",
            field=models.PositiveSmallIntegerField(
                default=5,
                validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(30)],
                verbose_name="公示期（工作日）",
            ),
        ),
        migrations.AddField(
            model_name="round",
            name="scoring_due",
            field=models.DateField(blank=True, null=True, verbose_name="专家评分截止日"),
        ),
        migrations.AlterField(
            model_name="round",
            name="deadline",
            field=models.DateField(
                help_text="截至该日（含）已通过审核、且选择参与认定的备案参与本批次；此后不再接受参与认定",
                verbose_name="申报截止日",
            ),
        ),
        migrations.CreateModel(
            name="LockException",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[("cutoff", "申报截止后准予参评"), ("info", "补充材料截止后准予补充")],
                        max_length=10,
                        verbose_name="类型",
                    ),
                ),
                ("until", models.DateField(blank=True, null=True, verbose_name="准予至")),
                ("reason", models.TextField(max_length=2000, verbose_name="理由")),
                ("granted_at", models.DateTimeField(auto_now_add=True, verbose_name="准予时间")),
                (
                    "candidate",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="lock_exceptions",
                        to="evaluation.candidate",
                    ),
                ),
                (
                    "granted_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "round",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="lock_exceptions",
                        to="evaluation.round",
                    ),
                ),
                (
                    "version",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="lock_exceptions",
                        to="filings.productversion",
                        verbose_name="产品",
                    ),
                ),
            ],
            options={
                "verbose_name": "锁定例外",
                "verbose_name_plural": "锁定例外",
                "ordering": ["granted_at", "id"],
            },
        ),
        beat.installer(*SCHEDULES),
    ]
