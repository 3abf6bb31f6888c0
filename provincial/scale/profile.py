"""The shape of the seeded dataset: its distributions (statuses, legal states, scales, the provinces' shares), the
names it draws from, the plan of a run and the tables it writes (their COPY columns)."""

from __future__ import annotations

import datetime as dt
import random
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from django.db.models import Model

from filings.choices import FilingStatus, LegalStatus, RightKind, UnitScale
from filings.identifiers import USCC_ALPHABET
from filings.models import (
    FilingUnit,
    Patent,
    PatentLink,
    PatentRight,
    Product,
    ProductVersion,
)
from filings.workflow import default_data_year
from patent_platform.clock import CHINA_TZ, china_today

S = FilingStatus


class Weighted:
    """Values with weights, the cumulative weights computed once (`rng.choices` would redo it per call)."""

    def __init__(self, pairs: list[tuple[Any, float]]) -> None:
        self.values = [v for v, _w in pairs]
        self.cumulative = list(accumulate(w for _v, w in pairs))

    def pick(self, rng: random.Random) -> Any:
        index = bisect_right(self.cumulative, rng.random() * self.cumulative[-1])
        return self.values[min(index, len(self.values) - 1)]


# random.Random's randint/randrange/choice are slow in pure Python; these draw the same way from random().
def rand_below(rng: random.Random, n: int) -> int:
    return int(rng.random() * n)


def rand_int(rng: random.Random, low: int, high: int) -> int:
    return low + int(rng.random() * (high - low + 1))


def rand_choice(rng: random.Random, seq: Any) -> Any:
    return seq[int(rng.random() * len(seq))]


UNIT_MARK = "MAY"  # organisation-code prefix of the seeded filing units

UNFILED_MARK = "MAX"  # … of the roster-only enterprises

SERIAL_BASE = 5_000_000  # patent serials start here (the demo's are below 3,400,000)

CHUNK = 20_000  # rows per COPY statement

# Share of filing units per province: the six big filers hold three quarters, then a long tail
# (relative weights, roughly the provinces' patent output; each jittered ±25 % per seed).
BIG_SIX = {"440000": 0.22, "320000": 0.15, "330000": 0.13, "370000": 0.09, "110000": 0.08, "310000": 0.08}

BIG_SIX_SHARE = sum(BIG_SIX.values())

TAIL = {
    "350000": 10, "420000": 10, "340000": 10, "510000": 9, "410000": 8, "430000": 8, "120000": 6,
    "610000": 6, "500000": 5, "130000": 5, "210000": 5, "360000": 4, "450000": 3, "140000": 2,
    "220000": 2, "230000": 2, "530000": 2, "520000": 2, "150000": 1, "650000": 1, "460000": 1,
    "620000": 1, "640000": 0.5, "630000": 0.3, "540000": 0.2,
}  # fmt: skip

# Status of a product's newest version / of its earlier versions (a yearly update starts only from a
# decided version, so earlier ones are approved, withdrawn or revoked).
LATEST_STATUS = Weighted(
    [
        (S.APPROVED, 64),
        (S.DRAFT, 8),
        (S.SUBMITTED, 10),
        (S.RETURNED, 6),
        (S.RESUBMITTED, 4),
        (S.WITHDRAWN, 5),
        (S.REVOKED, 3),
    ]
)

EARLIER_STATUS = Weighted([(S.APPROVED, 92), (S.WITHDRAWN, 4), (S.REVOKED, 4)])

PATENT_TYPES = Weighted([("1", 44), ("2", 40), ("3", 12), ("8", 3), ("9", 1)])

LEGAL = Weighted(
    [
        (LegalStatus.VALID, 90),
        (LegalStatus.PENDING, 3),
        (LegalStatus.LAPSED, 4),
        (LegalStatus.EXPIRED, 2),
        (LegalStatus.INVALIDATED, 1),
    ]
)

RIGHTS = Weighted(
    [
        (RightKind.OWNER, 80),
        (RightKind.LICENSEE, 8),
        (RightKind.CO_OWNER, 5),
        (RightKind.TRANSFEREE, 5),
        (RightKind.CAPITAL, 2),
    ]
)

