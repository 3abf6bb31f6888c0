"""Settings shared by every environment; values come from the environment (django-environ).

The embedded default (no DATABASE_URL, no REDIS_URL) is SQLite with Celery tasks run in-process,
so `make run` needs no services. Production sets DATABASE_URL (PostgreSQL, psycopg 3) and
REDIS_URL (Celery broker and cache).
"""

from datetime import timedelta
from pathlib import Path
from typing import Any

import django_stubs_ext
import environ
from django.utils.translation import gettext_lazy as _
from kombu import Queue

# Django's generic views, admin and model fields are generic in django-stubs only: this gives them the
# __class_getitem__ that lets `ListView[Filing]`, `ModelAdmin[User]` run (DRF's classes have their own).
# Here, in the settings every environment (dev, test, production) imports, before any view or admin loads.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-change-me")
# National cryptography (patent_platform/signing.py, docs/SECURITY.md). The defaults are public, for
# development and tests only; production.py has none and refuses to start without its own.
# SM2 private key (64 hex digits) that signs receipts, certificates and statements.
SM2_SIGNING_KEY = env("SM2_SIGNING_KEY", default="06a6b11cf77b88768e129d2e4b7786b3cacd69a01f13f4228caeadcaeeb2fbca")
# HMAC-SM3 key of the audit chain and of the access-control tags (at least 32 characters).
AUDIT_CHAIN_KEY = env("AUDIT_CHAIN_KEY", default="dev-only-audit-chain-key-f55eda455275e13ad3da63e4d4d7e05f")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "patent_platform.adminsite.PlatformAdminConfig",  # django.contrib.admin, open to the system administrator
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "axes",
    "csp",
    "django_htmx",
    "django_celery_beat",
    "patent_platform",
    "filings",
    "evaluation",
    "provincial",
    "oauth2_provider",  # the verification API's OAuth2 clients (client credentials)
    "verification",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "patent_platform.middleware.DatabaseUnavailableMiddleware",  # 503 when the database cannot be reached
    "django.contrib.sessions.middleware.SessionMiddleware",
    "patent_platform.middleware.SessionRenewalMiddleware",  # the idle timeout's renewal, once a minute at most
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "patent_platform.middleware.RefuseNulInQueryMiddleware",  # 400 for a NUL in any query parameter
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "patent_platform.middleware.RequestContextMiddleware",
    "patent_platform.replica.ReplicaPinMiddleware",  # after a change its author reads the primary
    "patent_platform.middleware.NoStoreForAuthenticatedMiddleware",
    "patent_platform.concurrency.BusyDatabaseMiddleware",  # 503 "try again" for a busy SQLite, never 500
    # AxesMiddleware must be last: it turns a lockout into the lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "patent_platform.urls"
WSGI_APPLICATION = "patent_platform.wsgi.application"
ASGI_APPLICATION = "patent_platform.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "patent_platform.context_processors.navigation",
            ],
            # {{ obj|localized }}: reference names in the active language, in every template (docs/I18N.md)
            "builtins": ["patent_platform.templatetags.lang"],
        },
    },
]

(BASE_DIR / "var").mkdir(exist_ok=True)  # the embedded SQLite database and local files live here


