"""Advisory locks on PostgreSQL (transaction-level, and session-level for a job's claim), named, and scoped
to the current database.

PostgreSQL's advisory locks belong to the whole server, not to one database: two databases on one
server (a staging copy beside production, the test runner's per-worker databases) that took the same
key would wait for each other. The key is therefore (database, name), both hashed with `hashtext`.
Elsewhere (SQLite, which serialises its writers itself) the lock is a no-op.
"""

from django.db import connections


def advisory_xact_lock(name: str, using: str = "default") -> None:
    """Hold the lock `name` until the current transaction ends (PostgreSQL), waiting for it if needed."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(current_database()), hashtext(%s))", [name])


def try_advisory_lock(name: str, using: str = "default") -> bool:
    """Take the session-level lock `name` if it is free (PostgreSQL); True if this session now holds it.
    Held until `advisory_unlock` or the session's end: a worker that dies (or loses its connection) frees
    it with its session. Elsewhere always True."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext(current_database()), hashtext(%s))", [name])
        return bool(cursor.fetchone()[0])


def advisory_unlock(name: str, using: str = "default") -> None:
    """Free the session-level lock `name` taken by `try_advisory_lock` (PostgreSQL; elsewhere a no-op)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(hashtext(current_database()), hashtext(%s))", [name])
