"""Transaction-level advisory locks on PostgreSQL, named, and scoped to the current database.

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
