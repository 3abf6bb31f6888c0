"""The one scoping rule, per role: national, reviewer, province port, city port, other province,
enterprise owner, other enterprise, anonymous. Out of scope is 404, and counts leave it out."""

import pytest
from rest_framework.test import APIClient

from filings.identifiers import build_uscc
from filings.models import FilingUnit
from patent_platform.models import User
from patent_platform.scoping import scope_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def units(demo: None) -> dict[str, FilingUnit]:
    by_city = {u.city_code: u for u in FilingUnit.objects.all()}
    return {"gz": by_city["440100"], "sz": by_city["440300"], "hz": by_city["330100"]}


EXPECTED = {
    # who → which demo units they see
    "national": {"gz", "sz", "hz"},
    "reviewer": {"gz", "sz", "hz"},
    "guangdong": {"gz", "sz"},  # a province sees the sub-provincial cities inside it
    "shenzhen": {"sz"},  # a city port sees its city only
    "zhejiang": {"hz"},
    "ent-gz": {"gz"},
    "ent-sz": {"sz"},
    "ent-hz": {"hz"},
}


@pytest.mark.parametrize(("who", "sees"), EXPECTED.items())
def test_visible_to_per_role(
    who: str, sees: set[str], demo_users: dict[str, User], units: dict[str, FilingUnit]
) -> None:
    user = demo_users[who]
    visible = set(FilingUnit.objects.visible_to(user).values_list("id", flat=True))
    assert visible == {units[k].id for k in sees}
    assert FilingUnit.objects.visible_to(user).count() == len(sees)


def test_anonymous_inactive_and_roleless_users_see_nothing(demo_users: dict[str, User], make_user) -> None:
    from django.contrib.auth.models import AnonymousUser

    assert not FilingUnit.objects.visible_to(AnonymousUser()).exists()
    assert not FilingUnit.objects.visible_to(None).exists()
    inactive = demo_users["national"]
    inactive.is_active = False
    inactive.save()
    assert not FilingUnit.objects.visible_to(User.objects.get(pk=inactive.pk)).exists()
    # an enterprise user not attached to any unit, and a port administrator with no grants
    assert not FilingUnit.objects.visible_to(make_user("lonely@example.cn")).exists()
    assert not FilingUnit.objects.visible_to(make_user("noport@example.cn", role="port_admin")).exists()


def test_xpcc_port_sees_its_cities(make_user, reference: None) -> None:
    from provincial.models import ManagementUnit
    from provincial.services import port_add_admin

    admin = make_user("xpcc@example.cn")
    port_add_admin(unit=ManagementUnit.objects.get(code="XPCC"), user=admin)
    inside = FilingUnit.objects.create(
        uscc=build_uscc(region_code="659001", org_body="MA7XBT01"), name="石河子某公司", region_id="659001"
    )
    outside = FilingUnit.objects.create(
        uscc=build_uscc(region_code="650102", org_body="MA7XBT02"), name="乌鲁木齐某公司", region_id="650102"
    )
    scope = scope_of(User.objects.get(pk=admin.pk))
    assert scope.covers_region("659001") and not scope.covers_region("650102")
    visible = set(FilingUnit.objects.visible_to(User.objects.get(pk=admin.pk)))
    assert inside in visible and outside not in visible


@pytest.mark.parametrize("who", EXPECTED)
def test_api_list_and_detail_follow_the_rule(
    who: str, demo_users: dict[str, User], units: dict[str, FilingUnit]
) -> None:
    client = APIClient()
    client.force_authenticate(demo_users[who])
    listed = client.get("/api/v1/enterprises/")
    assert listed.status_code == 200
    assert {row["id"] for row in listed.json()["results"]} == {units[k].id for k in EXPECTED[who]}
    for key, unit in units.items():
        detail = client.get(f"/api/v1/enterprises/{unit.id}/")
        assert detail.status_code == (200 if key in EXPECTED[who] else 404), (who, key)
    assert client.get("/api/v1/enterprises/999999/").status_code == 404


def test_api_refuses_anonymous(units: dict[str, FilingUnit]) -> None:
    client = APIClient()
    assert client.get("/api/v1/enterprises/").status_code in (401, 403)
    assert client.get(f"/api/v1/enterprises/{units['gz'].id}/").status_code in (401, 403)


@pytest.mark.parametrize(
    ("who", "url", "status"),
    [
        ("ent-gz", "/enterprise/", 200),
        ("ent-gz", "/review/", 404),
        ("ent-gz", "/port/", 404),
        ("ent-gz", "/national/", 404),
        ("reviewer", "/review/", 200),
        ("reviewer", "/national/", 404),
        ("guangdong", "/port/", 200),
        ("guangdong", "/national/", 404),
        ("guangdong", "/enterprise/", 404),
        ("national", "/national/", 200),
        ("national", "/review/", 200),
    ],
)
def test_pages_are_role_scoped(client, demo_users: dict[str, User], who: str, url: str, status: int) -> None:
    client.force_login(demo_users[who])
    assert client.get(url).status_code == status


def test_port_pages_count_only_their_scope(client, demo_users: dict[str, User]) -> None:
    client.force_login(demo_users["shenzhen"])
    data = client.get("/port/?period=current").context["data"]  # the demo's filings are of today
    assert data["totals"]["units"] == 1
    assert {row["code"][:4] for row in data["ranking"] if row["units"]} == {"4403"}
    client.force_login(demo_users["guangdong"])
    assert client.get("/port/?period=current").context["data"]["totals"]["units"] == 2
    client.force_login(demo_users["national"])
    assert client.get("/national/?period=current").context["data"]["totals"]["units"] == 3
