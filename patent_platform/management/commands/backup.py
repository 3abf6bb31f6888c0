"""Back up the database and the uploaded files: `manage.py backup --output DIR`.

DIR receives three files:
- db.jsonl.gz: every row of every model (Django's `dumpdata`, JSON lines, original primary keys), read
  in one consistent snapshot; sessions are left out (a restore must not bring logins back);
- media.tar.gz: the files of Django's default storage (the uploads, import files and publications: the
  local MEDIA_ROOT, or the object store when one is configured), read through the storage API;
- manifest.json: the row count of every model (many-to-many tables included), the sha256 and size of
  every uploaded file, the sha256 of the two archives, the applied migrations and the audit chain's
  head, which `manage.py restore` checks. docs/OPERATIONS.md explains the choice of format.
"""

import datetime as dt
import hashlib
import json
import tarfile
from pathlib import Path
from typing import Any

from django.core.files.storage import Storage, storages
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder

from patent_platform import audit
from patent_platform.choices import AuditAction
from patent_platform.models import AuditEvent

DB_FILE = "db.jsonl.gz"
MEDIA_FILE = "media.tar.gz"
MANIFEST = "manifest.json"
FORMAT = 1
EXCLUDED = ["sessions"]  # app labels / models not backed up


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def counted_models() -> list[Any]:
    """Every model whose rows a backup carries, many-to-many tables included, by label."""
    from django.apps import apps

    return sorted(
        (m for m in apps.get_models(include_auto_created=True) if m._meta.app_label not in EXCLUDED),
        key=lambda m: m._meta.label,
    )


def row_counts() -> dict[str, int]:
    return {m._meta.label: m._base_manager.count() for m in counted_models()}


def sha256_of_stored(storage: Storage, name: str) -> dict[str, Any]:
    digest, size = hashlib.sha256(), 0
    with storage.open(name, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return {"sha256": digest.hexdigest(), "size": size}


def stored_names(storage: Storage, directory: str = "") -> list[str]:
    """Every file of the storage, by name (a walk through its listdir: works on the object store too)."""
    try:
        dirs, files = storage.listdir(directory)
    except FileNotFoundError:
        return []
    prefix = f"{directory}/" if directory else ""
    names = [prefix + f for f in files]
    for d in dirs:
        names += stored_names(storage, prefix + d)
    return sorted(names)


def media_files(storage: Storage) -> dict[str, dict[str, Any]]:
    return {name: sha256_of_stored(storage, name) for name in stored_names(storage)}


def applied_migrations() -> list[str]:
    return sorted(f"{app}.{name}" for app, name in MigrationRecorder(connection).applied_migrations())


class Command(BaseCommand):
    help = "Dump the database (all models, JSON lines) and the stored files (tar) with a manifest into --output DIR."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--output", required=True, help="a new or empty directory")

    def handle(self, *args: Any, **options: Any) -> None:
        out = Path(options["output"])
        if out.exists() and any(out.iterdir()):
            raise CommandError(f"{out} is not empty: back up into a new directory")
        out.mkdir(parents=True, exist_ok=True)
        storage = storages["default"]
        # The backup is a security event; it is written first, so the backup holds its own record.
        audit.audit_event(action=AuditAction.EXPORT, object_type="backup", object_repr=str(out), message="backup")

        # Inside an enclosing transaction (a test case's) the isolation level can no longer be set.
        outer = connection.in_atomic_block
        with transaction.atomic():
            if connection.vendor == "postgresql" and not outer:
                # one snapshot for the counts and every table of the dump
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            counts = row_counts()
            head = AuditEvent._base_manager.order_by("-id").values_list("id", "hash").first()
            call_command(
                "dumpdata",
                format="jsonl",
                output=str(out / DB_FILE),
                exclude=EXCLUDED,
                all=True,  # the base managers: every row, whatever a default manager filters
                verbosity=0,
            )
            migrations_state = applied_migrations()

        files = media_files(storage)
        with tarfile.open(out / MEDIA_FILE, "w:gz") as tar:
            for name, meta in files.items():
                info = tarfile.TarInfo(name)
                info.size = meta["size"]
                info.mtime = int(dt.datetime.now(dt.UTC).timestamp())
                with storage.open(name, "rb") as f:
                    tar.addfile(info, f)

        manifest = {
            "format": FORMAT,
            "created_at": dt.datetime.now(dt.UTC).isoformat(),
            "vendor": connection.vendor,
            "migrations": migrations_state,
            "counts": counts,
            "files": files,
            "archives": {DB_FILE: sha256_of(out / DB_FILE), MEDIA_FILE: sha256_of(out / MEDIA_FILE)},
            "audit_head": {"id": head[0], "hash": head[1]} if head else None,
        }
        (out / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        rows = sum(counts.values())
        self.stdout.write(f"backup written to {out}: {rows} rows in {len(counts)} models, {len(files)} files")
