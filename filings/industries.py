"""GB/T 4754-2017 国民经济行业分类: sections (门类, A–T) and divisions (大类, 2 digits).

Read from `filings/data/gbt4754.csv` (code, name, parent section). Units record the division where
they know it, or the section.
"""

import csv
from functools import cache
from pathlib import Path

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

DATA = Path(__file__).resolve().parent / "data" / "gbt4754.csv"


@cache
def industries() -> dict[str, tuple[str, str]]:
    """{code: (name, section)} in file order; a section's own section is itself."""
    with DATA.open(encoding="utf-8") as fh:
        return {row["code"]: (row["name"], row["section"]) for row in csv.DictReader(fh)}


def industry_choices() -> list[tuple[str, str]]:
    return [(code, f"{code} {name}") for code, (name, _section) in industries().items()]


def industry_name(code: str) -> str:
    entry = industries().get(code)
    return entry[0] if entry else ""


def section_of(code: str) -> str:
    entry = industries().get(code)
    return entry[1] if entry else ""


def validate_industry(value: str) -> None:
    if value and value not in industries():
        raise ValidationError(
            _("行业代码“%(code)s”不在 GB/T 4754-2017 的门类或大类中。"), code="industry", params={"code": value}
        )
