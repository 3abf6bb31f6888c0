"""The deadline scenario's server and worker settings (bench/deadline.py): the bench settings with real Celery
workers over Redis (REDIS_URL), the production's password hasher, and no rate limits (the load comes from one
loopback address here, from thousands of addresses on the day)."""

from bench.settings import *  # noqa: F403
from bench.settings import REDIS_URL

CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
RATE_LIMITS_ENABLED = False
