"""Restore a backup of `manage.py backup` into an empty installation: `manage.py restore --input DIR`.

Run `manage.py migrate` first (the same code version as the backup: the applied migrations must be
those of the manifest). The database must be empty, i.e. no user, no audit record and no reference
data yet (do not run load_reference), and the storage of files (MEDIA_ROOT or the object store) must be
empty; `--force` replaces what is there.
The archives' sha256 are checked before anything is touched; then, in one transaction, every table is
emptied (what `migrate` created: content types, permissions, schedules) and the dump is loaded with its
original primary keys. Afterwards the command checks every model's row count and every file's sha256
against the manifest and verifies the audit chain, and records the restore in the audit log.
"""

import json
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from django.core.files import File
from django.core.files.storage import Storage, storages
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import signals

from patent_platform import audit
from patent_platform.choices import AuditAction
from patent_platform.management.commands.backup import (
    DB_FILE,
    FORMAT,
    MANIFEST,
    MEDIA_FILE,
    applied_migrations,
    media_files,
    row_counts,
    sha256_of,
    stored_names,
)
from patent_platform.models import AuditEvent, Region, User

MODEL_SIGNALS = (signals.pre_save, signals.post_save, signals.m2m_changed, signals.pre_delete, signals.post_delete)


@contextmanager
def model_signals_muted() -> Iterator[None]:
    """No model signal receivers while the dump loads: the rows come back exactly as they were, and a
    receiver that does not look at `raw` (the object-permission audit receivers, patent_platform/signals.py)
    would otherwise read half-loaded relations or log the load as new grants."""
    saved = [(signal, signal.receivers) for signal in MODEL_SIGNALS]
    try:
        for signal in MODEL_SIGNALS:
            signal.receivers = []
            signal.sender_receivers_cache.clear()
        yield
    finally:
        for signal, receivers in saved:
            signal.receivers = receivers
            signal.sender_receivers_cache.clear()


@contextmanager
def constraints_checked_now() -> Iterator[None]:
    """PostgreSQL refuses to TRUNCATE a table with deferred foreign-key checks pending in the same
    transaction: run them first, and defer them again afterwards so the dump loads in any order."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def database_in_use() -> list[str]:
    """What makes the database not empty: rows that only use of the installation creates."""
    return [m._meta.label for m in (User, AuditEvent, Region) if m._base_manager.exists()]


class Command(BaseCommand):
    help = "Restore a backup (manage.py backup) into an empty, migrated installation and verify it."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--input", required=True, help="the directory written by manage.py backup")
        parser.add_argument("--force", action="store_true", help="replace the data of a non-empty installation")

    def handle(self, *args: Any, **options: Any) -> None:
        src = Path(options["input"])
        manifest = self._manifest(src)
        storage = storages["default"]
        if manifest["migrations"] != applied_migrations():
            raise CommandError(
                "the applied migrations differ from the backup's: install the same version and run migrate"
            )
        in_use = database_in_use()
        media_in_use = stored_names(storage)
        if (in_use or media_in_use) and not options["force"]:
            what = ", ".join(in_use + ([f"{len(media_in_use)} stored files"] if media_in_use else []))
            raise CommandError(f"the installation is not empty ({what}): restore into an empty one, or use --force")

        with transaction.atomic(), model_signals_muted():
            # Empties every table, what migrate created included (TRUNCATE on PostgreSQL, so the
            # append-only trigger does not apply; the audit rows come back from the dump).
            with constraints_checked_now():
                call_command("flush", interactive=False, inhibit_post_migrate=True, verbosity=0)
            call_command("loaddata", str(src / DB_FILE), verbosity=0)

        for name in media_in_use:
            storage.delete(name)
        with tarfile.open(src / MEDIA_FILE, "r:gz") as tar:
            for member in tar:
                parts = PurePosixPath(member.name).parts
                if not member.isfile() or member.name.startswith("/") or ".." in parts:
                    raise CommandError(f"{MEDIA_FILE}: refused member {member.name!r}")
                stored = storage.save(member.name, File(tar.extractfile(member), name=parts[-1]))
                if stored != member.name:
                    raise CommandError(f"{member.name} was stored as {stored}: the storage was not empty")

        problems = self._compare(manifest, storage)
        report = audit.verify_chain()
        if not report.ok:
            problems.append(f"audit chain broken at record id={report.broken_id}: {report.reason}")
        head = manifest.get("audit_head")
        last = AuditEvent._base_manager.order_by("-id").values_list("id", "hash").first()
        if head and (last is None or [last[0], last[1]] != [head["id"], head["hash"]]):
            problems.append("the audit chain's last record is not the backup's")
        if problems:
            raise CommandError("restore does not match the backup:\n" + "\n".join(problems))

        audit.audit_event(
            action=AuditAction.IMPORT,
            object_type="backup",
            object_repr=str(src),
            changes={"rows": sum(manifest["counts"].values()), "files": len(manifest["files"])},
            message="restore",
        )
        self.stdout.write(
            f"restored from {src}: {sum(manifest['counts'].values())} rows in {len(manifest['counts'])} models "
            f"and {len(manifest['files'])} files match the manifest; audit chain OK ({report.count} records)"
        )

    def _manifest(self, src: Path) -> dict[str, Any]:
        try:
            manifest: dict[str, Any] = json.loads((src / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"no readable {MANIFEST} in {src}: {exc}") from exc
        if manifest.get("format") != FORMAT:
            raise CommandError(f"unknown backup format {manifest.get('format')!r}")
        for name, expected in manifest["archives"].items():
            path = src / name
            if not path.is_file() or sha256_of(path) != expected:
                raise CommandError(f"{name} is missing or does not match its sha256 in the manifest")
        return manifest

    def _compare(self, manifest: dict[str, Any], storage: Storage) -> list[str]:
        problems = []
        counts = row_counts()
        for label, expected in manifest["counts"].items():
            if counts.get(label) != expected:
                problems.append(f"{label}: {counts.get(label)} rows, the backup has {expected}")
        files = media_files(storage)
        for name, meta in manifest["files"].items():
            if files.get(name) != meta:
                problems.append(f"file {name} is missing or differs")
        if connection.vendor != manifest["vendor"]:
            self.stdout.write(f"note: backup taken on {manifest['vendor']}, restored on {connection.vendor}")
        return problems
