"""Working from the lists (issue 20): a port opens a unit of its region and any filed version of a product of
its region, read-only, from every list; out of its area 404; drafts never submitted stay the enterprise's own.

Demo data: 广州 (天河区) 4 products, 3 filed; 深圳 (南山区) 5 filed; 杭州 (西湖区) 3 filed.
"""

import html
import re
from io import BytesIO

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from filings.choices import FilingStatus
from filings.models import FilingUnit, Product, ProductVersion
from patent_platform.masking import mask_phone
from patent_platform.models import User
from tests.provincial.live import CurrentClient

pytestmark = pytest.mark.django_db

GZ = "广州云帆智能装备有限公司"
SZ = "深圳鹏芯微电子有限公司"
HZ = "杭州西溪新材料科技有限公司"
# who → the units it may open
SEES = {"guangdong": {GZ, SZ}, "shenzhen": {SZ}, "zhejiang": {HZ}, "national": {GZ, SZ, HZ}}


def client_for(user: User) -> Client:
    client = CurrentClient()  # the dashboards' lists: the current state (tests/provincial/live.py)
    client.force_login(user)
    return client


def unit(name: str) -> FilingUnit:
    return FilingUnit.objects.get(name=name)


def filed(name: str) -> ProductVersion:
    return ProductVersion.objects.filter(product__unit__name=name, submitted_at__isnull=False).latest("pk")


@pytest.mark.parametrize("who", sorted(SEES))
def test_each_port_opens_the_units_and_versions_of_its_area_and_nothing_else(
    demo_users: dict[str, User], who: str
) -> None:
    client = client_for(demo_users[who])
    for name in (GZ, SZ, HZ):
        expected = 200 if name in SEES[who] else 404
        u = unit(name)
        version = filed(name)
        for url in (
            reverse("port:unit", args=[u.pk]),
            reverse("port:unit_export", args=[u.pk]),
            reverse("port:product", args=[version.product_id]),
            reverse("port:version", args=[version.pk]),
        ):
            assert client.get(url).status_code == expected, (who, name, url)


@pytest.mark.parametrize("who", ["ent-gz", "ent-sz", "reviewer"])
def test_enterprises_and_reviewers_get_404(demo_users: dict[str, User], who: str) -> None:
    client = client_for(demo_users[who])
    version = filed(SZ)
    for url in (
        reverse("port:unit", args=[version.product.unit_id]),
        reverse("port:product", args=[version.product_id]),
        reverse("port:version", args=[version.pk]),
    ):
        assert client.get(url).status_code == 404, (who, url)


def test_anonymous_visitors_are_sent_to_log_in(demo: None) -> None:
    version = filed(SZ)
    answer = Client().get(reverse("port:version", args=[version.pk]))
    assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]


def test_a_draft_never_submitted_stays_the_enterprises_own(demo_users: dict[str, User]) -> None:
    """广州's fourth product was never submitted: its version and product answer 404 to the ports, and the unit
    page only counts it."""
    draft = ProductVersion.objects.get(product__unit__name=GZ, submitted_at__isnull=True)
    assert not draft.product.versions.filter(submitted_at__isnull=False).exists()
    client = client_for(demo_users["guangdong"])
    assert client.get(reverse("port:version", args=[draft.pk])).status_code == 404
    assert client.get(reverse("port:product", args=[draft.product_id])).status_code == 404
    page = client.get(reverse("port:unit", args=[draft.product.unit_id])).content.decode()
    assert draft.name not in page
    assert 'data-testid="unit-drafts"' in page and "另有 1 个产品尚未提交备案" in page
    assert page.count('data-testid="unit-product"') == 3


def test_a_returned_filing_shows_its_status_reasons_and_history(demo_users: dict[str, User]) -> None:
    version = ProductVersion.objects.filter(status=FilingStatus.RETURNED).select_related("product__unit").first()
    assert version is not None
    page = client_for(demo_users["national"]).get(reverse("port:version", args=[version.pk])).content.decode()
    assert 'data-testid="version-status">已退回修改<' in page
    assert 'data-testid="return-reasons"' in page
    reason = version.return_reasons.filter(review_round=version.review_round).first()
    assert reason is not None and html.escape(reason.message) in page
    history = re.findall(r'data-testid="history-entry"', page)
    assert len(history) == version.transitions.count() >= 2
    assert "退回修改" in page
    # who acted, by role, never by name
    reviewer = version.transitions.filter(action="return").latest("pk").actor
    assert reviewer.get_full_name() not in page and "审核员" in page


