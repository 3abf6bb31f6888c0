"""The dashboards' body, rendered once per scope and closed period (issue 21, part 6: "render once per area
and summary state and serve from cache"; provincial/views/dashboard.py `DashboardMixin.body_cache_key`).

A closed period's figures are the as-of figures no write of the platform changes, so its rendered body is
kept; the key is the viewer's scope, role, language, day and the request's path and query — never the user.
What must hold: a second request renders nothing again and shows the same figures; no viewer is ever
served another scope's body or another language's; the current period and the open ports are never stale.
The world is tests/provincial/test_period_dashboards.py's (filings at chosen moments in P and a year before).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from filings import workflow
from patent_platform.choices import Role
from patent_platform.clock import next_month
from provincial.models import ManagementUnit
from provincial.services import port_add_admin
from tests.factories import UserFactory, filer_of
from tests.provincial import test_period_dashboards as dated
from tests.provincial.test_figures_as_of import new_product
from tests.provincial.test_period_dashboards import approved_at, client_for

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]  # the cache on both engines (Redis / local memory)

world = dated.world  # the fixture: filings at chosen moments in P and a year before

FIGURE = re.compile(r'data-testid="figure-(\w+)"[^>]*>\s*([0-9.,]+)\s*<')


def figures(answer: Any) -> dict[str, str]:
    assert answer.status_code == 200, answer.content[:500]
    return dict(FIGURE.findall(answer.content.decode()))


def test_a_closed_month_is_rendered_once_and_served_the_same_with_a_fraction_of_the_queries(
    world: dict[str, Any],
) -> None:
    key = f"{world['P']:%Y-%m}"
    gd = client_for(world["users"]["guangdong"])
    with CaptureQueriesContext(connection) as first_queries:
        first = gd.get(reverse("port:home"), {"period": key})
    with CaptureQueriesContext(connection) as second_queries:
        second = gd.get(reverse("port:home"), {"period": key})
    assert figures(first) == figures(second)
    assert figures(first)["approved"] == str(approved_at("44", next_month(world["P"])))
    assert "cards" in first.context and "cards" not in second.context  # the second rendered no figure
    assert len(second_queries) < len(first_queries) / 2, (len(first_queries), len(second_queries))
    # another viewer of the same scope and role is served the same body; the period chooser is the request's
    other = UserFactory(role=Role.PORT_ADMIN)
    port_add_admin(unit=ManagementUnit.objects.get(code="440000"), user=other)
    answer = client_for(other).get(reverse("port:home"), {"period": key})
    assert figures(answer) == figures(first) and "cards" not in answer.context


def test_the_kept_body_is_never_served_to_another_scope_or_language(world: dict[str, Any]) -> None:
    key = f"{world['P']:%Y-%m}"
    end = next_month(world["P"])
    users = world["users"]
    gd, sz = client_for(users["guangdong"]), client_for(users["shenzhen"])
    answer = gd.get(reverse("port:home"), {"period": key})
    province, first_page = figures(answer), answer.content.decode()
    city = figures(sz.get(reverse("port:home"), {"period": key}))
    assert province["approved"] == str(approved_at("44", end)) != city["approved"] == str(approved_at("4403", end))
    # the province looking at its city port: the city's figures, not its own kept body
    assert figures(gd.get(reverse("port:home"), {"period": key, "port": "440300"})) == city
    # the other language: its own body
    gd.cookies["django_language"] = "en"
    english = gd.get(reverse("port:home"), {"period": key}, headers={"accept-language": "en"})
    assert "统计期间：" in first_page and "统计期间：" not in english.content.decode()
    counts = ("units", "filed", "approved", "new")  # sums of money are written the English way
    assert [figures(english)[k] for k in counts] == [province[k] for k in counts]
    # out of scope is 404 whatever is kept
    assert sz.get(reverse("port:home"), {"period": key, "port": "440000"}).status_code == 404


def test_the_current_period_is_never_kept(world: dict[str, Any]) -> None:
    gd = client_for(world["users"]["guangdong"])
    before = figures(gd.get(reverse("port:home"), {"period": "current"}))
    version = new_product("440106")
    workflow.version_submit(version=version, user=filer_of(version))
    workflow.version_approve(version=version, user=UserFactory(role=Role.REVIEWER))
    after = figures(gd.get(reverse("port:home"), {"period": "current"}))
    assert int(after["approved"]) == int(before["approved"]) + 1


def test_a_port_opened_shows_on_the_national_overview_at_once(world: dict[str, Any]) -> None:
    key = f"{world['P']:%Y-%m}"
    national = client_for(world["users"]["national"])
    port = ManagementUnit.objects.filter(is_open=False).order_by("code").first()
    assert port is not None

    def shown_open() -> bool:
        page = national.get(reverse("national:home"), {"period": key}).content.decode()
        row = re.search(rf'data-testid="port-row" data-code="{port.code}">(.*?)</tr>', page, re.S)
        assert row is not None
        return "已开通" in row.group(1)

    assert not shown_open()
    ManagementUnit.objects.filter(pk=port.pk).update(is_open=True)
    assert shown_open()
