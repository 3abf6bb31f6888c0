"""GB/T 4754-2017 国民经济行业分类: the sections and divisions units record their industry with."""

import pytest
from django.core.exceptions import ValidationError

from filings.industries import industries, industry_choices, industry_name, section_of, validate_industry

SECTION_CODES = list("ABCDEFGHIJKLMNOPQRST")


def _sections() -> dict[str, tuple[str, str]]:
    return {code: entry for code, entry in industries().items() if code.isalpha()}


def _divisions() -> dict[str, tuple[str, str]]:
    return {code: entry for code, entry in industries().items() if code.isdigit()}


def test_all_twenty_sections_with_their_official_names() -> None:
    sections = _sections()
    assert sorted(sections) == SECTION_CODES
    assert all(section == code for code, (_name, section) in sections.items())
    assert sections["A"][0] == "农、林、牧、渔业"
    assert sections["C"][0] == "制造业"
    assert sections["D"][0] == "电力、热力、燃气及水生产和供应业"
    assert sections["I"][0] == "信息传输、软件和信息技术服务业"
    assert sections["M"][0] == "科学研究和技术服务业"
    assert sections["S"][0] == "公共管理、社会保障和社会组织"
    assert sections["T"][0] == "国际组织"


def test_all_ninety_seven_divisions_each_in_an_existing_section() -> None:
    divisions = _divisions()
    assert sorted(divisions) == [f"{n:02d}" for n in range(1, 98)]
    assert len(industries()) == 20 + 97  # nothing else in the file
    sections = _sections()
    for code, (name, section) in divisions.items():
        assert name, code
        assert section in sections, f"division {code} names an unknown section {section}"


@pytest.mark.parametrize(
    ("code", "name", "section"),
    [
        ("01", "农业", "A"),
        ("05", "农、林、牧、渔专业及辅助性活动", "A"),
        ("11", "开采专业及辅助性活动", "B"),
        ("13", "农副食品加工业", "C"),
        ("27", "医药制造业", "C"),
        ("39", "计算机、通信和其他电子设备制造业", "C"),
        ("43", "金属制品、机械和设备修理业", "C"),
        ("44", "电力、热力生产和供应业", "D"),
        ("58", "多式联运和运输代理业", "G"),
        ("65", "软件和信息技术服务业", "I"),
        ("73", "研究和试验发展", "M"),
        ("87", "广播、电视、电影和录音制作业", "R"),
        ("96", "基层群众自治组织及其他组织", "S"),
        ("97", "国际组织", "T"),
    ],
)
def test_known_divisions(code: str, name: str, section: str) -> None:
    assert industry_name(code) == name
    assert section_of(code) == section


def test_section_boundaries_follow_the_standard() -> None:
    """Manufacturing is 13–43, mining 06–12, and so on: each section is one run of divisions."""
    runs: dict[str, list[int]] = {}
    for code, (_name, section) in _divisions().items():
        runs.setdefault(section, []).append(int(code))
    assert runs["B"] == list(range(6, 13))
    assert runs["C"] == list(range(13, 44))
    assert runs["G"] == list(range(53, 61))
    assert runs["S"] == list(range(91, 97))
    assert sorted(runs) == SECTION_CODES  # every section has at least one division


def test_choices_put_each_section_before_its_divisions() -> None:
    codes = [code for code, _label in industry_choices()]
    assert codes.index("C") < codes.index("13") < codes.index("43") < codes.index("D")
    assert dict(industry_choices())["39"] == "39 计算机、通信和其他电子设备制造业"


def test_validate_industry() -> None:
    validate_industry("39")
    validate_industry("C")
    validate_industry("")  # the field is optional
    for bad in ("ZZ", "98", "391", "c"):
        with pytest.raises(ValidationError) as exc:
            validate_industry(bad)
        assert "GB/T 4754-2017" in exc.value.messages[0]
    assert industry_name("ZZ") == ""
    assert section_of("ZZ") == ""
