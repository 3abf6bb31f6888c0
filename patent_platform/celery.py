"""The Celery app. Tasks take ids, re-read their rows, call one service function, and are enqueued
with `transaction.on_commit`. Without REDIS_URL tasks run eagerly in-process (the embedded default)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patent_platform.settings.dev")

app = Celery("patent_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
