"""Create the first national administrator. There is no default account: production starts empty.

The national administrator is the business role of the national office; it does not use the Django admin
site (only the system administrator does, see patent_platform/duties.py), so the account is not staff.
An existing e-mail is refused: one account holds one role."""

import getpass
import sys
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from patent_platform.choices import Role
from patent_platform.models import User


class Command(BaseCommand):
    help = "Create a national administrator account (prompts for the password unless --password-stdin)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", default="")
        parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"].strip().lower()
        if User.objects.filter(email=email).exists():
            raise CommandError(f"a user with e-mail {email} already exists")
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("the passwords differ")
        # made by the operator, who vouches for the address (patent_platform/confirmation.py)
        user = User(email=email, full_name=options["name"], role=Role.NATIONAL_ADMIN, email_confirmed_at=timezone.now())
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        user.set_password(password)
        user.save()
        self.stdout.write(self.style.SUCCESS(f"national administrator {email} created"))
