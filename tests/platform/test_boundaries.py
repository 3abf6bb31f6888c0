"""Boundaries (issue 17, mechanism 6): every integer the platform takes from outside is range-checked at
the edge (patent_platform/params.py), so that no number — a 20-digit id, a filter, a field — reaches the
database driver and answers 500.

- routes: no URL takes an unbounded integer (`<int:…>`, a router's default lookup); ids are `<id:…>`;
- forms: every integer and decimal field of every form has a lower and an upper bound;
- API: every integer of every request body and parameter in the published schema has both bounds, or a
  pattern that bounds its digits;
- the requests that once answered 500, kept as fixed regression examples (the fuzzer's finds go here).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from decimal import Decimal
from typing import Any

import pytest
from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter
from django.urls.resolvers import RegexPattern, RoutePattern
from rest_framework.test import APIClient

from patent_platform.choices import Role
from patent_platform.params import ID_MAX, int_or_none
from tests.factories import UserFactory
from tests.problems import fields

APPS = ("patent_platform", "filings", "evaluation", "provincial")
HUGE = "9" * 20  # beyond a 64-bit integer


def _patterns(resolver: URLResolver | None = None, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The platform's own routes, each as its chain of patterns (third-party views, the admin's and
    django-otp's, look their objects up by primary key, which Django keeps in range itself)."""
    found = []
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            found += _patterns(entry, (*prefix, entry.pattern))
        elif isinstance(entry, URLPattern):
            module = getattr(entry.callback, "__module__", "") or ""
            if module.split(".")[0] in APPS:
                found.append((*prefix, entry.pattern))
    return found


def test_no_route_takes_an_unbounded_integer() -> None:
    routes = 0
    bounded = 0
    for parts in _patterns():
        for pattern in parts:
            if isinstance(pattern, RoutePattern):
                routes += 1
                for name, converter in pattern.converters.items():
                    assert not isinstance(converter, IntConverter), f"<int:{name}> in {pattern}: use <id:{name}>"
                    if type(converter).__name__ == "IdConverter":
                        bounded += 1
            elif isinstance(pattern, RegexPattern):
                for name, group in re.findall(r"\(\?P<(pk|id|[a-z_]*_pk)>([^)]*)\)", str(pattern.regex.pattern)):
                    regex = re.compile(f"^(?:{group})$")
                    assert regex.match("1" * 18), f"{pattern}: {name} must take an 18-digit id"
                    assert not regex.match("1" * 19) and not regex.match(HUGE), f"{pattern}: {name} is unbounded"
                    bounded += 1
    assert routes > 100 and bounded > 60


def _form_classes() -> list[type[forms.BaseForm]]:
    classes = []
    for package in APPS:
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, f"{package}."):
            if ".migrations" in info.name or ".settings" in info.name or ".management" in info.name:
                continue
            module = importlib.import_module(info.name)
            classes += [
                obj
                for obj in vars(module).values()
                if inspect.isclass(obj) and issubclass(obj, forms.BaseForm) and obj.__module__ == module.__name__
            ]
    return classes


def _bounds(field: forms.Field) -> tuple[Any, Any]:
    low = getattr(field, "min_value", None)
    high = getattr(field, "max_value", None)
    for v in field.validators:
        if isinstance(v, MinValueValidator) and low is None:
            low = v.limit_value
        if isinstance(v, MaxValueValidator) and high is None:
            high = v.limit_value
    if isinstance(field, forms.DecimalField) and field.max_digits is not None and high is None:
        high = Decimal(10) ** (field.max_digits - (field.decimal_places or 0))
    return low, high


def test_every_number_a_form_takes_is_bounded() -> None:
    unbounded = []
    checked = 0
    for cls in _form_classes():
        for name, field in cls.base_fields.items():
            if isinstance(field, (forms.IntegerField, forms.DecimalField)):
                checked += 1
                low, high = _bounds(field)
                if low is None or high is None:
                    unbounded.append(f"{cls.__module__}.{cls.__name__}.{name}: [{low}, {high}]")
    assert checked >= 10
    assert not unbounded, "numbers without both bounds:\n" + "\n".join(unbounded)


