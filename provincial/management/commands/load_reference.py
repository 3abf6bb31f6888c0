"""Load the reference data: GB/T 2260 regions, management units, the first product classes, and the
default certification method version (if a flushed database lost it).

It lives in `provincial`, the top layer, because it calls the loaders of every layer below.
Running it again changes nothing.
"""

from typing import Any

from django.core.management.base import BaseCommand

from evaluation.defaults import ensure_default_method
from filings.reference import load_product_classes
from patent_platform.reference import load_regions
from provincial.reference import load_management_units


class Command(BaseCommand):
    help = "Load GB/T 2260 regions, management units, product classes and the default method (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        regions = load_regions()
        units = load_management_units()
        classes = load_product_classes()
        method = ensure_default_method()
        if options["verbosity"]:
            self.stdout.write(
                f"reference data: {regions} regions, {units} management units, {classes} product classes written"
                + (", default method version created" if method else "")
            )