def test_the_unit_page_shows_identity_products_masked_contacts_and_history(demo_users: dict[str, User]) -> None:
    u = unit(SZ)
    page = client_for(demo_users["shenzhen"]).get(reverse("port:unit", args=[u.pk])).content.decode()
    assert u.uscc in page and u.region.full_name in page
    assert page.count('data-testid="unit-product"') == Product.objects.filter(unit=u).count()
    # contacts masked for a port administrator
    assert u.contact_phone and u.contact_phone not in page
    assert mask_phone(u.contact_phone) in page
    assert u.contact_email not in page
    # the history covers the unit's filings, each linking to its version page
    assert page.count('data-testid="history-entry"') >= Product.objects.filter(unit=u).count()
    for pk in re.findall(r'href="/port/versions/(\d+)/"', page):
        assert ProductVersion.objects.get(pk=pk).product.unit_id == u.pk


def test_a_product_page_lists_its_filed_years(demo_users: dict[str, User]) -> None:
    product = (
        Product.objects.filter(versions__submitted_at__isnull=False, published_version__isnull=False)
        .order_by("pk")
        .first()
    )
    client = client_for(demo_users["national"])
    page = client.get(reverse("port:product", args=[product.pk])).content.decode()
    assert product.filing_number in page
    assert f'href="{reverse("public:product", args=[product.filing_number])}"' in page
    versions = product.versions.filter(submitted_at__isnull=False)
    if versions.count() > 1:
        assert page.count('data-testid="version-tab"') == versions.count()


def test_the_port_lists_link_to_the_read_only_pages(demo_users: dict[str, User]) -> None:
    client = client_for(demo_users["guangdong"])
    products = client.get(reverse("port:products")).content.decode()
    product_links = re.findall(r'href="(/port/products/\d+/)" data-testid="product-link"', products)
    assert len(product_links) == 8  # every filed product of 广东, approved or not
    for url in product_links:
        assert client.get(url).status_code == 200
    unit_links = set(re.findall(r'href="(/port/units/\d+/)" data-testid="unit-link"', products))
    assert len(unit_links) == 2
    units = client.get(reverse("port:units")).content.decode()
    assert set(re.findall(r'href="(/port/units/\d+/)" data-testid="unit-link"', units)) == unit_links


def test_links_keep_the_port_a_national_administrator_looks_through(demo_users: dict[str, User]) -> None:
    client = client_for(demo_users["national"])
    page = client.get(reverse("port:products") + "?port=440300").content.decode()
    links = re.findall(r'href="([^"]+)" data-testid="product-link"', page)
    assert links and all(html.unescape(link).endswith("?port=440300") for link in links)
    # a unit outside the narrowed port answers 404 there, 200 without the narrowing
    gz = unit(GZ)
    assert client.get(reverse("port:unit", args=[gz.pk]) + "?port=440300").status_code == 404
    assert client.get(reverse("port:unit", args=[gz.pk])).status_code == 200


def test_the_unit_export_holds_its_filed_products(demo_users: dict[str, User]) -> None:
    u = unit(GZ)
    answer = client_for(demo_users["guangdong"]).get(reverse("port:unit_export", args=[u.pk]))
    assert answer.status_code == 200
    rows = list(load_workbook(BytesIO(answer.content)).active.iter_rows(values_only=True))
    assert len(rows) == 1 + 3
    shown = set()
    for product in Product.objects.filter(unit=u):
        versions = product.versions.filter(submitted_at__isnull=False).order_by("-data_year")
        if versions:
            shown.add((product.published_version or versions[0]).name)
    assert {r[1] for r in rows[1:]} == shown


def test_the_pages_change_nothing(demo_users: dict[str, User]) -> None:
    version = filed(SZ)
    client = client_for(demo_users["shenzhen"])
    for url in (
        reverse("port:unit", args=[version.product.unit_id]),
        reverse("port:product", args=[version.product_id]),
        reverse("port:version", args=[version.pk]),
    ):
        assert client.post(url, {"status": "approved"}).status_code == 405
    version.refresh_from_db()
    assert version.status == filed(SZ).status


def test_the_certification_results_of_the_region_link_to_the_unit_and_its_filing(demo_users: dict[str, User]) -> None:
    client = client_for(demo_users["shenzhen"])
    page = client.get(reverse("certification:region")).content.decode()
    units = set(re.findall(r'href="(/port/units/\d+/)" data-testid="unit-link"', page))
    versions = re.findall(r'href="(/port/versions/\d+/)" data-testid="version-link"', page)
    assert units == {reverse("port:unit", args=[unit(SZ).pk])}
    assert versions
    for url in versions:
        assert client.get(url).status_code == 200
