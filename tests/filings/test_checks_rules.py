"""The plausibility rules (filings.checks.evaluate) one by one, each both ways: flagged just past its threshold,
not flagged exactly at it; the modified z-score against a direct computation, and its edge cases (MAD = 0, a
group too small): no score, never a false flag. Pure functions: no database, so they run on the embedded pass."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from filings.checks import FIGURES, Inputs, evaluate, median, modified_z
from filings.choices import CheckRule
from filings.models import CheckSettings

pytestmark = pytest.mark.embedded

D = Decimal


def limits(**changes: object) -> CheckSettings:
    """The platform's defaults (the model's), with `changes`."""
    return CheckSettings(version=1, **changes)


def inputs(
    sales: str = "1000",
    exports: str = "100",
    output: str = "1200",
    *,
    links: int = 1,
    previous: tuple[str, str, str] | None = None,
    previous_links: int | None = None,
    peers: dict[str, list[Decimal]] | None = None,
) -> Inputs:
    return Inputs(
        figures={"sales": D(sales), "exports": D(exports), "output_value": D(output)},
        links=links,
        previous=dict(zip(FIGURES, map(D, previous), strict=True)) if previous else None,
        previous_year=2024 if previous or previous_links is not None else None,
        previous_links=previous_links,
        peers=peers or {},
    )


def rules(found: list) -> list[str]:
    return [f.rule for f in found]


def test_defaults_are_the_documented_ones() -> None:
    d = limits()
    assert (d.yoy_factor, d.yoy_min_base, d.peer_z_threshold, d.peer_min_group) == (3, 10, D("3.5"), 10)
    assert (d.exports_share_max, d.output_share_min, d.patent_jump_factor, d.patent_jump_min) == (1, D("0.2"), 2, 5)


# --- year over year -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("3000", []),  # exactly 3 × 1000: at the threshold, not flagged
        ("3000.01", [CheckRule.YOY_SALES]),
        ("333.34", []),  # 333.34 × 3 = 1000.02 ≥ 1000: not below a third
        ("333.33", [CheckRule.YOY_SALES]),  # 333.33 × 3 = 999.99 < 1000
    ],
)
def test_yoy_sales_both_ways(now: str, expected: list[str]) -> None:
    found = evaluate(inputs(sales=now, exports="0", output=now, previous=("1000", "0", now)), limits())
    assert rules(found) == expected
    if expected:
        flag = found[0]
        assert (flag.figure, flag.comparison, flag.threshold) == (D(now), D(1000), D(3))
        assert "2024" in flag.message and "1000" in flag.message


@pytest.mark.parametrize(("name", "rule"), [("exports", CheckRule.YOY_EXPORTS), ("output_value", CheckRule.YOY_OUTPUT)])
def test_yoy_exports_and_output_both_ways(name: str, rule: str) -> None:
    base = {"sales": "10000", "exports": "100", "output_value": "2100"}
    prev = dict(base)
    prev[name] = {"exports": "100", "output_value": "2100"}[name]
    at = dict(base)
    at[name] = str(D(prev[name]) * 3)
    past = dict(base)
    past[name] = str(D(prev[name]) * 3 + D("0.01"))
    p = (prev["sales"], prev["exports"], prev["output_value"])
    at_found = evaluate(inputs(at["sales"], at["exports"], at["output_value"], previous=p), limits())
    past_found = evaluate(inputs(past["sales"], past["exports"], past["output_value"], previous=p), limits())
    assert rule not in rules(at_found)
    assert rule in rules(past_found)


def test_yoy_not_compared_below_the_minimum_base() -> None:
    # 9.99 → 500: fifty times as much, but last year's figure is below the 10 万元 base: no ratio
    found = evaluate(inputs("500", "0", "500", previous=("9.99", "0", "500")), limits())
    assert CheckRule.YOY_SALES not in rules(found)
    # exactly at the base it is compared
    found = evaluate(inputs("500", "0", "500", previous=("10", "0", "500")), limits())
    assert CheckRule.YOY_SALES in rules(found)


def test_yoy_drop_to_zero_is_flagged_and_no_previous_version_means_no_yoy() -> None:
    found = evaluate(inputs("0", "0", "0", previous=("1000", "0", "0")), limits())
    assert CheckRule.YOY_SALES in rules(found)
    assert not [r for r in rules(evaluate(inputs("100000", "0", "100000"), limits())) if r.startswith("yoy")]


def test_yoy_threshold_is_the_setting() -> None:
    found = evaluate(inputs("1500", "0", "1500", previous=("1000", "0", "1500")), limits(yoy_factor=D("1.5")))
    assert CheckRule.YOY_SALES not in rules(found)
    found = evaluate(inputs("1500.01", "0", "1500", previous=("1000", "0", "1500")), limits(yoy_factor=D("1.5")))
    assert CheckRule.YOY_SALES in rules(found)


# --- exports, output ------------------------------------------------------------------------------------------


def test_exports_above_sales_share_both_ways() -> None:
    at = evaluate(inputs("100", "50", "100"), limits(exports_share_max=D("0.5")))
    past = evaluate(inputs("100", "50.01", "100"), limits(exports_share_max=D("0.5")))
    assert CheckRule.EXPORTS_ABOVE_SALES not in rules(at)
    flag = next(f for f in past if f.rule == CheckRule.EXPORTS_ABOVE_SALES)
    assert (flag.figure, flag.comparison, flag.threshold) == (D("50.01"), D(100), D("0.5"))
    # with the default (1: above sales itself), exports equal to sales are not flagged, above are
    assert CheckRule.EXPORTS_ABOVE_SALES not in rules(evaluate(inputs("100", "100", "100"), limits()))
    assert CheckRule.EXPORTS_ABOVE_SALES in rules(evaluate(inputs("100", "100.01", "100"), limits()))


def test_output_far_below_sales_both_ways() -> None:
    at = evaluate(inputs("1000", "0", "200"), limits())  # exactly 0.2 × sales
    past = evaluate(inputs("1000", "0", "199.99"), limits())
    assert CheckRule.OUTPUT_BELOW_SALES not in rules(at)
    flag = next(f for f in past if f.rule == CheckRule.OUTPUT_BELOW_SALES)
    assert (flag.figure, flag.comparison, flag.threshold) == (D("199.99"), D(1000), D("0.2"))
    # no sales: nothing to compare; a share of 0 turns the rule off
    assert CheckRule.OUTPUT_BELOW_SALES not in rules(evaluate(inputs("0", "0", "0"), limits()))
    assert CheckRule.OUTPUT_BELOW_SALES not in rules(evaluate(inputs("1000", "0", "0"), limits(output_share_min=0)))


# --- patents ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "now", "flagged"),
    [
        (5, 10, False),  # exactly 2 × 5: at the threshold
        (5, 11, True),  # more than twice, 6 more
        (1, 5, False),  # five times as many but only 4 more (minimum 5)
        (1, 6, True),  # 5 more and more than twice: both thresholds passed
        (20, 30, False),  # 10 more but not twice
    ],
)
def test_patent_jump_both_ways(before: int, now: int, flagged: bool) -> None:
    found = evaluate(inputs(links=now, previous_links=before), limits())
    assert (CheckRule.PATENT_JUMP in rules(found)) is flagged
    if flagged:
        flag = next(f for f in found if f.rule == CheckRule.PATENT_JUMP)
        assert (flag.figure, flag.comparison, flag.threshold) == (D(now), D(before), D(2))


# --- peers: the modified z-score --------------------------------------------------------------------------------


def test_modified_z_of_a_known_group() -> None:
    values = [D(v) for v in (10, 12, 14, 16, 18)]  # median 14, |deviations| 4 2 0 2 4 → MAD 2
    assert modified_z(D(18), values) == D("0.6745") * 4 / 2
    assert modified_z(D(14), values) == 0


def test_modified_z_undefined_when_mad_is_zero_or_group_too_small() -> None:
    same = [D(100)] * 6 + [D(5000)]  # more than half share one value: MAD = 0
    assert modified_z(D(5000), same) is None
    assert modified_z(D(5), [D(1), D(2), D(3)], min_group=4) is None
    assert modified_z(D(5), [], min_group=1) is None


def test_peer_rule_no_flag_when_mad_is_zero_or_group_small() -> None:
    group = [D(0)] * 9 + [D(5000)]  # most products export nothing: MAD 0, no score, no flag
    found = evaluate(inputs("1000", "5000", "1200", peers={"exports": group}), limits())
    assert not [r for r in rules(found) if r.startswith("peer")]
    small = [D(v) for v in (100, 110, 120, 130, 100000)]  # 5 < 10 products
    found = evaluate(inputs("100000", "0", "100000", peers={"sales": small}), limits())
    assert CheckRule.PEER_SALES not in rules(found)
    found = evaluate(inputs("100000", "0", "100000", peers={"sales": small}), limits(peer_min_group=5))
    assert CheckRule.PEER_SALES in rules(found)


def test_peer_rule_both_ways_at_the_threshold() -> None:
    # group: median 100, MAD 10 (values 90..110 with x itself); z = 0.6745 (x − 100) / 10
    base = [D(v) for v in (80, 90, 90, 95, 100, 100, 105, 110, 110, 120)]
    m = median(base)
    mad = median([abs(v - m) for v in base])
    assert (m, mad) == (100, 10)
    threshold = D("0.6745") * 60 / 10  # the score of x = 160, exactly
    group = [*base[:-1], D(160)]  # x's value in the group
    m2, mad2 = median(group), median([abs(v - median(group)) for v in group])
    at_threshold = D("0.6745") * (D(160) - m2) / mad2
    found = evaluate(inputs("160", "0", "160", peers={"sales": group}), limits(peer_z_threshold=at_threshold))
    assert CheckRule.PEER_SALES not in rules(found)
    found = evaluate(
        inputs("160", "0", "160", peers={"sales": group}), limits(peer_z_threshold=at_threshold - D("0.0001"))
    )
    flag = next(f for f in found if f.rule == CheckRule.PEER_SALES)
    assert flag.comparison == m2 and flag.figure == 160 and flag.score is not None
    assert threshold > 0


def test_a_product_far_below_its_peers_is_flagged_too() -> None:
    group = [D(v) for v in (1000, 1100, 1200, 900, 1000, 1050, 980, 1020, 1010, 5)]
    found = evaluate(inputs("5", "0", "5", peers={"sales": group}), limits())
    flag = next(f for f in found if f.rule == CheckRule.PEER_SALES)
    assert flag.score is not None and flag.score < -3


def _direct(x: Fraction, values: list[Fraction]) -> Fraction | None:
    s = sorted(values)
    n = len(s)
    med = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
    dev = sorted(abs(v - med) for v in s)
    mad = dev[n // 2] if n % 2 else (dev[n // 2 - 1] + dev[n // 2]) / 2
    return None if mad == 0 else Fraction("0.6745") * (x - med) / mad


money = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(money, min_size=1, max_size=60), pick=st.integers(min_value=0))
def test_modified_z_matches_a_direct_exact_computation(values: list[Decimal], pick: int) -> None:
    x = values[pick % len(values)]
    got = modified_z(x, values)
    expected = _direct(Fraction(x), [Fraction(v) for v in values])
    if expected is None:
        assert got is None
    else:
        assert got is not None
        assert abs(Fraction(got) - expected) <= abs(expected) * Fraction(1, 10**20) + Fraction(1, 10**20)
