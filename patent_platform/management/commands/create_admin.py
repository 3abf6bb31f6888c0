"""Create an administrator of the separation of duties: `create_admin --role security|audit|system --email …`.

Production starts with no account at all: the deploy team creates the first national administrator
(`create_national_admin`) and the first system, security and audit administrators with this command,
each a new account (an existing e-mail is refused: one account holds one duty). See patent_platform/duties.py.
"""

import getpass
import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from patent_platform import duties
from patent_platform.choices import Role

ROLES = {"system": Role.SYSTEM_ADMIN, "security": Role.SECURITY_ADMIN, "audit": Role.AUDIT_ADMIN}


class Command(BaseCommand):
    help = "Create a system, security or audit administrator (prompts for the password unless --password-stdin)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--role", required=True, choices=sorted(ROLES))
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", default="")
        parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("the passwords differ")
        role = ROLES[options["role"]]
        try:
            user = duties.create_admin(email=options["email"], role=role, full_name=options["name"], password=password)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(f"{options['role']} administrator {user.email} created"))
