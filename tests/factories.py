"""Factories (factory_boy) for the rows a test needs, built through the same services as the pages.

A test that needs a unit, a patent and a product builds those three rows here instead of the whole demo
(`demo`, tests/worlds.py). Every factory that has a service behind it goes through it — the rules of the
domain hold for test data as for a user's — so a factory's row is one the platform could have made:

    unit = FilingUnitFactory(region_id="440305")            # 深圳南山, verified (verified=False: not yet)
    filer = MemberFactory(unit=unit).user                   # its manager, an enterprise account
    version = ProductVersionFactory(unit=unit, user=filer)  # a draft with one core invention patent
    approve(version)                                        # submitted and approved: it has a filing number
    port = PortAdminFactory(port_code="440300")             # 深圳's port administrator
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from filings import identity, services, workflow
from filings.choices import VerificationMethod
from filings.identifiers import build_patent_number, build_uscc
from filings.models import FilingUnit, PatentRight, ProductClass, ProductVersion, UnitMembership
from patent_platform.choices import Role
from patent_platform.models import User
from provincial.models import ManagementUnit, PortMembership
from provincial.services import port_add_admin

PASSWORD = "Demo-2026!"
_patent_serials = itertools.count(900_000)  # the demo and tests/filings/conftest.py use lower serials


def _org_body(n: int) -> str:
    """A distinct 9-character organisation body for the n-th unit (its last digits vary)."""
    return f"MF{n:06d}"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@factory.example.cn")
    role = Role.ENTERPRISE
    full_name = factory.LazyAttribute(lambda o: o.email.split("@")[0])

    @classmethod
    def _create(cls, model_class: type[User], *args: Any, **kwargs: Any) -> User:
        email, role = kwargs.pop("email"), kwargs.pop("role")
        kwargs.setdefault("email_confirmed_at", timezone.now())  # confirmed unless said otherwise (None)
        return model_class.objects.create_user(email, PASSWORD, role=role, **kwargs)


class FilingUnitFactory(DjangoModelFactory):
    """A filing unit (enterprise) with a valid USCC in its county; validated as the registration form does."""

    class Meta:
        model = FilingUnit

    name = factory.Sequence(lambda n: f"测试工厂{n}科技有限公司")
    region_id = "440106"  # 广州天河区
    uscc = factory.LazyAttributeSequence(lambda o, n: build_uscc(region_code=o.region_id, org_body=_org_body(n)))

    verified = True  # verified through filings.identity (as a reviewer's acceptance would); False: unverified

    @classmethod
    def _create(cls, model_class: type[FilingUnit], *args: Any, **kwargs: Any) -> FilingUnit:
        verified = kwargs.pop("verified")
        unit = model_class(**kwargs)
        unit.full_clean()
        unit.save()
        if verified:
            identity.unit_verify(unit=unit, method=VerificationMethod.ADMINISTRATOR, note="factory")
        return unit


class MemberFactory(DjangoModelFactory):
    """An enterprise account and its membership of a unit (its manager unless said otherwise)."""

    class Meta:
        model = UnitMembership

    user = factory.SubFactory(UserFactory, role=Role.ENTERPRISE)
    unit = factory.SubFactory(FilingUnitFactory)
    is_manager = True


def add_patent(unit: FilingUnit, user: User, type_digit: str = "1", **data: Any) -> PatentRight:
    """A new valid patent (invention unless type_digit says otherwise) and the unit's right to it."""
    number = build_patent_number(year=2019, type_digit=type_digit, serial=next(_patent_serials))
    return services.patent_right_create(
        unit=unit, user=user, data={"number": number, "title": f"测试专利 {number}", **data}
    )


class ProductVersionFactory(factory.Factory):
    """A draft product (its first version) through `services.product_create`: by default with one core
    invention patent contributing 60 % and the figures of a small enterprise."""

    class Meta:
        model = ProductVersion

    unit = factory.SubFactory(FilingUnitFactory)
    user = factory.LazyAttribute(lambda o: MemberFactory(unit=o.unit).user)
    name = factory.Sequence(lambda n: f"测试产品{n}")
    model = "T-1"
    product_class_code = "03"
    sales = Decimal(1000)
    exports = Decimal(100)
    output_value = Decimal(1200)
    links = None  # None: one new core patent; else the link rows as the API takes them

    @classmethod
    def _create(cls, model_class: type[ProductVersion], *args: Any, **kwargs: Any) -> ProductVersion:
        unit, user, links = kwargs.pop("unit"), kwargs.pop("user"), kwargs.pop("links")
        kwargs["product_class"] = ProductClass.objects.get(code=kwargs.pop("product_class_code"))
        if links is None:
            right = add_patent(unit, user)
            links = [{"right": right.pk, "is_core": True, "contribution": Decimal(60), "embodiment": "主体结构"}]
        return services.product_create(unit=unit, user=user, data=kwargs, links=links)

    @classmethod
    def _build(cls, model_class: type[ProductVersion], *args: Any, **kwargs: Any) -> ProductVersion:
        raise NotImplementedError("a product version is only made through services.product_create")


def filer_of(version: ProductVersion) -> User:
    return version.product.unit.memberships.select_related("user").first().user  # type: ignore[union-attr]


def approve(version: ProductVersion, reviewer: User | None = None) -> ProductVersion:
    """Submit a draft as its filer and approve it as a reviewer, through the workflow."""
    reviewer = reviewer or UserFactory(role=Role.REVIEWER)
    workflow.version_submit(version=version, user=filer_of(version))
    workflow.version_approve(version=version, user=reviewer)
    version.refresh_from_db()
    return version


class PortAdminFactory(factory.Factory):
    """A port administrator of the management unit with code `port_code`, through `port_add_admin`
    (role, membership, a grant on each of the unit's regions); the unit is opened if it was not."""

    class Meta:
        model = PortMembership

    user = factory.SubFactory(UserFactory, role=Role.PORT_ADMIN)
    port_code = "440000"

    @classmethod
    def _create(cls, model_class: type[PortMembership], *args: Any, **kwargs: Any) -> PortMembership:
        unit = ManagementUnit.objects.get(code=kwargs["port_code"])
        if not unit.is_open:
            unit.is_open = True
            unit.save(update_fields=["is_open"])
        return port_add_admin(unit=unit, user=kwargs["user"])
