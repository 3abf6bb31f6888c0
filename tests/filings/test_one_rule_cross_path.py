"""One rule set per write (issue 17, mechanism 1), for figures, patent links and rights: every path that writes
them — the service, the API, the web form and the Excel import — accepts and refuses the same input and stores
an accepted one as the same value. tests/filings/test_one_rule_per_write.py does the same for data years.

Each example is sent through the four paths inside one savepoint that is rolled back afterwards, so every
example starts from the same rows; the answers are compared as (accepted?, stored value).

Found (the fixed examples): a blank output value stored as 0 by the service and the API, refused by the form and the
import; blank exports refused by the form only; a contribution of 33.333 stored as 33.33 by the service, refused by
the others; a list without a core patent refused by the import only (a draft everywhere else); a 51-character
recordal number refused by the paths' fields but sent to the database by the service (PostgreSQL: DataError).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from rest_framework.test import APIClient

from filings import rules, services
from filings.choices import ImportStatus, LicenceKind, RightKind
from filings.identifiers import build_patent_number
from filings.models import FilingPolicy, FilingUnit, ImportJob, PatentRight, ProductClass, ProductVersion
from patent_platform.models import User
from tests.filings.test_enterprise_views import version_post

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]  # every path, on both engines

REFUSED = "refused"
FIGURES = ("sales", "exports", "output_value")
_serials = itertools.count(700_000)
_names = itertools.count(1)
SETTINGS = settings(
    max_examples=10,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Rolled(Exception):
    """Leaves the example's savepoint: each example starts from the same rows."""


def each_path(paths: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    try:
        with transaction.atomic():
            for name, run in paths.items():
                answers[name] = run()
            raise Rolled
    except Rolled:
        pass
    return answers


def text(value: Decimal | None) -> str:
    return "" if value is None else format(value, "f")


def upload(client: Client, kind: str, rows: list[list[Any]], capture: Any) -> ImportJob:
    book = load_workbook(BytesIO(client.get(reverse("imports:template", args=[kind])).content))
    sheet = book.worksheets[0]
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row, start=1):
            cell = sheet.cell(row=r, column=c, value=value)
            if isinstance(value, str):
                cell.number_format = "@"  # typed as text, as the template's columns are
    out = BytesIO()
    book.save(out)
    with capture(execute=True):
        answer = client.post(
            reverse("imports:upload"), {"kind": kind, "file": SimpleUploadedFile("数据.xlsx", out.getvalue())}
        )
    assert answer.status_code == 302
    job = ImportJob.objects.latest("created_at")
    assert job.status in (ImportStatus.DONE, ImportStatus.FAILED), (job.status, job.message)
    return job


# ---------------------------------------------------------------------------------------------
# Products: figures and patent links


def stored_product(version: ProductVersion) -> tuple[Any, ...]:
    version = ProductVersion.objects.get(pk=version.pk)  # as stored
    figures = tuple(getattr(version, f) for f in FIGURES)
    links = tuple(
        sorted(
            (link.right.patent.number, link.is_core, link.contribution)
            for link in version.links.select_related("right__patent")
        )
    )
    return figures, links


def product_paths(
    unit: FilingUnit,
    user: User,
    cls: ProductClass,
    figures: dict[str, Decimal | None],
    links: list[dict[str, Any]],
    capture: Any,
) -> dict[str, Callable[[], Any]]:
    """The four ways to create a product with these figures and links (`links`: right, number, is_core,
    contribution); each returns REFUSED with the fields named, or what was stored."""
    client = Client()
    client.force_login(user)

    def service() -> Any:
        data = {"name": f"服务{next(_names)}", "model": "S", "product_class": cls}
        data.update({k: v for k, v in figures.items() if v is not None})
        rows = [{**{k: link[k] for k in ("right", "is_core", "contribution")}, "embodiment": ""} for link in links]
        try:
            return stored_product(services.product_create(unit=unit, user=user, data=data, links=rows))
        except ValidationError as exc:
            return REFUSED, sorted(exc.message_dict)

    def api() -> Any:
        body: dict[str, Any] = {"name": f"接口{next(_names)}", "model": "A", "product_class": cls.code}
        body.update({k: text(v) for k, v in figures.items() if v is not None})
        body["links"] = [
            {"right": link["right"], "is_core": link["is_core"], "contribution": text(link["contribution"])}
            for link in links
        ]
        api_client = APIClient()
        api_client.force_authenticate(user)
        answer = api_client.post("/api/v1/products/", body, format="json")
        if answer.status_code == 400:
            return REFUSED, sorted(answer.json())
        assert answer.status_code == 201, answer.content
        return stored_product(ProductVersion.objects.get(product_id=answer.json()["id"]))

    def form() -> Any:
        name = f"表单{next(_names)}"
        rows = [
            {"right": link["right"], "is_core": link["is_core"], "contribution": text(link["contribution"])}
            for link in links
        ]
        data = version_post(cls, rows, name=name, **{k: text(v) for k, v in figures.items()})
        answer = client.post(reverse("enterprise:product_new"), data)
        if answer.status_code == 400:
            ctx = answer.context
            fields = sorted(ctx["form"].errors)
            if any(ctx["formset"].errors) or ctx.get("patent_errors") or ctx["formset"].non_form_errors():
                fields.append("patents")
            return REFUSED, fields
        assert answer.status_code == 302, answer.status_code
        return stored_product(ProductVersion.objects.get(product__unit=unit, name=name))

    def excel() -> Any:
        name = f"导入{next(_names)}"
        year = rules.data_year_window()[1]
        rows = [
            [
                1,
                name,
                "I",
                cls.code,
                None,
                None,
                year,
                *(text(figures[f]) or None for f in FIGURES),
                "否",
                link["number"],
                "是" if link["is_core"] else "否",
                text(link["contribution"]) or None,
                None,
            ]
            for link in links
        ]
        job = upload(client, "products", rows, capture)
        if job.status == ImportStatus.FAILED:
            return REFUSED, sorted({e["column"] for e in job.errors})
        return stored_product(ProductVersion.objects.get(name=name))

    return {"service": service, "api": api, "form": form, "import": excel}


