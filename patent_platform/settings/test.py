"""Test settings: whatever DATABASE_URL / REDIS_URL the environment gives (PostgreSQL and Redis in CI),
SQLite and in-process tasks otherwise."""

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def _per_worker_redis(url: str, worker: str) -> str:
    """pytest-xdist runs the suite in several processes (gw0, gw1, …), each on its own test database
    (pytest-django adds the suffix): each gets its own Redis database too, so that one process clearing
    its cache or its broker queue never touches another's. gw0 keeps the given database."""
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    n = int(worker.removeprefix("gw"))
    db = base - n if base >= n else base + n
    return urlunsplit(parts._replace(path=f"/{db}"))


# Set before the base settings read the environment; a process started by a test (a Celery worker)
# inherits the adjusted URL and the mark, and does not adjust it again.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER and os.environ.get("REDIS_URL") and not os.environ.get("PP_TEST_REDIS_PER_WORKER"):
    os.environ["REDIS_URL"] = _per_worker_redis(os.environ["REDIS_URL"], _WORKER)
    os.environ["PP_TEST_REDIS_PER_WORKER"] = "1"

from .base import *  # noqa: E402, F403
from .base import BASE_DIR, DEV_FIELD_BLIND_INDEX_KEY, DEV_FIELD_ENCRYPTION_KEYS, env  # noqa: E402

DEBUG = False
SECRET_KEY = "test-only-secret-key-not-for-production-use-0123456789"  # noqa: S105
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast hashing in tests only
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "var" / f"test-media{_WORKER and '-' + _WORKER}")))
# STORAGES from base: the local MEDIA_ROOT, or the object store when OBJECT_STORE_BUCKET is set — what
# tests/conftest.py sets for the whole session when TEST_S3=1 (a SeaweedFS server on loopback, a prefix per
# pytest-xdist process), and what the processes a test starts inherit.
# Tasks run in-process in tests, so a test sees their effect; the tests marked `worker` send tasks to
# a real worker process on Redis with `send_task`, which always goes through the broker.
CELERY_TASK_ALWAYS_EAGER = True
# fixed field-encryption keys (patent_platform/fieldcrypto.py) unless the environment gives others
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=DEV_FIELD_ENCRYPTION_KEYS)
FIELD_BLIND_INDEX_KEY = env("FIELD_BLIND_INDEX_KEY", default=DEV_FIELD_BLIND_INDEX_KEY)
# The manual's PDFs (keyed by their content's fingerprint) in a cache of this process that the tests' per-test
# clearing of the default cache (throttle counters, tests/conftest.py) leaves alone: built once per process
# and language, not once per test (the privilege sweep asked for each of them in every role).
CACHES = {**CACHES, "documents": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "documents"}}  # noqa: F405
