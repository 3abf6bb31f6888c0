"""Open data: the monthly CSV and JSON per province and product class — schema, no enterprise-level data,
figures equal to the dashboards', stable addresses, 404 for months not published, rate limit, caching."""

import csv
import datetime as dt
import io
import json
from collections import Counter
from typing import Any

import jsonschema
import pytest
from django.urls import reverse
from django.utils import timezone

from evaluation.models import Candidate
from filings.models import FilingUnit, Product, ProductVersion
from patent_platform import clock
from provincial import dashboards, opendata
from provincial.models import ManagementUnit

# embedded (CI runs it on SQLite too): month boundaries in SQLite's date functions
pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

# How far back each demo product's decisions are moved (by product id modulo 3): three different past months.
OFFSETS = (dt.timedelta(days=40), dt.timedelta(days=75), dt.timedelta(days=110))


@pytest.fixture
def history(demo: None) -> list[str]:
    """The demo data, its decisions and certificates moved into past months (approvals in three months,
    none in the current month); returns the published months."""
    for product in Product.objects.all():
        offset = OFFSETS[product.pk % 3]
        for version in ProductVersion.objects.filter(product=product, decided_at__isnull=False):
            ProductVersion.objects.filter(pk=version.pk).update(decided_at=version.decided_at - offset)
    for candidate in Candidate.objects.filter(certified_at__isnull=False):
        Candidate.objects.filter(pk=candidate.pk).update(certified_at=candidate.certified_at - OFFSETS[0])
    months = opendata.available_months()
    assert len(months) >= 3
    return months


def get_json(client: Any, month: str) -> dict[str, Any]:
    answer = client.get(reverse("opendata:json", args=[month]))
    assert answer.status_code == 200, answer.content[:500]
    assert answer["Content-Type"].startswith("application/json")
    return json.loads(answer.content)


def get_csv(client: Any, month: str) -> tuple[bytes, list[dict[str, str]]]:
    answer = client.get(reverse("opendata:csv", args=[month]))
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/csv; charset=utf-8"
    return answer.content, list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))


def last_month() -> str:
    return clock.month_key(dashboards.trend_months()[-2])


# --------------------------------------------------------------------------------------------- the files


def test_the_json_validates_against_the_published_schema(client: Any, history: list[str]) -> None:
    schema_answer = client.get(reverse("opendata:schema"))
    assert schema_answer.status_code == 200
    schema = json.loads(schema_answer.content)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    for month in history:
        doc = get_json(client, month)
        validator.validate(doc)
        assert doc["month"] == month and doc["schema_version"] == opendata.SCHEMA_VERSION
        assert doc["$schema"].endswith(reverse("opendata:schema"))
        assert doc["license"] and doc["generated_at"] and doc["data_as_of"]
    # the schema says no: a row with an extra (enterprise) field or a negative count
    broken = get_json(client, history[-1])
    broken["rows"][0]["unit_name"] = "某公司"
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(broken)
    broken = get_json(client, history[-1])
    broken["rows"][0]["approved"] = -1
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(broken)


def test_no_enterprise_level_data_anywhere(client: Any, history: list[str]) -> None:
    secrets: set[str] = set()
    for name, uscc in FilingUnit.objects.values_list("name", "uscc"):
        secrets.update({name, uscc})
    for name, model in ProductVersion.objects.values_list("name", "model"):
        secrets.add(name)
        if len(model) > 3:
            secrets.add(model)
    secrets.update(Product.objects.exclude(filing_number=None).values_list("filing_number", flat=True))
    assert len(secrets) > 20
    texts = [client.get(reverse("opendata:index")).content.decode()]
    for month in history:
        texts.append(client.get(reverse("opendata:json", args=[month])).content.decode())
        texts.append(client.get(reverse("opendata:csv", args=[month])).content.decode("utf-8-sig"))
    for text in texts:
        leaked = sorted(s for s in secrets if s in text)
        assert not leaked, leaked
    assert set(get_csv(client, history[-1])[1][0]) == set(opendata.CSV_HEADER)


def test_csv_and_json_hold_the_same_rows(client: Any, history: list[str]) -> None:
    for month in history:
        raw, csv_rows = get_csv(client, month)
        assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for spreadsheet programs
        assert raw.decode("utf-8-sig").splitlines()[0] == ",".join(opendata.CSV_HEADER)
        typed = [{k: int(v) if k in opendata.FIGURES else v for k, v in row.items()} for row in csv_rows]
        assert typed == get_json(client, month)["rows"]
        assert typed, month


# --------------------------------------------------------------------------------------------- the figures


def test_the_last_month_equals_the_national_dashboard(client: Any, history: list[str]) -> None:
    """No approval in the current month: the dashboard's figures today are the figures at the end of last month."""
    doc = get_json(client, last_month())
    national = dashboards.area_for_unit(None)
    totals = dashboards.totals(national)
    assert totals["approved"] > 0
    assert sum(r["approved"] for r in doc["rows"]) == doc["totals"]["approved"] == totals["approved"]
    assert sum(r["certified"] for r in doc["rows"]) == doc["totals"]["certified"] == totals["certified"]
    assert totals["certified"] > 0
    by_class: Counter[str] = Counter()
    for row in doc["rows"]:
        by_class[f"{row['product_class_code']} {row['product_class_name']}"] += row["approved"]
    assert {k: v for k, v in by_class.items() if v} == {r["label"]: r["count"] for r in dashboards.by_class(national)}
    by_region = {r["key"]: r["count"] for r in dashboards.by_region(dashboards.ranking(national))}
    province_sums: Counter[str] = Counter()
    for row in doc["rows"]:
        province_sums[row["region_code"]] += row["approved"]
    assert {k: v for k, v in province_sums.items() if v} == by_region
    units = Product.objects.filter(published_version__isnull=False).values("unit_id").distinct().count()
    assert doc["totals"]["units"] == units


