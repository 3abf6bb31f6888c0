"""Tests for filings.identifiers (patent application numbers and unified social credit codes).

No database is needed. Error *codes* are checked without touching settings; the tests that render the
Chinese messages use the ``zh_messages`` fixture, which configures minimal settings only when the run has no
Django settings at all (``pytest -p no:django``) and otherwise uses the project's.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from filings.identifiers import (
    USCC_ALPHABET,
    PatentNumber,
    compute_patent_check,
    compute_uscc_check,
    parse_patent_number,
    validate_uscc,
)

TODAY = dt.date(2025, 6, 30)

VALID_PATENTS = ["201710601862.3", "200710308494.X", "95115608.X", "97101765.4", "200410053749.9"]
VALID_USCCS = ["91110108551385082Q", "91110000600037341L", "91350200MA2YJ1XR9G"]
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


@pytest.fixture
def zh_messages() -> Iterator[None]:
    from django.conf import settings

    if not settings.configured and not os.environ.get("DJANGO_SETTINGS_MODULE"):
        settings.configure(USE_I18N=True)
    import django
    from django.apps import apps
    from django.utils import translation

    if not apps.ready:
        django.setup()
    with translation.override("zh-hans"):
        yield


def patent_error(text: str, **kwargs: dt.date) -> ValidationError:
    with pytest.raises(ValidationError) as exc_info:
        parse_patent_number(text, **kwargs)
    return exc_info.value


def uscc_error(text: str) -> ValidationError:
    with pytest.raises(ValidationError) as exc_info:
        validate_uscc(text)
    return exc_info.value


def orgcode_check(first8: str) -> str:
    """Independent GB 11714 implementation used to build test data."""
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(first8, ORG_WEIGHTS, strict=True))
    return {10: "X", 11: "0"}.get(11 - total % 11, str(11 - total % 11))


def with_check(first17: str) -> str:
    return first17 + compute_uscc_check(first17)


# --------------------------------------------------------------------------------------------------------------
# Patent application numbers
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("number", VALID_PATENTS)
def test_valid_patent_examples(number: str) -> None:
    parsed = parse_patent_number(number)  # real "today": all examples are in the past
    assert parsed.normalized == number
    assert str(parsed) == number
    assert parsed.patent_number == "ZL" + number
    assert compute_patent_check(number.split(".")[0]) == number[-1]


def test_patent_fields_12_digit() -> None:
    parsed = parse_patent_number("201710601862.3", today=TODAY)
    assert parsed == PatentNumber(
        normalized="201710601862.3",
        year=2017,
        type_digit="1",
        kind="invention",
        pct=False,
        serial="0601862",
        check="3",
    )


def test_patent_fields_8_digit() -> None:
    parsed = parse_patent_number("95115608.X", today=TODAY)
    assert (parsed.year, parsed.type_digit, parsed.kind, parsed.pct, parsed.serial, parsed.check) == (
        1995,
        "1",
        "invention",
        False,
        "15608",
        "X",
    )
    assert parse_patent_number(f"03201234.{compute_patent_check('03201234')}", today=TODAY).year == 2003
    assert parse_patent_number(f"85100001.{compute_patent_check('85100001')}", today=TODAY).year == 1985


def test_patent_number_is_frozen() -> None:
    parsed = parse_patent_number("97101765.4", today=TODAY)
    with pytest.raises(AttributeError):
        parsed.year = 2000  # type: ignore[misc]


@pytest.mark.parametrize(
    ("type_digit", "kind", "pct"),
    [
        ("1", "invention", False),
        ("2", "utility_model", False),
        ("3", "design", False),
        ("8", "invention", True),
        ("9", "utility_model", True),
    ],
)
@pytest.mark.parametrize("template", ["2019{t}0123456", "99{t}12345"])
def test_valid_type_digits(template: str, type_digit: str, kind: str, pct: bool) -> None:
    digits = template.format(t=type_digit)
    parsed = parse_patent_number(f"{digits}.{compute_patent_check(digits)}", today=TODAY)
    assert (parsed.type_digit, parsed.kind, parsed.pct) == (type_digit, kind, pct)


@pytest.mark.parametrize("type_digit", ["0", "4", "5", "6", "7"])
@pytest.mark.parametrize("template", ["2019{t}0123456", "99{t}12345"])
def test_invalid_type_digits(template: str, type_digit: str) -> None:
    digits = template.format(t=type_digit)
    assert patent_error(f"{digits}.{compute_patent_check(digits)}", today=TODAY).code == "patent_type"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CN201710601862.3", "201710601862.3"),
        ("cn 201710601862.3", "201710601862.3"),
        ("ZL201710601862.3", "201710601862.3"),
        ("zl 2017 1 0601862.3", "201710601862.3"),
        ("  ZL 95115608.X ", "95115608.X"),
        ("2017106018623", "201710601862.3"),
        ("95115608X", "95115608.X"),
        ("200710308494.x", "200710308494.X"),
        ("95115608x", "95115608.X"),
        ("２０１７１０６０１８６２．３", "201710601862.3"),
        ("ＺＬ２００７１０３０８４９４．ｘ", "200710308494.X"),
        ("２０１７１０６０１８６２。３", "201710601862.3"),
        ("CN\u3000200410053749.9", "200410053749.9"),
    ],
)
def test_patent_normalisation(text: str, expected: str) -> None:
    assert parse_patent_number(text, today=TODAY).normalized == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "2017106018.3",
        "20171060186.3",
        "2017106018623.3",
        "201710601862",
        "201710601862.",
        "201710601862.A",
        "9511560.X",
        "95115608",
        "US201710601862.3",
        "CNZL201710601862.3",
        "2017-10601862.3",
        "201710601862..3",
        "٢٠١٧١٠٦٠١٨٦٢.٣",
    ],
)
def test_patent_format_errors(text: str) -> None:
    assert patent_error(text, today=TODAY).code == "patent_format"


@pytest.mark.parametrize("number", VALID_PATENTS)
def test_every_wrong_check_char_is_rejected(number: str) -> None:
    digits, good = number.split(".")
    for wrong in "0123456789X":
        if wrong != good:
            error = patent_error(f"{digits}.{wrong}", today=TODAY)
            assert error.code == "patent_check"
            assert error.params == {"value": f"{digits}.{wrong}", "expected": good, "actual": wrong}


def test_patent_year_rules() -> None:
    digits_2002 = "200210123456"
    assert patent_error(f"{digits_2002}.{compute_patent_check(digits_2002)}", today=TODAY).code == "patent_year"
    digits_2026 = "202610123456"
    number_2026 = f"{digits_2026}.{compute_patent_check(digits_2026)}"
    assert patent_error(number_2026, today=TODAY).code == "patent_year"
    assert parse_patent_number(number_2026, today=dt.date(2026, 1, 1)).year == 2026
    digits_2003 = "200310123456"
    assert parse_patent_number(f"{digits_2003}.{compute_patent_check(digits_2003)}", today=TODAY).year == 2003
    for old in ("04101234", "84101234", "50101234"):
        assert patent_error(f"{old}.{compute_patent_check(old)}", today=TODAY).code == "patent_year"


def test_compute_patent_check_rejects_bad_input() -> None:
    for bad in ("", "1234567", "12345678901", "1234567890123", "20171060186a", "２０１７１０６０１８６２"):
        with pytest.raises(ValueError, match="8 or 12 ASCII digits"):
            compute_patent_check(bad)


def test_patent_messages_are_chinese(zh_messages: None) -> None:
    message = patent_error("201710601862.5", today=TODAY).messages[0]
    assert message == "专利申请号 201710601862.5 的校验位应为 3，实际为 5。"
    assert "申请类型位为 4" in patent_error("201740601862.3", today=TODAY).messages[0]
    assert "申请年份 2002 无效" in patent_error("200210123456.0", today=TODAY).messages[0]
    assert "格式不正确" in patent_error("abc", today=TODAY).messages[0]


@given(
    year=st.integers(min_value=2003, max_value=TODAY.year),
    type_digit=st.sampled_from("12389"),
    serial=st.integers(min_value=0, max_value=9_999_999),
    use_zl=st.booleans(),
)
def test_round_trip_12_digit(year: int, type_digit: str, serial: int, use_zl: bool) -> None:
    digits = f"{year}{type_digit}{serial:07d}"
    number = f"{digits}.{compute_patent_check(digits)}"
    parsed = parse_patent_number(("ZL" if use_zl else "") + number, today=TODAY)
    assert parsed.normalized == number
    assert (parsed.year, parsed.type_digit, parsed.serial) == (year, type_digit, f"{serial:07d}")
    assert parsed.pct == (type_digit in "89")
    assert parse_patent_number(parsed.patent_number, today=TODAY) == parsed


@given(
    year=st.integers(min_value=1985, max_value=2003),
    type_digit=st.sampled_from("12389"),
    serial=st.integers(min_value=0, max_value=99_999),
)
def test_round_trip_8_digit(year: int, type_digit: str, serial: int) -> None:
    digits = f"{year % 100:02d}{type_digit}{serial:05d}"
    number = f"{digits}.{compute_patent_check(digits)}"
    parsed = parse_patent_number(number.replace(".", ""), today=TODAY)
    assert parsed.normalized == number
    assert (parsed.year, parsed.type_digit, parsed.serial) == (year, type_digit, f"{serial:05d}")


@given(digits=st.text(alphabet="0123456789", min_size=12, max_size=12), wrong=st.sampled_from("0123456789X"))
def test_only_the_computed_check_is_accepted(digits: str, wrong: str) -> None:
    try:
        parse_patent_number(f"{digits}.{wrong}", today=TODAY)
    except ValidationError as error:
        assert error.code in {"patent_type", "patent_year", "patent_check"}
        if error.code == "patent_check":
            assert wrong != compute_patent_check(digits)
    else:
        assert wrong == compute_patent_check(digits)


# --------------------------------------------------------------------------------------------------------------
# Unified social credit codes
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", VALID_USCCS)
def test_valid_uscc_examples(code: str) -> None:
    assert validate_uscc(code) == code
    assert compute_uscc_check(code[:17]) == code[17]
    assert orgcode_check(code[8:16]) == code[16]  # the examples satisfy GB 11714, so it is enforced


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("91110108551385082q", "91110108551385082Q"),
        ("9111 0108 5513 8508 2Q", "91110108551385082Q"),
        ("911101-08551385082-Q", "91110108551385082Q"),
        (" 91350200ma2yj1xr9g ", "91350200MA2YJ1XR9G"),
        ("９１３５０２００ＭＡ２ＹＪ１ＸＲ９Ｇ", "91350200MA2YJ1XR9G"),
        ("９１１１００００６０００３７３４１－Ｌ", "91110000600037341L"),
    ],
)
def test_uscc_normalisation(text: str, expected: str) -> None:
    assert validate_uscc(text) == expected


@pytest.mark.parametrize("authority", ["A", "N", "Y", *"123456789"])
@pytest.mark.parametrize("code", VALID_USCCS)
def test_every_valid_authority_passes(code: str, authority: str) -> None:
    # python-stdnum rejects A, N and Y, which GB 32100 (as amended) allows.
    rebuilt = with_check(authority + code[1:17])
    assert validate_uscc(rebuilt) == rebuilt


@pytest.mark.parametrize("authority", ["0", "B", "C", "H", "X"])
def test_invalid_authority(authority: str) -> None:
    error = uscc_error(with_check(authority + VALID_USCCS[0][1:17]))
    assert error.code == "uscc_authority"
    assert error.params["char"] == authority


@pytest.mark.parametrize("text", ["", "9111010855138508Q", "911101085513850822Q", "91110108551385082QQ", "123"])
def test_uscc_length(text: str) -> None:
    assert uscc_error(text).code == "uscc_length"


@pytest.mark.parametrize("bad", ["I", "O", "S", "V", "Z", "i", "*", ".", "_", "/", "#", "中"])
@pytest.mark.parametrize("position", [0, 1, 5, 10, 17])
def test_uscc_charset(bad: str, position: int) -> None:
    code = VALID_USCCS[2]
    error = uscc_error(code[:position] + bad + code[position + 1 :])
    assert error.code == "uscc_charset"
    assert error.params["position"] == position + 1


def test_uscc_region_must_be_digits() -> None:
    code = VALID_USCCS[0]
    assert uscc_error(with_check(code[:2] + "A1" + code[4:17])).code == "uscc_region"


@pytest.mark.parametrize("code", VALID_USCCS)
def test_uscc_orgcode_check_enforced(code: str) -> None:
    for wrong in "0123456789X":
        if wrong != code[16]:
            error = uscc_error(with_check(code[:16] + wrong))  # final check recomputed, org-code check broken
            assert error.code == "uscc_orgcode"
            assert error.params["expected"] == code[16]


@pytest.mark.parametrize("code", VALID_USCCS)
def test_every_wrong_uscc_check_char_is_rejected(code: str) -> None:
    for wrong in USCC_ALPHABET:
        if wrong != code[17]:
            error = uscc_error(code[:17] + wrong)
            assert error.code == "uscc_check"
            assert (error.params["expected"], error.params["actual"]) == (code[17], wrong)


def test_compute_uscc_check_rejects_bad_input() -> None:
    for bad in ("", "9111010855138508", "91110108551385082Q", "9111010855138508I"):
        with pytest.raises(ValueError, match="17 characters"):
            compute_uscc_check(bad)


def test_uscc_messages_are_chinese(zh_messages: None) -> None:
    message = uscc_error("91110108551385082R").messages[0]
    assert message == "统一社会信用代码 91110108551385082R 的校验码（第 18 位）应为 Q，实际为 R。"
    assert "应为 18 位，实际为 3 位" in uscc_error("123").messages[0]
    assert "第 2 位的字符 I 无效" in uscc_error("9I110108551385082Q").messages[0]
    assert "登记管理部门代码（第 1 位）B 无效" in uscc_error(with_check("B" + VALID_USCCS[0][1:17])).messages[0]


ORG_BODY = st.text(alphabet=USCC_ALPHABET, min_size=8, max_size=8)


@given(
    authority=st.sampled_from(sorted("123456789ANY")),
    entity_type=st.sampled_from(USCC_ALPHABET),
    region=st.text(alphabet="0123456789", min_size=6, max_size=6),
    org_body=ORG_BODY,
    wrong=st.sampled_from(USCC_ALPHABET),
)
def test_any_well_formed_uscc_validates(
    authority: str, entity_type: str, region: str, org_body: str, wrong: str
) -> None:
    first17 = authority + entity_type + region + org_body + orgcode_check(org_body)
    code = first17 + compute_uscc_check(first17)
    assert validate_uscc(code) == code
    assert validate_uscc(code.lower()) == code
    if wrong != code[17]:
        assert uscc_error(first17 + wrong).code == "uscc_check"
