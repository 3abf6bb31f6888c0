"""Timestamps from PostgreSQL: parsed by psycopg's compiled loader, with exactly Django's result
(patent_platform/pgtypes.py)."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from psycopg.pq import Format

from filings.models import ProductVersion
from patent_platform.pgtypes import FAST_LOADER_ATTRIBUTE
from tests.factories import ProductVersionFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

TIMESTAMPTZ = psycopg.postgres.types["timestamptz"].oid

# text as PostgreSQL sends it with TimeZone=UTC (what Django sets on its connections): whole seconds,
# every length of fraction, the edges of the calendar
SAMPLES = [
    b"2026-12-06 10:15:28+00",
    b"2026-12-06 10:15:28.5+00",
    b"2026-12-06 10:15:28.123456+00",
    b"2024-02-29 23:59:59.999999+00",
    b"0001-01-01 00:00:00+00",
    b"9999-12-31 23:59:59.999999+00",
    b"1969-12-31 23:59:59.000001+00",
]


def _loader_on_a_cursor() -> object:
    with connection.cursor() as cursor:  # Django's create_cursor may register its own loader per cursor
        return cursor.cursor.adapters.get_loader(TIMESTAMPTZ, Format.TEXT)


def test_the_connection_reads_timestamps_with_the_fast_loader_and_djangos_time_zone():
    loader = _loader_on_a_cursor()
    assert getattr(loader, FAST_LOADER_ATTRIBUTE, False), loader
    assert loader.timezone == connection.timezone  # type: ignore[attr-defined]
    if psycopg.pq.__impl__ in ("c", "binary"):
        # the parsing itself is the compiled one, not Django's pure-Python subclass
        assert type(loader(TIMESTAMPTZ, connection.connection)._parse.__self__).__module__.startswith("psycopg_")  # type: ignore[operator,attr-defined]


@pytest.mark.parametrize("text", SAMPLES)
def test_each_value_equals_what_djangos_own_loader_gives(text):
    class DjangoLoader(BaseTzLoader):
        timezone = connection.timezone

    ours = _loader_on_a_cursor()(TIMESTAMPTZ, connection.connection)  # type: ignore[operator]
    theirs = DjangoLoader(TIMESTAMPTZ, connection.connection)
    got, expected = ours.load(text), theirs.load(text)
    assert got == expected
    assert got.tzinfo is expected.tzinfo  # the same tzinfo object, not only the same instant
    assert (got.year, got.microsecond) == (expected.year, expected.microsecond)


def test_a_saved_timestamp_reads_back_as_written(reference):
    moment = dt.datetime(2026, 3, 1, 2, 3, 4, 567890, tzinfo=dt.UTC)
    version = ProductVersionFactory()
    ProductVersion.objects.filter(pk=version.pk).update(submitted_at=moment)
    read = ProductVersion.objects.values_list("submitted_at", flat=True).get(pk=version.pk)
    assert read == moment and read.utcoffset() == dt.timedelta(0)
