"""`manage.py refresh_summary [--full]`: drain the dirty regions of the dashboard summary, or rebuild it."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from provincial.dashboards import cells


class Command(BaseCommand):
    help = "Refresh the dashboards' summary cells: the dirty regions, or everything with --full."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--full", action="store_true", help="rebuild every cell")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["full"]:
            result = cells.rebuild()
            self.stdout.write(f"summary rebuilt: {result['cells']:,} cells in {result['seconds']:.2f} s")
        else:
            self.stdout.write(f"summary refreshed: {cells.drain():,} dirty regions recomputed")
