"""The Celery app. Tasks take ids, re-read their rows, call one service function, and are enqueued
with `transaction.on_commit`. Without REDIS_URL tasks run eagerly in-process (the embedded default).

Every task's base class is `ResilientTask`: when the broker cannot be reached, `delay()` /
`apply_async()` logs the error and returns None instead of raising, so a web request that enqueues
(a filing submitted, a rebuild requested) still succeeds. Work that must happen regardless has a
recovery path (the hourly publication sweep builds whatever is missing once the broker is back).
"""

import logging
import os
from collections.abc import Callable
from typing import Any, ParamSpec, Protocol, TypeVar

from celery import Celery, Task
from celery import shared_task as celery_shared_task
from celery.result import AsyncResult
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


class ResilientTask(Task):  # type: ignore[misc]  # Celery has no types (pyproject.toml): its Task is Any to mypy
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


P = ParamSpec("P")
R = TypeVar("R", covariant=True)


class TypedTask(Protocol[P, R]):
    """A task to the type checker: what Celery's decorator makes of a function, with the function's own
    arguments kept for a call in-process (`task(…)`) and for `task.delay(…)`."""

    name: str

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R: ...

    def delay(self, *args: P.args, **kwargs: P.kwargs) -> AsyncResult | None: ...  # None: see ResilientTask

    def apply_async(
        self, args: tuple[Any, ...] | None = None, kwargs: dict[str, Any] | None = None, **options: Any
    ) -> AsyncResult | None: ...


def shared_task(**options: Any) -> Callable[[Callable[P, R]], TypedTask[P, R]]:
    """Celery's `shared_task(**options)` for the platform's tasks (patent_platform/tasks.py), typed: Celery has
    no types, so its decorator would leave the task untyped. Not for `bind=True` tasks, whose first argument
    is the task itself (the function's arguments would not be the task's)."""
    if options.get("bind"):
        raise TypeError("patent_platform.celery.shared_task: a bound task takes the task first; use Celery's own")

    def register(function: Callable[P, R]) -> TypedTask[P, R]:
        task: TypedTask[P, R] = celery_shared_task(**options)(function)
        return task

    return register
