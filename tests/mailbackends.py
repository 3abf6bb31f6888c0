"""Mail backends for tests: the mail server lies outside the platform, so it is the one part tests stand in
for. `RefusingBackend` is a mail server that cannot be reached."""

import smtplib
from typing import Any

from django.core.mail.backends.base import BaseEmailBackend


class RefusingBackend(BaseEmailBackend):
    def open(self) -> bool:
        raise smtplib.SMTPConnectError(421, "mail server unreachable (test)")

    def send_messages(self, email_messages: Any) -> int:
        self.open()
        return 0
