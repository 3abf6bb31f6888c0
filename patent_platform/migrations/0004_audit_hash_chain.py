"""Chain the audit log: `prev_hash` and `hash` on every record, computed over the existing rows in id order.

On PostgreSQL the append-only trigger of 0002 is disabled for the one UPDATE that fills the new columns
of rows written before this migration, inside this migration's transaction, and enabled again.

On SQLite a trigger now refuses UPDATE of audit rows as PostgreSQL's does. It does not refuse DELETE:
SQLite has no TRUNCATE, so Django's `flush` (test teardown, `restore --force`) empties tables with
DELETE, and a DELETE trigger would leave an embedded installation impossible to reset. The
application-level guard (models/audit.py) refuses deletion there; a deleted row breaks the chain and
`verify_audit` names it. Any later migration that makes SQLite rebuild this table (adding a field or
a constraint) drops the trigger and must create it again (tests/platform/test_audit_chain.py notices).
"""

from django.db import migrations, models
from django.utils import timezone

SQLITE_CREATE = """
CREATE TRIGGER IF NOT EXISTS patent_platform_auditevent_no_update
BEFORE UPDATE ON patent_platform_auditevent
BEGIN
    SELECT RAISE(ABORT, 'audit records are append-only (UPDATE refused)');
END;
"""
SQLITE_DROP = "DROP TRIGGER IF EXISTS patent_platform_auditevent_no_update;"
PG_TRIGGER = "patent_platform_auditevent_append_only"


def chain_existing(apps, schema_editor):
    from patent_platform.models.audit import GENESIS, HASHED_FIELDS, content_hash

    AuditEvent = apps.get_model("patent_platform", "AuditEvent")
    db = schema_editor.connection.alias
    pg = schema_editor.connection.vendor == "postgresql"
    if pg:
        schema_editor.execute(f"ALTER TABLE patent_platform_auditevent DISABLE TRIGGER {PG_TRIGGER}")
    prev = GENESIS
    batch = []
    for event in AuditEvent.objects.using(db).order_by("id").iterator(chunk_size=2000):
        event.prev_hash = prev
        event.hash = content_hash(**{name: getattr(event, name) for name in HASHED_FIELDS})
        prev = event.hash
        batch.append(event)
        if len(batch) >= 1000:
            AuditEvent.objects.using(db).bulk_update(batch, ["prev_hash", "hash"])
            batch = []
    if batch:
        AuditEvent.objects.using(db).bulk_update(batch, ["prev_hash", "hash"])
    if pg:
        schema_editor.execute(f"ALTER TABLE patent_platform_auditevent ENABLE TRIGGER {PG_TRIGGER}")


def sqlite_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_CREATE, params=None)


def drop_sqlite_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("patent_platform", "0003_alter_auditevent_action_alter_user_role")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(blank=True, editable=False, max_length=64, verbose_name="记录哈希"),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(blank=True, editable=False, max_length=64, verbose_name="前一记录哈希"),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="at",
            field=models.DateTimeField(db_index=True, default=timezone.now, editable=False, verbose_name="时间"),
        ),
        migrations.RunPython(chain_existing, migrations.RunPython.noop, elidable=False),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(fields=("prev_hash",), name="audit_chain_no_fork"),
        ),
        migrations.RunPython(sqlite_trigger, drop_sqlite_trigger, elidable=False),
    ]
