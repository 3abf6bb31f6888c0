"""Test worlds: states of the test database built once per test process and given back in milliseconds.

- **base**: what the migrations and `load_reference` leave (3,349 regions, the management units, the
  product classes, the beat schedule, content types and permissions). Every test starts from it. A test
  in a transaction is rolled back to it; a transactional test (it commits, and Django's flush empties
  every table after it) gets it back from a copy (`restore_base`, after the test) instead of re-running
  `load_reference`.
- **demo**: base plus `load_demo` (`make run`'s accounts, units, filings through the workflow, rosters,
  reports, a whole certification round). It is built once per process inside a transaction whose
  on-commit callbacks are dropped — a test's transaction never commits, so they never ran when each
  test loaded the demo itself — and the rows it adds or changes are copied to side tables; a test that
  asks for the demo (`restore_demo`) gets them back with one `INSERT … SELECT` per table inside its own
  transaction, and loses them with the test's rollback.
- **module worlds** (`module_world`): a module whose tests all share a large, read-mostly world (the
  privilege-escalation sweep, the permission matrix) builds it once inside a transaction that spans the
  module; each test runs in a savepoint inside it, as Django's `TestCase.setUpTestData` does.

The side tables live in the test database beside the model tables (`w_<world>_<n>`): Django's flush does
not know them, and the test database is dropped at the end of the run. Sequences only move forward
(rolled-back inserts and the flush leave them where they were), so the restored rows' ids never meet
the ids of rows a test creates.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import IntegrityError, connection, models, transaction

from patent_platform.clock import china_today

DEMO_MARK_EMAIL = "national@example.cn"  # a demo account: present exactly when the demo is loaded


@dataclass
class Snapshot:
    name: str
    side: dict[str, str] = field(default_factory=dict)  # model table → side table holding its rows
    replaced: list[str] = field(default_factory=list)  # model tables whose base rows the world changed
    rows: int = 0
    day: dt.date | None = None  # the China date it was built on: the demo's dates are relative to it


_snapshots: dict[str, Snapshot] = {}


def _models() -> list[type[models.Model]]:
    return [
        m
        for m in apps.get_models(include_auto_created=True)
        if m._meta.managed and not m._meta.proxy and not m._meta.swapped
    ]


def _tables() -> dict[str, type[models.Model]]:
    existing = set(connection.introspection.table_names())
    return {m._meta.db_table: m for m in _models() if m._meta.db_table in existing}


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _run(statements: list[str]) -> None:
    """Run statements in the current transaction: in one round trip on PostgreSQL."""
    if not statements:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(";\n".join(statements))
        else:
            for sql in statements:
                cursor.execute(sql)


def _count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {_q(table)}")  # noqa: S608 (names from the models' metadata)
        return int(cursor.fetchone()[0])


def take_base() -> Snapshot:
    """Copy every non-empty model table (run once per process, after migrate and load_reference)."""
    snapshot = Snapshot("base")
    statements = []
    for n, table in enumerate(sorted(_tables())):
        rows = _count(table)
        if rows:
            side = f"w_base_{n}"
            snapshot.side[table] = side
            snapshot.rows += rows
            statements += [f"DROP TABLE IF EXISTS {side}", f"CREATE TABLE {side} AS SELECT * FROM {_q(table)}"]  # noqa: S608
    with transaction.atomic():
        _run(statements)
    _snapshots["base"] = snapshot
    return snapshot


def has_base() -> bool:
    return "base" in _snapshots


def restore_base() -> None:
    """Empty every model table and put the base rows back (after a transactional test's flush)."""
    base = _snapshots["base"]
    tables = list(_tables())
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # TRUNCATE refuses while deferred foreign-key checks are pending (the demo's build): run them first
            statements = ["SET CONSTRAINTS ALL IMMEDIATE", f"TRUNCATE {', '.join(_q(t) for t in tables)}"]
            statements.append("SET CONSTRAINTS ALL DEFERRED")
        else:
            statements = [f"DELETE FROM {_q(t)}" for t in tables]  # noqa: S608
        statements += [f"INSERT INTO {_q(t)} SELECT * FROM {side}" for t, side in base.side.items()]  # noqa: S608
        _run(statements)
    ContentType.objects.clear_cache()  # the flush's post_migrate made content types with other ids


def base_is_intact() -> bool:
    """The reference data is there (a flush empties it)."""
    table = apps.get_model("patent_platform", "Region")._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {_q(table)} LIMIT 1")  # noqa: S608
        return cursor.fetchone() is not None


def _columns(model: type[models.Model]) -> list[str]:
    return [f.column for f in model._meta.concrete_fields]


def take_demo() -> Snapshot:
    """Load the demo once, copy what it added or changed, and leave the database as base again."""
    base = _snapshots["base"]
    snapshot = Snapshot("demo", day=china_today())
    differs = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    with transaction.atomic():
        call_command("load_demo", verbosity=0, stdout=io.StringIO())
        # A test's transaction never commits, so the demo's on-commit work (mails, task hand-offs) never
        # ran when each test loaded it: drop it here too.
        connection.run_on_commit = []
        statements = []
        for n, (table, model) in enumerate(sorted(_tables().items())):
            side, pk = f"w_demo_{n}", _q(model._meta.pk.column)
            statements.append(f"DROP TABLE IF EXISTS {side}")
            if table not in base.side:
                statements.append(f"CREATE TABLE {side} AS SELECT * FROM {_q(table)}")  # noqa: S608
                continue
            cols = _columns(model)
            mine = ", ".join(f"t.{_q(c)}" for c in cols)
            theirs = ", ".join(f"b.{_q(c)}" for c in cols)
            base_side = base.side[table]
            statements += [
                f"CREATE TABLE {side} AS SELECT * FROM {_q(table)} WHERE {pk} NOT IN (SELECT {pk} FROM {base_side})",  # noqa: S608
                f"INSERT INTO {side} SELECT t.* FROM {_q(table)} t JOIN {base_side} b ON b.{pk} = t.{pk} "  # noqa: S608
                f"WHERE ({mine}) {differs} ({theirs})",
            ]
        _run(statements)
        for n, (table, model) in enumerate(sorted(_tables().items())):
            side = f"w_demo_{n}"
            rows = _count(side)
            if not rows:
                _run([f"DROP TABLE {side}"])
                continue
            snapshot.side[table] = side
            snapshot.rows += rows
            if table in base.side:
                pk = _q(model._meta.pk.column)
                with connection.cursor() as cursor:
                    cursor.execute(f"SELECT COUNT(*) FROM {side} WHERE {pk} IN (SELECT {pk} FROM {base.side[table]})")  # noqa: S608
                    if cursor.fetchone()[0]:
                        snapshot.replaced.append(table)
                    cursor.execute(
                        f"SELECT COUNT(*) FROM {base.side[table]} WHERE {pk} NOT IN (SELECT {pk} FROM {_q(table)})"  # noqa: S608
                    )
                    if cursor.fetchone()[0]:
                        raise RuntimeError(f"load_demo deleted base rows of {table}: the demo world cannot hold that")
        restore_base()
    _snapshots["demo"] = snapshot
    return snapshot


def demo_is_stale() -> bool:
    """Whether the demo was built on an earlier China date than today's. The demo's round closes its
    candidacy on the day it was loaded, its publicity ended before it: a run that crosses midnight in
    China (16:00 UTC) would give later tests yesterday's world against today's clock."""
    snapshot = _snapshots.get("demo")
    return snapshot is not None and snapshot.day != china_today()


def _sequences_past(tables: list[str], models_by_table: dict[str, type[models.Model]]) -> list[str]:
    """PostgreSQL: move each table's id sequence past the rows just put back, where it is behind them (never
    back), in one statement — so that a row a test creates never meets a restored id, whatever moved or
    reset a sequence before (a CI run met PasswordHistory id 1 once)."""
    if connection.vendor != "postgresql" or not tables:
        return []
    parts = []
    for table in tables:
        pk = models_by_table[table]._meta.pk
        if not isinstance(pk, models.AutoField | models.BigAutoField | models.SmallAutoField):
            continue
        seq = f"pg_get_serial_sequence('{_q(table)}', '{pk.column}')"
        parts.append(
            f"(SELECT setval({seq}, m) FROM (SELECT MAX({_q(pk.column)}) AS m FROM {_q(table)}) x "  # noqa: S608
            f"WHERE m IS NOT NULL AND m >= nextval({seq}))"
        )
    return [f"SELECT {', '.join(parts)}"] if parts else []


def restore(name: str) -> None:
    """Put a world's rows in, inside the current transaction (a test's: rolled back with it)."""
    snapshot = _snapshots[name]
    tables = _tables()
    statements = []
    for table in snapshot.replaced:
        pk = _q(tables[table]._meta.pk.column)
        statements.append(f"DELETE FROM {_q(table)} WHERE {pk} IN (SELECT {pk} FROM {snapshot.side[table]})")  # noqa: S608
    statements += [f"INSERT INTO {_q(t)} SELECT * FROM {side}" for t, side in snapshot.side.items()]  # noqa: S608
    statements += _sequences_past(list(snapshot.side), tables)
    with transaction.atomic():
        _run(statements)


def demo_loaded() -> bool:
    # the e-mail is stored encrypted: found through its blind index (patent_platform/encrypted_fields.py)
    return apps.get_model("patent_platform", "User")._base_manager.filter(email=DEMO_MARK_EMAIL).exists()


def ensure_demo() -> None:
    """The demo, once per transaction: a module world may have put it in already. Its copy is taken by the
    session fixture `demo_world` (tests/conftest.py), outside any test's transaction."""
    if demo_loaded():
        return
    try:
        restore("demo")
    except IntegrityError:
        # Something was written before the demo was asked for (a fixture that another one made run first,
        # `request.getfixturevalue`): the copied rows meet it (the audit chain, an id). Load it as it loads.
        call_command("load_demo", verbosity=0, stdout=io.StringIO())


@contextmanager
def module_world() -> Iterator[None]:
    """A transaction around a whole module: what is built in it is seen by every test of the module (each
    in a savepoint of its own) and rolled back at the end. Call it with the database unblocked."""
    atomic = transaction.atomic()
    atomic.__enter__()
    try:
        yield
    finally:
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)
