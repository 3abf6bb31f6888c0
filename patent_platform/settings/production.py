"""Production: PostgreSQL and Redis are required, everything secret comes from the environment,
HTTPS only. `python manage.py check --deploy` is clean on these settings."""

from .base import *  # noqa: F403
from .base import STORAGES, databases, env

DEBUG = False
SECRET_KEY = env("SECRET_KEY")  # no default: production refuses to start without one
SM2_SIGNING_KEY = env("SM2_SIGNING_KEY")  # no default either: the documents' signing key (docs/DEPLOY.md)
AUDIT_CHAIN_KEY = env("AUDIT_CHAIN_KEY")  # nor here: the HMAC-SM3 key of the audit chain and access tags
# no default: production refuses to start without DATABASE_URL; the options of base.databases() (connect
# timeout, no JIT, the pool, the replica) hold here too
DATABASES = databases(env("DATABASE_URL"), conn_max_age=env.int("CONN_MAX_AGE", default=60))
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
# Personal data is stored encrypted (patent_platform/fieldcrypto.py): no default keys, production refuses to
# start without them (from the environment, or from a KMS through FIELD_ENCRYPTION_KEY_PROVIDER).
if not FIELD_ENCRYPTION_KEY_PROVIDER:  # noqa: F405
    FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS")
FIELD_BLIND_INDEX_KEY = env("FIELD_BLIND_INDEX_KEY")

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"

# "default": the object store when OBJECT_STORE_BUCKET is set (base.py), the local MEDIA_ROOT otherwise
# (one machine only: several web or worker machines need the object store, docs/DEPLOY.md).
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}
