"""Platform-wide tasks."""

from celery import shared_task

from patent_platform.models import Region


@shared_task(name="patent_platform.ping")
def ping() -> dict[str, int | str]:
    """A health check that proves a worker can reach the database: used by the ops page and tests."""
    return {"pong": "pong", "regions": Region.objects.count()}
