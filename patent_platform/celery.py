"""The Celery app. Tasks take ids, re-read their rows, call one service function, and are enqueued
with `transaction.on_commit`. Without REDIS_URL tasks run eagerly in-process (the embedded default).

Every task's base class is `ResilientTask`: when the broker cannot be reached, `delay()` /
`apply_async()` logs the error and returns None instead of raising, so a web request that enqueues
(a filing submitted, a rebuild requested) still succeeds. Work that must happen regardless has a
recovery path (the hourly publication sweep builds whatever is missing once the broker is back).
"""

import logging
import os
from typing import Any

from celery import Celery, Task
from kombu.exceptions import OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patent_platform.settings.dev")

logger = logging.getLogger("patent_platform.celery")


def _broker_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [OperationalError, ConnectionError, TimeoutError, OSError]
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        errors += [RedisConnectionError, RedisTimeoutError]
    except ImportError:  # pragma: no cover - redis is a dependency
        pass
    return tuple(errors)


BROKER_ERRORS = _broker_errors()


class ResilientTask(Task):
    """A task whose enqueueing never raises a broker connection error into the caller."""

    def apply_async(self, args: Any = None, kwargs: Any = None, task_id: str | None = None, **options: Any) -> Any:
        if self.app.conf.task_always_eager:  # run in-process: the task's own errors are the caller's
            return super().apply_async(args, kwargs, task_id=task_id, **options)
        try:
            return super().apply_async(args, kwargs, task_id=task_id, **options)
        except BROKER_ERRORS as exc:
            logger.error("could not enqueue task %s (args %r): broker unreachable: %s", self.name, args, exc)
            return None
        except RuntimeError as exc:
            # the Redis result backend gives up subscribing to the task's result with a RuntimeError
            # ("Retry limit exceeded while trying to reconnect to the Celery result store") caused by
            # the connection error
            if not isinstance(exc.__cause__, BROKER_ERRORS):
                raise
            logger.error("could not enqueue task %s (args %r): result store unreachable: %s", self.name, args, exc)
            return None


app = Celery("patent_platform", task_cls=ResilientTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
