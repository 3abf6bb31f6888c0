"""The filing REST API under /api/v1/: patents, products and the workflow, as an enterprise system would use it.

Every endpoint is checked for scope (another unit's rows are absent: 404 on detail, writes and actions),
role (non-filers read only: 403 on writes), and field-level 400s from the services and the workflow.
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from filings import workflow
from filings.models import FilingUnit, PatentRight, Product, ProductClass, ProductVersion
from patent_platform.models import User
from tests.conftest import PASSWORD
from tests.problems import fields, pointers, problem

pytestmark = pytest.mark.django_db

ACTIONS: list[tuple[str, dict[str, Any]]] = [
    ("submit", {}),
    ("return", {"reasons": {"": "请补充材料。"}}),
    ("approve", {}),
    ("withdraw", {"reason": "不再备案"}),
    ("revoke", {"reason": "数据不实"}),
    ("yearly-update", {}),
    ("opt-in", {"opt_in": True}),
]


def api(user: User | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def token_client(email: str) -> APIClient:
    """A client that authenticates the way an enterprise system does: a token from /api/v1/auth/token/."""
    client = APIClient()
    answer = client.post("/api/v1/auth/token/", {"email": email, "password": PASSWORD}, format="json")
    assert answer.status_code == 200, answer.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {answer.json()['token']}")
    return client


def ids(answer: Any) -> set[int]:
    assert answer.status_code == 200, answer.content
    return {row["id"] for row in answer.json()["results"]}


def product_body(right_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": "智能分拣机",
        "model": "ZF-100",
        "product_class": "03",
        "sales": "1000",
        "exports": "100",
        "output_value": "1200",
        "links": [{"right": right_id, "is_core": True, "contribution": "70", "embodiment": "分拣机构"}],
        **extra,
    }


@pytest.fixture
def two_units(
    unit_a: FilingUnit,
    unit_b: FilingUnit,
    filer_a: User,
    filer_b: User,
    new_version: Callable[..., ProductVersion],
) -> dict[str, Any]:
    """A draft product (with its patent right) in each unit."""
    va = new_version(unit_a, filer_a)
    vb = new_version(unit_b, filer_b)
    return {
        "product_a": va.product,
        "product_b": vb.product,
        "right_a": va.links.get().right,
        "right_b": vb.links.get().right,
    }


# ---------------------------------------------------------------------------------------------
# The whole filing, through the API


def test_full_flow_through_the_api(
    filer_a: User, reviewer: User, unit_a: FilingUnit, product_class: ProductClass
) -> None:
    filer = token_client(filer_a.email)
    desk = token_client(reviewer.email)

    answer = filer.post(
        "/api/v1/patents/", {"number": " zl 2017 1060 1862 3 ", "title": "一种智能分拣装置"}, format="json"
    )
    assert answer.status_code == 201, answer.content
    right = answer.json()
    assert right["number"] == "201710601862.3"
    assert right["patent_number"] == "ZL201710601862.3"
    assert (right["kind"], right["pct"], right["right_kind"], right["unit"]) == ("invention", False, "owner", unit_a.pk)
    assert right["legal_status"] == "valid"

    year = workflow.default_data_year() - 1  # leaves room for the yearly update to last year's data
    answer = filer.post("/api/v1/products/", product_body(right["id"], data_year=year), format="json")
    assert answer.status_code == 201, answer.content
    product = answer.json()
    pid, current = product["id"], product["current_version"]
    assert product["unit"] == unit_a.pk and product["filing_number"] is None and product["public_url"] is None
    assert (current["status"], current["data_year"], current["product_class"]) == ("draft", year, product_class.code)
    assert current["links"] == [
        {
            "right": right["id"],
            "patent_number": "ZL201710601862.3",
            "is_core": True,
            "contribution": "70.00",
            "embodiment": "分拣机构",
        }
    ]
    assert set(current["allowed_actions"]) == {"submit", "withdraw"}
    assert product["versions"] == [{"id": current["id"], "data_year": year, "status": "draft"}]

    answer = filer.post(f"/api/v1/products/{pid}/submit/", format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["current_version"]["status"] == "submitted"
    assert set(desk.get(f"/api/v1/products/{pid}/").json()["current_version"]["allowed_actions"]) == {
        "return",
        "approve",
    }

    reasons = {"sales": "销售额与审计报告不符，请核对。", "": "请补充产品图片。"}
    answer = desk.post(f"/api/v1/products/{pid}/return/", {"reasons": reasons}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["current_version"]["status"] == "returned"

    seen = filer.get(f"/api/v1/products/{pid}/").json()["current_version"]
    assert seen["return_reasons"] == {"sales": ["销售额与审计报告不符，请核对。"], "": ["请补充产品图片。"]}
    assert "resubmit" in seen["allowed_actions"]

    answer = filer.patch(f"/api/v1/products/{pid}/", {"sales": "1500"}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["current_version"]["sales"] == "1500.00"
    assert answer.json()["current_version"]["links"][0]["right"] == right["id"]  # no links given: kept

    answer = filer.post(f"/api/v1/products/{pid}/submit/", format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["current_version"]["status"] == "resubmitted"
    assert answer.json()["current_version"]["return_reasons"] == {}

    answer = desk.post(f"/api/v1/products/{pid}/approve/", format="json")
    assert answer.status_code == 200, answer.content
    approved = answer.json()
    filing_number = approved["filing_number"]
    assert approved["current_version"]["status"] == "approved"
    assert filing_number.startswith(f"BA{workflow.china_today().year}44")
    assert approved["public_url"] == f"http://testserver/products/{filing_number}/"
    assert approved["current_version"]["decided_at"] and approved["current_version"]["submitted_at"]

    answer = filer.post(f"/api/v1/products/{pid}/yearly-update/", {}, format="json")
    assert answer.status_code == 201, answer.content
    updated = answer.json()
    assert updated["filing_number"] == filing_number and updated["public_url"] == approved["public_url"]
    assert (updated["current_version"]["data_year"], updated["current_version"]["status"]) == (year + 1, "draft")
    assert [(v["data_year"], v["status"]) for v in updated["versions"]] == [(year + 1, "draft"), (year, "approved")]
    assert updated["current_version"]["sales"] == "1500.00"  # copied from last year

    # the list filters look at the current version
    assert pid in ids(filer.get("/api/v1/products/", {"status": "draft"}))
    assert pid not in ids(filer.get("/api/v1/products/", {"status": "approved"}))

    answer = filer.post(f"/api/v1/products/{pid}/opt-in/", {"opt_in": True}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["current_version"]["certification_opt_in"] is True
    assert ProductVersion.objects.get(product_id=pid, data_year=year + 1).certification_opt_in
    assert not ProductVersion.objects.get(product_id=pid, data_year=year).certification_opt_in


def test_withdraw_and_revoke(approved_version: ProductVersion, filer_a: User, reviewer: User) -> None:
    pid = approved_version.product_id
    answer = api(reviewer).post(f"/api/v1/products/{pid}/revoke/", {"reason": ""}, format="json")
    assert answer.status_code == 400 and "reason" in fields(answer)
    answer = api(reviewer).post(f"/api/v1/products/{pid}/revoke/", {"reason": "专利已失效"}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["current_version"]["status"] == "revoked"
    assert answer.json()["public_url"] is None  # no approved version is published any more
    answer = api(filer_a).post(f"/api/v1/products/{pid}/withdraw/", {"reason": "不再生产"}, format="json")
    assert answer.status_code == 400
    assert "已撤销" in fields(answer)["non_field_errors"][0]


# ---------------------------------------------------------------------------------------------
# Field-level 400s


def test_bad_patent_numbers_and_missing_title_answer_400_by_field(filer_a: User) -> None:
    client = api(filer_a)
    answer = client.post("/api/v1/patents/", {"number": "201710601862.4", "title": "校验位错误"}, format="json")
    assert answer.status_code == 400
    assert list(fields(answer)) == ["number"] and "201710601862" in fields(answer)["number"][0]
    answer = client.post("/api/v1/patents/", {"number": "2017-abc", "title": "格式错误"}, format="json")
    assert answer.status_code == 400 and "number" in fields(answer)
    answer = client.post("/api/v1/patents/", {"number": "201710601862.3"}, format="json")
    assert answer.status_code == 400 and "title" in fields(answer)
    answer = client.post("/api/v1/patents/", {"title": "无号"}, format="json")
    assert answer.status_code == 400 and "number" in fields(answer)
    assert not PatentRight.objects.exists()
    # the same patent twice for one unit: 409 with the id of the right that exists, for a re-sync to take
    first = client.post("/api/v1/patents/", {"number": "201710601862.3", "title": "一"}, format="json")
    assert first.status_code == 201
    answer = client.post("/api/v1/patents/", {"number": "ZL2017106018623"}, format="json")
    body = problem(answer, 409, "duplicate")
    assert body["existing_id"] == first.json()["id"] and pointers(answer) == {"/number": "duplicate"}
    assert PatentRight.objects.count() == 1


def test_product_figures_and_patent_list_errors(
    filer_a: User, unit_a: FilingUnit, add_right: Callable[..., PatentRight]
) -> None:
    client = api(filer_a)
    r1, r2 = add_right(unit_a, filer_a), add_right(unit_a, filer_a)

    answer = client.post("/api/v1/products/", product_body(r1.pk, sales="100", exports="200"), format="json")
    assert answer.status_code == 400
    assert "exports" in fields(answer) and "100" in fields(answer)["exports"][0]

    links = [
        {"right": r1.pk, "is_core": True, "contribution": "60"},
        {"right": r2.pk, "is_core": False, "contribution": "50"},
    ]
    answer = client.post("/api/v1/products/", {**product_body(r1.pk), "links": links}, format="json")
    assert answer.status_code == 400
    assert any("100" in m for m in fields(answer)["links"])

    answer = client.post("/api/v1/products/", product_body(r1.pk, product_class="NO-SUCH"), format="json")
    assert answer.status_code == 400 and "product_class" in fields(answer)
    # a NUL character (PostgreSQL refuses it in a query), an overlong code and a non-string: 400, not 500
    for bad in ("0\x003", "9" * 60, ["03"], True):
        answer = client.post("/api/v1/products/", product_body(r1.pk, product_class=bad), format="json")
        assert answer.status_code == 400 and "product_class" in fields(answer), bad
    answer = client.post("/api/v1/products/", {"name": "缺少清单", "product_class": "03"}, format="json")
    assert answer.status_code == 400 and "links" in fields(answer)
    assert not Product.objects.exists()

    # saved as a draft without a core patent, but it cannot be submitted
    body = {**product_body(r1.pk), "links": [{"right": r1.pk, "is_core": False, "contribution": "30"}]}
    answer = client.post("/api/v1/products/", body, format="json")
    assert answer.status_code == 201, answer.content
    pid = answer.json()["id"]
    answer = client.post(f"/api/v1/products/{pid}/submit/", format="json")
    assert answer.status_code == 400
    assert any("核心专利" in m for m in fields(answer)["links"])
    assert client.get(f"/api/v1/products/{pid}/").json()["current_version"]["status"] == "draft"

    # PATCH with links replaces the list; errors in the patch leave the version as it was
    answer = client.patch(f"/api/v1/products/{pid}/", {"exports": "5000"}, format="json")
    assert answer.status_code == 400 and "exports" in fields(answer)
    answer = client.patch(
        f"/api/v1/products/{pid}/",
        {"links": [{"right": r2.pk, "is_core": True, "contribution": "80", "embodiment": "外壳"}]},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    current = answer.json()["current_version"]
    assert [(link["right"], link["is_core"]) for link in current["links"]] == [(r2.pk, True)]
    assert current["exports"] == "100.00"
    assert client.post(f"/api/v1/products/{pid}/submit/", format="json").status_code == 200
    # a submitted version is no longer editable
    answer = client.patch(f"/api/v1/products/{pid}/", {"name": "改名"}, format="json")
    assert answer.status_code == 400
    assert "不能修改" in fields(answer)["non_field_errors"][0]


def test_workflow_errors_answer_400(
    new_version: Callable[..., ProductVersion], unit_a: FilingUnit, filer_a: User, reviewer: User
) -> None:
    pid = new_version(unit_a, filer_a).product_id
    answer = api(reviewer).post(f"/api/v1/products/{pid}/approve/", format="json")
    assert answer.status_code == 400
    assert "草稿" in fields(answer)["non_field_errors"][0]
    answer = api(filer_a).post(f"/api/v1/products/{pid}/yearly-update/", {}, format="json")
    assert answer.status_code == 400 and fields(answer)["non_field_errors"]
    api(filer_a).post(f"/api/v1/products/{pid}/submit/", format="json")
    answer = api(reviewer).post(f"/api/v1/products/{pid}/return/", {"reasons": {"": "  "}}, format="json")
    assert answer.status_code == 400 and fields(answer)["non_field_errors"]
    answer = api(reviewer).post(f"/api/v1/products/{pid}/return/", {"reasons": {"colour": "?"}}, format="json")
    assert answer.status_code == 400 and "colour" in fields(answer)["non_field_errors"][0]
    assert ProductVersion.objects.get(product_id=pid).status == "submitted"


def test_patent_right_patch_and_delete(
    filer_a: User, unit_a: FilingUnit, add_right: Callable[..., PatentRight], new_version: Callable[..., ProductVersion]
) -> None:
    client = api(filer_a)
    free = add_right(unit_a, filer_a)
    answer = client.patch(f"/api/v1/patents/{free.pk}/", {"right_kind": "licensee"}, format="json")
    assert answer.status_code == 400 and "licence_kind" in fields(answer)
    answer = client.patch(
        f"/api/v1/patents/{free.pk}/",
        {"right_kind": "licensee", "licence_kind": "exclusive", "recordal_number": "2024440000123"},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    assert (answer.json()["right_kind"], answer.json()["licence_kind"]) == ("licensee", "exclusive")

    used = new_version(unit_a, filer_a).links.get().right
    answer = client.delete(f"/api/v1/patents/{used.pk}/")
    assert answer.status_code == 400 and "产品" in fields(answer)["non_field_errors"][0]
    assert client.delete(f"/api/v1/patents/{free.pk}/").status_code == 204
    assert not PatentRight.objects.filter(pk=free.pk).exists()


# ---------------------------------------------------------------------------------------------
# Roles: only enterprise users write


def test_other_roles_read_but_cannot_write(two_units: dict[str, Any], filer_a: User, reviewer: User) -> None:
    pa, ra = two_units["product_a"], two_units["right_a"]
    assert api(filer_a).post(f"/api/v1/products/{pa.pk}/submit/", format="json").status_code == 200
    answer = api(filer_a).post(f"/api/v1/products/{pa.pk}/approve/", format="json")
    assert answer.status_code == 403 and answer.json()["detail"]
    assert (
        api(filer_a).post(f"/api/v1/products/{pa.pk}/return/", {"reasons": {"": "x"}}, format="json").status_code == 403
    )

    desk = api(reviewer)
    assert ids(desk.get("/api/v1/products/")) == {pa.pk, two_units["product_b"].pk}
    assert ids(desk.get("/api/v1/patents/")) == {ra.pk, two_units["right_b"].pk}
    assert desk.post("/api/v1/patents/", {"number": "201710601862.3", "title": "x"}, format="json").status_code == 403
    assert desk.patch(f"/api/v1/patents/{ra.pk}/", {"valid_until": "2030-01-01"}, format="json").status_code == 403
    assert desk.delete(f"/api/v1/patents/{ra.pk}/").status_code == 403
    assert desk.post("/api/v1/products/", product_body(ra.pk), format="json").status_code == 403
    assert desk.patch(f"/api/v1/products/{pa.pk}/", {"name": "x"}, format="json").status_code == 403
    assert desk.post(f"/api/v1/products/{pa.pk}/opt-in/", {"opt_in": True}, format="json").status_code == 403
    assert desk.post(f"/api/v1/products/{pa.pk}/withdraw/", {}, format="json").status_code == 403
    assert PatentRight.objects.filter(pk=ra.pk).exists()
    assert ProductVersion.objects.get(product=pa).status == "submitted"


# ---------------------------------------------------------------------------------------------
# Scope: another unit's rows do not exist for you


def test_lists_leave_out_the_other_unit(two_units: dict[str, Any], filer_a: User, filer_b: User) -> None:
    a, b = api(filer_a), api(filer_b)
    assert ids(a.get("/api/v1/products/")) == {two_units["product_a"].pk}
    assert ids(b.get("/api/v1/products/")) == {two_units["product_b"].pk}
    assert ids(a.get("/api/v1/patents/")) == {two_units["right_a"].pk}
    assert ids(b.get("/api/v1/patents/")) == {two_units["right_b"].pk}
    assert ids(a.get("/api/v1/enterprises/")) == {two_units["right_a"].unit_id}
    # filters never reach outside the scope either
    assert ids(a.get("/api/v1/products/", {"status": "draft"})) == {two_units["product_a"].pk}


def test_detail_and_writes_on_the_other_units_rows_are_404(two_units: dict[str, Any], filer_a: User) -> None:
    client = api(filer_a)
    pb, rb = two_units["product_b"], two_units["right_b"]
    assert client.get(f"/api/v1/products/{pb.pk}/").status_code == 404
    assert client.patch(f"/api/v1/products/{pb.pk}/", {"name": "抢注"}, format="json").status_code == 404
    assert client.get(f"/api/v1/patents/{rb.pk}/").status_code == 404
    assert client.patch(f"/api/v1/patents/{rb.pk}/", {"valid_until": None}, format="json").status_code == 404
    assert client.delete(f"/api/v1/patents/{rb.pk}/").status_code == 404
    assert client.get(f"/api/v1/enterprises/{rb.unit_id}/").status_code == 404
    assert PatentRight.objects.filter(pk=rb.pk).exists()
    assert ProductVersion.objects.get(product=pb).name == "测试产品"
    # and the other unit's patent right cannot be linked to one's own product
    answer = client.post("/api/v1/products/", product_body(rb.pk), format="json")
    assert answer.status_code == 400 and fields(answer)["links"]
    answer = client.patch(
        f"/api/v1/products/{two_units['product_a'].pk}/",
        {"links": [{"right": rb.pk, "is_core": True, "contribution": "10"}]},
        format="json",
    )
    assert answer.status_code == 400 and fields(answer)["links"]


@pytest.mark.parametrize(("name", "body"), ACTIONS)
def test_every_action_on_the_other_units_product_is_404(
    name: str, body: dict[str, Any], two_units: dict[str, Any], filer_a: User, filer_b: User
) -> None:
    pb = two_units["product_b"]
    before = ProductVersion.objects.get(product=pb)
    assert api(filer_a).post(f"/api/v1/products/{pb.pk}/{name}/", body, format="json").status_code == 404
    after = ProductVersion.objects.get(product=pb)
    assert (after.status, after.certification_opt_in) == (before.status, before.certification_opt_in)
    assert ProductVersion.objects.filter(product=pb).count() == 1
    # the same action exists for the owner (whatever its answer, it is not "not found")
    assert api(filer_b).post(f"/api/v1/products/{pb.pk}/{name}/", body, format="json").status_code != 404


def test_anonymous_gets_nothing(two_units: dict[str, Any]) -> None:
    client = APIClient()
    pa, ra = two_units["product_a"], two_units["right_a"]
    requests = [
        ("get", "/api/v1/enterprises/", None),
        ("get", f"/api/v1/enterprises/{ra.unit_id}/", None),
        ("get", "/api/v1/patents/", None),
        ("get", f"/api/v1/patents/{ra.pk}/", None),
        ("post", "/api/v1/patents/", {"number": "201710601862.3", "title": "x"}),
        ("patch", f"/api/v1/patents/{ra.pk}/", {"valid_until": None}),
        ("delete", f"/api/v1/patents/{ra.pk}/", None),
        ("get", "/api/v1/products/", None),
        ("get", f"/api/v1/products/{pa.pk}/", None),
        ("post", "/api/v1/products/", product_body(ra.pk)),
        ("patch", f"/api/v1/products/{pa.pk}/", {"name": "x"}),
        *[("post", f"/api/v1/products/{pa.pk}/{name}/", body) for name, body in ACTIONS],
    ]
    for method, url, body in requests:
        answer = getattr(client, method)(url, body, format="json")
        assert answer.status_code in (401, 403), (method, url, answer.status_code)
        assert "results" not in answer.json()
    assert ProductVersion.objects.get(product=pa).status == "draft"


def test_port_admins_see_their_province_only(two_units: dict[str, Any], demo_users: dict[str, User]) -> None:
    pa, pb = two_units["product_a"], two_units["product_b"]  # unit_a is in Guangzhou, unit_b in Hangzhou
    guangdong, zhejiang = api(demo_users["guangdong"]), api(demo_users["zhejiang"])
    for client, mine, theirs, province in ((guangdong, "a", "b", "44"), (zhejiang, "b", "a", "33")):
        products = ids(client.get("/api/v1/products/", {"page_size": 500}))
        assert two_units[f"product_{mine}"].pk in products and two_units[f"product_{theirs}"].pk not in products
        assert {p.province_code[:2] for p in Product.objects.filter(pk__in=products)} == {province}
        rights = ids(client.get("/api/v1/patents/", {"page_size": 500}))
        assert two_units[f"right_{mine}"].pk in rights and two_units[f"right_{theirs}"].pk not in rights
        assert {r.unit.province_code[:2] for r in PatentRight.objects.filter(pk__in=rights)} == {province}
    assert guangdong.get(f"/api/v1/products/{pa.pk}/").status_code == 200
    assert guangdong.get(f"/api/v1/products/{pa.pk}/").json()["current_version"]["allowed_actions"] == []
    assert guangdong.get(f"/api/v1/products/{pb.pk}/").status_code == 404
    assert guangdong.get(f"/api/v1/patents/{two_units['right_b'].pk}/").status_code == 404
    # in its scope a port reads only; out of its scope nothing exists
    assert guangdong.patch(f"/api/v1/products/{pa.pk}/", {"name": "x"}, format="json").status_code == 403
    assert guangdong.patch(f"/api/v1/products/{pb.pk}/", {"name": "x"}, format="json").status_code == 404
    for name, body in ACTIONS:
        assert guangdong.post(f"/api/v1/products/{pb.pk}/{name}/", body, format="json").status_code == 404, name
        assert guangdong.post(f"/api/v1/products/{pa.pk}/{name}/", body, format="json").status_code == 403, name


# ---------------------------------------------------------------------------------------------
# Listing: filters, cursor pages, a fixed number of queries


def test_list_filters_and_cursor_pages(
    unit_a: FilingUnit,
    filer_a: User,
    reviewer: User,
    new_version: Callable[..., ProductVersion],
) -> None:
    other_class = ProductClass.objects.filter(is_active=True).exclude(code="03").first()
    drafted = new_version(unit_a, filer_a, name="智能分拣机")
    approved = new_version(unit_a, filer_a, name="工业机器人")
    workflow.version_submit(version=approved, user=filer_a)
    workflow.version_approve(version=approved, user=reviewer)
    classed = new_version(unit_a, filer_a, name="传感器", product_class=other_class)
    client = api(filer_a)
    url = "/api/v1/products/"

    assert ids(client.get(url, {"status": "approved"})) == {approved.product_id}
    assert ids(client.get(url, {"status": "draft"})) == {drafted.product_id, classed.product_id}
    assert ids(client.get(url, {"q": "分拣"})) == {drafted.product_id}
    assert ids(client.get(url, {"product_class": other_class.code})) == {classed.product_id}
    assert ids(client.get(url, {"data_year": drafted.data_year})) == {
        p.product_id for p in (drafted, approved, classed)
    }
    assert ids(client.get(url, {"data_year": drafted.data_year - 5})) == set()
    number = Product.objects.get(pk=approved.product_id).filing_number
    assert ids(client.get(url, {"filing_number": number.lower()})) == {approved.product_id}
    assert client.get(url, {"status": "nonsense"}).status_code == 400
    assert "data_year" in fields(client.get(url, {"data_year": "last"}))

    first = client.get(url, {"page_size": 2}).json()
    assert len(first["results"]) == 2 and first["next"]
    second = client.get(first["next"]).json()
    assert second["next"] is None
    seen = [row["id"] for row in first["results"] + second["results"]]
    assert seen == sorted({drafted.product_id, approved.product_id, classed.product_id}, reverse=True)


# products, their versions (with classes), the current versions' links (with patents), reasons; on PostgreSQL the
# page's ids and its JSON rendered by the database (filings/api/rendered.py)
LIST_QUERIES = 2 if connection.vendor == "postgresql" else 4


def test_product_list_runs_a_fixed_number_of_queries(
    unit_a: FilingUnit,
    filer_a: User,
    reviewer: User,
    new_version: Callable[..., ProductVersion],
    django_assert_num_queries: Any,
) -> None:
    def make(name: str) -> ProductVersion:
        return new_version(unit_a, filer_a, name=name, sales=Decimal(500))

    returned = make("退回的产品")
    workflow.version_submit(version=returned, user=filer_a)
    workflow.version_return(version=returned, user=reviewer, reasons={"sales": "请核对。"})
    client = api(filer_a)
    client.get("/api/v1/products/")  # the user's scope is computed once per user object
    with django_assert_num_queries(LIST_QUERIES):
        one = client.get("/api/v1/products/").json()["results"]
    assert len(one) == 1 and one[0]["current_version"]["return_reasons"] == {"sales": ["请核对。"]}

    for i in range(19):
        version = make(f"产品{i}")
        if i % 3 == 0:
            workflow.version_submit(version=version, user=filer_a)
            workflow.version_approve(version=version, user=reviewer)
        elif i % 3 == 1:
            workflow.version_submit(version=version, user=filer_a)
            workflow.version_return(version=version, user=reviewer, reasons={"": f"理由{i}"})
    with django_assert_num_queries(LIST_QUERIES):
        twenty = client.get("/api/v1/products/").json()["results"]
    assert len(twenty) == 20
    assert sum(1 for row in twenty if row["current_version"]["return_reasons"]) == 7
    assert sum(1 for row in twenty if row["filing_number"]) == 7


def test_reasons_in_the_list_are_the_workflows(
    unit_a: FilingUnit, filer_a: User, reviewer: User, new_version: Callable[..., ProductVersion]
) -> None:
    version = new_version(unit_a, filer_a)
    for round_reasons in ({"sales": "第一轮"}, {"name": "第二轮", "": "整体"}):
        workflow.version_submit(version=version, user=filer_a)
        workflow.version_return(version=version, user=reviewer, reasons=round_reasons)
    version.refresh_from_db()
    expected = workflow.current_return_reasons(version)
    assert expected == {"name": ["第二轮"], "": ["整体"]}
    client = api(filer_a)
    assert client.get("/api/v1/products/").json()["results"][0]["current_version"]["return_reasons"] == expected
    assert client.get(f"/api/v1/products/{version.product_id}/").json()["current_version"]["return_reasons"] == expected


def test_schema_documents_every_endpoint(filer_a: User) -> None:
    schema = api(filer_a).get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    for path in ("/api/v1/patents/", "/api/v1/patents/{id}/", "/api/v1/products/", "/api/v1/products/{id}/"):
        assert path in paths
    for name, _body in ACTIONS:
        operation = paths[f"/api/v1/products/{{id}}/{name}/"]["post"]
        assert set(operation["responses"]) >= {"400", "403", "404"}
        assert "$ref" in str(operation["responses"].get("200") or operation["responses"].get("201"))
    assert "requestBody" in paths["/api/v1/products/{id}/return/"]["post"]
    assert "ProductCreateRequest" in schema["components"]["schemas"]  # request bodies have their own components
    assert {"industry", "scale", "contact_name"} <= set(schema["components"]["schemas"]["FilingUnit"]["properties"])
