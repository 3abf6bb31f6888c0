"""The rows of a seeded dataset, generated in Python as COPY text, table by table in chunks (`Generator.chunks`)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

from django.db import connection
from django.db.models import Model

from filings.choices import LegalStatus, LicenceKind, RightKind, UnitKind, UnitScale, VerificationMethod
from filings.identifiers import build_patent_number, build_uscc
from filings.industries import industries
from filings.models import (
    FilingNumberSequence,
    ProductClass,
)
from patent_platform.clock import CHINA_TZ
from patent_platform.fieldcrypto import encrypt
from patent_platform.models import Region
from provincial.scale.profile import (
    BIG_SIX,
    BIG_SIX_SHARE,
    BRANDS,
    CHUNK,
    EARLIER_STATUS,
    KIND_BY_DIGIT,
    LATEST_STATUS,
    LEGAL,
    NULL,
    PAIRS,
    PATENT_TYPES,
    PRODUCT_WORDS,
    RIGHTS,
    SCALES,
    SERIAL_BASE,
    SUFFIXES,
    TABLES,
    TAIL,
    TITLE_CORE,
    TITLE_WORDS,
    TRADES,
    UNIT_MARK,
    Plan,
    S,
    TableSpec,
    Weighted,
    base31,
    iso_ts,
    money_text,
    rand_below,
    rand_choice,
    rand_int,
    rand_pick,
)


def _next_id(model: type[Model]) -> int:
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
        self.class_table = Weighted([(pk, rand_int(self.rng, 3, 12)) for pk in self.classes])
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
        return first + dt.timedelta(seconds=rand_below(self.rng, int((last - first).total_seconds())))

    def _later(self, moment: dt.datetime, low: int, high: int) -> dt.datetime:
        later = moment + dt.timedelta(days=rand_int(self.rng, low, high), minutes=rand_below(self.rng, 600))
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
            k = rand_pick(rng, PAIRS)
            yield k
            yield 6 - k
        yield 3

    def _unit(self, index: int, products: int, pair_counts: Iterator[int]) -> None:
        rng, plan = self.rng, self.plan
        unit_id = self._id("unit")
        province = rand_pick(rng, self.province_table)
        county, province_code, city_code = rand_choice(rng, self.counties[province])
        uscc = build_uscc(region_code=county, org_body=UNIT_MARK + base31(index, 5))
        province_name = self.names.get(province, "")[:2]
        name = f"{province_name}{rand_choice(rng, BRANDS)}{rand_choice(rng, TRADES)}{rand_choice(rng, SUFFIXES)}"
        institution = rng.random() < 0.04
        rights: list[tuple[int, int]] = []  # (right id, application year) of the unit
        earliest = plan.now
        for _ in range(products):
            frame = self._product(unit_id, province_code, city_code, county, rights)
            earliest = min(earliest, self._product_with(next(pair_counts), frame))
        unit_created = earliest - dt.timedelta(days=rand_int(rng, 1, 60))
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
                f"{province_name}示例路{rand_int(rng, 1, 999)}号",
                rand_choice(rng, self.industries),
                UnitScale.NA if institution else rand_pick(rng, SCALES),
                # personal data is stored encrypted (patent_platform/fieldcrypto.py), as the ORM would
                encrypt(f"联系人{index % 1000:03d}", nonce=self.nonce_rng.randbytes(12)),
                encrypt(
                    f"0{rand_int(rng, 10, 999)}-{rand_int(rng, 10000000, 99999999)}", nonce=self.nonce_rng.randbytes(12)
                ),
                encrypt(f"contact{index}@unit{index}.example.cn", nonce=self.nonce_rng.randbytes(12)),
                iso_ts(unit_created),
                iso_ts(unit_created),
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
        first = rand_pick(rng, self.year_table)
        last = self.plan.last_year
        if last > first and rng.random() < 0.1:  # discontinued
            last = rand_int(rng, first, last - 1)
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
                reused = rand_choice(rng, rights)[0]
                if reused not in chosen:
                    chosen.append(reused)
                    continue
            right_id = self._id("right")
            patent_year = rand_int(rng, max(2004, years[0] - 12), years[0])
            rights.append((right_id, patent_year))
            self._pending_rights.append((right_id, patent_year))
            chosen.append(right_id)
        contributions = [rand_int(rng, 5, 60) for _ in chosen]
        link_tails = [  # right_id, is_core, contribution, embodiment of each link
            f"{right_id}\t{'t' if i == 0 or contributions[i] >= 40 else 'f'}\t{contributions[i]}.00\t"
            for i, right_id in enumerate(chosen)
        ]
        prefix, noun = rand_choice(rng, PRODUCT_WORDS)
        name = f"{prefix}{noun}"
        letters = "ABCDEFGHJKLMNPQRTUWXY"
        model = f"{rand_choice(rng, letters)}{rand_choice(rng, letters)}-{rand_int(rng, 10, 9999)}"
        product_class = rand_pick(rng, self.class_table)
        sales = int(rng.lognormvariate(13.0, 1.3))  # cents of 万元: median ≈ 4,400 万元
        export_share = 0 if rng.random() < 0.6 else rng.random() * 0.6
        first_sale = dt.date(years[0] - rand_int(rng, 0, 2), rand_int(rng, 1, 12), rand_int(rng, 1, 28))
        opt_in_chance = 0.35
        filing_number = None
        published = None
        product_created = None
        for position, year in enumerate(years):
            newest = position == len(years) - 1
            status = rand_pick(rng, LATEST_STATUS if newest else EARLIER_STATUS)
            version_id = self._id("version")
            created = self._moment(year + 1)
            submitted = decided = None
            review_round = 0
            if status != S.DRAFT:
                submitted = self._later(created, 0, 20)
                review_round = 1
            # every status below is past "draft": submitted (and then decided) is set
            if status in (S.APPROVED, S.REVOKED, S.WITHDRAWN, S.RETURNED, S.RESUBMITTED) and submitted is not None:
                decided = self._later(submitted, 2, 25)
            if status == S.RESUBMITTED and decided is not None:
                submitted = self._later(decided, 1, 10)
                review_round = 1
            if status in (S.APPROVED, S.REVOKED) and filing_number is None and decided is not None:
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
                    money_text(year_sales),
                    money_text(exports),
                    money_text(output),
                    "t" if opt_in else "f",
                    str(review_round),
                    iso_ts(submitted) if submitted else NULL,
                    iso_ts(decided) if decided else NULL,
                    iso_ts(created),
                    iso_ts(submitted or decided or created),
                ),
            )
            # the same patents every year (a yearly update copies the links): only the ids change
            link_id = self.ids["link"]
            self.buffers["link"].extend(f"{link_id + i}\t{version_id}\t{tail}" for i, tail in enumerate(link_tails))
            self.ids["link"] = link_id + len(link_tails)
            self.counts["link"] += len(link_tails)
        if product_created is None:
            raise ValueError("a product without a data year")
        self._emit(
            "product",
            (
                str(product_id),
                str(frame["unit_id"]),
                filing_number or NULL,
                str(published) if published else NULL,
                *frame["codes"],
                iso_ts(product_created),
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
        digit = rand_pick(rng, PATENT_TYPES)
        key = (year, digit)
        serial = self.patent_serials.get(key, SERIAL_BASE + rand_below(rng, 1000)) + 1
        self.patent_serials[key] = serial
        number = build_patent_number(year=year, type_digit=digit, serial=serial)
        applied = dt.date(year, rand_int(rng, 1, 12), rand_int(rng, 1, 28))
        status = rand_pick(rng, LEGAL)
        if digit in "18" and year >= self.plan.last_year - 1 and rng.random() < 0.5:
            status = LegalStatus.PENDING
        wait = 800 if digit in "18" else 250
        granted = None if status == LegalStatus.PENDING else applied + dt.timedelta(days=wait + rand_below(rng, 300))
        if granted and granted > self.plan.now.date():
            granted = None
            status = LegalStatus.PENDING
        stamp = iso_ts(unit_created)
        self._emit(
            "patent",
            (
                str(patent_id),
                number,
                KIND_BY_DIGIT[digit],
                "t" if digit in "89" else "f",
                f"{rand_choice(rng, TITLE_WORDS)}{rand_choice(rng, TRADES)}{rand_choice(rng, TITLE_CORE)}",
                applied.isoformat(),
                granted.isoformat() if granted else NULL,
                status,
                stamp,
                stamp,
            ),
        )
        kind = rand_pick(rng, RIGHTS)
        licensee = kind == RightKind.LICENSEE
        self._emit(
            "right",
            (
                str(right_id),
                str(unit_id),
                str(patent_id),
                kind,
                rand_choice(rng, [LicenceKind.EXCLUSIVE, LicenceKind.SOLE, LicenceKind.ORDINARY]) if licensee else "",
                f"{year + 1}99{rand_below(rng, 10**7):07d}" if licensee else "",
                dt.date(self.plan.last_year + rand_int(rng, 2, 6), 12, 31).isoformat() if licensee else NULL,
                stamp,
            ),
        )
