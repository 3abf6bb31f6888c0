"""Check every patent that may be in conflict (docs: filings/conflicts.py) and print what changed."""

from typing import Any

from django.core.management.base import BaseCommand

from filings import conflicts


class Command(BaseCommand):
    help = "Detect conflicting claims to patents over the whole platform (opens, updates and closes conflicts)."

    def handle(self, *args: Any, **options: Any) -> None:
        result = conflicts.detect_all()
        self.stdout.write(
            f"checked {result.checked} patents: {result.opened} opened, {result.updated} updated, "
            f"{result.closed} closed, {len(result.conflicts)} open"
        )
