"""A national-size dataset written with PostgreSQL COPY (issue 7): `manage.py seed_scale`.

For N products: about 0.3·N filing units, 3·N product–patent pairs (each pair a `PatentRight` of the
product's unit and the `Patent` it names; every data year of the product carries the pair as a
`PatentLink`, as a yearly update copies them), up to five data years of `ProductVersion` rows (products
start in different years and some stop), every `FilingStatus` with "approved" dominant, filing numbers
in the real format with `FilingNumberSequence` moved past them, valid USCCs and application numbers
(their check characters computed by `filings.identifiers`), and the skew of the real platform: about
three quarters of the units in 广东, 江苏, 浙江, 山东, 北京 and 上海, the rest spread unevenly over the
other provinces. The same seed on the same day gives the same rows.

The rows are generated in Python as COPY text and written table by table in chunks (FK constraints are
DEFERRABLE INITIALLY DEFERRED, so the order inside the transaction does not matter), then the id
sequences are moved past the new ids (`setval`) and the tables analysed. Rosters and a certification
round are made afterwards through the ORM and the set-based engine (see the command).

The organisation-code body of every seeded unit starts with ``MAY`` (``MAX`` for the roster-only
enterprises that never filed): no demo unit uses these, and `seeded_units_exist` looks for them.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import accumulate
from queue import Queue
from typing import Any

from django.db import connection

from filings.choices import FilingStatus, LegalStatus, LicenceKind, RightKind, UnitKind, UnitScale, VerificationMethod
from filings.identifiers import USCC_ALPHABET, build_patent_number, build_uscc
from filings.industries import industries
from filings.models import (
    FilingNumberSequence,
    FilingUnit,
    Patent,
    PatentLink,
    PatentRight,
    Product,
    ProductClass,
    ProductVersion,
)
from filings.workflow import default_data_year
from patent_platform.clock import CHINA_TZ, china_today
from patent_platform.fieldcrypto import encrypt
from patent_platform.models import Region

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
def _below(rng: random.Random, n: int) -> int:
    return int(rng.random() * n)


def _int(rng: random.Random, low: int, high: int) -> int:
    return low + int(rng.random() * (high - low + 1))


def _choice(rng: random.Random, seq: Any) -> Any:
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
BRANDS += ["海纳", "九州", "联众", "宏达", "精工", "安泰", "昊宇", "睿思", "蓝海", "启航"]
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


def _pick(rng: random.Random, weighted: Weighted) -> Any:
    return weighted.pick(rng)


def base31(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rest = divmod(number, 31)
        digits.append(USCC_ALPHABET[rest])
    return "".join(reversed(digits))


def _ts(moment: dt.datetime) -> str:
    return moment.isoformat()


def _money(cents: int) -> str:
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
    model: type
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


def _next_id(model: type) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {model._meta.db_table}")  # noqa: S608 (model table)
        return cursor.fetchone()[0] + 1


class Generator:
    """Produces the COPY text lines of every table, chunk by chunk (`chunks()`), deterministically."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.rng = random.Random(plan.seed)  # noqa: S311 (test data, not security)
        # the nonces of the seeded contacts' tokens, drawn from their own stream so that the same seed gives
        # the same rows (synthetic contacts: nothing secret; the ORM draws every nonce from the OS)
        self.nonce_rng = random.Random(f"nonces-{plan.seed}")  # noqa: S311
        self.ids = {key: _next_id(spec.model) for key, spec in TABLES.items()}
        self.buffers: dict[str, list[str]] = {key: [] for key in TABLES}
        self.counts: dict[str, int] = dict.fromkeys(TABLES, 0)
        # filing-number serials continue after the existing sequences (demo data, earlier approvals)
        self.sequences: dict[tuple[int, str], int] = {
            (s.year, s.province_code): s.last for s in FilingNumberSequence.objects.all()
        }
        self.patent_serials: dict[tuple[int, str], int] = {}
        self._pending_rights: list[tuple[int, int]] = []  # rights of the current unit, written after it
        self.classes = list(ProductClass.objects.filter(is_active=True).order_by("code").values_list("pk", flat=True))
        if not self.classes:
            raise ValueError("no product classes: run `manage.py load_reference` first")
        self.class_table = Weighted([(pk, _int(self.rng, 3, 12)) for pk in self.classes])
        self.industries = [code for code in industries() if len(code) == 2 and code[:1].isdigit()]
        self._regions()

    def _regions(self) -> None:
        counties: dict[str, list[tuple[str, str, str]]] = {}
        for code, province, city in Region.objects.filter(level="county").values_list(
            "code", "province_code", "city_code"
        ):
            counties.setdefault(province, []).append((code, province, city))
        if not counties:
            raise ValueError("no regions: run `manage.py load_reference` first")
        tail = sorted(p for p in counties if p not in BIG_SIX)
        tail_weights = [TAIL.get(p, 0.5) * self.rng.uniform(0.75, 1.25) for p in tail]
        scale = (1 - BIG_SIX_SHARE) / sum(tail_weights)
        self.provinces = [p for p in BIG_SIX if p in counties] + tail
        self.province_weights = [BIG_SIX[p] for p in BIG_SIX if p in counties] + [w * scale for w in tail_weights]
        self.province_table = Weighted(list(zip(self.provinces, self.province_weights, strict=True)))
        self.counties = counties
        self.names = dict(Region.objects.filter(level="province").values_list("code", "name"))

    # --- helpers ----------------------------------------------------------------------------------

    def _id(self, key: str) -> int:
        value = self.ids[key]
        self.ids[key] = value + 1
        return value

    def _emit(self, key: str, fields: tuple[Any, ...]) -> None:
        self.buffers[key].append("\t".join(fields))
        self.counts[key] += 1

    def _flush(self, force: bool = False) -> Iterator[tuple[TableSpec, list[str]]]:
        for key, lines in self.buffers.items():
            if lines and (force or len(lines) >= CHUNK):
                yield TABLES[key], lines
                self.buffers[key] = []

    def _moment(self, year: int, start: dt.datetime | None = None) -> dt.datetime:
        """A moment in the filing season of `year` (Jan 5 – Dec 20, China time), never after `now`."""
        first = start or dt.datetime(year, 1, 5, 9, tzinfo=CHINA_TZ)
        last = min(dt.datetime(year, 12, 20, 18, tzinfo=CHINA_TZ), self.plan.now - dt.timedelta(days=2))
        if last <= first:
            return first if start is None else min(start + dt.timedelta(hours=1), self.plan.now)
        return first + dt.timedelta(seconds=_below(self.rng, int((last - first).total_seconds())))

    def _later(self, moment: dt.datetime, low: int, high: int) -> dt.datetime:
        later = moment + dt.timedelta(days=_int(self.rng, low, high), minutes=_below(self.rng, 600))
        return min(later, self.plan.now - dt.timedelta(hours=1))

    # --- rows -------------------------------------------------------------------------------------

    def chunks(self) -> Iterator[tuple[TableSpec, list[str]]]:
        plan, rng = self.plan, self.rng
        n_units = max(1, round(plan.products * 0.3))
        per_unit = [1] * n_units
        for _ in range(plan.products - n_units):  # a few units file many products
            per_unit[int(n_units * rng.random() ** 1.5)] += 1
        first_years = range(plan.last_year - plan.years + 1, plan.last_year + 1)
        self.year_table = Weighted([(year, 1 + 0.5 * i) for i, year in enumerate(first_years)])
        pair_counts = iter(self._pair_counts(plan.products, rng))
        for index, products in enumerate(per_unit):
            self._unit(index, products, pair_counts)
            yield from self._flush()
        yield from self._flush(force=True)

    @staticmethod
    def _pair_counts(n: int, rng: random.Random) -> Iterator[int]:
        """Patents per product: 1–5, exactly 3·n in all (pairs of products sum to 6)."""
        for _ in range(n // 2):
            k = _pick(rng, PAIRS)
            yield k
            yield 6 - k
        yield 3

    def _unit(self, index: int, products: int, pair_counts: Iterator[int]) -> None:
        rng, plan = self.rng, self.plan
        unit_id = self._id("unit")
        province = _pick(rng, self.province_table)
        county, province_code, city_code = _choice(rng, self.counties[province])
        uscc = build_uscc(region_code=county, org_body=UNIT_MARK + base31(index, 5))
        province_name = self.names.get(province, "")[:2]
        name = f"{province_name}{_choice(rng, BRANDS)}{_choice(rng, TRADES)}{_choice(rng, SUFFIXES)}"
        institution = rng.random() < 0.04
        rights: list[tuple[int, int]] = []  # (right id, application year) of the unit
        earliest = plan.now
        for _ in range(products):
            frame = self._product(unit_id, province_code, city_code, county, rights)
            earliest = min(earliest, self._product_with(next(pair_counts), frame))
        unit_created = earliest - dt.timedelta(days=_int(rng, 1, 60))
        self._emit(
            "unit",
            (
                str(unit_id),
                uscc,
                name.replace("有限公司", "研究院") if institution else name,
                UnitKind.INSTITUTION if institution else UnitKind.COMPANY,
                county,
                province_code,
                city_code or "",
                county,
                f"{province_name}示例路{_int(rng, 1, 999)}号",
                _choice(rng, self.industries),
                UnitScale.NA if institution else _pick(rng, SCALES),
                # personal data is stored encrypted (patent_platform/fieldcrypto.py), as the ORM would
                encrypt(f"联系人{index % 1000:03d}", nonce=self.nonce_rng.randbytes(12)),
                encrypt(f"0{_int(rng, 10, 999)}-{_int(rng, 10000000, 99999999)}", nonce=self.nonce_rng.randbytes(12)),
                encrypt(f"contact{index}@unit{index}.example.cn", nonce=self.nonce_rng.randbytes(12)),
                _ts(unit_created),
                _ts(unit_created),
                VerificationMethod.ADMINISTRATOR,
            ),
        )
        for right_id, patent_year in self._pending_rights:
            self._patent_right(unit_id, right_id, patent_year, unit_created)
        self._pending_rights = []

    def _product(
        self,
        unit_id: int,
        province_code: str,
        city_code: str,
        county: str,
        rights: list[tuple[int, int]],
    ) -> dict[str, Any]:
        """The product's frame; `_product_with` adds its patents and versions once the count is known."""
        rng = self.rng
        first = _pick(rng, self.year_table)
        last = self.plan.last_year
        if last > first and rng.random() < 0.1:  # discontinued
            last = _int(rng, first, last - 1)
        return {
            "unit_id": unit_id,
            "codes": (province_code, city_code or "", county),
            "years": list(range(first, last + 1)),
            "rights": rights,
        }

    def _product_with(self, pairs: int, frame: dict[str, Any]) -> dt.datetime:
        rng, plan = self.rng, self.plan
        product_id = self._id("product")
        years: list[int] = frame["years"]
        rights: list[tuple[int, int]] = frame["rights"]
        # the product's patents: mostly new rights of the unit, some shared with its other products
        chosen: list[int] = []
        for _ in range(pairs):
            if rights and rng.random() < 0.2:
                reused = _choice(rng, rights)[0]
                if reused not in chosen:
                    chosen.append(reused)
                    continue
            right_id = self._id("right")
            patent_year = _int(rng, max(2004, years[0] - 12), years[0])
            rights.append((right_id, patent_year))
            self._pending_rights.append((right_id, patent_year))
            chosen.append(right_id)
        contributions = [_int(rng, 5, 60) for _ in chosen]
        link_tails = [  # right_id, is_core, contribution, embodiment of each link
            f"{right_id}\t{'t' if i == 0 or contributions[i] >= 40 else 'f'}\t{contributions[i]}.00\t"
            for i, right_id in enumerate(chosen)
        ]
        prefix, noun = _choice(rng, PRODUCT_WORDS)
        name = f"{prefix}{noun}"
        model = f"{_choice(rng, 'ABCDEFGHJKLMNPQRTUWXY')}{_choice(rng, 'ABCDEFGHJKLMNPQRTUWXY')}-{_int(rng, 10, 9999)}"
        product_class = _pick(rng, self.class_table)
        sales = int(rng.lognormvariate(13.0, 1.3))  # cents of 万元: median ≈ 4,400 万元
        export_share = 0 if rng.random() < 0.6 else rng.random() * 0.6
        first_sale = dt.date(years[0] - _int(rng, 0, 2), _int(rng, 1, 12), _int(rng, 1, 28))
        opt_in_chance = 0.35
        filing_number = None
        published = None
        product_created = None
        for position, year in enumerate(years):
            newest = position == len(years) - 1
            status = _pick(rng, LATEST_STATUS if newest else EARLIER_STATUS)
            version_id = self._id("version")
            created = self._moment(year + 1)
            submitted = decided = None
            review_round = 0
            if status != S.DRAFT:
                submitted = self._later(created, 0, 20)
                review_round = 1
            if status in (S.APPROVED, S.REVOKED, S.WITHDRAWN, S.RETURNED, S.RESUBMITTED):
                decided = self._later(submitted, 2, 25)
            if status == S.RESUBMITTED:
                submitted = self._later(decided, 1, 10)
                review_round = 1
            if status in (S.APPROVED, S.REVOKED) and filing_number is None:
                filing_number = self._filing_number(decided, frame["codes"][0])
            if status == S.APPROVED:
                published = version_id
            if product_created is None:
                product_created = created
            year_sales = max(100, int(sales * (1.08 ** (year - years[0])) * rng.uniform(0.85, 1.15)))
            exports = int(year_sales * export_share)
            output = int(year_sales * rng.uniform(1.0, 1.12))
            opt_in = status == S.APPROVED and year == plan.last_year and rng.random() < opt_in_chance
            self._emit(
                "version",
                (
                    str(version_id),
                    str(product_id),
                    str(year),
                    status,
                    name,
                    model,
                    str(product_class),
                    f"{name}，{year} 年度数据（规模测试数据）",
                    first_sale.isoformat(),
                    _money(year_sales),
                    _money(exports),
                    _money(output),
                    "t" if opt_in else "f",
                    str(review_round),
                    _ts(submitted) if submitted else NULL,
                    _ts(decided) if decided else NULL,
                    _ts(created),
                    _ts(submitted or decided or created),
                ),
            )
            # the same patents every year (a yearly update copies the links): only the ids change
            link_id = self.ids["link"]
            self.buffers["link"].extend(f"{link_id + i}\t{version_id}\t{tail}" for i, tail in enumerate(link_tails))
            self.ids["link"] = link_id + len(link_tails)
            self.counts["link"] += len(link_tails)
        self._emit(
            "product",
            (
                str(product_id),
                str(frame["unit_id"]),
                filing_number or NULL,
                str(published) if published else NULL,
                *frame["codes"],
                _ts(product_created),
            ),
        )
        return product_created

    def _filing_number(self, decided: dt.datetime, province_code: str) -> str:
        year = decided.astimezone(CHINA_TZ).year
        key = (year, province_code[:2])
        serial = self.sequences.get(key, 0) + 1
        self.sequences[key] = serial
        return f"BA{year}{key[1]}{serial:06d}"

    def _patent_right(self, unit_id: int, right_id: int, year: int, unit_created: dt.datetime) -> None:
        rng = self.rng
        patent_id = self._id("patent")
        digit = _pick(rng, PATENT_TYPES)
        key = (year, digit)
        serial = self.patent_serials.get(key, SERIAL_BASE + _below(rng, 1000)) + 1
        self.patent_serials[key] = serial
        number = build_patent_number(year=year, type_digit=digit, serial=serial)
        applied = dt.date(year, _int(rng, 1, 12), _int(rng, 1, 28))
        status = _pick(rng, LEGAL)
        if digit in "18" and year >= self.plan.last_year - 1 and rng.random() < 0.5:
            status = LegalStatus.PENDING
        wait = 800 if digit in "18" else 250
        granted = None if status == LegalStatus.PENDING else applied + dt.timedelta(days=wait + _below(rng, 300))
        if granted and granted > self.plan.now.date():
            granted = None
            status = LegalStatus.PENDING
        stamp = _ts(unit_created)
        self._emit(
            "patent",
            (
                str(patent_id),
                number,
                KIND_BY_DIGIT[digit],
                "t" if digit in "89" else "f",
                f"{_choice(rng, TITLE_WORDS)}{_choice(rng, TRADES)}{_choice(rng, TITLE_CORE)}",
                applied.isoformat(),
                granted.isoformat() if granted else NULL,
                status,
                stamp,
                stamp,
            ),
        )
        kind = _pick(rng, RIGHTS)
        licensee = kind == RightKind.LICENSEE
        self._emit(
            "right",
            (
                str(right_id),
                str(unit_id),
                str(patent_id),
                kind,
                _choice(rng, [LicenceKind.EXCLUSIVE, LicenceKind.SOLE, LicenceKind.ORDINARY]) if licensee else "",
                f"{year + 1}99{_below(rng, 10**7):07d}" if licensee else "",
                dt.date(self.plan.last_year + _int(rng, 2, 6), 12, 31).isoformat() if licensee else NULL,
                stamp,
            ),
        )


# --- writing --------------------------------------------------------------------------------------


@dataclass
class Report:
    rows: dict[str, int] = field(default_factory=dict)
    copy_seconds: dict[str, float] = field(default_factory=dict)
    total_seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def lines(self) -> list[str]:
        out = [f"{'table':<32}{'rows':>12}{'COPY s':>10}{'rows/s':>12}"]
        for table, rows in self.rows.items():
            seconds = self.copy_seconds.get(table, 0.0)
            rate = rows / seconds if seconds else 0
            out.append(f"{table:<32}{rows:>12,}{seconds:>10.2f}{rate:>12,.0f}")
        rate = self.total_rows / self.total_seconds if self.total_seconds else 0
        out.append(
            f"{'total (generation + COPY + setval)':<32}{self.total_rows:>12,}{self.total_seconds:>10.2f}{rate:>12,.0f}"
        )
        out += [f"  {step}: {seconds:.2f} s" for step, seconds in self.steps.items()]
        return out


def copy_lines(cursor: Any, spec: TableSpec, lines: list[str]) -> None:
    """COPY text-format lines (tab-separated, \\N for NULL) into a table."""
    columns = ", ".join(spec.columns)
    with cursor.copy(f"COPY {spec.name} ({columns}) FROM STDIN") as copy:
        copy.write("\n".join(lines) + "\n")


def write(chunks: Iterator[tuple[TableSpec, list[str]]], report: Report) -> None:
    """COPY every chunk, timing each table's statements."""
    with connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # psycopg 3's own cursor, for copy()
        for spec, lines in chunks:
            started = time.perf_counter()
            copy_lines(cursor, spec, lines)
            report.copy_seconds[spec.name] = report.copy_seconds.get(spec.name, 0.0) + time.perf_counter() - started
            report.rows[spec.name] = report.rows.get(spec.name, 0) + len(lines)


def produced(chunks: Iterator[tuple[TableSpec, list[str]]]) -> Iterator[tuple[TableSpec, list[str]]]:
    """The chunks, generated in a second thread while this one waits on COPY (libpq releases the GIL
    while the server works), so generation and writing overlap. The producer never touches the database."""
    queue: Queue[Any] = Queue(maxsize=8)
    done = object()

    def produce() -> None:
        try:
            for chunk in chunks:
                queue.put(chunk)
        except BaseException as exc:  # handed to the consumer, which raises it
            queue.put(exc)
            return
        queue.put(done)

    thread = threading.Thread(target=produce, name="seed_scale-generator", daemon=True)
    thread.start()
    while (item := queue.get()) is not done:
        if isinstance(item, BaseException):
            raise item
        yield item
    thread.join()


def reset_sequences(models: list[type] | None = None) -> None:
    """Move every id sequence past the largest id (the COPY wrote ids of its own)."""
    with connection.cursor() as cursor:
        for model in models or [spec.model for spec in TABLES.values()]:
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)",  # noqa: S608,E501
                [table],
            )


