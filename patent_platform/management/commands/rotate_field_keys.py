"""Re-encrypt the personal data stored encrypted (patent_platform/fieldcrypto.py) under the current key.

Rotation (docs/SECURITY.md, "Personal data at rest"):
1. put a new key first in FIELD_ENCRYPTION_KEYS, keeping the old ones after it (`--new-key` prints one);
2. `manage.py rotate_field_keys`: every encrypted column of every model, in batches by primary key, each
   batch one transaction holding its rows (select_for_update), so the site stays up meanwhile;
3. `manage.py rotate_field_keys --check`: how many values remain per key id; 0 under the old ones → remove
   them from the settings. A value still under a removed key cannot be read any more.
"""

from collections import Counter
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import TextField
from django.db.models.functions import Cast

from patent_platform import fieldcrypto
from patent_platform.encrypted_fields import encrypt_rows, encrypted_fields

PLAINTEXT = "(plaintext)"


def encrypted_models() -> list[Any]:
    return [m for m in apps.get_models() if encrypted_fields(m)]


def key_census() -> dict[str, Counter[str]]:
    """Per model field ("app.Model.field"): how many stored values under each key id (blank values left out)."""
    census: dict[str, Counter[str]] = {}
    for model in encrypted_models():
        for field in encrypted_fields(model):
            counts: Counter[str] = Counter()
            raw = model._base_manager.annotate(_raw=Cast(field.name, TextField())).values_list("_raw", flat=True)
            for value in raw.iterator(chunk_size=5000):
                if value:
                    counts[fieldcrypto.key_id(value) or PLAINTEXT] += 1
            census[f"{model._meta.label}.{field.name}"] = counts
    return census


class Command(BaseCommand):
    help = "Re-encrypt every encrypted column under the current key of FIELD_ENCRYPTION_KEYS (--check: count per key)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true", help="only report how many values remain per key id")
        parser.add_argument("--batch-size", type=int, default=1000, help="rows per transaction (default 1000)")
        parser.add_argument("--new-key", action="store_true", help="print a fresh random key and stop")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["new_key"]:
            self.stdout.write(fieldcrypto.new_key())
            return
        ring = fieldcrypto.keyring()
        if not options["check"]:
            for model in encrypted_models():
                try:
                    rows = encrypt_rows(model, batch_size=max(1, options["batch_size"]))
                except fieldcrypto.FieldCryptoError as exc:
                    raise CommandError(f"{model._meta.label}: {exc}") from exc
                self.stdout.write(f"{model._meta.label}: {rows} rows re-encrypted under key {ring.current!r}")
        census = key_census()
        stale = 0
        for name, counts in census.items():
            shown = ", ".join(f"{kid}: {n}" for kid, n in sorted(counts.items())) or "no values"
            self.stdout.write(f"{name}: {shown}")
            stale += sum(n for kid, n in counts.items() if kid != ring.current)
        if stale:
            message = f"{stale} values are not under the current key {ring.current!r}"
            if options["check"]:
                raise CommandError(message + ": run manage.py rotate_field_keys")
            raise CommandError(message)
        self.stdout.write(self.style.SUCCESS(f"every value is under the current key {ring.current!r}"))