def _resolve(schema: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _integers(schema: dict[str, Any], node: Any, where: str, seen: set[str]) -> list[tuple[str, dict[str, Any]]]:
    """Every integer a request can carry under `node` (read-only properties are not sent)."""
    if isinstance(node, dict) and "$ref" in node:
        if node["$ref"] in seen:
            return []
        seen = seen | {node["$ref"]}
    node = _resolve(schema, node)
    if not isinstance(node, dict) or node.get("readOnly"):
        return []
    found = []
    if node.get("type") == "integer":
        found.append((where, node))
    for key in ("allOf", "oneOf", "anyOf"):
        for sub in node.get(key, []):
            found += _integers(schema, sub, where, seen)
    for name, sub in node.get("properties", {}).items():
        found += _integers(schema, sub, f"{where}.{name}", seen)
    if "items" in node:
        found += _integers(schema, node["items"], f"{where}[]", seen)
    return found


@pytest.mark.django_db
def test_every_integer_the_api_accepts_is_bounded(reference: None) -> None:
    api = APIClient()
    api.force_authenticate(UserFactory(role=Role.NATIONAL_ADMIN))
    schema = api.get("/api/schema/", {"format": "json"}).json()
    unbounded = []
    checked = 0
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            if not isinstance(op, dict):
                continue
            where = f"{method.upper()} {path}"
            integers = []
            for param in op.get("parameters", []):
                integers += _integers(schema, param.get("schema", {}), f"{where} {param['in']} {param['name']}", set())
            for content in op.get("requestBody", {}).get("content", {}).values():
                integers += _integers(schema, content.get("schema", {}), f"{where} body", set())
            for label, node in integers:
                checked += 1
                digits = re.fullmatch(r"\^?\[0-9\]\{1,(\d+)\}\$?", node.get("pattern", ""))
                if digits and int(digits.group(1)) <= 18:
                    continue
                if node.get("minimum") is None or node.get("maximum") is None:
                    unbounded.append(label)
    assert checked >= 25  # each request body is published once (JSON), no longer under form and multipart too
    assert not unbounded, "integers the API takes without both bounds:\n" + "\n".join(sorted(set(unbounded)))


def test_int_or_none_leaves_out_what_is_not_a_bounded_whole_number() -> None:
    assert int_or_none("42") == 42
    assert int_or_none(str(ID_MAX)) == ID_MAX
    for raw in ("", None, "x", "4.2", "-1", "0", HUGE, str(ID_MAX + 1), "1" * 10_000):
        assert int_or_none(raw) is None, raw


# ---------------------------------------------------------------------------------------------------------------
# Regression examples: requests that once answered 500 (found by the fuzzer or by hand)

API_REGRESSIONS = [
    # the fuzzer (issue 24's updated_since): an offset PostgreSQL refuses ("time zone displacement out of range")
    ("get", "/api/v1/products/?updated_since=1893-08-22T17:08:06%2B16:41", 200, None),
    ("get", "/api/v1/products/?updated_since=9999-12-31T23:59:59-10:00", 400, "updated_since"),
    # the fuzzer, another seed: OverflowError in the round filter
    ("get", f"/api/v1/evaluation/results/?round={HUGE}", 400, "round"),
    ("get", f"/api/v1/evaluation/results/?round=-{HUGE}", 400, "round"),
    ("get", f"/api/v1/products/{HUGE}/", 404, None),
    ("get", f"/api/v1/patents/{HUGE}/", 404, None),
    ("get", f"/api/v1/evaluation/rounds/{HUGE}/", 404, None),
    # the fuzzer, seed 3046210058: a NUL in the name search reached PostgreSQL (DataError)
    ("get", "/api/v1/products/?q=a%00b&status=approved", 400, "detail"),
    ("get", "/api/v1/products/?filing_number=%00", 400, "detail"),
    ("get", "/api/v1/patents/?x%00=1", 400, "detail"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/search/?q=a%00b", "/certified/?q=%00", "/port/products/?region=%00"])
def test_a_nul_in_any_query_string_answers_400_on_pages(reference: None, url: str) -> None:
    client = Client()
    client.force_login(UserFactory(role=Role.NATIONAL_ADMIN))
    answer = client.get(url)
    assert answer.status_code == 400
    assert "空字符" in answer.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url", "status", "field"), API_REGRESSIONS)
def test_api_regressions(reference: None, method: str, url: str, status: int, field: str | None) -> None:
    api = APIClient()
    api.force_authenticate(UserFactory(role=Role.NATIONAL_ADMIN))
    answer = getattr(api, method)(url)
    assert answer.status_code == status, answer.content
    if field:  # a field of a validation problem, or a member of the problem ("detail")
        assert field in fields(answer) or field in answer.json()


@pytest.mark.django_db
def test_every_page_with_an_id_answers_404_for_a_20_digit_one(reference: None) -> None:
    client = Client()
    client.force_login(UserFactory(role=Role.NATIONAL_ADMIN))
    urls = set()
    for parts in _patterns():
        if not all(isinstance(p, RoutePattern) for p in parts):
            continue
        route = "".join(str(p) for p in parts)
        if "<id:" not in route or route.startswith("api/"):
            continue
        urls.add("/" + re.sub(r"<id:[a-z_]+>", HUGE, re.sub(r"<(?!id:)[^>]+>", "x", route)))
    assert len(urls) > 40
    wrong = {url: client.get(url).status_code for url in sorted(urls)}
    assert {url: code for url, code in wrong.items() if code != 404} == {}