def databases(url: str, *, conn_max_age: int = 0) -> dict[str, dict[str, Any]]:
    """DATABASES from the primary's URL (and DATABASE_REPLICA_URL / DATABASE_POOL_MAX_SIZE of the
    environment): one function for every settings module, production's included."""
    primary = env.db_url_config(url)
    primary["ATOMIC_REQUESTS"] = False
    primary["CONN_MAX_AGE"] = conn_max_age
    options = primary.setdefault("OPTIONS", {})
    if primary["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets the in-process task runner and the web requests read while one writes.
        options.setdefault("init_command", "PRAGMA journal_mode=WAL;")
        options.setdefault("timeout", 20)
        # Write transactions take the lock when they begin (BEGIN IMMEDIATE), so the loser of a race waits for
        # the winner (up to `timeout`) and then reads its result, instead of failing with "database is locked"
        # when it upgrades a read lock (two clicks at once answered 500: issue 17, docs/ONE_TRUTH.md).
        options.setdefault("transaction_mode", "IMMEDIATE")
        return {"default": primary}
    # An unreachable server answers 503 within seconds (patent_platform/views/errors.py), not after the
    # operating system's TCP timeout (minutes). A connect_timeout in DATABASE_URL wins.
    options.setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5))
    # No JIT compilation: the platform's queries are short or correlated, and compiling them costs more than it
    # saves (at 100k products a national monthly publication's figures: 8.0 s with JIT, 5.4 s without; a
    # province's 5.3 s and 1.6 s; docs/PERFORMANCE.md). `options` in DATABASE_URL wins.
    options.setdefault("options", "-c jit=off")
    # Django's own connection pool (psycopg_pool), per process: DATABASE_POOL_MAX_SIZE connections at most.
    # A pool replaces persistent connections (CONN_MAX_AGE 0). Behind PgBouncer in transaction mode leave it
    # unset and keep CONN_MAX_AGE 0 too (docs/DEPLOY.md, "Connection pooling").
    pool_max = env.int("DATABASE_POOL_MAX_SIZE", default=0)
    if pool_max:
        options["pool"] = {
            "min_size": min(env.int("DATABASE_POOL_MIN_SIZE", default=2), pool_max),
            "max_size": pool_max,
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
        }
        primary["CONN_MAX_AGE"] = 0
    result = {"default": primary}
    # A streaming replica for the read-only heavy pages (patent_platform/replica.py); in tests it mirrors
    # the primary unless a test points it elsewhere.
    replica_url = env("DATABASE_REPLICA_URL", default="")
    if replica_url:
        replica = {**primary, **env.db_url_config(replica_url)}
        replica["OPTIONS"] = {**options, **replica.get("OPTIONS", {})}
        replica["TEST"] = {"MIRROR": "default"}
        result["replica"] = replica
    return result


DATABASES = databases(env("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}"))
DATABASE_ROUTERS = ["patent_platform.replica.ReplicaRouter"]
# After a change, its author reads the primary for this long (read your writes; patent_platform/replica.py).
REPLICA_PIN_SECONDS = env.int("REPLICA_PIN_SECONDS", default=30)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "patent_platform.User"
AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses a locked-out login before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Password policy (等保 2.0 L3-CES1-01: complexity). Configurable: the national office may relax it.
PASSWORD_MIN_LENGTH = env.int("PASSWORD_MIN_LENGTH", default=10)
PASSWORD_MIN_CLASSES = env.int("PASSWORD_MIN_CLASSES", default=3)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "patent_platform.validators.MinimumLengthValidator",
        "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {
        "NAME": "patent_platform.validators.CharacterClassesValidator",
        "OPTIONS": {"min_classes": PASSWORD_MIN_CLASSES},
    },
]

