"""Public pages without login: search approved products by each key, the product page, public images."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db.models import F
from django.urls import reverse

from filings import workflow
from filings.models import FilingUnit, PatentRight, ProductClass, ProductImage, ProductVersion
from patent_platform.models import User

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def approve(reviewer: User) -> Callable[..., ProductVersion]:
    def do(version: ProductVersion, filer: User) -> ProductVersion:
        workflow.version_submit(version=version, user=filer)
        workflow.version_approve(version=version, user=reviewer)
        version.refresh_from_db()
        return version

    return do


@pytest.fixture
def other_class(reference: None) -> ProductClass:
    return ProductClass.objects.exclude(code="03").filter(is_active=True).order_by("code").first()


@pytest.fixture
def catalogue(
    unit_a: FilingUnit,
    unit_b: FilingUnit,
    filer_a: User,
    filer_b: User,
    add_right: Callable[..., PatentRight],
    new_version: Callable[..., ProductVersion],
    approve: Callable[..., ProductVersion],
    other_class: ProductClass,
) -> dict[str, Any]:
    """Two approved products (Guangdong, Zhejiang), one waiting for review, one draft."""
    right = add_right(unit_a, filer_a)
    links = [{"right": right.pk, "is_core": True, "contribution": Decimal(60)}]
    servo = approve(
        new_version(unit_a, filer_a, links=links, name="智能伺服电机", model="SV-200", sales=Decimal(8888)), filer_a
    )
    film = approve(new_version(unit_b, filer_b, name="石墨烯导热膜", product_class=other_class), filer_b)
    pending = new_version(unit_a, filer_a, name="待审减速器")
    workflow.version_submit(version=pending, user=filer_a)
    draft = new_version(unit_b, filer_b, name="草稿传感器")
    return {"servo": servo, "film": film, "pending": pending, "draft": draft, "patent": right.patent}


def _found(client: Any, **params: Any) -> list[str]:
    response = client.get(reverse("public:search"), params)
    assert response.status_code == 200
    return sorted(p.published_version.name for p in response.context["products"])


def test_search_lists_only_approved_products_without_login(client: Any, catalogue: dict[str, Any]) -> None:
    response = client.get(reverse("public:search"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "智能伺服电机" in html and "石墨烯导热膜" in html
    assert "待审减速器" not in html and "草稿传感器" not in html
    assert catalogue["servo"].product.filing_number in html
    assert "广东省广州市天河区" in html
    assert "8888" not in html  # sales figures are not public


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (lambda c: "伺服", ["智能伺服电机"]),  # product name
        (lambda c: "杭州测试", ["石墨烯导热膜"]),  # unit name
        (lambda c: c["film"].product.filing_number, ["石墨烯导热膜"]),  # filing number
        (lambda c: c["film"].product.filing_number.lower(), ["石墨烯导热膜"]),
        (lambda c: c["patent"].number, ["智能伺服电机"]),  # patent application number
        (lambda c: c["patent"].patent_number, ["智能伺服电机"]),  # ZL patent number
        # messy: lower-case prefix, spaces, no dot
        (lambda c: " zl " + c["patent"].number[:4] + " " + c["patent"].number[4:].replace(".", ""), ["智能伺服电机"]),
        (lambda c: c["film"].product.unit.uscc, ["石墨烯导热膜"]),  # the unit's USCC
        (lambda c: " " + c["film"].product.unit.uscc.lower() + " ", ["石墨烯导热膜"]),
        (lambda c: "膜", ["石墨烯导热膜"]),  # one character (its 1-gram)
        (lambda c: "伺服 电机", []),  # both words are in the name, but not this text
        (lambda c: "待审减速器", []),  # not approved: never found
        (lambda c: "201912345678.9", []),  # a malformed patent number is just text, no error
    ],
)
def test_search_by_each_key(client: Any, catalogue: dict[str, Any], key: Callable, expected: list[str]) -> None:
    assert _found(client, q=key(catalogue)) == expected


def test_search_filters_class_and_province(
    client: Any, catalogue: dict[str, Any], other_class: ProductClass, product_class: ProductClass
) -> None:
    assert _found(client, product_class=other_class.pk) == ["石墨烯导热膜"]
    assert _found(client, product_class=product_class.pk) == ["智能伺服电机"]
    assert _found(client, province="440000") == ["智能伺服电机"]
    assert _found(client, province="330000", q="伺服") == []


def test_search_empty_state_says_what_to_do(client: Any, catalogue: dict[str, Any]) -> None:
    html = client.get(reverse("public:search"), {"q": "不存在的产品"}).content.decode()
    assert 'data-testid="public-empty"' in html and "减少筛选条件" in html


def test_search_paginates(client: Any, catalogue: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from filings.views.public import PublicSearchView

    monkeypatch.setattr(PublicSearchView, "paginate_by", 1)
    first = client.get(reverse("public:search"))
    second = client.get(reverse("public:search"), {"page": 2})
    assert first.context["paginator"].num_pages == 2
    names = {first.context["products"][0].published_version.name, second.context["products"][0].published_version.name}
    assert names == {"智能伺服电机", "石墨烯导热膜"}


def test_product_page_shows_patent_marking_without_figures_or_contacts(
    client: Any, catalogue: dict[str, Any], unit_a: FilingUnit
) -> None:
    unit_a.contact_name, unit_a.contact_phone = "张联系", "020-12345678"
    unit_a.save()
    servo = catalogue["servo"]
    response = client.get(reverse("public:product", args=[servo.product.filing_number]))
    assert response.status_code == 200
    html = response.content.decode()
    patent = catalogue["patent"]
    for text in ("智能伺服电机", "SV-200", unit_a.name, "广东省广州市天河区", patent.number, "ZL" + patent.number):
        assert text in html, text
    assert patent.title in html and "核心" in html
    for hidden in ("8888", "张联系", "020-12345678"):
        assert hidden not in html, hidden


def test_unknown_products_answer_404_and_ended_filings_410_without_their_data(
    client: Any, catalogue: dict[str, Any], reviewer: User, filer_b: User
) -> None:
    assert client.get(reverse("public:product", args=["BA202644999999"])).status_code == 404
    film = catalogue["film"]
    number = film.product.filing_number
    workflow.version_withdraw(version=film, user=filer_b, reason="停产")
    # a printed QR code (receipt, certificate) still leads somewhere: the filing has ended, nothing else
    response = client.get(reverse("public:product", args=[number]))
    assert response.status_code == 410
    page = response.content.decode()
    assert "备案已被撤销或撤回" in page and film.name not in page
    assert _found(client, q=number) == []


def test_only_images_of_a_published_version_are_public(
    client: Any, catalogue: dict[str, Any], settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)

    def image(version: ProductVersion) -> ProductImage:
        return ProductImage.objects.create(
            version=version, file=ContentFile(PNG, name="p.png"), content_type="image/png", caption="外观"
        )

    published = image(catalogue["servo"])
    draft, pending = image(catalogue["draft"]), image(catalogue["pending"])
    response = client.get(reverse("public:image", args=[published.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == PNG
    page = client.get(reverse("public:product", args=[catalogue["servo"].product.filing_number])).content.decode()
    assert reverse("public:image", args=[published.pk]) in page
    for hidden in (draft, pending):
        assert client.get(reverse("public:image", args=[hidden.pk])).status_code == 404


def test_a_yearly_update_draft_image_stays_private(
    client: Any,
    unit_a: FilingUnit,
    filer_a: User,
    add_right: Callable[..., PatentRight],
    product_class: ProductClass,
    approve: Callable[..., ProductVersion],
    settings: Any,
    tmp_path: Any,
) -> None:
    from filings import services

    settings.MEDIA_ROOT = str(tmp_path)
    right = add_right(unit_a, filer_a)
    first = services.product_create(
        unit=unit_a,
        user=filer_a,
        data={"name": "年度产品", "product_class": product_class, "sales": Decimal(10), "output_value": Decimal(12)},
        links=[{"right": right.pk, "is_core": True, "contribution": Decimal(50)}],
        data_year=workflow.default_data_year() - 1,
    )
    ProductImage.objects.create(version=first, file=ContentFile(PNG, name="p.png"), content_type="image/png")
    approve(first, filer_a)
    update = workflow.product_yearly_update_start(product=first.product, user=filer_a)
    copied = update.images.get()
    assert client.get(reverse("public:image", args=[first.images.get().pk])).status_code == 200
    assert client.get(reverse("public:image", args=[copied.pk])).status_code == 404


def test_the_search_text_follows_approval_revocation_and_a_renamed_unit(
    client: Any, catalogue: dict[str, Any], reviewer: User, unit_a: FilingUnit, filer_a: User
) -> None:
    from filings.models import Product
    from filings.models.search_text import text_expression

    def in_step() -> None:  # every product's stored text is what its rows say now
        stale = Product.objects.annotate(now=text_expression()).exclude(search_text=F("now"))
        assert not stale.exists(), list(stale.values_list("pk", "search_text", "now"))

    in_step()
    assert _found(client, q="伺服") == ["智能伺服电机"]
    unit_a.name = "星河精密传动有限公司"
    unit_a.save()
    in_step()
    assert _found(client, q="星河") == ["智能伺服电机"]
    assert _found(client, q="传动有限") == ["智能伺服电机"]
    workflow.version_revoke(version=catalogue["servo"], user=reviewer, reason="专利已失效")
    in_step()
    assert _found(client, q="伺服") == []
    assert _found(client, q="星河") == []


def test_a_count_past_the_cap_says_more_than(
    client: Any, catalogue: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from filings import search
    from filings.views import public

    monkeypatch.setattr(search, "COUNT_CAP", 1)
    monkeypatch.setattr(public, "COUNT_CAP", 1)
    html = client.get(reverse("public:search"), {"q": "膜"}).content.decode()
    assert "共找到 1 个备案产品" in html
    html = client.get(reverse("public:search"), {"q": "有限"}).content.decode()
    assert "找到超过 1 个备案产品，请加上条件缩小范围" in html
    assert "超过 1 个备案产品" in client.get(reverse("public:search")).content.decode()
