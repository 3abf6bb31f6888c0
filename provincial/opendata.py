"""Open data (issue 9, item 5): monthly statistics per province and product class, no enterprise-level data.

One document per complete month M (Asia/Shanghai), from the first month in which a product was approved to
the month before the current one. Each row is one province (GB/T 2260) and one product class; it holds
counts only, never a unit, a product or a filing number:

- `new_approved`: approved products whose first currently approved version was decided in M
  (the dashboard's month drill-down and trend: `dashboards.approved_before`);
- `approved`: approved products whose first currently approved version was decided before the end of M
  (the dashboard's "approved products" as it stood at the end of M);
- `units`: filing units with at least one of those products in the row (distinct within a row: a unit with
  products in two classes counts in both rows, so the row values of `units` do not add up to `totals.units`);
- `certified`: products holding a certificate at the end of M (or now, for the current month): "certified as
  of D" (evaluation/lifecycle.py `held_q`; `dashboards.certified_condition`): issued, within its validity, not
  revoked and its filing not ended; a suspended certificate is still held.

Everything is read as the national office reads its dashboard (`dashboards.area_for_unit(None)`: a `Principal`
with scope EVERYTHING through `visible_to`), with the dashboard's own conditions, so the figures equal the
dashboards'. The province and the product class are those of the product (its unit's province and its
published version's class) today, as on the dashboards; a product revoked later leaves the past months too,
because the dashboards count currently approved versions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, cast

from django.core.cache import cache
from django.db.models import Count, Exists, Min, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from evaluation import lifecycle
from filings.choices import FilingStatus
from filings.models import ProductClass, ProductVersion
from patent_platform import clock
from patent_platform.choices import RegionLevel
from patent_platform.models import Region
from provincial import dashboards

SCHEMA_VERSION = "1.0"
CACHE_SECONDS = 3600
CACHE_KEY = "opendata:v1"
# The documents are in Chinese whatever the visitor's language (stable files); the strings are marked for
# the catalogue so that the index page can show them translated.
LICENSE_NOTE = gettext_noop(
    "本数据由专利产品备案与认定平台按月汇总发布，不含任何企业级数据，可自由使用、转载和再加工，"
    "使用时请注明来源“专利产品备案与认定平台开放数据”。"
)
BLANK_REGION = gettext_noop("未细分到该级")

# name, JSON type, description (the schema, the CSV header and docs/OPEN_DATA.md list the same fields)
FIELDS: list[tuple[str, str, str]] = [
    ("month", "string", gettext_noop("统计月份，YYYY-MM（北京时间）")),
    ("region_code", "string", gettext_noop("省级行政区划代码（GB/T 2260，6 位）")),
    ("region_name", "string", gettext_noop("省级行政区划名称")),
    ("product_class_code", "string", gettext_noop("产品分类代码")),
    ("product_class_name", "string", gettext_noop("产品分类名称")),
    ("new_approved", "integer", gettext_noop("当月新增通过备案的产品数（首次通过备案在当月）")),
    ("approved", "integer", gettext_noop("截至月末累计通过备案的产品数")),
    ("units", "integer", gettext_noop("截至月末拥有通过备案产品的备案单位数（本行内去重）")),
    ("certified", "integer", gettext_noop("截至月末认定的专利密集型产品数（认定结果已公布）")),
]
FIGURES = ("new_approved", "approved", "units", "certified")
CSV_HEADER = [name for name, _type, _description in FIELDS]


# ---------------------------------------------------------------------------------------------
# Months


def first_data_month() -> dt.datetime | None:
    """The month of the earliest decision of a currently approved version (None: nothing approved yet)."""
    area = dashboards.area_for_unit(None)
    first = (
        ProductVersion.objects.visible_to(area.user)
        .filter(status=FilingStatus.APPROVED)
        .aggregate(first=Min("decided_at"))["first"]
    )
    if first is None:
        return None
    return clock.current_month_start(first)


def available_months(now: dt.datetime | None = None) -> list[str]:
    """The complete months with data, oldest first (YYYY-MM)."""
    start = first_data_month()
    if start is None:
        return []
    end = clock.current_month_start(now)
    months = []
    while start < end:
        months.append(clock.month_key(start))
        start = clock.next_month(start)
    return months


def parse(month: str, now: dt.datetime | None = None) -> dt.datetime | None:
    """The first instant of a published month, or None (malformed, before the data, current or future)."""
    if len(month) != 7 or month[4] != "-":
        return None
    start = dashboards.parse_month(month)
    if start is None:
        return None
    first = first_data_month()
    if first is None or start < first or start >= clock.current_month_start(now):
        return None
    return start


# ---------------------------------------------------------------------------------------------
# Figures


def certified_before(moment: dt.datetime) -> Exists:
    """`dashboards.certified_condition` as it stood at `moment`: a certificate held then (evaluation/lifecycle.py
    `held_q`: issued before it, within its validity, not revoked and its filing not ended by then)."""
    return lifecycle.held_by_product(moment)


def figures(start: dt.datetime) -> dict[str, Any]:
    """The rows and national totals of the month beginning at `start` (one grouped query each)."""
    end = clock.next_month(start)
    area = dashboards.area_for_unit(None)
    products = area.products()
    in_force = Q(dashboards.approved_before(end))
    new = ~Q(dashboards.approved_before(start)) & Q(dashboards.approved_before(end))
    certified = Q(certified_before(min(end, timezone.now())))
    counted = products.filter(in_force | certified)
    grouped = (
        counted.values("province_code", "published_version__product_class_id")
        .annotate(
            new_approved=Count("pk", filter=new),
            approved=Count("pk", filter=in_force),
            units=Count("unit_id", filter=in_force, distinct=True),
            certified=Count("pk", filter=certified),
        )
        .order_by("province_code", "published_version__product_class_id")
    )
    totals = counted.aggregate(
        new_approved=Count("pk", filter=new),
        approved=Count("pk", filter=in_force),
        units=Count("unit_id", filter=in_force, distinct=True),
        certified=Count("pk", filter=certified),
    )
    regions = dict(Region.objects.filter(level=RegionLevel.PROVINCE).values_list("code", "name"))
    classes = {c.pk: c for c in ProductClass.objects.all()}
    month = clock.month_key(start)
    rows = []
    for row in grouped:
        product_class = classes.get(row["published_version__product_class_id"])
        rows.append(
            {
                "month": month,
                "region_code": row["province_code"] or "",
                "region_name": regions.get(row["province_code"], BLANK_REGION),
                "product_class_code": product_class.code if product_class else "",
                "product_class_name": product_class.name if product_class else "",
                **{name: cast("dict[str, Any]", row)[name] for name in FIGURES},
            }
        )
    rows.sort(key=lambda r: (r["region_code"], r["product_class_code"]))
    return {"rows": rows, "totals": {name: totals[name] or 0 for name in FIGURES}}


def document(month: str, start: dt.datetime) -> dict[str, Any]:
    """The JSON document of a month (cached CACHE_SECONDS; `etag` is a hash of its figures)."""
    key = f"{CACHE_KEY}:{month}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    data = figures(start)
    generated = clock.china_now().replace(microsecond=0)
    body = {
        "schema_version": SCHEMA_VERSION,
        "month": month,
        "period": {
            "start": start.isoformat(),
            "end": clock.next_month(start).isoformat(),
            "timezone": "Asia/Shanghai",
        },
        "generated_at": generated.isoformat(),
        "data_as_of": generated.isoformat(),
        "license": LICENSE_NOTE,
        "fields": [{"name": n, "type": t, "description": d} for n, t, d in FIELDS],
        "totals": data["totals"],
        "rows": data["rows"],
    }
    fingerprint = json.dumps([SCHEMA_VERSION, data], sort_keys=True, ensure_ascii=False)
    result = {"body": body, "etag": hashlib.sha256(fingerprint.encode()).hexdigest()[:32], "generated": generated}
    cache.set(key, result, CACHE_SECONDS)
    return result


def json_schema(schema_url: str = "") -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a month's document."""
    count = {"type": "integer", "minimum": 0}
    row_properties: dict[str, Any] = {}
    for name, kind, description in FIELDS:
        row_properties[name] = {**(count if kind == "integer" else {"type": kind}), "description": description}
    row_properties["month"]["pattern"] = r"^\d{4}-(0[1-9]|1[0-2])$"
    row_properties["region_code"]["pattern"] = r"^(\d{6})?$"
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "专利产品备案月度开放数据",
        "description": "每月一份：按省份和产品分类汇总的备案与认定数量，不含企业级数据。",
        "type": "object",
        "required": [
            "schema_version",
            "month",
            "period",
            "generated_at",
            "data_as_of",
            "license",
            "fields",
            "totals",
            "rows",
        ],
        "additionalProperties": False,
        "properties": {
            "$schema": {"type": "string", "format": "uri", "description": "本 JSON Schema 的地址"},
            "schema_version": {"const": SCHEMA_VERSION},
            "month": {"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$"},
            "period": {
                "type": "object",
                "required": ["start", "end", "timezone"],
                "additionalProperties": False,
                "properties": {
                    "start": {"type": "string", "format": "date-time"},
                    "end": {"type": "string", "format": "date-time"},
                    "timezone": {"const": "Asia/Shanghai"},
                },
            },
            "generated_at": {"type": "string", "format": "date-time"},
            "data_as_of": {"type": "string", "format": "date-time"},
            "license": {"type": "string"},
            "fields": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "type", "description"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {"enum": CSV_HEADER},
                        "type": {"enum": ["string", "integer"]},
                        "description": {"type": "string"},
                    },
                },
            },
            "totals": {
                "type": "object",
                "description": "全国合计（units 为全国去重的单位数）",
                "required": list(FIGURES),
                "additionalProperties": False,
                "properties": {name: count for name in FIGURES},
            },
            "rows": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": CSV_HEADER,
                    "additionalProperties": False,
                    "properties": row_properties,
                },
            },
        },
    }
    if schema_url:
        schema["$id"] = schema_url
    return schema
