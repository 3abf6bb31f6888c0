"""Password complexity (等保 2.0 L3-CES1-01): at least N of the four character classes."""

import string

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    """Django's length rule with a message in the platform's catalogue: Django 5.2 changed its msgid and its
    Chinese catalogue has no translation of the new one, so the Chinese pages showed it in English."""

    def get_error_message(self) -> str:
        return ngettext(
            "密码太短，至少须有 %(min)d 个字符。", "密码太短，至少须有 %(min)d 个字符。", self.min_length
        ) % {"min": self.min_length}

    def get_help_text(self) -> str:
        return ngettext("密码至少须有 %(min)d 个字符。", "密码至少须有 %(min)d 个字符。", self.min_length) % {
            "min": self.min_length
        }


class CharacterClassesValidator:
    CLASSES = (
        ("lower", set(string.ascii_lowercase)),
        ("upper", set(string.ascii_uppercase)),
        ("digit", set(string.digits)),
    )

    def __init__(self, min_classes: int = 3) -> None:
        self.min_classes = min_classes

    def classes_in(self, password: str) -> int:
        found = sum(1 for _name, chars in self.CLASSES if any(c in chars for c in password))
        symbols = any(not c.isalnum() for c in password)
        return found + int(symbols)

    def validate(self, password: str, user: object = None) -> None:
        if self.classes_in(password) < self.min_classes:
            raise ValidationError(
                _("密码须至少包含大写字母、小写字母、数字、符号中的 %(min)d 类。") % {"min": self.min_classes},
                code="password_too_simple",
            )

    def get_help_text(self) -> str:
        return _("密码须至少包含大写字母、小写字母、数字、符号中的 %(min)d 类。") % {"min": self.min_classes}
