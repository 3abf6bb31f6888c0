"""Type names shared by the packages (issue 23: mypy in `make check`).

`StrOrPromise` is what gettext_lazy returns or a plain string (the names of django-stubs under type
checking, the runtime classes otherwise: django-stubs is a development dependency only). `Digits` is the
precision of a DecimalField given once per module (`DecimalField(**MONEY)`).
"""

from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise as StrOrPromise
else:
    from django.utils.functional import Promise

    StrOrPromise = str | Promise


class Digits(TypedDict):
    max_digits: int
    decimal_places: int


__all__ = ["Digits", "StrOrPromise"]
