"""GB/T 4754-2017 国民经济行业分类: sections (门类, A–T) and divisions (大类, 2 digits).

Read from `filings/data/gbt4754.csv` (code, name, parent section, English name). Units record the
division where they know it, or the section. The English names follow the English titles the National
Bureau of Statistics uses for the sections in its yearbooks; the divisions' are translated the same way
(the standard's text has no English edition) — see docs/I18N.md.
"""

import csv
from functools import cache
from pathlib import Path

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from patent_platform.i18n import english

DATA = Path(__file__).resolve().parent / "data" / "gbt4754.csv"


@cache
def industries() -> dict[str, tuple[str, str]]:
    """{code: (name, section)} in file order; a section's own section is itself."""
    with DATA.open(encoding="utf-8") as fh:
        return {row["code"]: (row["name"], row["section"]) for row in csv.DictReader(fh)}


@cache
def english_names() -> dict[str, str]:
    with DATA.open(encoding="utf-8") as fh:
        return {row["code"]: row["name_en"] for row in csv.DictReader(fh)}


def industry_choices() -> list[tuple[str, str]]:
    return [(code, f"{code} {industry_name(code)}") for code in industries()]


def industry_name(code: str) -> str:
    """The name of a section or division in the active language."""
    entry = industries().get(code)
    if not entry:
        return ""
    return (english() and english_names().get(code)) or entry[0]


def section_of(code: str) -> str:
    entry = industries().get(code)
    return entry[1] if entry else ""


def validate_industry(value: str) -> None:
    if value and value not in industries():
        raise ValidationError(
            _("行业代码“%(code)s”不在 GB/T 4754-2017 的门类或大类中。"), code="industry", params={"code": value}
        )
