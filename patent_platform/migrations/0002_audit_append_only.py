"""On PostgreSQL, refuse UPDATE and DELETE on the audit log at the database itself.

The application already has no update or delete path; the trigger makes a raw query fail too. TRUNCATE
stays possible for the database owner only (the test runner empties tables with it). On
SQLite (the embedded demo default) the application-level guard is what applies.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION patent_platform_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER patent_platform_auditevent_append_only
    BEFORE UPDATE OR DELETE ON patent_platform_auditevent
    FOR EACH ROW EXECUTE FUNCTION patent_platform_audit_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS patent_platform_auditevent_append_only ON patent_platform_auditevent;
DROP FUNCTION IF EXISTS patent_platform_audit_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("patent_platform", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
