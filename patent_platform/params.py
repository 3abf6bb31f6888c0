"""Numbers from outside, range-checked at the edge: one place for the limits every path applies.

The databases hold integers of 64 bits (PostgreSQL bigint, SQLite INTEGER); a larger number given as an
id, a filter or a field would make the database driver fail (SQLite: OverflowError, PostgreSQL: value
out of range) and answer 500. So:

- ids in URLs match `IdConverter` (`<id:pk>`, 1–18 digits, registered in `PatentPlatformConfig.ready`;
  the API's routers use `ID_REGEX` as their lookup): a longer number matches no route and answers 404,
  as any id that names nothing;
- query parameters go through `int_param` (API: HTTP 400 with the parameter named; pages: `None`, the
  filter left out, via `int_or_none`);
- form and serializer fields that take an integer carry both a minimum and a maximum
  (tests/platform/test_boundaries.py checks every form and every request body of the API schema).
"""

from typing import Any

from django.utils.translation import gettext_lazy as _

from patent_platform.api.problems import invalid_parameter

ID_MAX = 10**18 - 1  # the largest id a URL may carry: 18 digits always fit a bigint
ID_REGEX = "[0-9]{1,18}"
YEAR_MAX = 9999
SMALL_MAX = 32767  # a small count or order (PositiveSmallIntegerField on every database)


class IdConverter:
    """`<id:pk>`: a positive object id of at most 18 digits (beyond, no route matches: 404)."""

    regex = ID_REGEX

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: Any) -> str:
        return str(int(value))


def int_param(params: Any, name: str, message: Any = None, *, minimum: int = 1, maximum: int = ID_MAX) -> int | None:
    """An integer query parameter (API): None when absent or empty, HTTP 400 naming it when it is not a
    whole number between `minimum` and `maximum`."""
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    value = int_or_none(raw, minimum=minimum, maximum=maximum)
    if value is None:
        text = message or _("须为 %(min)s 到 %(max)s 之间的整数。") % {"min": minimum, "max": maximum}
        raise invalid_parameter(name, text, "out_of_range")
    return value


def int_or_none(raw: Any, *, minimum: int = 1, maximum: int = ID_MAX) -> int | None:
    """An integer filter from a page's query string: None (the filter left out) unless it is a whole
    number between `minimum` and `maximum`."""
    text = str(raw or "").strip()
    if not text or len(text) > 20:  # int() of a huge string is slow: refuse it unread
        return None
    try:
        value = int(text)
    except ValueError:
        return None
    return value if minimum <= value <= maximum else None


def parse_moment(raw: Any) -> Any:
    """An ISO 8601 date-time from a query parameter (a date alone: its midnight; no zone: the platform's,
    Asia/Shanghai), or None when it is not one."""
    import datetime as dt

    from django.utils import timezone
    from django.utils.dateparse import parse_date, parse_datetime

    text = str(raw or "").strip().replace(" ", "+")  # an unescaped "+08:00" arrives as " 08:00"
    if not text or len(text) > 40:
        return None
    try:
        moment = parse_datetime(text)
        if moment is None and (day := parse_date(text)) is not None:
            moment = dt.datetime.combine(day, dt.time())
    except ValueError:
        return None
    if moment is None:
        return None
    try:  # in UTC: PostgreSQL refuses an offset beyond ±15:59 that Python parses (the fuzzer's "+16:41")
        return (timezone.make_aware(moment) if timezone.is_naive(moment) else moment).astimezone(dt.UTC)
    except (OverflowError, ValueError):  # year 1 at -01:00, a local time that does not exist
        return None


def int_parameter(name: str, description: Any, *, minimum: int = 1, maximum: int = ID_MAX) -> Any:
    """The OpenAPI declaration of an integer query parameter with the range `int_param` enforces."""
    from drf_spectacular.utils import OpenApiParameter

    schema = {"type": "integer", "minimum": minimum, "maximum": maximum}
    return OpenApiParameter(name, schema, description=description)
