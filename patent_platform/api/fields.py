"""API fields shared by the apps."""

from collections.abc import MutableMapping
from typing import Any, ClassVar, TypeVar

from django.db.models import Model, QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from patent_platform.params import ID_MAX, int_or_none

_M = TypeVar("_M", bound=Model)  # the model of the related rows, or of the serializer


class CodeRelatedField(serializers.SlugRelatedField[_M]):
    """A writable SlugRelatedField that checks the value before it reaches the database.

    SlugRelatedField queries with whatever it is given: a NUL character makes PostgreSQL refuse the query
    (a server error instead of a 400), and any value costs a query. Here a value that is not a string, holds
    a NUL or control character, or is longer than `max_length`, is refused with the field's own messages.
    """

    default_error_messages: ClassVar[dict[str, Any]] = {
        "invalid_code": _("代码格式不正确。"),
    }

    def __init__(self, *args: Any, max_length: int = 50, queryset: QuerySet[_M] | None = None, **kwargs: Any) -> None:
        self.code_max_length = max_length
        if queryset is not None:  # named here so that the field's model is the queryset's
            kwargs["queryset"] = queryset
        super().__init__(*args, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str | int) or isinstance(data, bool):
            self.fail("invalid")
        text = str(data)
        if len(text) > self.code_max_length or any(ord(ch) < 32 for ch in text):
            self.fail("invalid_code")
        return super().to_internal_value(text)


class IdRelatedField(serializers.PrimaryKeyRelatedField[_M]):
    """A PrimaryKeyRelatedField that takes ids from 1 to ID_MAX only (patent_platform/params.py): a larger
    number is refused with a field error before it reaches the database, and the schema says the range."""

    default_error_messages: ClassVar[dict[str, Any]] = {
        "out_of_range": _("id 须为 1 到 %(max)s 之间的整数。"),
    }

    def to_internal_value(self, data: Any) -> Any:
        whole = isinstance(data, int | str) and not isinstance(data, bool) and str(data).strip().lstrip("+-").isdigit()
        if whole and int_or_none(data, maximum=ID_MAX) is None:  # other values: the parent's own messages
            self.fail("out_of_range", max=ID_MAX)
        return super().to_internal_value(data)


class ModelSerializer(serializers.ModelSerializer[_M]):
    """The API's ModelSerializer: a read-only choice field of a model field that may be blank keeps its blank
    choice. DRF drops `allow_blank` from fields made read-only in `Meta.read_only_fields`, so the schema said
    the value is one of the choices and a generated client refused the "" the API sends (a unit's scale
    before it is given). Every ModelSerializer of the API derives from this one."""

    def include_extra_kwargs(
        self, kwargs: MutableMapping[str, Any], extra_kwargs: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        blank_choice = bool(kwargs.get("allow_blank")) and "choices" in kwargs
        kwargs = super().include_extra_kwargs(kwargs, extra_kwargs)
        if blank_choice:
            kwargs["allow_blank"] = True
        return kwargs
