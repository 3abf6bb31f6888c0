"""Links the platform sends by e-mail."""

from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode


def activation_link(user: Any, view: str = "activate") -> str:
    """A one-time link to set the password (Django's password-reset token: void once the password is set,
    or after PASSWORD_RESET_TIMEOUT). One activation view serves every kind of account; a forgotten
    password goes to `password_reset_confirm` (no login after it: the password and 2FA are asked next)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.SITE_URL.rstrip("/") + reverse(view, args=[uid, token])
