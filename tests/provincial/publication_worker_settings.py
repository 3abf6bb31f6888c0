"""Settings of the Celery worker processes started by tests/provincial/test_publication_worker.py:
the test settings, but tasks enqueued by a task go through the broker (one build task per port, as in
production), and a build may be told to pause half-way (PUBLICATION_TEST_PAUSE, seconds;
PUBLICATION_TEST_RELEASE, a file whose creation ends the pause early)."""

from patent_platform.settings.test import *  # noqa: F403
from patent_platform.settings.test import env

CELERY_TASK_ALWAYS_EAGER = False
PUBLICATION_TEST_PAUSE = env.float("PUBLICATION_TEST_PAUSE", default=0.0)
PUBLICATION_TEST_RELEASE = env("PUBLICATION_TEST_RELEASE", default="")