def accepted(answers: dict[str, Any]) -> dict[str, bool]:
    return {path: not (isinstance(a, tuple) and a and a[0] == REFUSED) for path, a in answers.items()}


def assert_one_answer(answers: dict[str, Any], what: str) -> None:
    """All four accept or all refuse; the accepted ones stored the same."""
    verdicts = accepted(answers)
    assert len(set(verdicts.values())) == 1, f"{what}: {answers}"
    if all(verdicts.values()):
        assert len({repr(a) for a in answers.values()}) == 1, f"{what}: {answers}"


def money(places: int) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=-50, max_value=Decimal(10) ** 13, places=places, allow_nan=False)


MONEY = st.one_of(
    money(0),
    money(2),
    money(3),
    st.sampled_from(
        [
            Decimal("0"),
            Decimal("1.5"),
            Decimal("1.500"),
            Decimal("0.001"),
            Decimal("-0.01"),
            Decimal("999999999999.99"),
            Decimal("1000000000000"),
        ]
    ),
)


@pytest.fixture
def rights(unit_a: FilingUnit, filer_a: User, unit_b: FilingUnit, filer_b: User, add_right: Any) -> dict[str, Any]:
    """Three rights of unit A and one of unit B (another unit's)."""
    own = [add_right(unit_a, filer_a) for _ in range(3)]
    return {"own": own, "other": add_right(unit_b, filer_b)}


