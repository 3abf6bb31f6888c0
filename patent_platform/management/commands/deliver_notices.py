"""Send the notices that are due now (`manage.py deliver_notices`), as the beat sweep does every minute.

On the embedded default (no worker, no beat) notices are sent right after the change that writes them;
one that failed (the mail server was down) waits until the next notice is sent or this command runs.
`--retry-failed` first puts the notices that gave up (状态“发送失败”) back in the queue.
"""

from typing import Any

from django.core.management.base import BaseCommand

from patent_platform import outbox
from patent_platform.models import Notice, NoticeStatus


class Command(BaseCommand):
    help = "Send the notices that are due (the outbox)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--retry-failed", action="store_true", help="queue the failed notices again first")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["retry_failed"]:
            ids = list(Notice.objects.filter(status=NoticeStatus.FAILED).values_list("pk", flat=True))
            self.stdout.write(f"requeued: {outbox.retry(ids)}")
        counts = outbox.deliver()
        left = outbox.overview()
        self.stdout.write(
            f"sent: {counts['sent']}, failed attempts: {counts['failed']}, "
            f"pending: {left['pending']}, failed for good: {left['failed']}"
        )
