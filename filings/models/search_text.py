"""A product's search text (`Product.search_text`, the public search's: filings/search.py): the published
version's name and the unit's name, one per line, kept in step by `refresh_text` wherever either changes
(`workflow._republish`, `FilingUnit.save`).

Here, beside the models, so that `FilingUnit.save` reads it without importing the search (which imports the
models).
"""

from __future__ import annotations

from django.apps import apps
from django.db.models import Case, OuterRef, QuerySet, Subquery, TextField, Value, When
from django.db.models.functions import Coalesce, Concat

from filings.models.products import Product, ProductVersion

TEXT_SEPARATOR = "\n"  # between the two names: a word never spans them (grams are cut at white space)


def text_expression() -> Case:
    """A product's search text from its rows: the published version's name, the separator, the unit's name;
    empty while nothing of it is published (the public never finds it, and new products need no writing)."""
    unit_model = apps.get_model("filings", "FilingUnit")  # filings.models.units saves through this module
    published = ProductVersion.objects.filter(pk=OuterRef("published_version_id")).values("name")[:1]
    unit = unit_model._default_manager.filter(pk=OuterRef("unit_id")).values("name")[:1]
    text = Concat(
        Coalesce(Subquery(published), Value("")),
        Value(TEXT_SEPARATOR),
        Coalesce(Subquery(unit), Value("")),
        output_field=TextField(),
    )
    return Case(When(published_version__isnull=True, then=Value("")), default=text, output_field=TextField())


def refresh_text(products: QuerySet[Product]) -> int:
    """Write the search text of these products again from their names (one UPDATE): called wherever a
    product's published version or its unit's name changes."""
    return products.update(search_text=text_expression())
