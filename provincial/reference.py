"""The management units of notice 国知办函运字〔2022〕985号: 31 provinces, XPCC, 15 sub-provincial cities."""

from django.db import transaction

from patent_platform.choices import RegionLevel
from patent_platform.models import Region
from provincial.choices import UnitKind
from provincial.models import ManagementUnit

# The 15 副省级城市; the five 计划单列市 among them are flagged.
SUB_PROVINCIAL_CITIES = [
    ("230100", "哈尔滨市", False),
    ("220100", "长春市", False),
    ("210100", "沈阳市", False),
    ("210200", "大连市", True),
    ("370100", "济南市", False),
    ("370200", "青岛市", True),
    ("320100", "南京市", False),
    ("330100", "杭州市", False),
    ("330200", "宁波市", True),
    ("350200", "厦门市", True),
    ("440100", "广州市", False),
    ("440300", "深圳市", True),
    ("420100", "武汉市", False),
    ("510100", "成都市", False),
    ("610100", "西安市", False),
]
XPCC_CODE = "XPCC"  # internal, clearly not a GB/T 2260 code
XPCC_CITY_CODES = [f"6590{n:02d}" for n in range(1, 13)]


@transaction.atomic
def load_management_units() -> int:
    """Create the units and their regions; idempotent (an existing unit is left as it is)."""
    created = 0
    provinces = {}
    for region in Region.objects.filter(level=RegionLevel.PROVINCE):
        unit, was_created = ManagementUnit.objects.get_or_create(
            code=region.code, defaults={"name": region.name, "kind": UnitKind.PROVINCE}
        )
        if was_created:
            unit.regions.add(region)
            created += 1
        provinces[region.code] = unit
    xpcc, was_created = ManagementUnit.objects.get_or_create(
        code=XPCC_CODE, defaults={"name": "新疆生产建设兵团", "kind": UnitKind.XPCC}
    )
    if was_created:
        xpcc.regions.add(*Region.objects.filter(code__in=XPCC_CITY_CODES))
        created += 1
    for code, name, planned in SUB_PROVINCIAL_CITIES:
        unit, was_created = ManagementUnit.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": UnitKind.CITY,
                "parent": provinces[code[:2] + "0000"],
                "separately_planned": planned,
            },
        )
        if was_created:
            unit.regions.add(Region.objects.get(code=code))
            created += 1
    return created