# Login failures (等保 L3-CES1-02): 5 failures lock the account for 30 minutes from that address.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=30))
# Failures are counted per account *and* client address together: every official behind one office's
# gateway shares its address, so locking the address would lock the whole office, and locking the account
# alone lets anybody lock anybody out. Spraying one password across many accounts from one address is
# stopped by the separate, higher per-address ceiling on failed logins (RATE_LIMITS["login"] below,
# patent_platform/ratelimit.py); attempts on one account from many addresses by RATE_LIMITS["login_account"].
# axes.W006 warns about an address-only lockout; silenced as before (docs/SECURITY.md, L3-CES1-02).
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The login form and the token endpoint both pass the e-mail as `username` to authenticate().
AXES_USERNAME_FORM_FIELD = "username"
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "patent_platform.views.auth.lockout_response"
AXES_VERBOSE = False
# Number of trusted reverse proxies in front of gunicorn (docs/DEPLOY.md); the client address for the
# audit log and axes comes from X-Forwarded-For accordingly (patent_platform.middleware.client_ip).
PROXY_COUNT = env.int("PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "patent_platform.middleware.client_ip"

# Idle timeout (等保 L3-CES1-02): the session expires 30 minutes after the last request, enforced
# server-side because the expiry is stored with the session and renewed as requests come — at most once a
# minute (SessionRenewalMiddleware), so that a page view writes no session row: it expires 29 to 30
# minutes after the last request.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_RENEW_SECONDS = 60
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
# Not `locale/`: a top-level folder of that name would shadow the standard-library module.
LOCALE_PATHS = [BASE_DIR / "translations"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
# Uploaded files are never served from MEDIA_URL: downloads go through scoped views.
# Files (uploads, import files, publications, backups' media) go through Django's storage API, never a path:
# the local MEDIA_ROOT in the embedded default; an S3-compatible object store (django-storages) when
# OBJECT_STORE_BUCKET is set, so that web and worker machines share no disk (docs/DEPLOY.md). Downloads are
# streamed by the scoped views after their scope check (no object URL reaches the browser: the store need
# not be reachable from outside).
OBJECT_STORE_BUCKET = env("OBJECT_STORE_BUCKET", default="")


def object_store(bucket: str, prefix: str = "") -> dict[str, Any]:
    """The STORAGES entry of the object store (OBJECT_STORE_* from the environment)."""
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "location": prefix,
            "endpoint_url": env("OBJECT_STORE_ENDPOINT_URL", default="") or None,
            "access_key": env("OBJECT_STORE_ACCESS_KEY_ID", default="") or None,
            "secret_key": env("OBJECT_STORE_SECRET_ACCESS_KEY", default="") or None,
            "region_name": env("OBJECT_STORE_REGION", default="us-east-1"),
            "addressing_style": env("OBJECT_STORE_ADDRESSING_STYLE", default="path"),
            "signature_version": "s3v4",
            "default_acl": None,  # private objects: the bucket's policy, never public-read
            "file_overwrite": False,  # a second upload of a name gets a new name, like the file system
            "querystring_auth": True,
            "querystring_expire": 300,  # were a URL ever issued, it would live five minutes
        },
    }


STORAGES = {
    "default": (
        object_store(OBJECT_STORE_BUCKET, env("OBJECT_STORE_PREFIX", default=""))
        if OBJECT_STORE_BUCKET
        else {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    ),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Identity providers whose assertion of a unit's USCC verifies the unit at once
# (filings.identity.unit_verify_by_identity_provider; docs/UNITS.md). Empty: none is trusted.
TRUSTED_IDENTITY_PROVIDERS = env.list("TRUSTED_IDENTITY_PROVIDERS", default=[])
# Government login (OpenID Connect; patent_platform/oidc.py, docs/SECURITY.md and docs/DEPLOY.md): a JSON list of
# identity providers, each {"id", "name", "issuer", "client_id", "client_secret", "scopes", "link_roles",
# "trusted_roles", "uscc_claim", "unit_name_claim", "region_claim", "mfa_acr"}. Empty: password login only.
# A provider whose asserted USCC verifies units is listed by its id in TRUSTED_IDENTITY_PROVIDERS (one place).
OIDC_PROVIDERS = env.json("OIDC_PROVIDERS", default=[])
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="noreply@patent-platform.example.cn")
# A mail server that stops answering must not hold a delivery past its lease (patent_platform/outbox.py).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
# The platform's public address, for links in e-mails (pages use the request's own address).
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")

# Webhooks of filing units (filings/webhooks.py, docs/API.md "Webhooks"). Only https:// endpoints; a host that
# resolves to a loopback, private or link-local address is refused unless WEBHOOK_ALLOW_PRIVATE_HOSTS (a
# closed government network whose receivers sit on private addresses: docs/OPERATIONS.md). TLS is always
# verified, against the system's CAs or WEBHOOK_CA_BUNDLE (a PEM file: a private CA of such a network).
WEBHOOK_ALLOW_PRIVATE_HOSTS = env.bool("WEBHOOK_ALLOW_PRIVATE_HOSTS", default=False)
WEBHOOK_CA_BUNDLE = env("WEBHOOK_CA_BUNDLE", default="")
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=10.0)  # seconds, to connect and again to read
# attempts of one event before it is given up ("dead"): the first and retries after 1 min, 5 min, 30 min, 2 h, 6 h
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=6)
WEBHOOK_MAX_ENDPOINTS = env.int("WEBHOOK_MAX_ENDPOINTS", default=5)  # per filing unit

