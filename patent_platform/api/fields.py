"""API fields shared by the apps."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class CodeRelatedField(serializers.SlugRelatedField):
    """A writable SlugRelatedField that checks the value before it reaches the database.

    SlugRelatedField queries with whatever it is given: a NUL character makes PostgreSQL refuse the query
    (a server error instead of a 400), and any value costs a query. Here a value that is not a string, holds
    a NUL or control character, or is longer than `max_length`, is refused with the field's own messages.
    """

    default_error_messages = {
        "invalid_code": _("代码格式不正确。"),
    }

    def __init__(self, *args: Any, max_length: int = 50, **kwargs: Any) -> None:
        self.code_max_length = max_length
        super().__init__(*args, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str | int) or isinstance(data, bool):
            self.fail("invalid")
        text = str(data)
        if len(text) > self.code_max_length or any(ord(ch) < 32 for ch in text):
            self.fail("invalid_code")
        return super().to_internal_value(text)
