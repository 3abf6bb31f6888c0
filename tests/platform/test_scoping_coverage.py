"""Every URL pattern and every API viewset goes through the scoping rule, or says why it need not.

A new view that reads data without declaring its policy fails this test."""

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver

from patent_platform.api.base import ScopedViewSetMixin
from patent_platform.views.base import ScopedViewMixin

# Views of Django and libraries that carry no scoped data, with the reason.
THIRD_PARTY = {
    "django.contrib.admin": "the admin site: staff only (national administrators), see docs/SECURITY.md",
    "django.views.i18n": "language switch and JavaScript translation catalogue: no data",
    "drf_spectacular.views": "the OpenAPI schema and its documentation page: no data",
    "rest_framework.routers": "the API root: a list of links",
}
POLICIES = {"scoped", "public", "account"}


def walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.callback


def view_class(callback: Any) -> Any:
    return getattr(callback, "view_class", None) or getattr(callback, "cls", None)


def test_every_url_declares_its_scope_policy() -> None:
    problems = []
    seen = 0
    for route, callback in walk(get_resolver().url_patterns):
        cls = view_class(callback)
        module = (cls or callback).__module__
        if route.startswith(settings.ADMIN_URL) or any(module.startswith(m) for m in THIRD_PARTY):
            continue
        seen += 1
        policy = getattr(cls or callback, "scope_policy", None)
        if policy not in POLICIES:
            problems.append(f"{route} ({module}) declares no scope_policy")
        elif policy == "scoped" and not (cls and issubclass(cls, ScopedViewMixin | ScopedViewSetMixin)):
            problems.append(f"{route} says 'scoped' but does not use the scoped base view or viewset")
    assert seen >= 8
    assert not problems, "\n".join(problems)


def test_every_viewset_uses_the_scoped_base() -> None:
    viewsets = {
        view_class(cb)
        for _route, cb in walk(get_resolver().url_patterns)
        if getattr(cb, "cls", None) is not None and hasattr(view_class(cb), "get_queryset") and hasattr(cb, "actions")
    }
    assert viewsets, "no viewsets found"
    for cls in viewsets:
        assert issubclass(cls, ScopedViewSetMixin), f"{cls.__name__} skips the scoping rule"
