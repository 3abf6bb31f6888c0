"""The public search's rule (issue 21, "the hot pages"): what a query text matches, served by indexes.

- **An identifier is looked up, never scanned for**: a filing number (BA + 12 digits), a unified social credit
  code (18 characters with a valid check character) or a patent number in any accepted form is an exact
  match on its unique index (products, units, patents) — and nothing else, as a name never looks like one.
- **Any other text is a word in a product's or a unit's name**, matched as a substring (`icontains`, as
  before). On PostgreSQL the candidates come from a GIN index of each name's character 1- and 2-grams
  (`pp_search_grams`, migration filings/0014): Chinese has no spaces between words, and a two-character
  word (电池, 芯片) has no trigram, so pg_trgm cannot serve it; 2-grams can, for any script. The query's
  2-grams (its 1-gram when it is one character long) must all be in the name (`@>`), and the substring test
  then runs on those candidates only. Both grams come from the same SQL functions, so the query and the
  index cut text the same way. On SQLite (the embedded default) the substring test runs alone.
"""

from __future__ import annotations

import re

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.lookups import DataContains
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F, Func, Q, QuerySet, TextField, Value

from filings.identifiers import parse_patent_number, validate_uscc
from filings.models import FilingUnit, PatentLink, Product, ProductVersion

FILING_NUMBER = re.compile(r"BA\d{12}")


class SearchGrams(Func):
    """The 1- and 2-grams of a name (the indexed expression): `pp_search_grams(name)`."""

    function = "pp_search_grams"
    output_field = ArrayField(TextField())


class QueryGrams(Func):
    """The grams a query asks for: its 2-grams, or its 1-gram when it is one character long."""

    function = "pp_search_query_grams"
    output_field = ArrayField(TextField())


def identifier_query(text: str) -> Q | None:
    """The exact match for a text that is an identifier, or None."""
    compact = re.sub(r"\s+", "", text).upper()
    if FILING_NUMBER.fullmatch(compact):
        return Q(filing_number=compact)
    if len(compact.replace("-", "")) == 18:
        try:
            return Q(unit__uscc=validate_uscc(compact))
        except ValidationError:
            pass
    try:
        number = parse_patent_number(text).normalized
    except ValidationError:
        return None
    return Q(published_version_id__in=PatentLink.objects.filter(right__patent__number=number).values("version_id"))


def named(queryset: QuerySet, field: str, text: str) -> QuerySet:
    """The rows of `queryset` whose `field` contains `text` (case-insensitive), through the gram index."""
    if connection.vendor == "postgresql":
        queryset = queryset.filter(DataContains(SearchGrams(F(field)), QueryGrams(Value(text))))
    return queryset.filter(**{f"{field}__icontains": text})


def text_query(text: str) -> Q:
    """Products (of `Product.objects.public()`) matching the text: an identifier, or a word in the name of
    the published version or of the unit."""
    exact = identifier_query(text)
    if exact is not None:
        return exact
    # one IN over a UNION (not an OR of two INs, which PostgreSQL can only test row by row over every product):
    # the products are then found from the matching versions and units through their indexes
    by_version = Product.objects.filter(published_version_id__in=named(ProductVersion.objects.all(), "name", text))
    by_unit = Product.objects.filter(unit_id__in=named(FilingUnit.objects.all(), "name", text))
    return Q(pk__in=by_version.order_by().values("pk").union(by_unit.order_by().values("pk")))
