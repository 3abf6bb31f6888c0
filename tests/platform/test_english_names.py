"""English names of reference data (issue 22 part 4): regions in Hanyu Pinyin with the place-name readings
the library gets wrong overridden, and every reference name shown in the active language."""

import csv
import re
from decimal import Decimal

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from evaluation.models import Indicator
from filings.industries import industry_choices, industry_name
from filings.models import ProductClass
from patent_platform.i18n import localized_name
from patent_platform.models import Region
from patent_platform.reference import REGIONS_CSV
from patent_platform.romanize import region_name_en
from provincial.models import ManagementUnit

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

# Place names whose reading differs from the characters' everyday one (heteronyms), apostrophes, customary
# forms and the generic parts: what a reader of a Chinese map would expect.
TRICKY = [
    ("500000", "重庆市", "Chongqing"),
    ("350200", "厦门市", "Xiamen"),
    ("341500", "六安市", "Lu'an"),
    ("340300", "蚌埠市", "Bengbu"),
    ("140400", "长治市", "Changzhi"),
    ("430100", "长沙市", "Changsha"),
    ("140428", "长子县", "Zhangzi County"),
    ("510117", "郫都区", "Pidu District"),
    ("371722", "单县", "Shan County"),
    ("110105", "朝阳区", "Chaoyang District"),
    ("610100", "西安市", "Xi'an"),
    ("650100", "乌鲁木齐市", "Urumqi"),
    ("222400", "延边朝鲜族自治州", "Yanbian Korean Autonomous Prefecture"),
    ("150000", "内蒙古自治区", "Inner Mongolia Autonomous Region"),
    ("610000", "陕西省", "Shaanxi"),
    ("140000", "山西省", "Shanxi"),
    ("510181", "都江堰市", "Dujiangyan"),
    ("330382", "乐清市", "Yueqing"),
    ("440113", "番禺区", "Panyu District"),
    ("141024", "洪洞县", "Hongtong County"),
    ("341621", "涡阳县", "Guoyang County"),
    ("310115", "浦东新区", "Pudong New Area"),
    ("152921", "阿拉善左旗", "Alashan Left Banner"),
]


@pytest.mark.parametrize(("code", "name", "english"), TRICKY)
def test_place_names_read_as_places(code: str, name: str, english: str) -> None:
    assert region_name_en(code, name) == english


def test_the_shipped_regions_carry_the_english_the_rules_give_and_no_chinese() -> None:
    with open(REGIONS_CSV, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) > 3000
    stale = [(r["code"], r["name"], r["name_en"]) for r in rows if r["name_en"] != region_name_en(r["code"], r["name"])]
    assert not stale, f"run `python scripts/build_regions.py --english`: {stale[:5]}"
    assert not [r["name_en"] for r in rows if HAN.search(r["name_en"]) or not r["name_en"]]


@pytest.mark.django_db
def test_reference_names_follow_the_active_language(reference: None) -> None:
    shenzhen = Region.objects.get(code="440305")
    product_class = ProductClass.objects.get(code="01")
    indicator = Indicator.objects.filter(code="D2").first()
    port = ManagementUnit.objects.get(code="440000")
    with translation.override("en"):
        assert shenzhen.full_name == "Nanshan District, Shenzhen, Guangdong"
        assert str(product_class) == "01 Information and communication technology manufacturing"
        assert localized_name(indicator) == "Linked patents per 100 million yuan of sales"
        assert localized_name(indicator, "unit") == "patents per 100 million yuan"
        assert str(port) == "Guangdong"
        assert industry_name("C") == "Manufacturing"
        computers = "39 Manufacture of Computers, Communication and Other Electronic Equipment"
        assert dict(industry_choices())["39"] == computers
        assert dict(Region.objects.filter(code="350200").names()) == {"350200": "Xiamen"}
    with translation.override("zh-hans"):
        assert shenzhen.full_name == "广东省深圳市南山区"
        assert str(product_class) == "01 信息通信技术制造业"
        assert localized_name(indicator, "unit") == "件/亿元"
        assert str(port) == "广东省"
        assert industry_name("C") == "制造业"


@pytest.mark.django_db
def test_a_name_without_english_falls_back_to_chinese(reference: None) -> None:
    product_class = ProductClass.objects.create(code="99", name="国家局新增分类", scheme="pi2019")
    with translation.override("en"):
        assert str(product_class) == "99 国家局新增分类"


def test_the_password_rules_speak_the_page_language() -> None:
    """The length rule was English on the Chinese pages (Django 5.2's message has no Chinese translation)."""
    for language, expected in (("zh-hans", "密码太短"), ("en", "too short")):
        with translation.override(language), pytest.raises(ValidationError) as error:
            validate_password("aB1!")
        assert any(expected in message for message in error.value.messages), error.value.messages


@pytest.mark.django_db
def test_the_language_selector_names_each_language_in_its_own_script(client) -> None:  # type: ignore[no-untyped-def]
    for language in ("zh-hans", "en"):
        client.cookies["django_language"] = language
        html = client.get(reverse("home")).content.decode()
        assert re.search(r'<option value="zh-hans" lang="zh-CN"[^>]*>中文</option>', html), language
        assert re.search(r'<option value="en" lang="en"[^>]*>English</option>', html), language
        assert "英语" not in html


@pytest.mark.django_db
def test_open_data_fields_are_described_in_english(client) -> None:  # type: ignore[no-untyped-def]
    client.cookies["django_language"] = "en"
    html = client.get(reverse("opendata:index")).content.decode()
    assert "Products approved in all by the end of the month" in html
    assert "截至月末累计通过备案的产品数" not in html


def test_a_stored_check_message_is_shown_in_the_readers_language() -> None:
    """Plausibility checks run in a task (in Chinese); the flag keeps its msgid and parameters, and the
    review page shows it in the reader's language."""
    from filings.checks import FIGURES, Inputs, evaluate
    from filings.models import CheckSettings, PlausibilityFlag

    figures = {"sales": Decimal("1000"), "exports": Decimal("100"), "output_value": Decimal("1200")}
    previous = dict(zip(FIGURES, (Decimal("100"), Decimal("100"), Decimal("1200")), strict=True))
    with translation.override("zh-hans"):
        found = evaluate(
            Inputs(figures=figures, links=1, previous=previous, previous_year=2024), CheckSettings(version=1)
        )
    flags = [PlausibilityFlag(rule=f.rule, message=f.message, message_stored=f.message.stored()) for f in found]
    assert flags and all(HAN.search(flag.message) for flag in flags)
    with translation.override("en"):
        shown = [flag.display_message for flag in flags]
    assert not [text for text in shown if HAN.search(text)], shown
    assert any(text.startswith("Sales 1000") for text in shown), shown
    assert PlausibilityFlag(message="旧提示", message_stored={}).display_message == "旧提示"
