"""Filing fixtures, built through the services a user's actions call (no shortcuts into the tables)."""

import itertools
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from filings import identity, services, workflow
from filings.choices import VerificationMethod
from filings.identifiers import build_patent_number, build_uscc
from filings.models import FilingUnit, PatentRight, ProductClass, ProductVersion, UnitMembership
from patent_platform.choices import Role
from patent_platform.models import User
from tests.webhook_receiver import receiver, webhook_receiver_server  # noqa: F401  (fixtures)

_serials = itertools.count(1000)


@pytest.fixture
def make_unit(reference: None) -> Callable[..., FilingUnit]:
    def make(name: str, county: str, org: str, *, verified: bool = True) -> FilingUnit:
        unit = FilingUnit(uscc=build_uscc(region_code=county, org_body=org), name=name, region_id=county)
        unit.full_clean()
        unit.save()
        if verified:  # as a reviewer's acceptance would (filings/identity.py); verified=False: not yet
            identity.unit_verify(unit=unit, method=VerificationMethod.ADMINISTRATOR, note="test")
        return unit

    return make


@pytest.fixture
def unit_a(make_unit: Callable[..., FilingUnit]) -> FilingUnit:
    return make_unit("广州测试智能装备有限公司", "440106", "MA59TA01")


@pytest.fixture
def unit_b(make_unit: Callable[..., FilingUnit]) -> FilingUnit:
    return make_unit("杭州测试新材料有限公司", "330106", "MA2TB002")


def _member(make_user: Callable[..., User], email: str, unit: FilingUnit) -> User:
    user = make_user(email, Role.ENTERPRISE)
    UnitMembership.objects.create(user=user, unit=unit, is_manager=True)
    return user


@pytest.fixture
def filer_a(make_user: Callable[..., User], unit_a: FilingUnit) -> User:
    return _member(make_user, "filer-a@example.cn", unit_a)


@pytest.fixture
def filer_b(make_user: Callable[..., User], unit_b: FilingUnit) -> User:
    return _member(make_user, "filer-b@example.cn", unit_b)


@pytest.fixture
def reviewer(make_user: Callable[..., User]) -> User:
    return make_user("reviewer-t@example.cn", Role.REVIEWER)


@pytest.fixture
def product_class(reference: None) -> ProductClass:
    return ProductClass.objects.get(code="03")


@pytest.fixture
def add_right() -> Callable[..., PatentRight]:
    """add_right(unit, user, type_digit="1", **right_data): a new valid patent and the unit's right."""

    def add(unit: FilingUnit, user: User, type_digit: str = "1", **data: Any) -> PatentRight:
        number = build_patent_number(year=2019, type_digit=type_digit, serial=next(_serials))
        return services.patent_right_create(
            unit=unit, user=user, data={"number": number, "title": f"测试专利 {number}", **data}
        )

    return add


@pytest.fixture
def new_version(add_right: Callable[..., PatentRight], product_class: ProductClass) -> Callable[..., ProductVersion]:
    """new_version(unit, user, **figures): a draft product with one core patent (60 %)."""

    def make(unit: FilingUnit, user: User, links: list[dict[str, Any]] | None = None, **data: Any) -> ProductVersion:
        if links is None:
            right = add_right(unit, user)
            links = [{"right": right.pk, "is_core": True, "contribution": Decimal(60), "embodiment": "主体结构"}]
        fields = {
            "name": "测试产品",
            "model": "T-1",
            "product_class": product_class,
            "sales": Decimal(1000),
            "exports": Decimal(100),
            "output_value": Decimal(1200),
            **data,
        }
        return services.product_create(unit=unit, user=user, data=fields, links=links)

    return make


@pytest.fixture
def approved_version(
    new_version: Callable[..., ProductVersion], unit_a: FilingUnit, filer_a: User, reviewer: User
) -> ProductVersion:
    version = new_version(unit_a, filer_a)
    workflow.version_submit(version=version, user=filer_a)
    workflow.version_approve(version=version, user=reviewer)
    version.refresh_from_db()
    return version
