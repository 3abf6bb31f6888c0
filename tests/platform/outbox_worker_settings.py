"""Settings of the Celery worker started by tests/platform/test_outbox_faults.py: the test settings, with
the mail written as files into OUTBOX_TEST_MAIL_DIR (the mail server lies outside the platform: the one
part the test stands in for), so that the test process can count what the worker sent."""

from patent_platform.settings.test import *  # noqa: F403
from patent_platform.settings.test import env

CELERY_TASK_ALWAYS_EAGER = False
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = env("OUTBOX_TEST_MAIL_DIR")