# Personal data encrypted at rest (patent_platform/fieldcrypto.py, docs/SECURITY.md): SM4 keys as
# "<key id>:<base64 of 16 bytes>", the first one current (rotation: manage.py rotate_field_keys), and the
# HMAC-SM3 key of the blind indexes (exact-match look-ups). Or a callable (dotted path) that fetches the key
# list from a KMS. Empty here: dev and test settings give fixed keys, production requires them.
FIELD_ENCRYPTION_KEY_PROVIDER = env("FIELD_ENCRYPTION_KEY_PROVIDER", default="")
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
FIELD_BLIND_INDEX_KEY = env("FIELD_BLIND_INDEX_KEY", default="")
# Fixed keys for development, the demo and tests only (never for real data): dev.py and test.py use them.
DEV_FIELD_ENCRYPTION_KEYS = ["dev1:ZGV2LW9ubHktc200LWtleQ=="]
DEV_FIELD_BLIND_INDEX_KEY = "ZGV2LW9ubHktYmxpbmQtaW5kZXgta2V5"

REDIS_URL = env("REDIS_URL", default="")

if REDIS_URL:
    # Redis down degrades to a per-process cache instead of failing (patent_platform/cache.py); a dead host
    # costs a request at most a second, then nothing for RETRY_SECONDS.
    CACHES = {
        "default": {
            "BACKEND": "patent_platform.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Documents built from the platform's own text (the manual's PDFs: seconds of WeasyPrint each), keyed by
# their content's fingerprint: the same store as the rest, under their own alias so that a deployment (or
# the test settings) can keep them apart from the short-lived entries.
CACHES["documents"] = {**CACHES["default"], "KEY_PREFIX": "documents", "LOCATION": REDIS_URL or "documents"}

# Celery. With no REDIS_URL (the embedded default) tasks run eagerly in-process.
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
# Late acknowledgement alone still acknowledges a task whose worker process was killed.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=60 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60
# A task unacknowledged past the visibility timeout is delivered again: keep it above the time limit.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT * 2}
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Enqueueing from a web request while the broker is down must neither raise nor hold the request: the
# tasks' base class (patent_platform.celery.ResilientTask) logs the failure and returns None, and the
# publish retry and the connection timeouts are kept to a few seconds. The hourly publication sweep
# builds whatever was not enqueued once the broker is back.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=3.0)
CELERY_BROKER_TRANSPORT_OPTIONS["socket_connect_timeout"] = CELERY_BROKER_CONNECTION_TIMEOUT
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = CELERY_BROKER_CONNECTION_TIMEOUT
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
# The Redis result store subscribes to a task's result when it is sent: the same short retry (its
# default is 20 retries a second apart).
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"retry_policy": CELERY_TASK_PUBLISH_RETRY_POLICY}
# Queues by kind (issue 21): a long publication or import never holds up a password mail. Each kind of
# work has its queue; a worker started without -Q consumes every queue below (one machine, the tests), and a
# deployment runs workers per queue (docker-compose.yml, docs/DEPLOY.md "Queues"). Exports have no queue:
# they are written in the request, streamed row by row (patent_platform/exports.py). A task not named here
# goes to "default"; tests/platform/test_queues.py checks every registered task lands on a declared queue.
CELERY_TASK_DEFAULT_QUEUE = "default"
TASK_QUEUES = {
    "mail": ("patent_platform.deliver_notices", "*.notify_*"),
    "publications": (
        "provincial.tasks.*_publications",
        "provincial.tasks.build_publication",
        "provincial.tasks.deliver_subscriptions",
    ),
    "imports": (
        "filings.tasks.run_import",
        "filings.tasks.run_credit_list_import",
        "provincial.tasks.run_roster_upload",
    ),
    "legal_status": ("filings.tasks.run_status_import", "evaluation.recheck_certificates"),
    "evaluation": ("evaluation.tasks.run_patent_evaluation", "evaluation.tasks.run_whatif"),
    "default": (),
}
CELERY_TASK_QUEUES = [Queue(name) for name in TASK_QUEUES]
CELERY_TASK_ROUTES = {pattern: {"queue": name} for name, patterns in TASK_QUEUES.items() for pattern in patterns}
# A task that claims work and loses its database connection (its session terminated, PostgreSQL restarted
# or failed over) reconnects, records the error, releases its claim and is retried after this many seconds,
# doubled on each further retry up to a minute (patent_platform/claims.py).
TASK_DB_RETRY_SECONDS = env.int("TASK_DB_RETRY_SECONDS", default=10)

# Monthly publications and the year-end evaluation (provincial.publications). A build holds a lease on
# its row; a row still "building" after its lease is taken over by the next run. The task's time limits
# stay below the lease, and the lease below the broker's visibility timeout.
PUBLICATION_DIR = "publications"  # under MEDIA_ROOT
PUBLICATION_TASK_TIME_LIMIT = env.int("PUBLICATION_TASK_TIME_LIMIT", default=min(25 * 60, CELERY_TASK_TIME_LIMIT))
PUBLICATION_TASK_SOFT_TIME_LIMIT = PUBLICATION_TASK_TIME_LIMIT - 60
PUBLICATION_LEASE_SECONDS = env.int("PUBLICATION_LEASE_SECONDS", default=30 * 60)
PUBLICATION_MAX_RETRIES = env.int("PUBLICATION_MAX_RETRIES", default=5)  # retries of one task, with backoff
PUBLICATION_MAX_ATTEMPTS = env.int("PUBLICATION_MAX_ATTEMPTS", default=8)  # claims of one row re-enqueued by the sweep

# The dashboards read summary cells (provincial/dashboards/): dirty regions are drained on read; every
# region is rebuilt in full when the last rebuild is older than this (and by the beat entry every hour).
SUMMARY_MAX_AGE = env.int("SUMMARY_MAX_AGE", default=3600)
# Tests only (set by the worker test's own settings module, never from the environment here): seconds
# a build sleeps with its temporary files written, before they are moved into place, so a test can
# kill the worker half-way; with PUBLICATION_TEST_RELEASE (a file path) the pause ends as soon as the
# test creates that file, so a test can act at the half-way point however slowly it gets to see it.
PUBLICATION_TEST_PAUSE = 0.0
PUBLICATION_TEST_RELEASE = ""

# ---- Rate limits (等保 L3 intrusion prevention; patent_platform/ratelimit.py) ------------------------------
# Per client address (and, for `<scope>_account`, per account e-mail); "N/period" with period s, min, hour
# or day, optionally a multiple ("3/10s"); "" switches one scope off. GET of a form is never limited.
# The counters live in the cache: Redis (REDIS_URL) shares them between workers.
RATE_LIMITS_ENABLED = env.bool("RATE_LIMITS_ENABLED", default=True)
RATE_LIMITS = {
    # per client address, *failed* logins only (wrong password or code, unknown e-mail): the ceiling against
    # password spraying; a correct password is refused only once the address has gone over it
    "login": env("RATE_LIMIT_LOGIN", default="30/15min"),
    "login_account": env("RATE_LIMIT_LOGIN_ACCOUNT", default="10/min"),
    "token": env("RATE_LIMIT_TOKEN", default="10/min"),
    "token_account": env("RATE_LIMIT_TOKEN_ACCOUNT", default="10/min"),
    "registration": env("RATE_LIMIT_REGISTRATION", default="5/hour"),
    "search": env("RATE_LIMIT_SEARCH", default="60/min"),
    "objection": env("RATE_LIMIT_OBJECTION", default="5/hour"),
    "port_application": env("RATE_LIMIT_PORT_APPLICATION", default="5/hour"),
    "open_data": env("RATE_LIMIT_OPEN_DATA", default="60/min"),
    # "forgot password": requests per client address and per e-mail typed (known or not: the same count)
    "password_reset": env("RATE_LIMIT_PASSWORD_RESET", default="20/hour"),
    "password_reset_account": env("RATE_LIMIT_PASSWORD_RESET_ACCOUNT", default="3/hour"),
}
# ---- end of rate limits -------------------------------------------------------------------------------

# Audit records are kept at least 180 days (等保 L3-CES1-14; the Cybersecurity Law, art. 21): a lower value
# is a configuration error (patent_platform.E101). Nothing in the application deletes them.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=180)

# ---- Identification and authentication (等保 L3-CES1-01/04/07; patent_platform/security.py) ------------------
# Second factor: TOTP (django-otp). OTP_REQUIRED_ROLES lists role values; "staff" stands for every role but
# the enterprise user (enterprise users may enrol on /accounts/two-factor/setup/). Default: required for all
# staff, except under the dev settings (`make run` on a laptop) and the test settings, where it is off and a
# warning after login says so; the tests of the 2FA flow switch it on themselves. Set OTP_REQUIRED_ROLES=staff
# (or a list of roles) to switch it on there, OTP_REQUIRED_ROLES= (empty) to switch it off.
_SETTINGS_NAME = env("DJANGO_SETTINGS_MODULE", default="").rsplit(".", 1)[-1]
OTP_REQUIRED_ROLES = env.list("OTP_REQUIRED_ROLES", default=[] if _SETTINGS_NAME in {"dev", "test"} else ["staff"])
# otp_static: the one-time recovery codes given with a TOTP device (patent_platform/recovery.py)
INSTALLED_APPS += ["django_otp", "django_otp.plugins.otp_totp", "django_otp.plugins.otp_static"]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "django_otp.middleware.OTPMiddleware",
)
# The 2FA step and expired passwords before any other page; after the messages (it leaves one).
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.messages.middleware.MessageMiddleware") + 1,
    "patent_platform.security.SecurityPolicyMiddleware",
)
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="专利产品备案平台")
OTP_TOTP_SYNC = False  # one step (30 s) of drift either way around the server's clock, never more
OTP_TOTP_THROTTLE_FACTOR = 1  # django-otp's own back-off: 1, 2, 4 … seconds after consecutive wrong codes
# Password age and reuse: 等保 asks for periodic change (OWASP ASVS advises against it; the national office
# may relax it): a password older than PASSWORD_MAX_AGE_DAYS must be changed at the next login; the last
# PASSWORD_HISTORY passwords (the current one included) are refused. 0 switches either off.
PASSWORD_MAX_AGE_DAYS = env.int("PASSWORD_MAX_AGE_DAYS", default=90)
PASSWORD_HISTORY = env.int("PASSWORD_HISTORY", default=5)
AUTH_PASSWORD_VALIDATORS += [{"NAME": "patent_platform.security.PasswordHistoryValidator"}]
# Accounts unused (no login, or never logged in since joining) this many days are disabled by the daily task
# patent_platform.disable_inactive_accounts; 0 switches it off.
INACTIVE_ACCOUNT_DAYS = env.int("INACTIVE_ACCOUNT_DAYS", default=180)
# ---- end of identification and authentication ----------------------------------------------------------

