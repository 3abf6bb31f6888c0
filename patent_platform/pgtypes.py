"""Timestamps read from PostgreSQL by psycopg's compiled loader.

Django (5.2, `django/db/backends/postgresql/psycopg_any.py`) reads every `timestamptz` through a loader
derived from psycopg's *pure-Python* one, even when psycopg's C extension (`psycopg[binary]`) is installed:
the compiled class is final and cannot be subclassed (Django ticket #36960, psycopg issue #1273). A page
of 50 products reads about 300 timestamps; the Python loader took ~7 µs each (regular-expression match,
seven int() calls), 1.5–2 ms of the product list API's ~12 ms.

`register_fast_timestamps` (a `connection_created` receiver) registers on each new PostgreSQL connection a
loader with Django's exact result — the instant in the connection's time zone with Django's tzinfo — that
delegates the parsing to whichever loader psycopg itself registered for `timestamptz` (the compiled one
with the binary package, the Python one without). It keeps the `timezone` attribute Django compares in
`create_cursor`, so Django does not replace it per cursor. tests/platform/test_pgtypes.py checks the values
against Django's own loader and that the compiled one is used.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper


def fast_loader(tz: Any) -> type:
    import psycopg
    from psycopg import abc
    from psycopg.adapt import Loader
    from psycopg.pq import Format

    oid = psycopg.postgres.types["timestamptz"].oid
    found = psycopg.adapters.get_loader(oid, Format.TEXT)  # psycopg's own: compiled when available
    if found is None:  # psycopg always has one for timestamptz
        raise LookupError("psycopg has no text loader for timestamptz")
    parser_class: type[abc.Loader] = found

    class FastTzLoader(Loader):
        timezone = tz  # what Django's create_cursor compares

        def __init__(self, oid: int, context: Any = None) -> None:
            super().__init__(oid, context)
            self._parse = parser_class(oid, context).load

        def load(self, data: Any) -> Any:
            # as Django's BaseTzLoader: the connection's time zone (UTC) parsed, Django's tzinfo put on
            return self._parse(data).replace(tzinfo=self.timezone)

    FastTzLoader.parser_class = parser_class  # type: ignore[attr-defined]  # for the test
    return FastTzLoader


FAST_LOADER_ATTRIBUTE = "parser_class"  # set on the loader class: what the test looks for

_LOADERS: dict[Any, type] = {}


def register_fast_timestamps(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    if connection.vendor != "postgresql":
        return
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    if not is_psycopg3:
        return
    tz = connection.timezone
    loader = _LOADERS.get(tz)
    if loader is None:
        loader = _LOADERS[tz] = fast_loader(tz)
    connection.connection.adapters.register_loader("timestamptz", loader)
