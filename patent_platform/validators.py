"""Password complexity (等保 2.0 L3-CES1-01): at least N of the four character classes; contact phone numbers."""

import re
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


# ---------------------------------------------------------------------------------------------------------------
# Contact phone numbers (the rosters' contacts; docs/PORTS.md "Following up who has not filed")

# +86 / 0086 optional; a mainland mobile (1[3-9] and 9 digits), a landline with its area code (0 + 2 or 3
# digits, then 7 or 8 digits, an extension after - or 转), or a 400/800 service number. Spaces, hyphens and
# brackets between the digits are accepted and kept as written.
_PHONE_SEPARATORS = str.maketrans("", "", " -()（）")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0\d{2,3}\d{7,8}")
_SERVICE = re.compile(r"[48]00\d{7}")


def validate_contact_phone(value: str) -> str:
    """A mainland China phone number (mobile, landline with area code, or 400/800), trimmed; raises
    ValidationError (code `phone`) saying what is expected."""
    text = (value or "").strip()
    parts = re.split(r"(?:转|ext\.?|#)", text, maxsplit=1, flags=re.I)
    main = parts[0]
    extension = parts[1].strip() if len(parts) > 1 else ""
    digits = main.translate(_PHONE_SEPARATORS)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    ok = bool(_MOBILE.fullmatch(digits) or _LANDLINE.fullmatch(digits) or _SERVICE.fullmatch(digits))
    if ok and extension and not extension.isdigit():
        ok = False
    if not ok or len(text) > 30:
        raise ValidationError(
            _("电话号码格式不正确：请填写 11 位手机号码，或带区号的固定电话（如 020-12345678）。"),
            code="phone",
        )
    return text
