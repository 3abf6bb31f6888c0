"""Links the platform sends by e-mail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator, default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

if TYPE_CHECKING:
    from patent_platform.models import User


class EmailConfirmationTokenGenerator(PasswordResetTokenGenerator):
    """The token of an e-mail confirmation link: void once the address is confirmed (the confirmation time is
    part of the hash), when the address changes, or after PASSWORD_RESET_TIMEOUT, like every one-time link."""

    key_salt = "patent_platform.links.EmailConfirmationTokenGenerator"

    def _make_hash_value(self, user: User, timestamp: int) -> str:
        confirmed = "" if user.email_confirmed_at is None else user.email_confirmed_at.replace(microsecond=0)
        return f"{user.pk}{user.email}{confirmed}{timestamp}"


email_confirmation_token = EmailConfirmationTokenGenerator()

# The token each link view checks (default: Django's password-reset token).
TOKEN_GENERATORS: dict[str, PasswordResetTokenGenerator] = {"email_confirm": email_confirmation_token}


def activation_link(user: User, view: str = "activate") -> str:
    """A one-time link to set the password (Django's password-reset token: void once the password is set,
    or after PASSWORD_RESET_TIMEOUT). One activation view serves every kind of account; a forgotten
    password goes to `password_reset_confirm` (no login after it: the password and 2FA are asked next)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = TOKEN_GENERATORS.get(view, default_token_generator).make_token(user)
    result: str = settings.SITE_URL.rstrip("/") + reverse(view, args=[uid, token])
    return result
