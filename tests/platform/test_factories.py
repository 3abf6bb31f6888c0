"""The test factories (tests/factories.py) make rows the platform itself could have made: through the
services, valid, visible to exactly the roles whose scope holds them."""

import pytest
from django.core.exceptions import ValidationError

from filings.choices import FilingStatus
from filings.identifiers import validate_uscc
from filings.models import FilingUnit, ProductVersion
from patent_platform.choices import AuditAction
from patent_platform.models import AuditEvent
from tests.factories import (
    FilingUnitFactory,
    MemberFactory,
    PortAdminFactory,
    ProductVersionFactory,
    add_patent,
    approve,
)

pytestmark = pytest.mark.django_db


def test_units_get_distinct_valid_codes_in_their_county(reference: None) -> None:
    units = FilingUnitFactory.create_batch(3, region_id="440305")
    assert len({u.uscc for u in units}) == 3
    for unit in units:
        assert validate_uscc(unit.uscc) == unit.uscc
        assert unit.uscc[2:8] == "440305"
        assert (unit.province_code, unit.city_code) == ("440000", "440300")


def test_a_unit_is_validated_as_the_registration_form_validates_it(reference: None) -> None:
    with pytest.raises(ValidationError) as exc:
        FilingUnitFactory(uscc="91440101MA59TA0X00")  # a wrong check character
    assert "uscc" in exc.value.message_dict
    assert not FilingUnit.objects.exists()


def test_a_version_is_a_draft_made_through_the_service_and_approval_gives_a_filing_number(reference: None) -> None:
    version = ProductVersionFactory()
    assert version.status == FilingStatus.DRAFT
    assert [(link.is_core, link.contribution) for link in version.links.all()] == [(True, 60)]
    assert AuditEvent.objects.filter(action=AuditAction.CREATE, object_id=str(version.pk)).exists()
    approved = approve(version)
    assert approved.status == FilingStatus.APPROVED
    assert approved.product.filing_number


def test_a_version_refuses_what_the_service_refuses(reference: None) -> None:
    member = MemberFactory()
    right = add_patent(member.unit, member.user)
    too_much = [{"right": right.pk, "is_core": True, "contribution": 150, "embodiment": ""}]
    with pytest.raises(ValidationError):
        ProductVersionFactory(unit=member.unit, user=member.user, links=too_much)
    assert not ProductVersion.objects.exists()


def test_a_port_administrator_sees_the_products_of_its_area_only(reference: None) -> None:
    nanshan = approve(ProductVersionFactory(unit=FilingUnitFactory(region_id="440305")))  # 深圳南山
    tianhe = approve(ProductVersionFactory(unit=FilingUnitFactory(region_id="440106")))  # 广州天河
    shenzhen = PortAdminFactory(port_code="440300").user
    guangdong = PortAdminFactory(port_code="440000").user
    zhejiang = PortAdminFactory(port_code="330000").user
    visible = {
        who: set(ProductVersion.objects.visible_to(user).values_list("pk", flat=True))
        for who, user in (("shenzhen", shenzhen), ("guangdong", guangdong), ("zhejiang", zhejiang))
    }
    assert visible == {"shenzhen": {nanshan.pk}, "guangdong": {nanshan.pk, tianhe.pk}, "zhejiang": set()}
