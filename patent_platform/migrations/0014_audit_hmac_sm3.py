"""HMAC-SM3 for the audit chain and the access-control tags (issue 22, GB/T 39786-2021 level 3).

The audit rows written before this migration keep their plain sha256 hashes (`hash_version` empty): the
table is append-only (triggers of 0002 and 0004) and re-chaining would rewrite history. Instead one record is
appended, hashed with HMAC-SM3 and chained onto the last legacy hash: the seal. Rewriting a legacy row now
means recomputing every hash after it, the seal's included, which needs settings.AUDIT_CHAIN_KEY; and the
verifier refuses a chain that ends in a legacy row or goes back to plain hashes after an HMAC row
(patent_platform/audit.py `verify_chain`). An empty log needs no seal.

Every account gets its access tag (patent_platform/models/users.py).

`hash_version` is nullable without a default so that SQLite adds the column in place and keeps its UPDATE
trigger; the trigger is created again all the same (IF NOT EXISTS), as 0004 asks of later migrations.
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
HMAC_SM3 = 2


def seal_and_tag(apps, schema_editor):
    from patent_platform.models.audit import HASHED_FIELDS, content_hash
    from patent_platform.models.users import ACCESS_FIELDS, compute_access_tag

    db = schema_editor.connection.alias
    AuditEvent = apps.get_model("patent_platform", "AuditEvent")
    last = AuditEvent.objects.using(db).order_by("-id").values_list("hash", flat=True).first()
    if last is not None:
        seal = AuditEvent(
            at=timezone.now(),
            action="update",
            object_type="patent_platform.AuditEvent",
            object_repr="audit chain",
            changes={"hash": ["sha256", "HMAC-SM3"]},
            message="audit chain continues with HMAC-SM3 (migration 0014); the records before are sealed",
            success=True,
            prev_hash=last,
            hash_version=HMAC_SM3,
        )
        seal.ip = None
        seal.hash = content_hash(**{name: getattr(seal, name) for name in HASHED_FIELDS}, version=HMAC_SM3)
        seal.save(using=db)

    User = apps.get_model("patent_platform", "User")
    batch = []
    for user in User.objects.using(db).order_by("pk").iterator(chunk_size=2000):
        user.access_tag = compute_access_tag({name: getattr(user, name) for name in ACCESS_FIELDS})
        batch.append(user)
        if len(batch) >= 1000:
            User.objects.using(db).bulk_update(batch, ["access_tag"])
            batch = []
    if batch:
        User.objects.using(db).bulk_update(batch, ["access_tag"])


def sqlite_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_CREATE, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("patent_platform", "0013_field_encryption"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="hash_version",
            field=models.PositiveSmallIntegerField(blank=True, editable=False, null=True, verbose_name="哈希算法版本"),
        ),
        migrations.AddField(
            model_name="user",
            name="access_tag",
            field=models.CharField(
                blank=True, default="", editable=False, max_length=64, verbose_name="权限数据校验码"
            ),
        ),
        migrations.RunPython(seal_and_tag, migrations.RunPython.noop),
        migrations.RunPython(sqlite_trigger, migrations.RunPython.noop),
    ]