# ---- Idempotency-Key on the API's POSTs (patent_platform/api/idempotency.py; docs/API.md) -------------------
# Keys are kept this many hours after their first use (purged hourly); a retry while the first request runs
# waits for it up to IDEMPOTENCY_WAIT_SECONDS, then answers 409; a key still "in progress" after
# IDEMPOTENCY_LEASE_SECONDS belongs to a request whose process died (gunicorn's timeout is 60 s): taken over.
IDEMPOTENCY_KEY_HOURS = env.int("IDEMPOTENCY_KEY_HOURS", default=24)
IDEMPOTENCY_WAIT_SECONDS = env.float("IDEMPOTENCY_WAIT_SECONDS", default=10.0)
IDEMPOTENCY_LEASE_SECONDS = env.int("IDEMPOTENCY_LEASE_SECONDS", default=300)
# Inside the outer middlewares (a replay gets their headers), outside BusyDatabaseMiddleware (its 503 is a failure).
MIDDLEWARE.insert(
    MIDDLEWARE.index("patent_platform.concurrency.BusyDatabaseMiddleware"),
    "patent_platform.api.idempotency.IdempotencyMiddleware",
)
# ---- end of Idempotency-Key -----------------------------------------------------------------------------------

# API tokens expire this many days after they were issued (0: never); the token endpoint then issues a new one.
API_TOKEN_MAX_AGE_DAYS = env.int("API_TOKEN_MAX_AGE_DAYS", default=90)

