"""Load the reference data: GB/T 2260 regions, management units, the first product classes.

It lives in `provincial`, the top layer, because it calls the loaders of every layer below.
Running it again changes nothing.
"""

from typing import Any

from django.core.management.base import BaseCommand

from filings.reference import load_product_classes
from patent_platform.reference import load_regions
from provincial.reference import load_management_units


class Command(BaseCommand):
    help = "Load GB/T 2260 regions, management units and product classes (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        regions = load_regions()
        units = load_management_units()
        classes = load_product_classes()
        if options["verbosity"]:
            self.stdout.write(
                f"reference data: {regions} regions, {units} management units, {classes} product classes written"
            )
