"""Ranks with ties: standard competition ranking ("1224"), the one rule every ranked figure uses.

Rows that score the same share a rank, and the next row's rank skips as many places as shared it: scores
9, 7, 7, 5 rank 1, 2, 2, 4. A shared rank is marked (`tied`) so that a page, a spreadsheet or a PDF can say
并列. Forty-seven ports that all score 0 are all first, tied — never 1 … 47 by their code.

The rows are ordered by the caller (the score first, then whatever orders equal rows for display: the
code, say); `key` gives the score alone, so that the display order never decides a rank.
"""

from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

Row = TypeVar("Row", bound=dict[str, Any])


def competition_rank(rows: Sequence[Row], key: Callable[[Row], Hashable]) -> Sequence[Row]:
    """Set `rank` and `tied` on each row (already sorted by the score `key` gives, best first); returns them."""
    shared = Counter(key(row) for row in rows)
    previous: object = object()
    rank = 0
    done: set[Hashable] = set()
    for position, row in enumerate(rows, start=1):
        score = key(row)
        if score != previous:
            if score in done:
                raise ValueError("rows of equal score must be next to each other: sort by the score first")
            done.add(score)
            rank, previous = position, score
        row["rank"] = rank
        row["tied"] = shared[score] > 1
    return rows


def rank_label(row: dict[str, Any]) -> str:
    """The rank as shown: "3", or "3（并列）" when shared."""
    from django.utils.translation import gettext

    if row.get("rank") is None:
        return ""
    return gettext("%(rank)s（并列）") % {"rank": row["rank"]} if row.get("tied") else str(row["rank"])
