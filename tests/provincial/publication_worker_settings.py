"""Settings of the Celery worker processes started by tests/provincial/test_publication_worker.py:
the test settings, but tasks enqueued by a task go through the broker (one build task per port, as in
production), and a build may be told to pause half-way (PUBLICATION_TEST_PAUSE, seconds)."""

from patent_platform.settings.test import *  # noqa: F403
from patent_platform.settings.test import env

CELERY_TASK_ALWAYS_EAGER = False
PUBLICATION_TEST_PAUSE = env.float("PUBLICATION_TEST_PAUSE", default=0.0)
