"""One rule set per write (issue 17, mechanism 1), for the data year: every path that creates a filing — the
service, the API, the web form and the Excel import — accepts and refuses the same years, stores an accepted
one as given, and the check before review refuses what the window refuses, whatever path wrote it.

Found: `POST /api/v1/products/` with `"data_year": 2031` answered 201 and was approved with a filing number,
while the form and the import refused that year (and the form also refused 2005, which the import took).
"""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from rest_framework.test import APIClient

from filings import rules, services, workflow
from filings.choices import ImportStatus
from filings.models import FilingUnit, ImportJob, PatentRight, ProductClass, ProductVersion
from patent_platform.models import User
from tests.filings.test_enterprise_views import version_post
from tests.problems import fields

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]  # every path, on both engines

LATEST = workflow.default_data_year()
YEARS = st.one_of(
    st.integers(min_value=1990, max_value=LATEST + 12),
    st.sampled_from([rules.FIRST_DATA_YEAR - 1, rules.FIRST_DATA_YEAR, LATEST, LATEST + 1]),
)


class Rolled(Exception):
    """Leaves the example's savepoint: each example starts from the same rows."""


def via_service(unit: FilingUnit, user: User, right: PatentRight, cls: ProductClass, year: int) -> int | None:
    links = [{"right": right.pk, "is_core": True, "contribution": Decimal(60), "embodiment": ""}]
    data = {"name": f"服务{year}", "model": "S", "product_class": cls, "sales": 100, "exports": 0, "output_value": 1}
    try:
        return services.product_create(unit=unit, user=user, data=data, links=links, data_year=year).data_year
    except ValidationError as exc:
        assert set(exc.message_dict) == {"data_year"}, exc.message_dict
        return None


def via_api(user: User, right: PatentRight, year: int) -> int | None:
    api = APIClient()
    api.force_authenticate(user)
    body = {
        "data_year": year,
        "name": f"接口{year}",
        "model": "A",
        "product_class": "03",
        "sales": "100",
        "exports": "0",
        "output_value": "1",
        "links": [{"right": right.pk, "is_core": True, "contribution": "60", "embodiment": ""}],
    }
    answer = api.post("/api/v1/products/", body, format="json")
    if answer.status_code == 400:
        assert "data_year" in fields(answer), answer.json()
        return None
    assert answer.status_code == 201, answer.content
    return ProductVersion.objects.get(product_id=answer.json()["id"]).data_year


def via_form(client: Client, unit: FilingUnit, right: PatentRight, cls: ProductClass, year: int) -> int | None:
    data = version_post(cls, [{"right": right.pk, "is_core": True}], data_year=str(year), name=f"表单{year}")
    answer = client.post(reverse("enterprise:product_new"), data)
    if answer.status_code in (200, 400):  # the form again, with its errors
        assert "data_year" in answer.context["form"].errors, answer.context["form"].errors
        return None
    assert answer.status_code == 302
    return ProductVersion.objects.get(product__unit=unit, name=f"表单{year}").data_year


def via_import(client: Client, right: PatentRight, year: int, capture: Any) -> int | None:
    book = load_workbook(BytesIO(client.get(reverse("imports:template", args=["products"])).content))
    row = [1, f"导入{year}", "I", "03", None, None, year, 100, 0, 1, "否", right.patent.number, "是", 60, None]
    for c, value in enumerate(row, start=1):
        book.worksheets[0].cell(row=2, column=c, value=value)
    out = BytesIO()
    book.save(out)
    with capture(execute=True):
        answer = client.post(reverse("imports:upload"), {"kind": "products", "file": _upload(out.getvalue())})
    assert answer.status_code == 302
    job = ImportJob.objects.latest("created_at")
    if job.status == ImportStatus.FAILED:
        assert [e["column"] for e in job.errors] == ["数据年度"], job.errors
        return None
    assert job.status == ImportStatus.DONE, job.errors
    return ProductVersion.objects.get(name=f"导入{year}").data_year


def _upload(content: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("数据.xlsx", content)


@settings(
    max_examples=12,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(year=YEARS)
@example(year=2031).via("the API took 2031")
@example(year=2005).via("the form refused 2005, the import took it")
def test_every_path_accepts_and_refuses_the_same_data_years(
    year: int,
    unit_a: FilingUnit,
    filer_a: User,
    add_right: Any,
    product_class: ProductClass,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
    tmp_path: Any,
) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    right = add_right(unit_a, filer_a)
    client = Client()
    client.force_login(filer_a)
    first, latest = rules.data_year_window()
    expected = year if first <= year <= latest else None
    try:
        with transaction.atomic():
            stored = {
                "service": via_service(unit_a, filer_a, right, product_class, year),
                "api": via_api(filer_a, right, year),
                "form": via_form(client, unit_a, right, product_class, year),
                "import": via_import(client, right, year, django_capture_on_commit_callbacks),
            }
            raise Rolled
    except Rolled:
        pass
    assert stored == dict.fromkeys(stored, expected), f"data year {year}: {stored}"


def test_the_window_is_from_2000_to_last_year_in_china() -> None:
    assert rules.data_year_window() == (2000, workflow.china_today().year - 1)


def test_the_check_before_review_refuses_a_year_outside_the_window_whatever_wrote_it(
    unit_a: FilingUnit, filer_a: User, new_version: Any
) -> None:
    version = new_version(unit_a, filer_a)
    ProductVersion.objects.filter(pk=version.pk).update(data_year=LATEST + 6)  # a write behind the services
    version.refresh_from_db()
    assert "data_year" in rules.version_rule_errors(version)
    with pytest.raises(ValidationError) as exc:
        workflow.version_submit(version=version, user=filer_a)
    assert "data_year" in exc.value.message_dict
    client = Client()
    client.force_login(filer_a)
    page = client.get(reverse("enterprise:version", args=[version.pk])).content.decode()
    assert f"{rules.FIRST_DATA_YEAR} 至 {LATEST} 年" in page