def save_sequences(sequences: dict[tuple[int, str], int]) -> None:
    """FilingNumberSequence rows past the serials used, so later approvals never collide."""
    table = FilingNumberSequence._meta.db_table
    with connection.cursor() as cursor:
        for (year, province), last in sorted(sequences.items()):
            cursor.execute(
                f"INSERT INTO {table} (year, province_code, last) VALUES (%s, %s, %s) "  # noqa: S608
                "ON CONFLICT (year, province_code) DO UPDATE SET last = GREATEST("
                f"{table}.last, EXCLUDED.last)",
                [year, province, last],
            )


def fill_search_text() -> None:
    """The products' search text (filings/search.py `Product.search_text`) in one set-based UPDATE: the COPY
    rows leave it empty, and the per-row `refresh_text` of the platform would take minutes at 1.5M."""
    from filings.search import TEXT_SEPARATOR

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE filings_product p SET search_text = v.name || %s || u.name "
            "FROM filings_filingunit u, filings_productversion v "
            "WHERE u.id = p.unit_id AND v.id = p.published_version_id",
            [TEXT_SEPARATOR],
        )


def analyze() -> None:
    with connection.cursor() as cursor:
        for spec in TABLES.values():
            cursor.execute(f"ANALYZE {spec.name}")


def seed_tables(plan: Plan, *, analyze_tables: bool = True) -> Report:
    """Generate and COPY the filing tables, then sequences and statistics. Call inside a transaction."""
    if connection.vendor != "postgresql":
        raise ValueError("seed_scale writes with PostgreSQL COPY; SQLite is not supported")
    report = Report()
    started = time.perf_counter()
    generator = Generator(plan)  # reads the database here, in this thread
    write(produced(generator.chunks()), report)
    save_sequences(generator.sequences)
    reset_sequences()
    report.total_seconds = time.perf_counter() - started
    step = time.perf_counter()
    fill_search_text()
    report.steps["search text (one UPDATE)"] = time.perf_counter() - step
    if analyze_tables:
        step = time.perf_counter()
        analyze()
        report.steps["ANALYZE"] = time.perf_counter() - step
    return report


def generate_all(plan: Plan) -> list[tuple[TableSpec, list[str]]]:
    """Every chunk in memory (the benchmark's raw-COPY baseline writes exactly these rows)."""
    return list(Generator(plan).chunks())


def seeded_units_exist() -> bool:
    return FilingUnit.objects.filter(uscc__regex=rf"^.{{8}}{UNIT_MARK}").exists()


# Tables emptied by --force, children first (TRUNCATE … CASCADE also empties what points at them).
FORCE_TRUNCATE = (
    "evaluation_indicatorresult",
    "evaluation_candidate",
    "evaluation_round",
    "evaluation_benchmark",
    "evaluation_benchmarkset",
    "filings_patentlink",
    "filings_productversion",
    "filings_product",
    "filings_patentright",
    "filings_patent",
    "filings_filingunit",
    "filings_filingnumbersequence",
    "provincial_rosterentry",
    "provincial_roster",
    # the dashboard summary: emptied, so it is rebuilt from the new rows (seed_scale does at the end)
    "provincial_summarycell",
    "provincial_summarydirty",
    "provincial_summarystate",
)


def truncate() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(FORCE_TRUNCATE)} CASCADE")
