"""The settings the benchmarks run with, in-process and under gunicorn alike: the test settings (DEBUG
off, in-process tasks, local-memory cache when REDIS_URL is empty, sessions in the database) with the
bench's URLs (the project's plus the bare response) and loopback hosts."""

from patent_platform.settings.test import *  # noqa: F403
from patent_platform.settings.test import DATABASES, env

# persistent database connections as in production (patent_platform/settings/production.py): without them
# every request under gunicorn opens a new PostgreSQL connection, which dominates a small response
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)

ROOT_URLCONF = "bench.urls"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
# base.py keys the second factor's default on the settings module's last name ("test": off); this module
# is "settings", so say it outright — the same value the test settings give
OTP_REQUIRED_ROLES: list[str] = []
