"""Reading one cell: the readers every spreadsheet import uses, each raising `CellError` with the reason.

A reader takes the raw value openpyxl or the CSV reader gives (str, int, float, bool, date, datetime, None)
and returns the parsed value; blank cells are the caller's to skip (`blank`) before a reader is called.
The messages are in Chinese, translated through the usual catalogue.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext as _

T = TypeVar("T")

SOURCE_LANGUAGE = "zh-hans"  # the file formats (headers, drop-down values) are in Chinese whatever the user's
YES, NO = "是", "否"
TRUE_WORDS = frozenset({YES, "Y", "YES", "TRUE", "1", "√"})
FALSE_WORDS = frozenset({NO, "N", "NO", "FALSE", "0"})
AMOUNT_LIMIT = Decimal(10) ** 12  # an amount must stay below this (the columns hold 14 digits, 2 decimals)
EXCEL_SERIAL_DATES = (20000, 80000)  # a number in this open range is read as an Excel serial date (1954–2119)
_DATE_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


class CellError(Exception):
    """A cell that cannot be read; the message says why."""


def blank(value: Any) -> bool:
    """An empty cell: None, or only white space."""
    return value is None or (isinstance(value, str) and not value.strip())


def text(value: Any) -> str:
    """The cell as text, stripped: 3.0 is "3", a date "2024-05-18", None ""."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def plain(value: Any) -> str:
    """The cell as text with full-width forms made ASCII (for numbers, codes and options, not for names)."""
    return unicodedata.normalize("NFKC", text(value)).replace("。", ".")


def number_text(value: Any) -> str:
    """A code typed into a number cell as written (201710601862.3 keeps its decimals), else `plain`."""
    return repr(value) if isinstance(value, float) else plain(value)


def norm_header(value: Any) -> str:
    """A header or option as compared: NFKC, no white space, no trailing * (the template marks required)."""
    normalised = unicodedata.normalize("NFKC", str(value or ""))
    return "".join(normalised.split()).rstrip("*")


def bounded_text(max_length: int | None) -> Callable[[Any], str]:
    """A reader of free text of at most `max_length` characters (None: any length)."""

    def read(value: Any) -> str:
        result = text(value)
        if max_length and len(result) > max_length:
            raise CellError(_("不能超过 %(n)s 个字（现有 %(len)s 个）。") % {"n": max_length, "len": len(result)})
        return result

    return read


def date(value: Any) -> dt.date:
    """A date: a date cell, an Excel serial number, or 2024-05-18 / 2024/5/18 / 2024.5.18 / 2024年5月18日."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    low, high = EXCEL_SERIAL_DATES
    if isinstance(value, int | float) and not isinstance(value, bool) and low < value < high:
        # an Excel serial date in a cell formatted as a number
        return dt.date(1899, 12, 30) + dt.timedelta(days=int(value))
    match = _DATE_RE.fullmatch(plain(value))
    if match:
        try:
            return dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            pass
    raise CellError(_("“%(value)s”不是有效日期，请写成 2024-05-18 这样的格式。") % {"value": text(value)})


def decimal(value: Any) -> Decimal:
    """An amount: a number ≥ 0, below 10¹², with at most two decimal places (1,234.5 and full-width digits too)."""
    if isinstance(value, bool):
        raise CellError(_("须为数字。"))
    if isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, int | Decimal):
        number = Decimal(value)
    else:
        try:
            number = Decimal(plain(value).replace(",", ""))
        except InvalidOperation:
            raise CellError(_("“%(value)s”不是数字。") % {"value": text(value)}) from None
    if not number.is_finite():
        raise CellError(_("“%(value)s”不是数字。") % {"value": text(value)})
    if number < 0:
        raise CellError(_("不能为负数。"))
    if number >= AMOUNT_LIMIT:
        raise CellError(_("数值过大。"))
    if number != number.quantize(Decimal("0.01")):
        raise CellError(_("最多保留两位小数。"))
    return number


def decimal_or_zero(value: Any) -> Decimal:
    """A number already checked (a form's, the API's or a reader's) as a Decimal; None and "" are 0."""
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def integer(value: Any) -> int:
    """A whole number ≥ 0: 3, 3.0, "3", "３" (any length: a 20-digit number stays exact when typed as text)."""  # noqa: RUF002
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    digits = plain(value)
    if digits.isdecimal():  # not isdigit: "¹" or "፩" are digits that int() refuses
        try:
            return int(digits)
        except ValueError:  # longer than Python converts (4,300 digits)
            pass
    raise CellError(_("“%(value)s”不是整数。") % {"value": digits})


def boolean(value: Any) -> bool:
    """是/否 (or Y/N, YES/NO, TRUE/FALSE, 1/0, √)."""
    if isinstance(value, bool):
        return value
    word = plain(value).upper()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise CellError(_("请填写“是”或“否”。"))


def choice_labels(choices: Any) -> list[str]:
    """The labels of a TextChoices class in the file format's language (the drop-down's values)."""
    with translation.override(SOURCE_LANGUAGE):
        return [str(label) for label in choices.labels]


def choice(choices: Any) -> Callable[[Any], str]:
    """A reader of one of a TextChoices class's values, given as its code or its label (Chinese or current)."""
    lookup: dict[str, str] = {}
    for value, label in zip(choices.values, choice_labels(choices), strict=True):
        lookup[norm_header(value)] = value
        lookup[norm_header(label)] = value
        lookup[norm_header(str(choices(value).label))] = value  # the current language's label
    options = "、".join(choice_labels(choices))

    def read(value: Any) -> str:
        found = lookup.get(norm_header(text(value)))
        if found is None:
            raise CellError(
                _("“%(value)s”不是可选值，可选：%(options)s。") % {"value": text(value), "options": options}
            )
        return found

    return read


def validated(parse: Callable[[str], T], *, source: Callable[[Any], str] = plain) -> Callable[[Any], T]:
    """A reader made of a validator that raises Django's ValidationError (an identifier's, say) on `source(value)`."""

    def read(value: Any) -> T:
        try:
            return parse(source(value))
        except ValidationError as exc:
            raise CellError(" ".join(exc.messages)) from None

    return read