def _setup(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@SETTINGS
@given(sales=st.one_of(MONEY, st.none()), exports=st.one_of(MONEY, st.none()), output=st.one_of(MONEY, st.none()))
@example(sales=Decimal(100), exports=Decimal("100.001"), output=Decimal(1)).via("three decimals")
@example(sales=Decimal("1.500"), exports=Decimal(0), output=Decimal(1)).via("trailing zeros")
@example(sales=Decimal(100), exports=Decimal(101), output=Decimal(1)).via("exports above sales")
@example(sales=Decimal("1000000000000"), exports=Decimal(0), output=Decimal(1)).via("13 digits")
@example(sales=Decimal(100), exports=Decimal(0), output=None).via("output value left blank")
@example(sales=Decimal(100), exports=None, output=Decimal(1)).via("exports left blank")
def test_every_path_gives_the_same_answer_to_the_same_figures(
    sales: Decimal | None,
    exports: Decimal | None,
    output: Decimal | None,
    unit_a: FilingUnit,
    filer_a: User,
    rights: dict[str, Any],
    product_class: ProductClass,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
    tmp_path: Any,
) -> None:
    _setup(settings, tmp_path)
    right = rights["own"][0]
    links = [{"right": right.pk, "number": right.patent.number, "is_core": True, "contribution": Decimal(60)}]
    figures = {"sales": sales, "exports": exports, "output_value": output}
    answers = each_path(
        product_paths(unit_a, filer_a, product_class, figures, links, django_capture_on_commit_callbacks)
    )
    assert_one_answer(answers, f"figures {figures}")


CONTRIBUTION = st.one_of(
    st.decimals(min_value=-5, max_value=120, places=0),
    st.decimals(min_value=-5, max_value=120, places=2),
    st.decimals(min_value=0, max_value=100, places=3),
    st.sampled_from([Decimal(0), Decimal(100), Decimal("33.333"), Decimal("50.50"), Decimal("100.001")]),
)
LINK = st.fixed_dictionaries(
    {
        "which": st.sampled_from(["own0", "own1", "own2", "other"]),
        "is_core": st.booleans(),
        "contribution": CONTRIBUTION,
    }
)


@SETTINGS
@given(chosen=st.lists(LINK, min_size=1, max_size=3))
@example(chosen=[{"which": "own0", "is_core": True, "contribution": Decimal("33.333")}]).via("three decimals")
@example(chosen=[{"which": "own0", "is_core": False, "contribution": Decimal(60)}]).via("no core patent")
@example(
    chosen=[
        {"which": "own0", "is_core": True, "contribution": Decimal(60)},
        {"which": "own1", "is_core": False, "contribution": Decimal("40.01")},
    ]
).via("a sum over 100")
@example(chosen=[{"which": "other", "is_core": True, "contribution": Decimal(60)}]).via("another unit's right")
def test_every_path_gives_the_same_answer_to_the_same_patent_list(
    chosen: list[dict[str, Any]],
    unit_a: FilingUnit,
    filer_a: User,
    rights: dict[str, Any],
    product_class: ProductClass,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
    tmp_path: Any,
) -> None:
    _setup(settings, tmp_path)
    links = []
    for link in chosen:
        right = rights["other"] if link["which"] == "other" else rights["own"][int(link["which"][-1])]
        links.append(
            {
                "right": right.pk,
                "number": right.patent.number,
                "is_core": link["is_core"],
                "contribution": link["contribution"],
            }
        )
    figures = {"sales": Decimal(100), "exports": Decimal(10), "output_value": Decimal(120)}
    answers = each_path(
        product_paths(unit_a, filer_a, product_class, figures, links, django_capture_on_commit_callbacks)
    )
    assert_one_answer(answers, f"links {chosen}")


# ---------------------------------------------------------------------------------------------
# Rights and licences


def right_paths(unit: FilingUnit, user: User, right: dict[str, str], capture: Any) -> dict[str, Callable[[], Any]]:
    client = Client()
    client.force_login(user)

    def number() -> str:
        return build_patent_number(year=2020, type_digit="1", serial=next(_serials))

    def stored(pk: int) -> tuple[str, str, str]:
        r = PatentRight.objects.get(pk=pk)
        return r.kind, r.licence_kind, r.recordal_number

    def service() -> Any:
        data = {"number": number(), "title": "服务专利", **right}
        try:
            return stored(services.patent_right_create(unit=unit, user=user, data=data).pk)
        except ValidationError as exc:
            return REFUSED, sorted(exc.message_dict)

    def api() -> Any:
        api_client = APIClient()
        api_client.force_authenticate(user)
        body = {"number": number(), "title": "接口专利", "right_kind": right["kind"]}
        body.update({k: right[k] for k in ("licence_kind", "recordal_number")})
        answer = api_client.post("/api/v1/patents/", body, format="json")
        if answer.status_code == 400:
            return REFUSED, sorted(answer.json())
        assert answer.status_code == 201, answer.content
        return stored(answer.json()["id"])

    def form() -> Any:
        n = number()
        data = {"number": n, "title": "表单专利", "legal_status": "valid", **right}
        answer = client.post(reverse("enterprise:patent_new"), data)
        if answer.status_code == 400:
            return REFUSED, sorted(answer.context["form"].errors)
        assert answer.status_code == 302, answer.status_code
        return stored(PatentRight.objects.get(unit=unit, patent__number=n).pk)

    def excel() -> Any:
        n = number()
        row = [n, "导入专利", None, None, None, right["kind"], right["licence_kind"] or None]
        row += [right["recordal_number"] or None, None]
        job = upload(client, "patents", [row], capture)
        if job.status == ImportStatus.FAILED:
            return REFUSED, sorted({e["column"] for e in job.errors})
        return stored(PatentRight.objects.get(unit=unit, patent__number=n).pk)

    return {"service": service, "api": api, "form": form, "import": excel}


RECORDALS = st.sampled_from(["", "X2024-110000-001", "备案 2023 第 17 号", "A" * 50, "A" * 51, " B-1 "])


@SETTINGS
@given(
    kind=st.sampled_from(RightKind.values),
    licence_kind=st.sampled_from(["", *LicenceKind.values]),
    recordal=RECORDALS,
    require_recordal=st.booleans(),
)
@example(kind="licensee", licence_kind="", recordal="", require_recordal=False).via("licensee without licence kind")
@example(kind="licensee", licence_kind="ordinary", recordal="", require_recordal=True).via("recordal required")
@example(kind="owner", licence_kind="", recordal="X-1", require_recordal=False).via("an owner with a recordal")
@example(kind="licensee", licence_kind="sole", recordal="A" * 51, require_recordal=False).via("51 characters")
def test_every_path_gives_the_same_answer_to_the_same_right(
    kind: str,
    licence_kind: str,
    recordal: str,
    require_recordal: bool,
    unit_a: FilingUnit,
    filer_a: User,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
    tmp_path: Any,
) -> None:
    _setup(settings, tmp_path)
    policy = FilingPolicy.current()
    policy.require_licence_recordal = require_recordal
    policy.save()
    right = {"kind": kind, "licence_kind": licence_kind, "recordal_number": recordal}
    answers = each_path(right_paths(unit_a, filer_a, right, django_capture_on_commit_callbacks))
    assert_one_answer(answers, f"right {right}, recordal required: {require_recordal}")
