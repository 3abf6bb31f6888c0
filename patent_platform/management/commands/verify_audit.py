"""Verify the audit log's hash chain: `OK <count>` and exit 0, or the first broken record and exit 1."""

import sys
from typing import Any

from django.core.management.base import BaseCommand

from patent_platform.audit import verify_chain


class Command(BaseCommand):
    help = "Walk the audit log's hash chain in id order; exit non-zero at the first record that does not fit."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--database", default="default")

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chain(using=options["database"])
        if report.ok:
            self.stdout.write(f"OK: {report.count} audit records, chain intact")
            return
        self.stderr.write(
            f"BROKEN at audit record id={report.broken_id} (after {report.count} good records): {report.reason}"
        )
        sys.exit(1)
