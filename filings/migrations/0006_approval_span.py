"""The approval span of a product version (`approved_at`, `approval_ended_at`), backfilled from the
transitions with the rule `provincial.stats.versions_approved_at` used before: approved at the version's
latest `approve` transition, left at its first transition out of "approved" (revoked or withdrawn versions
only). Set-based SQL (SQLite and PostgreSQL); the indexes are built after the backfill."""

from django.conf import settings
from django.db import migrations, models

BACKFILL_APPROVED = """
UPDATE filings_productversion
   SET approved_at = (SELECT MAX(t.at) FROM filings_transition t
                       WHERE t.version_id = filings_productversion.id AND t.action = 'approve')
 WHERE status IN ('approved', 'revoked', 'withdrawn')
   AND EXISTS (SELECT 1 FROM filings_transition t
                WHERE t.version_id = filings_productversion.id AND t.action = 'approve')
"""

BACKFILL_ENDED = """
UPDATE filings_productversion
   SET approval_ended_at = (SELECT MIN(t.at) FROM filings_transition t
                             WHERE t.version_id = filings_productversion.id AND t.from_status = 'approved')
 WHERE status IN ('revoked', 'withdrawn')
   AND EXISTS (SELECT 1 FROM filings_transition t
                WHERE t.version_id = filings_productversion.id AND t.from_status = 'approved')
"""


class Migration(migrations.Migration):
    dependencies = [
        ("filings", "0005_review_override"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="productversion",
            name="approval_ended_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="备案失效时间"),
        ),
        migrations.AddField(
            model_name="productversion",
            name="approved_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="通过备案时间"),
        ),
        migrations.RunSQL(BACKFILL_APPROVED, reverse_sql=migrations.RunSQL.noop, elidable=True),
        migrations.RunSQL(BACKFILL_ENDED, reverse_sql=migrations.RunSQL.noop, elidable=True),
        migrations.AddIndex(
            model_name="productversion",
            index=models.Index(fields=["status", "decided_at"], name="version_decided"),
        ),
        migrations.AddIndex(
            model_name="productversion",
            index=models.Index(
                condition=models.Q(("approved_at__isnull", False)),
                fields=["approved_at", "approval_ended_at"],
                name="version_approval_span",
            ),
        ),
    ]
