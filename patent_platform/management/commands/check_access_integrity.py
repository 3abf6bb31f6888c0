"""List the accounts whose access-control data (role, staff and superuser flags) do not match their HMAC-SM3
tag (patent_platform/integrity.py): `OK <count>` and exit 0, or one line per account and exit 1."""

import sys
from typing import Any

from django.core.management.base import BaseCommand

from patent_platform.integrity import report, tampered_accounts
from patent_platform.models import User


class Command(BaseCommand):
    help = "Check every account's access-control data against its HMAC-SM3 tag; exit 1 if any does not match."

    def handle(self, *args: Any, **options: Any) -> None:
        found = list(tampered_accounts())
        if not found:
            self.stdout.write(f"OK: {User.objects.count()} accounts, access-control data intact")
            return
        for user in found:
            report(user, "check_access_integrity")
            self.stderr.write(f"TAMPERED: account id={user.pk} {user.email} role={user.role}")
        sys.exit(1)
