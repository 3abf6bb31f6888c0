"""Reference data: GB/T 2260 regions, the management units of notice 985, the first product classes."""

import pytest
from django.core.management import call_command

from filings.models import ProductClass
from patent_platform.choices import RegionLevel
from patent_platform.models import Region
from provincial.choices import UnitKind
from provincial.models import ManagementUnit

# embedded (CI runs it on SQLite too): load_reference on SQLite
pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def test_regions_cover_the_mainland_provinces_cities_and_counties() -> None:
    assert Region.objects.filter(level=RegionLevel.PROVINCE).count() == 31
    assert Region.objects.filter(level=RegionLevel.CITY).count() > 300
    assert Region.objects.filter(level=RegionLevel.COUNTY).count() > 2800
    provinces = set(Region.objects.filter(level=RegionLevel.PROVINCE).values_list("code", flat=True))
    expected = {
        f"{p}0000"
        for p in [*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55), *range(61, 66)]
    }
    assert provinces == expected  # 71, 81, 82 are outside the programme
    nanshan = Region.objects.get(code="440305")
    assert (nanshan.province_code, nanshan.city_code, nanshan.parent_id) == ("440000", "440300", "440300")
    assert nanshan.full_name == "广东省深圳市南山区"


def test_management_units_are_the_47_addressees_of_the_notice() -> None:
    assert ManagementUnit.objects.filter(kind=UnitKind.PROVINCE).count() == 31
    cities = ManagementUnit.objects.filter(kind=UnitKind.CITY)
    assert cities.count() == 15
    # every sub-provincial city is nested in its province, and the five 计划单列市 are flagged
    for city in cities:
        assert city.parent is not None and city.parent.code == city.code[:2] + "0000"
    assert set(cities.filter(separately_planned=True).values_list("name", flat=True)) == {
        "大连市",
        "青岛市",
        "宁波市",
        "厦门市",
        "深圳市",
    }


def test_xpcc_has_its_own_unit_with_a_non_gb_code_and_its_twelve_cities() -> None:
    xpcc = ManagementUnit.objects.get(kind=UnitKind.XPCC)
    assert not xpcc.code.isdigit()
    codes = sorted(xpcc.regions.values_list("code", flat=True))
    assert codes == [f"6590{n:02d}" for n in range(1, 13)]
    assert {r.level for r in xpcc.regions.all()} == {RegionLevel.COUNTY}


def test_product_classes_start_with_the_seven_categories_of_2019() -> None:
    names = list(ProductClass.objects.order_by("code").values_list("name", flat=True))
    assert names == [
        "信息通信技术制造业",
        "信息通信技术服务业",
        "新装备制造业",
        "新材料制造业",
        "医药医疗产业",
        "环保产业",
        "研发、设计和技术服务业",
    ]


def test_loading_again_changes_nothing_and_keeps_edits() -> None:
    cls = ProductClass.objects.get(code="03")
    cls.name = "新装备制造业（国家局修订）"
    cls.save()
    counts = (Region.objects.count(), ManagementUnit.objects.count(), ProductClass.objects.count())
    call_command("load_reference", verbosity=0)
    assert (Region.objects.count(), ManagementUnit.objects.count(), ProductClass.objects.count()) == counts
    assert ProductClass.objects.get(code="03").name == "新装备制造业（国家局修订）"
