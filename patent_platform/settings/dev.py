"""Local development and the `make run` demo: SQLite and in-process tasks unless the environment says otherwise."""

from .base import *  # noqa: F403
from .base import DEV_FIELD_BLIND_INDEX_KEY, DEV_FIELD_ENCRYPTION_KEYS, env

DEBUG = env.bool("DEBUG", default=True)
# fixed keys unless the environment gives others (the embedded default: make run)
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=DEV_FIELD_ENCRYPTION_KEYS)
FIELD_BLIND_INDEX_KEY = env("FIELD_BLIND_INDEX_KEY", default=DEV_FIELD_BLIND_INDEX_KEY)