SCALES = Weighted([(UnitScale.LARGE, 8), (UnitScale.MEDIUM, 27), (UnitScale.SMALL, 45), (UnitScale.MICRO, 20)])

PAIRS = Weighted([(1, 1), (2, 2), (3, 4), (4, 2), (5, 1)])

KIND_BY_DIGIT = {"1": "invention", "2": "utility_model", "3": "design", "8": "invention", "9": "utility_model"}

BRANDS = ["华创", "鼎新", "汇智", "恒通", "中科", "瑞丰", "博远", "天成", "金诺", "星河"]

TRADES = [
    "智能装备",
    "微电子",
    "新材料",
    "生物医药",
    "光电技术",
    "环保科技",
    "信息技术",
    "精密机械",
    "新能源",
    "医疗器械",
]

SUFFIXES = ["有限公司", "股份有限公司", "科技有限公司", "集团有限公司"]

PRODUCT_WORDS = [
    ("工业", "机器人"),
    ("智能", "传感器"),
    ("高性能", "芯片"),
    ("精密", "减速器"),
    ("新型", "复合膜"),
    ("高效", "电池组"),
    ("数字", "监护仪"),
    ("环保", "过滤器"),
    ("高速", "接口模块"),
    ("轻量化", "结构件"),
    ("节能", "电机"),
    ("便携式", "检测仪"),
]

TITLE_WORDS = ["一种", "基于", "用于", "高可靠的"]

TITLE_CORE = ["控制方法", "装置及其制备方法", "系统", "电路", "材料", "结构", "组件", "检测方法"]


def rand_pick(rng: random.Random, weighted: Weighted) -> Any:
    return weighted.pick(rng)


def base31(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rest = divmod(number, 31)
        digits.append(USCC_ALPHABET[rest])
    return "".join(reversed(digits))


def iso_ts(moment: dt.datetime) -> str:
    return moment.isoformat()


def money_text(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


NULL = "\\N"


@dataclass
class Plan:
    products: int
    seed: int = 1
    years: int = 5
    last_year: int = field(default_factory=default_data_year)
    now: dt.datetime = field(
        default_factory=lambda: dt.datetime.combine(
            china_today(), dt.time(8, 0), tzinfo=CHINA_TZ
        )  # the day, not the second: the same seed gives the same rows all day
    )


@dataclass
class TableSpec:
    model: type[Model]
    columns: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.model._meta.db_table


TABLES = {
    "unit": TableSpec(
        FilingUnit,
        (
            "id",
            "uscc",
            "name",
            "kind",
            "region_id",
            "province_code",
            "city_code",
            "county_code",
            "address",
            "industry",
            "scale",
            "contact_name",
            "contact_phone",
            "contact_email",
            "created_at",
            "verified_at",  # seeded units are verified (filings/identity.py): their versions were submitted
            "verified_via",
        ),
    ),
    "patent": TableSpec(
        Patent,
        (
            "id",
            "number",
            "kind",
            "pct",
            "title",
            "application_date",
            "grant_date",
            "legal_status",
            "status_updated_at",
            "created_at",
        ),
    ),
    "right": TableSpec(
        PatentRight,
        ("id", "unit_id", "patent_id", "kind", "licence_kind", "recordal_number", "valid_until", "created_at"),
    ),
    "product": TableSpec(
        Product,
        (
            "id",
            "unit_id",
            "filing_number",
            "published_version_id",
            "province_code",
            "city_code",
            "county_code",
            "created_at",
        ),
    ),
    "version": TableSpec(
        ProductVersion,
        (
            "id",
            "product_id",
            "data_year",
            "status",
            "name",
            "model",
            "product_class_id",
            "description",
            "first_sale_date",
            "sales",
            "exports",
            "output_value",
            "certification_opt_in",
            "review_round",
            "submitted_at",
            "decided_at",
            "created_at",
            "updated_at",
        ),
    ),
    "link": TableSpec(PatentLink, ("id", "version_id", "right_id", "is_core", "contribution", "embodiment")),
}
