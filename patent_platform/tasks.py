"""Platform-wide tasks."""

from patent_platform.celery import shared_task
from patent_platform.claims import ClaimingTask
from patent_platform.models import Region


@shared_task(name="patent_platform.ping")
def ping() -> dict[str, int | str]:
    """A health check that proves a worker can reach the database: used by the ops page and tests."""
    return {"pong": "pong", "regions": Region.objects.count()}


@shared_task(name="patent_platform.disable_inactive_accounts")
def disable_inactive_accounts() -> dict[str, int | list[str]]:
    """Daily (beat, 03:30 Asia/Shanghai): disable accounts unused for INACTIVE_ACCOUNT_DAYS (等保 L3-CES1-07)."""
    from patent_platform.security import disable_inactive_accounts as disable

    disabled = disable()
    return {"disabled": len(disabled), "accounts": disabled}


@shared_task(name="patent_platform.deliver_notices", base=ClaimingTask, max_retries=3)
def deliver_notices() -> dict[str, int]:
    """Send the notices that are due (the outbox): asked for after every change that writes one, and by
    beat every minute for what the broker, the mail server or a worker left unsent."""
    from patent_platform.outbox import deliver

    return deliver()


@shared_task(name="patent_platform.purge_idempotency_keys")
def purge_idempotency_keys() -> dict[str, int]:
    """Hourly (beat): delete the API's idempotency keys older than IDEMPOTENCY_KEY_HOURS (24 h)."""
    from patent_platform.api.idempotency import purge

    return {"deleted": purge()}
