"""Validation of the two identifiers every filing carries: patent application numbers and USCCs.

Chinese patent application numbers (ZC 0006-2003, CNIPA)
    Since 2003-10-01 an application number is 12 digits -- year (4), type (1), serial (7) -- followed by
    ``.`` and a check character; from 1985 to 2003 it was 8 digits -- year (2), type (1), serial (5) --
    plus the check. Type digits: 1 invention, 2 utility model, 3 design, 8 PCT invention entering China,
    9 PCT utility model entering China. The check is ``sum(digit * weight) mod 11`` with the weights
    2,3,4,5,6,7,8,9,2,3,4,5 (the 8-digit form uses the first eight), and 10 is written ``X``. This was
    verified against the known-valid numbers 201710601862.3, 200710308494.X, 95115608.X, 97101765.4 and
    200410053749.9. A granted patent number is ``ZL`` + the application number.

Unified social credit code (统一社会信用代码, GB 32100-2015)
    18 characters from ``0123456789ABCDEFGHJKLMNPQRTUWXY`` (no I, O, S, V, Z): registering authority (1),
    entity type (1), GB/T 2260 region code (6), GB 11714 organisation code (9, its last character being
    that standard's own mod-11 check), and a final mod-31 check with weights ``3**(i-1) mod 31``.
    Verified against 91110108551385082Q, 91110000600037341L and 91350200MA2YJ1XR9G; all three also satisfy
    the organisation-code check, so it is enforced. Authorities A, N and Y are valid (python-stdnum wrongly
    rejects them).

All functions are pure and raise :class:`django.core.exceptions.ValidationError` with a stable ``code`` and a
Simplified-Chinese message (lazily translated, named parameters).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from patent_platform import clock

__all__ = [
    "PatentKind",
    "PatentNumber",
    "compute_patent_check",
    "compute_uscc_check",
    "parse_patent_number",
    "validate_uscc",
]

PatentKind = Literal["invention", "utility_model", "design"]

# ---------------------------------------------------------------------------------------------------------------
# Patent application numbers
# ---------------------------------------------------------------------------------------------------------------

PATENT_WEIGHTS: tuple[int, ...] = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
PATENT_TYPES: dict[str, tuple[PatentKind, bool]] = {
    "1": ("invention", False),
    "2": ("utility_model", False),
    "3": ("design", False),
    "8": ("invention", True),
    "9": ("utility_model", True),
}
FIRST_12_DIGIT_YEAR = 2003  # the 12-digit form started on 2003-10-01

_PATENT_RE = re.compile(r"(?:CN|ZL)?(?P<digits>[0-9]{12}|[0-9]{8})\.?(?P<check>[0-9X])")


@dataclass(frozen=True, slots=True)
class PatentNumber:
    """A validated Chinese patent application number in normalised form."""

    normalized: str  # "YYYYTNNNNNNN.C" or "YYTNNNNN.C"
    year: int  # four-digit filing year
    type_digit: str
    kind: PatentKind
    pct: bool  # True for PCT applications entering the Chinese national phase (types 8 and 9)
    serial: str
    check: str

    @property
    def patent_number(self) -> str:
        """The granted patent number (专利号), ``ZL`` + the application number."""
        return "ZL" + self.normalized

    def __str__(self) -> str:
        return self.normalized


def compute_patent_check(digits: str) -> str:
    """Check character ('0'-'9' or 'X') for the 12 or 8 leading digits of an application number."""
    if len(digits) not in (8, 12) or not all("0" <= c <= "9" for c in digits):
        raise ValueError(f"expected 8 or 12 ASCII digits, got {digits!r}")
    remainder = sum(int(c) * w for c, w in zip(digits, PATENT_WEIGHTS, strict=False)) % 11
    return "X" if remainder == 10 else str(remainder)


def _compact(text: str) -> str:
    """NFKC (full-width -> ASCII), drop all whitespace, upper-case."""
    text = unicodedata.normalize("NFKC", text).replace("。", ".")
    return "".join(text.split()).upper()


def parse_patent_number(text: str, *, today: dt.date | None = None) -> PatentNumber:
    """Parse and validate a patent application number (or ``ZL`` patent number); see the module docstring."""
    shown = (text or "").strip()
    match = _PATENT_RE.fullmatch(_compact(text or ""))
    if match is None:
        raise ValidationError(
            _(
                "专利申请号 %(value)s 格式不正确：应为 12 位数字加校验位（如 201710601862.3），"
                "或 2003 年以前的 8 位数字加校验位（如 95115608.X），可带 CN 或 ZL 前缀。"
            ),
            code="patent_format",
            params={"value": shown},
        )
    digits, actual = match["digits"], match["check"]
    long_form = len(digits) == 12
    type_digit = digits[4] if long_form else digits[2]
    if type_digit not in PATENT_TYPES:
        raise ValidationError(
            _(
                "专利申请号 %(value)s 的申请类型位为 %(digit)s，无效：应为 1（发明）、2（实用新型）、3（外观设计）、"
                "8（进入中国的 PCT 发明）或 9（进入中国的 PCT 实用新型）。"
            ),
            code="patent_type",
            params={"value": shown, "digit": type_digit},
        )
    max_year = (today or clock.china_today()).year  # CNIPA's calendar year
    if long_form:
        year = int(digits[:4])
        if not FIRST_12_DIGIT_YEAR <= year <= max_year:
            raise ValidationError(
                _("专利申请号 %(value)s 的申请年份 %(year)s 无效：12 位申请号的年份应在 2003 至 %(max_year)s 之间。"),
                code="patent_year",
                params={"value": shown, "year": year, "max_year": max_year},
            )
        serial = digits[5:]
    else:
        yy = int(digits[:2])
        year = 1900 + yy if yy >= 85 else 2000 + yy
        if not 1985 <= year <= min(FIRST_12_DIGIT_YEAR, max_year):
            raise ValidationError(
                _(
                    "专利申请号 %(value)s 的申请年份 %(year)s 无效："
                    "8 位申请号只用于 1985 至 2003 年（年份两位为 85–99 或 00–03）。"
                ),
                code="patent_year",
                params={"value": shown, "year": digits[:2]},
            )
        serial = digits[3:]
    expected = compute_patent_check(digits)
    if actual != expected:
        raise ValidationError(
            _("专利申请号 %(value)s 的校验位应为 %(expected)s，实际为 %(actual)s。"),
            code="patent_check",
            params={"value": shown, "expected": expected, "actual": actual},
        )
    kind, pct = PATENT_TYPES[type_digit]
    return PatentNumber(
        normalized=f"{digits}.{actual}",
        year=year,
        type_digit=type_digit,
        kind=kind,
        pct=pct,
        serial=serial,
        check=actual,
    )


# ---------------------------------------------------------------------------------------------------------------
# Unified social credit codes
# ---------------------------------------------------------------------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # value = index, 0..30
USCC_WEIGHTS: tuple[int, ...] = tuple(pow(3, i, 31) for i in range(17))  # 1, 3, 9, 27, 19, 26, 16, ..., 28
USCC_AUTHORITIES = frozenset("123456789ANY")
ORGCODE_WEIGHTS: tuple[int, ...] = (3, 7, 9, 10, 5, 8, 4, 2)


def compute_uscc_check(first17: str) -> str:
    """Final (18th) check character of a USCC, GB 32100-2015 mod-31 algorithm."""
    if len(first17) != 17 or any(c not in USCC_ALPHABET for c in first17):
        raise ValueError(f"expected 17 characters from {USCC_ALPHABET}, got {first17!r}")
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def _compute_orgcode_check(first8: str) -> str:
    """GB 11714 organisation-code check: digits are their value, letters A=10..Z=35; 10 -> X, 11 -> 0."""
    total = sum(
        (int(c) if c.isdigit() else ord(c) - ord("A") + 10) * w for c, w in zip(first8, ORGCODE_WEIGHTS, strict=True)
    )
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def validate_uscc(text: str) -> str:
    """Validate a unified social credit code and return it normalised (18 upper-case ASCII characters)."""
    shown = (text or "").strip()
    code = _compact(text or "").replace("-", "")
    if len(code) != 18:
        raise ValidationError(
            _("统一社会信用代码 %(value)s 应为 18 位，实际为 %(length)s 位。"),
            code="uscc_length",
            params={"value": shown, "length": len(code)},
        )
    for position, char in enumerate(code, start=1):
        if char not in USCC_ALPHABET:
            raise ValidationError(
                _(
                    "统一社会信用代码 %(value)s 第 %(position)s 位的字符 %(char)s 无效：只能使用数字和除 I、O、S、V、Z "
                    "以外的大写字母。"
                ),
                code="uscc_charset",
                params={"value": shown, "position": position, "char": char},
            )
    if code[0] not in USCC_AUTHORITIES:
        raise ValidationError(
            _("统一社会信用代码 %(value)s 的登记管理部门代码（第 1 位）%(char)s 无效：应为 1–9、A、N 或 Y。"),
            code="uscc_authority",
            params={"value": shown, "char": code[0]},
        )
    if not code[2:8].isdigit():
        raise ValidationError(
            _("统一社会信用代码 %(value)s 的登记管理机关行政区划码（第 3–8 位）%(region)s 无效：应为 6 位数字。"),
            code="uscc_region",
            params={"value": shown, "region": code[2:8]},
        )
    org_expected = _compute_orgcode_check(code[8:16])
    if code[16] != org_expected:
        raise ValidationError(
            _(
                "统一社会信用代码 %(value)s 中的组织机构代码（第 9–17 位）%(orgcode)s 校验位应为 %(expected)s，"
                "实际为 %(actual)s。"
            ),
            code="uscc_orgcode",
            params={"value": shown, "orgcode": code[8:17], "expected": org_expected, "actual": code[16]},
        )
    expected = compute_uscc_check(code[:17])
    if code[17] != expected:
        raise ValidationError(
            _("统一社会信用代码 %(value)s 的校验码（第 18 位）应为 %(expected)s，实际为 %(actual)s。"),
            code="uscc_check",
            params={"value": shown, "expected": expected, "actual": code[17]},
        )
    return code


def build_uscc(*, region_code: str, org_body: str, authority: str = "9", kind: str = "1") -> str:
    """A valid USCC from its parts (the org code's and the code's check characters computed).

    For demo and test data; `org_body` is the first 8 characters of the organisation code."""
    org = org_body.upper() + _compute_orgcode_check(org_body.upper())
    first17 = f"{authority}{kind}{region_code}{org}"
    return validate_uscc(first17 + compute_uscc_check(first17))


def build_patent_number(*, year: int, type_digit: str, serial: int) -> str:
    """A valid normalised 12-digit application number from its parts (for demo and test data)."""
    digits = f"{year:04d}{type_digit}{serial:07d}"
    return f"{digits}.{compute_patent_check(digits)}"
