"""Whether a product-year may still opt in to certification (a new candidacy), asked on every path that
sets `certification_opt_in` (the page's and the API's opt-in, a product form, the product import).

The rule belongs to the certification rounds (evaluation/schedule.py: a round's filing cut-off), a higher
layer than filings: the evaluation app registers its check here when it starts (`EvaluationConfig.ready`),
and filings asks it without importing evaluation.
"""

from __future__ import annotations

from collections.abc import Callable

# (data year, product-version id or None for a new product) → the refusal's message, or None
Check = Callable[[int, "int | None"], "str | None"]
_checks: list[Check] = []


def register(check: Check) -> None:
    if check not in _checks:
        _checks.append(check)


def opt_in_refusal(data_year: int, version_id: int | None = None) -> str | None:
    """Why a product-year of `data_year` may not opt in now (None when it may)."""
    for check in _checks:
        if message := check(data_year, version_id):
            return message
    return None
