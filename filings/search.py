"""The public search's rule (issue 21, "the hot pages"): what a query text matches, served by indexes.

- **An identifier is looked up, never scanned for**: a filing number (BA + 12 digits), a unified social credit
  code (18 characters with a valid check character) or a patent number in any accepted form is an exact
  match on its unique index (products, units, patents) — and nothing else, as a name never looks like one.
- **Any other text is a word in the name of a product's published version or of its unit**, matched as a
  substring (`icontains`, as before) of the product's own search text (`Product.search_text`: the two names,
  one per line, for a published product; empty otherwise; kept in step by `filings.models.search_text` wherever the
  published version or the unit's name changes), so that a word is found on the
  products table alone and in the order of the results. On PostgreSQL a GIN index of the text's character
  1- and 2-grams (`pp_search_grams`, migrations filings/0014 and 0015) serves it: Chinese has no spaces
  between words, and a two-character word (电池, 芯片) has no trigram, so pg_trgm cannot serve it; 2-grams
  can, for any script. The query's 2-grams (its 1-gram when it is one character long) must all be in the
  text (`@>`), and the substring test then runs on those candidates only; for a common word the planner
  walks the products newest first and stops at the page instead. Both grams come from the same SQL
  functions, so the query and the index cut text the same way. On SQLite the substring test runs alone.
- **A count stops at `COUNT_CAP`**: the page says "more than 1,000" rather than counting every product
  that holds a common word (the count, not the page, was what grew with the data); 50 pages of 20 remain.
"""

from __future__ import annotations

import re

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.lookups import DataContains
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F, Func, Q, TextField, Value

from filings.identifiers import parse_patent_number, validate_uscc
from filings.models import PatentLink
from filings.models.search_text import TEXT_SEPARATOR as TEXT_SEPARATOR  # read from here by provincial.scale

FILING_NUMBER = re.compile(r"BA\d{12}")
COUNT_CAP = 1_000
SEPARATOR = re.compile(r"[\s\W_]")  # what the SQL functions cut words at (white space, punctuation), or more


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


def text_query(text: str) -> Q:
    """Products (of `Product.objects.public()`) matching the text: an identifier, or a word in the name of
    the published version or of the unit (the product's search text)."""
    exact = identifier_query(text)
    if exact is not None:
        return exact
    if connection.vendor != "postgresql":
        return Q(search_text__icontains=text)
    grams = Q(DataContains(SearchGrams(F("search_text")), QueryGrams(Value(text))))
    if len(text) <= 2 and not SEPARATOR.search(text):
        # one or two characters of one word: holding the gram is holding the substring, and the planner,
        # estimating the gram test alone well, walks a common word's products newest first to the page
        return grams
    return grams & Q(search_text__icontains=text)