def test_new_approvals_per_month_equal_the_dashboard_trend(client: Any, history: list[str]) -> None:
    trend = {row["month"]: row["count"] for row in dashboards.trend(dashboards.area_for_unit(None))}
    seen = 0
    cumulative = 0
    for month in history:
        doc = get_json(client, month)
        if month in trend:
            assert doc["totals"]["new_approved"] == trend[month], month
            seen += doc["totals"]["new_approved"]
        cumulative += doc["totals"]["new_approved"]
        assert doc["totals"]["approved"] == cumulative  # approved at the end of M = the new approvals up to M
        assert doc["totals"]["approved"] == sum(r["approved"] for r in doc["rows"])
    assert seen == sum(trend.values()) > 0
    # the months holding a product's first approval, counted from the versions' own columns: the demo approves
    # over the past two years and the fixture moves each decision back
    firsts: dict[int, dt.datetime] = {}
    for version in ProductVersion.objects.filter(status="approved"):
        firsts[version.product_id] = min(firsts.get(version.product_id, version.decided_at), version.decided_at)
    months = {clock.month_key(first.astimezone(clock.CHINA_TZ)) for first in firsts.values()} & set(history)
    assert len(months) >= 3
    assert {m for m in history if get_json(client, m)["totals"]["new_approved"]} == months


def test_a_ports_dashboard_region_figures_equal_its_rows(client: Any, history: list[str]) -> None:
    doc = get_json(client, last_month())
    for code in ("440000", "330000"):
        area = dashboards.area_for_unit(ManagementUnit.objects.get(code=code))
        rows = [r for r in doc["rows"] if r["region_code"] == code]
        approved = sum(r["approved"] for r in rows)
        assert approved == dashboards.totals(area)["approved"] > 0, code
        assert approved == sum(r["approved"] for r in dashboards.ranking(area))
        assert sum(r["certified"] for r in rows) == dashboards.totals(area)["certified"]
        by_class = {r["label"]: r["count"] for r in dashboards.by_class(area)}
        assert {
            f"{r['product_class_code']} {r['product_class_name']}": r["approved"] for r in rows if r["approved"]
        } == (by_class)


def test_a_product_approved_this_month_is_not_in_last_month(client: Any, history: list[str]) -> None:
    before = get_json(client, last_month())["totals"]["approved"]
    product = Product.objects.filter(published_version__isnull=False).first()
    ProductVersion.objects.filter(product=product).update(decided_at=timezone.now())
    from django.core.cache import cache

    cache.clear()  # the documents are cached for an hour
    assert get_json(client, last_month())["totals"]["approved"] == before - 1
    assert dashboards.totals(dashboards.area_for_unit(None))["approved"] == before  # the dashboard counts it today


# --------------------------------------------------------------------------------------------- addresses


def test_the_index_lists_the_months_without_login(client: Any, history: list[str]) -> None:
    answer = client.get(reverse("opendata:index"))
    assert answer.status_code == 200
    html = answer.content.decode()
    for month in history:
        assert reverse("opendata:csv", args=[month]) in html and reverse("opendata:json", args=[month]) in html
    assert reverse("opendata:schema") in html
    assert "new_approved" in html and "certified" in html
    assert reverse("opendata:csv", args=[history[-1]]) == f"/open-data/{history[-1]}.csv"


def test_the_index_says_when_there_is_nothing_yet(client: Any, reference: None) -> None:
    answer = client.get(reverse("opendata:index"))
    assert answer.status_code == 200 and 'data-testid="months-empty"' in answer.content.decode()


def test_current_future_unknown_and_malformed_months_are_404(client: Any, history: list[str]) -> None:
    current = clock.month_key(timezone.now())
    future = clock.month_key(timezone.now() + dt.timedelta(days=40))
    start = dashboards.parse_month(history[0])
    before = clock.month_key(start - dt.timedelta(days=1))
    for month in (current, future, before, "2026-13", "0000-01"):
        for name in ("opendata:csv", "opendata:json"):
            assert client.get(reverse(name, args=[month])).status_code == 404, (name, month)
    assert client.get("/open-data/2026-1.csv").status_code == 404
    assert client.get("/open-data/latest.json").status_code == 404


def test_files_are_cache_friendly(client: Any, history: list[str]) -> None:
    url = reverse("opendata:json", args=[history[-1]])
    first = client.get(url)
    assert first["ETag"] and first["Last-Modified"] and "max-age" in first["Cache-Control"]
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    csv_answer = client.get(reverse("opendata:csv", args=[history[-1]]))
    assert csv_answer["ETag"] == first["ETag"]  # the same figures
    assert client.get(url, HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_requests_are_rate_limited_per_address(client: Any, history: list[str], settings: Any) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "open_data": "3/min"}
    url = reverse("opendata:json", args=[history[-1]])
    for _ in range(3):
        assert client.get(url).status_code == 200
    limited = client.get(url)
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert "开放数据下载请求过于频繁" in limited.json()["detail"]
    page = client.get(reverse("opendata:index"))
    assert page.status_code == 429 and "“开放数据下载”请求过于频繁" in page.content.decode()
    other = client.get(url, REMOTE_ADDR="203.0.113.9")
    assert other.status_code == 200  # another address has its own counter
