"""A small history for the analysis page's tests: products approved at past moments (time travels as in
tests/provincial/test_figures_as_of.py: `timezone.now` patched while the workflow runs)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import Counter
from collections.abc import Iterator
from unittest import mock

from filings import workflow
from filings.choices import FilingStatus
from filings.models import ProductVersion
from patent_platform.choices import Role
from patent_platform.clock import CHINA_TZ
from tests.factories import MemberFactory, ProductVersionFactory, UserFactory, filer_of

# (moment of approval, county, product class code, sales)
HISTORY = [
    (dt.datetime(2024, 11, 5, 10, tzinfo=CHINA_TZ), "440106", "03", 1000),
    (dt.datetime(2024, 11, 6, 10, tzinfo=CHINA_TZ), "440106", "03", 2000),
    (dt.datetime(2024, 12, 20, 10, tzinfo=CHINA_TZ), "440305", "01", 3000),
    (dt.datetime(2025, 10, 8, 10, tzinfo=CHINA_TZ), "440106", "03", 500),
    (dt.datetime(2025, 11, 3, 10, tzinfo=CHINA_TZ), "440305", "01", 700),
    (dt.datetime(2025, 12, 1, 10, tzinfo=CHINA_TZ), "440305", "01", 800),
    (dt.datetime(2025, 12, 2, 10, tzinfo=CHINA_TZ), "440305", "03", 900),
    (dt.datetime(2025, 3, 2, 10, tzinfo=CHINA_TZ), "330106", "01", 400),  # 杭州: outside 广东
]


@contextlib.contextmanager
def clock(moment: dt.datetime) -> Iterator[None]:
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def build_history() -> list[ProductVersion]:
    """The products of HISTORY, each registered a week before its approval and submitted the day before."""
    reviewer = UserFactory(role=Role.REVIEWER)
    versions = []
    for moment, county, class_code, sales in HISTORY:
        with clock(moment - dt.timedelta(days=7)):
            unit = MemberFactory(unit__region_id=county).unit
            user = unit.memberships.select_related("user").first().user  # type: ignore[union-attr]
            version = ProductVersionFactory(unit=unit, user=user, product_class_code=class_code, sales=sales)
        with clock(moment - dt.timedelta(days=1)):
            workflow.version_submit(version=version, user=filer_of(version))
        with clock(moment):
            workflow.version_approve(version=version, user=reviewer)
        versions.append(version)
    return versions


def expected(at: dt.datetime, prefix: str = "4403") -> dict[tuple[str, str], int]:
    """(city code, class code) → approved products at `at`, for the counties whose code starts with `prefix`
    (a helper of the assertions; the page is compared with the history above, not with the engine)."""
    out: dict[tuple[str, str], int] = {}
    for moment, county, class_code, _sales in HISTORY:
        if moment < at and county.startswith(prefix):
            key = (county[:4] + "00", class_code)
            out[key] = out.get(key, 0) + 1
    return out


def on_record(at: dt.datetime, prefix: str = "44") -> Counter[tuple[str, str]]:
    """(city code, class code) → the products approved at `at` whose county code starts with `prefix`, counted in
    Python from the versions' own columns (not through the engine): a version was approved from its approval
    (`decided_at` while approved, `approved_at` once revoked or withdrawn) until `approval_ended_at`; a product
    counts once, in the class of its newest data year approved then. It holds the demo's own filings (load_demo
    approves them over the past two years) beside those of HISTORY."""
    newest: dict[int, ProductVersion] = {}
    versions = ProductVersion.objects.filter(product__county_code__startswith=prefix).select_related(
        "product", "product_class"
    )
    for version in versions:
        if version.status == FilingStatus.APPROVED:
            since, until = version.decided_at, None
        elif version.status in (FilingStatus.REVOKED, FilingStatus.WITHDRAWN):
            since, until = version.approved_at, version.approval_ended_at
        else:
            continue
        if since is None or since >= at or (until is not None and until < at):
            continue
        kept = newest.get(version.product_id)
        if kept is None or version.data_year > kept.data_year:
            newest[version.product_id] = version
    return Counter((v.product.city_code, v.product_class.code) for v in newest.values())


def quarter_end(year: int, quarter: int) -> dt.datetime:
    """The first moment after a quarter, in China's time."""
    month = 3 * quarter + 1
    return dt.datetime(year + month // 13, (month - 1) % 12 + 1, 1, tzinfo=CHINA_TZ)
