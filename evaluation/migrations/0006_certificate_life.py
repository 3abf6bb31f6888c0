"""The certificate's life (evaluation/lifecycle.py): a validity period per round, a status and a history per
certificate, and the daily re-check on the beat schedule (patent_platform/beat.py).

Certificates issued before this migration get the validity of their round (36 months from the day their
final list was published), the status valid, and an "issued" event; one whose filing was already revoked
or withdrawn is recorded as revoked on that ground at the time its approval ended.
"""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from patent_platform import beat

SCHEDULES = (
    beat.Schedule(
        "certificates: daily re-check",
        "evaluation.recheck_certificates",
        "20 0 * * *",
        3600,
        "每天 0:20 复核认定证书状态：有效期届满、未在认定批次截止日前提交年度更新的暂停，补交后恢复",
    ),
)


def _add_months(day, months):
    import calendar
    import datetime as dt

    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def backfill(apps, schema_editor):
    import datetime as dt
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    china = ZoneInfo("Asia/Shanghai")
    Candidate = apps.get_model("evaluation", "Candidate")
    CertificateEvent = apps.get_model("evaluation", "CertificateEvent")
    issued = Candidate.objects.filter(
        status="certified", round__stage="final", certificate_number__isnull=False
    ).select_related("round", "version")
    for candidate in issued.iterator(chunk_size=500):
        at = candidate.certified_at or candidate.round.finalized_at or timezone.now()
        start = at.astimezone(china).date()
        candidate.valid_from = start
        candidate.valid_until = _add_months(start, candidate.round.certificate_validity_months) - dt.timedelta(days=1)
        candidate.certificate_status = "valid"
        candidate.status_changed_at = at
        events = [CertificateEvent(candidate=candidate, at=at, from_status="", to_status="valid", cause="issued")]
        if candidate.version.status in ("revoked", "withdrawn"):
            ended = candidate.version.approval_ended_at or candidate.version.decided_at or timezone.now()
            cause = "filing_revoked" if candidate.version.status == "revoked" else "filing_withdrawn"
            candidate.certificate_status = "revoked"
            candidate.status_changed_at = ended
            candidate.revoked_at = ended
            candidate.revocation_ground = cause
            events.append(
                CertificateEvent(
                    candidate=candidate,
                    at=ended,
                    from_status="valid",
                    to_status="revoked",
                    cause=cause,
                    source="migration",
                )
            )
        candidate.save()
        CertificateEvent.objects.bulk_create(events)


class Migration(migrations.Migration):
    dependencies = [
        ("evaluation", "0005_calendar"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="CertificateEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("at", models.DateTimeField(db_index=True, verbose_name="时间")),
                (
                    "from_status",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("valid", "有效"),
                            ("suspended", "暂停"),
                            ("revoked", "撤销"),
                            ("expired", "有效期届满"),
                        ],
                        max_length=10,
                        verbose_name="原状态",
                    ),
                ),
                (
                    "to_status",
                    models.CharField(
                        choices=[
                            ("valid", "有效"),
                            ("suspended", "暂停"),
                            ("revoked", "撤销"),
                            ("expired", "有效期届满"),
                        ],
                        max_length=10,
                        verbose_name="新状态",
                    ),
                ),
                (
                    "cause",
                    models.CharField(
                        choices=[
                            ("issued", "颁发证书"),
                            ("patent_ended", "核心专利失效、期限届满或被宣告无效"),
                            ("patent_restored", "核心专利恢复有效"),
                            ("update_missed", "未在认定批次截止日前提交年度更新"),
                            ("update_filed", "已提交年度更新"),
                            ("objection", "国家知识产权局撤销（异议成立）"),
                            ("finding", "国家知识产权局撤销（核查发现问题）"),
                            ("filing_revoked", "产品备案被撤销"),
                            ("filing_withdrawn", "产品备案被撤回"),
                            ("expired", "有效期届满"),
                        ],
                        max_length=20,
                        verbose_name="原因",
                    ),
                ),
                ("reason", models.TextField(blank=True, max_length=3000, verbose_name="说明")),
                ("details", models.JSONField(blank=True, default=dict)),
                ("source", models.CharField(blank=True, max_length=100, verbose_name="来源")),
            ],
            options={
                "verbose_name": "证书状态变更",
                "verbose_name_plural": "证书状态变更",
                "ordering": ["candidate", "at", "id"],
            },
        ),
        migrations.AddField(
            model_name="candidate",
            name="certificate_status",
            field=models.CharField(
                blank=True,
                choices=[("valid", "有效"), ("suspended", "暂停"), ("revoked", "撤销"), ("expired", "有效期届满")],
                db_default="",
                default="",
                max_length=10,
                verbose_name="证书状态",
            ),
        ),
        migrations.AddField(
            model_name="candidate",
            name="revocation_ground",
            field=models.CharField(
                blank=True,
                choices=[
                    ("issued", "颁发证书"),
                    ("patent_ended", "核心专利失效、期限届满或被宣告无效"),
                    ("patent_restored", "核心专利恢复有效"),
                    ("update_missed", "未在认定批次截止日前提交年度更新"),
                    ("update_filed", "已提交年度更新"),
                    ("objection", "国家知识产权局撤销（异议成立）"),
                    ("finding", "国家知识产权局撤销（核查发现问题）"),
                    ("filing_revoked", "产品备案被撤销"),
                    ("filing_withdrawn", "产品备案被撤回"),
                    ("expired", "有效期届满"),
                ],
                db_default="",
                default="",
                max_length=20,
                verbose_name="撤销依据",
            ),
        ),
        migrations.AddField(
            model_name="candidate",
            name="revocation_reason",
            field=models.TextField(blank=True, db_default="", default="", max_length=3000, verbose_name="撤销理由"),
        ),
        migrations.AddField(
            model_name="candidate",
            name="revoked_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="撤销时间"),
        ),
        migrations.AddField(
            model_name="candidate",
            name="status_changed_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="证书状态变更时间"),
        ),
        migrations.AddField(
            model_name="candidate",
            name="suspension",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text='{"patents": [申请号…], "update_year": 年度}',
                null=True,
                verbose_name="暂停原因",
            ),
        ),
        migrations.AddField(
            model_name="candidate",
            name="valid_from",
            field=models.DateField(blank=True, null=True, verbose_name="有效期起"),
        ),
        migrations.AddField(
            model_name="candidate",
            name="valid_until",
            field=models.DateField(blank=True, null=True, verbose_name="有效期至"),
        ),
        migrations.AddField(
            model_name="round",
            name="certificate_validity_months",
            field=models.PositiveSmallIntegerField(
                default=36,
                help_text="自认定结果公布之日起计算；公开文件未规定有效期，由国家知识产权局按批次设定",
                validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(120)],
                verbose_name="证书有效期（月）",
            ),
        ),
        migrations.AddIndex(
            model_name="candidate",
            index=models.Index(
                condition=models.Q(("certificate_number__isnull", False)),
                fields=["certificate_status"],
                name="candidate_certificate_status",
            ),
        ),
        migrations.AddField(
            model_name="certificateevent",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="certificateevent",
            name="candidate",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="certificate_events",
                to="evaluation.candidate",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        beat.installer(*SCHEDULES),
    ]