REST_FRAMEWORK = {
    # the token first: an unauthenticated call answers 401 with its WWW-Authenticate (patent_platform/api/auth.py)
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "patent_platform.api.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # JSON in, JSON out: no endpoint takes a file, so no form or multipart bodies (a generated client sends JSON)
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # DRF's two renderers; ours passes a body that is JSON text already through (patent_platform/api/renderers.py)
    "DEFAULT_RENDERER_CLASSES": [
        "patent_platform.api.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # every error is an RFC 9457 problem (patent_platform/api/problems.py)
    "EXCEPTION_HANDLER": "patent_platform.api.problems.exception_handler",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "patent_platform.api.pagination.IdCursorPagination",
    "PAGE_SIZE": 50,
    # No DEFAULT_THROTTLE_RATES: the API's throttles (patent_platform.ratelimit.TokenRateThrottle) read RATE_LIMITS.
}
# The verification API (verification/, docs/VERIFICATION_API.md): outside systems registered by the national office
# get tokens by OAuth2 client credentials (django-oauth-toolkit) at /api/v1/verify/token/. A client's scopes,
# region, quotas and expiry are the platform's (verification.models.VerificationClient); these are the protocol's.
# django-oauth-toolkit's own models (its migrations name this setting as a swappable model)
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
VERIFICATION_TOKEN_SECONDS = env.int("VERIFICATION_TOKEN_SECONDS", default=3600)
OAUTH2_PROVIDER = {
    "SCOPES": {
        "verify:filings": "核验产品备案与备案情况证明",
        "verify:certificates": "核验专利密集型产品认定证书",
        "read:statistics": "读取本区域的备案统计",
    },
    "ACCESS_TOKEN_EXPIRE_SECONDS": VERIFICATION_TOKEN_SECONDS,
    "OAUTH2_VALIDATOR_CLASS": "verification.oauth.ClientValidator",
    "SCOPES_BACKEND_CLASS": "verification.oauth.ClientScopes",
    # RFC 9700 (OAuth 2.0 Security BCP) throughout, though only the client-credentials grant is used: no implicit
    # or password grant, PKCE S256 only, tokens only in the Authorization header, tokens stored hashed, https
    # redirect URIs; refresh-token replay revokes the family (check --deploy then has nothing to warn about)
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "专利产品备案与认定平台 API",
    "DESCRIPTION": "Patent-product filing and patent-intensive product certification platform API.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # the verification API (verification/) has a document of its own, /api/verify/schema/
    "PREPROCESSING_HOOKS": ["verification.api.schema.without_verification"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "patent_platform.api.schema.document_problems",  # every error answer is a Problem; 400/401/404/415
        "patent_platform.api.idempotency.document_idempotency",  # Idempotency-Key, 422 and 409 on every POST
    ],
    # operation ids and tags from the path after /api/v1/: products_list, products_submit, evaluation_rounds_create
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # choices named "status" in several apps: one schema component each, named after its choices class
    "ENUM_NAME_OVERRIDES": {
        "PatentKindEnum": "filings.choices.PatentKind",
        "UnitKindEnum": "filings.choices.UnitKind",
        "FilingStatusEnum": "filings.choices.FilingStatus",
        "WebhookEndpointStatusEnum": "filings.models.webhooks.WebhookEndpointStatus",
        "WebhookDeliveryStatusEnum": "filings.models.webhooks.WebhookDeliveryStatus",
        "MethodStatusEnum": "evaluation.choices.MethodStatus",
        "BenchmarkStatusEnum": "evaluation.choices.BenchmarkStatus",
        "CandidateStatusEnum": "evaluation.choices.CandidateStatus",
    },
}

# Content security policy: everything from our own origin; no inline script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

GUARDIAN_RAISE_403 = False
ANONYMOUS_USER_NAME = None  # no guardian anonymous user row: anonymous visitors have no grants

PLATFORM_NAME = _("专利产品备案与专利密集型产品认定平台")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # axes logs every request it checks; Celery logs every task it runs (in-process in the embedded default)
    # and WeasyPrint logs every step of every PDF
    "loggers": {
        "axes": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
ADMIN_URL = env("ADMIN_URL", default="admin/")
