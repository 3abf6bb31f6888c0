"""The enterprise user's pages, through the Django test client: what a filer sees and can do."""

import re
from collections.abc import Callable
from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import NoReverseMatch, reverse
from openpyxl import load_workbook
from PIL import Image

from filings import services, workflow
from filings.choices import FilingStatus
from filings.identifiers import build_uscc
from filings.industries import industry_choices
from filings.models import FilingUnit, PatentRight, Product, ProductClass, ProductVersion, UnitMembership
from patent_platform import confirmation
from patent_platform.choices import AuditAction, Role
from patent_platform.models import AuditEvent, User

BACKEND = "django.contrib.auth.backends.ModelBackend"
STRONG = "Xk7#pL9!wQ2z"


def login(client: Client, user: User) -> Client:
    client.force_login(user, backend=BACKEND)
    return client


def text(response: Any) -> str:
    return response.content.decode()


def png(color: str = "red", size: tuple[int, int] = (8, 6)) -> bytes:
    buffer = BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def media(settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


@pytest.fixture
def filer_client(client: Client, filer_a: User) -> Client:
    return login(client, filer_a)


@pytest.fixture
def port_admin(make_user: Callable[..., User]) -> User:
    return make_user("port-t@example.cn", Role.PORT_ADMIN)


# ---------------------------------------------------------------------------------------------
# Registration and regions


def registration_data(**overrides: str) -> dict[str, str]:
    data = {
        "uscc": build_uscc(region_code="440106", org_body="MA5RG001"),
        "name": "广州注册测试科技有限公司",
        "kind": "company",
        "province": "440000",
        "city": "440100",
        "county": "440106",
        "address": "天河路 1 号",
        "industry": industry_choices()[0][0],
        "scale": "small",
        "contact_name": "王联系",
        "contact_phone": "020-12345678",
        "contact_email": "contact@reg.example.cn",
        "email": "Founder@Reg.example.cn",
        "full_name": "李注册",
        "phone": "13800000000",
        "password1": STRONG,
        "password2": STRONG,
    }
    data.update(overrides)
    return data


def test_registration_creates_unit_manager_and_logs_in(client: Client, reference: None) -> None:
    page = client.get(reverse("enterprise:register"))
    assert page.status_code == 200
    assert 'name="uscc"' in text(page)
    assert 'hx-get="/enterprise/regions/"' in text(page)

    response = client.post(reverse("enterprise:register"), registration_data())

    assert response.status_code == 302
    assert response["Location"] == reverse("enterprise:home")
    unit = FilingUnit.objects.get(name="广州注册测试科技有限公司")
    assert unit.region_id == "440106"
    assert unit.province_code == "440000"
    user = User.objects.get(email="founder@reg.example.cn")
    assert user.role == Role.ENTERPRISE
    assert UnitMembership.objects.get(user=user).is_manager
    assert unit.verified_at is None  # unverified: drafts yes, submissions no (tests/filings/test_identity.py)
    # logged in by the registration, but the address is not confirmed yet: every page says so
    held = client.get(reverse("enterprise:home"))
    assert held.status_code == 302 and held["Location"] == reverse("email_unconfirmed")
    confirmation.email_confirm(user=user)
    home = client.get(reverse("enterprise:home"))
    assert home.status_code == 200
    assert "广州注册测试科技有限公司" in text(home)
    assert unit.uscc in text(home)


def test_registration_bad_uscc_keeps_input_and_shows_field_error(client: Client, reference: None) -> None:
    data = registration_data(uscc="91440106MA5RG0010X")
    response = client.post(reverse("enterprise:register"), data)

    assert response.status_code == 200
    body = text(response)
    assert 'data-testid="error-uscc"' in body
    assert "统一社会信用代码" in body
    assert 'value="广州注册测试科技有限公司"' in body  # the unit name is kept
    assert 'value="91440106MA5RG0010X"' in body  # and the wrong code, to correct it
    assert '<option value="440106" selected>' in body  # the county list is rebuilt and kept
    assert STRONG not in body  # passwords are never echoed back
    assert not FilingUnit.objects.filter(name="广州注册测试科技有限公司").exists()
    assert not User.objects.filter(email="founder@reg.example.cn").exists()


def test_registration_password_rules_and_mismatch(client: Client, reference: None) -> None:
    weak = client.post(reverse("enterprise:register"), registration_data(password1="123", password2="123"))
    assert 'data-testid="error-password1"' in text(weak)
    mismatch = client.post(reverse("enterprise:register"), registration_data(password2=STRONG + "x"))
    assert "两次输入的密码不一致" in text(mismatch)
    assert not User.objects.filter(email="founder@reg.example.cn").exists()


def test_registration_taken_uscc(client: Client, unit_a: FilingUnit) -> None:
    response = client.post(reverse("enterprise:register"), registration_data(uscc=unit_a.uscc))

    body = text(response)
    assert response.status_code == 200
    assert 'data-testid="error-uscc"' in body
    assert "该统一社会信用代码已注册" in body
    assert not User.objects.filter(email="founder@reg.example.cn").exists()
    assert FilingUnit.objects.filter(uscc=unit_a.uscc).count() == 1


def test_region_options_endpoint(client: Client, reference: None) -> None:
    cities = text(client.get(reverse("enterprise:regions"), {"province": "440000"}))
    assert '<option value="440100">广州市</option>' in cities
    assert "杭州市" not in cities
    counties = text(client.get(reverse("enterprise:regions"), {"city": "440100"}))
    assert '<option value="440106">天河区</option>' in counties
    assert "广州市" not in counties
    bad = text(client.get(reverse("enterprise:regions"), {"province": "x'; drop"}))
    assert '<option value="">' in bad
    assert bad.count("<option") == 1


# ---------------------------------------------------------------------------------------------
# Home, unit, members


def test_home_shows_unit_counts_and_products(
    filer_client: Client, unit_a: FilingUnit, filer_a: User, new_version: Callable[..., ProductVersion]
) -> None:
    new_version(unit_a, filer_a, name="智能焊接机器人")
    submitted = new_version(unit_a, filer_a, name="激光切割头")
    workflow.version_submit(version=submitted, user=filer_a)

    body = text(filer_client.get(reverse("enterprise:home")))

    assert unit_a.name in body
    assert body.count('data-testid="product-row"') == 2
    assert "智能焊接机器人" in body and "激光切割头" in body
    assert re.search(r'data-testid="patent-count">2<', body)
    assert re.search(r'data-testid="product-count">2<', body)
    assert 'data-testid="status-count-draft"' in body
    assert 'data-testid="status-count-submitted"' in body
    assert reverse("enterprise:product_new") in body
    assert reverse("enterprise:patents") in body


def test_home_empty_states(client: Client, make_user: Callable[..., User], filer_a: User) -> None:
    lonely = make_user("lonely@example.cn", Role.ENTERPRISE)
    assert 'data-testid="no-unit"' in text(login(client, lonely).get(reverse("enterprise:home")))
    body = text(login(Client(), filer_a).get(reverse("enterprise:home")))
    assert 'data-testid="empty-products"' in body
    assert "专利管理" in body


def test_unit_edit_by_manager_only(
    filer_client: Client, unit_a: FilingUnit, filer_a: User, make_user: Callable[..., User]
) -> None:
    page = filer_client.get(reverse("enterprise:unit_edit"))
    assert page.status_code == 200
    assert 'data-testid="uscc-readonly"' in text(page)
    data = {
        "name": "广州测试智能装备股份有限公司",
        "kind": "company",
        "province": "440000",
        "city": "440100",
        "county": "440106",
        "address": "新地址",
        "industry": "",
        "scale": "medium",
        "contact_name": "张三",
        "contact_phone": "020-1",
        "contact_email": "",
        "uscc": "91110108551385082Q",  # ignored: not editable
    }
    response = filer_client.post(reverse("enterprise:unit_edit"), data)
    assert response.status_code == 302
    unit = FilingUnit.objects.get(pk=unit_a.pk)
    assert unit.name == "广州测试智能装备股份有限公司"
    assert unit.uscc == unit_a.uscc
    event = AuditEvent.objects.filter(action=AuditAction.UPDATE, object_type="filings.FilingUnit").order_by("pk").last()
    assert event is not None
    assert event.changes["name"] == [unit_a.name, "广州测试智能装备股份有限公司"]

    colleague = services.unit_member_add(manager=filer_a, unit=unit_a, email="colleague@example.cn")
    confirmation.email_confirm(user=colleague)  # as its invitation link does
    other = login(Client(), colleague)
    refused = other.post(reverse("enterprise:unit_edit"), {**data, "name": "改名"})
    assert refused.status_code == 403
    assert 'data-testid="not-manager"' in text(refused)
    assert FilingUnit.objects.get(pk=unit_a.pk).name == "广州测试智能装备股份有限公司"


def test_member_add_sends_one_time_activation_link(
    filer_client: Client, unit_a: FilingUnit, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # the outbox delivers after commit
        response = filer_client.post(
            reverse("enterprise:members"), {"email": "New.Member@example.cn", "full_name": "赵同事", "phone": ""}
        )
    assert response.status_code == 302
    member = User.objects.get(email="new.member@example.cn")
    assert not member.has_usable_password()
    assert UnitMembership.objects.get(user=member).unit == unit_a
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.member@example.cn"]
    match = re.search(r"https?://[^/\s]+(/accounts/activate/\S+/)", message.body)
    assert match, message.body
    link = match.group(1)

    visitor = Client()
    step = visitor.get(link)
    assert step.status_code == 302  # Django moves the token into the session
    form_page = visitor.get(step["Location"])
    assert 'data-testid="activate-form"' in text(form_page)
    done = visitor.post(step["Location"], {"new_password1": STRONG, "new_password2": STRONG})
    assert done.status_code == 302
    assert visitor.get(done["Location"])["Location"] == reverse("enterprise:home")  # home sends it to its role's page
    member.refresh_from_db()
    assert member.check_password(STRONG)
    assert visitor.get(reverse("enterprise:home")).status_code == 200  # logged in as the member

    again = Client().get(link, follow=True)
    assert 'data-testid="invalid-link"' in text(again)
    assert 'data-testid="activate-form"' not in text(again)


def test_member_add_duplicate_email_and_non_manager(
    filer_client: Client, unit_a: FilingUnit, filer_a: User, filer_b: User
) -> None:
    response = filer_client.post(reverse("enterprise:members"), {"email": filer_b.email, "full_name": "X"})
    assert response.status_code == 400
    assert "该电子邮箱已注册" in text(response)
    assert not mail.outbox

    colleague = services.unit_member_add(manager=filer_a, unit=unit_a, email="colleague@example.cn")
    confirmation.email_confirm(user=colleague)  # as its invitation link does
    other = login(Client(), colleague)
    listing = text(other.get(reverse("enterprise:members")))
    assert "colleague@example.cn" in listing and filer_a.email in listing
    refused = other.post(reverse("enterprise:members"), {"email": "x@example.cn", "full_name": "X"})
    assert refused.status_code == 403
    assert not User.objects.filter(email="x@example.cn").exists()


# ---------------------------------------------------------------------------------------------
# Patents


def test_patent_add_accepts_messy_number_and_shows_normalised(filer_client: Client, unit_a: FilingUnit) -> None:
    response = filer_client.post(
        reverse("enterprise:patent_new"),
        {"number": "CN 2017 1060 1862 3", "title": "一种焊接方法", "legal_status": "valid", "kind": "owner"},
        follow=True,
    )
    body = text(response)
    assert response.status_code == 200
    assert "已登记专利 201710601862.3" in body
    assert 'data-testid="patent-number">201710601862.3<' in body
    right = PatentRight.objects.get(unit=unit_a)
    assert right.patent.number == "201710601862.3"
    assert right.patent.kind == "invention"


def test_patent_duplicate_and_bad_number(filer_client: Client, unit_a: FilingUnit, filer_a: User) -> None:
    services.patent_right_create(unit=unit_a, user=filer_a, data={"number": "201710601862.3", "title": "一种焊接方法"})
    duplicate = filer_client.post(
        reverse("enterprise:patent_new"), {"number": "ZL201710601862.3", "legal_status": "valid", "kind": "owner"}
    )
    assert duplicate.status_code == 400
    assert 'data-testid="error-number"' in text(duplicate)
    assert "本单位已登记专利 201710601862.3" in text(duplicate)

    bad = filer_client.post(
        reverse("enterprise:patent_new"), {"number": "201710601862.4", "title": "x", "legal_status": "valid"}
    )
    assert "校验位应为 3" in text(bad)
    assert 'value="201710601862.4"' in text(bad)
    licensee = filer_client.post(
        reverse("enterprise:patent_new"),
        {"number": "200710308494.X", "title": "许可专利", "legal_status": "valid", "kind": "licensee"},
    )
    assert 'data-testid="error-licence_kind"' in text(licensee)
    assert PatentRight.objects.filter(unit=unit_a).count() == 1


def test_patent_edit_and_delete(
    filer_client: Client,
    unit_a: FilingUnit,
    filer_a: User,
    add_right: Callable[..., PatentRight],
    new_version: Callable[..., ProductVersion],
) -> None:
    right = add_right(unit_a, filer_a)
    edited = filer_client.post(
        reverse("enterprise:patent_edit", args=[right.pk]),
        {
            "kind": "licensee",
            "licence_kind": "exclusive",
            "recordal_number": "2020990000123",
            "valid_until": "2030-12-31",
        },
    )
    assert edited.status_code == 302
    right.refresh_from_db()
    assert (right.kind, right.licence_kind, right.recordal_number) == ("licensee", "exclusive", "2020990000123")
    assert str(right.valid_until) == "2030-12-31"

    version = new_version(unit_a, filer_a, links=[{"right": right.pk, "is_core": True, "contribution": 50}])
    listing = text(filer_client.get(reverse("enterprise:patents")))
    assert version.name in listing  # the product using it is named
    confirm = text(filer_client.get(reverse("enterprise:patent_delete", args=[right.pk])))
    assert 'data-testid="patent-in-use"' in confirm and "data-confirm" in confirm
    refused = filer_client.post(reverse("enterprise:patent_delete", args=[right.pk]), follow=True)
    assert "该专利已关联到产品，不能删除" in text(refused)
    assert PatentRight.objects.filter(pk=right.pk).exists()

    spare = add_right(unit_a, filer_a)
    filer_client.post(reverse("enterprise:patent_delete", args=[spare.pk]))
    assert not PatentRight.objects.filter(pk=spare.pk).exists()


# ---------------------------------------------------------------------------------------------
# Products


def version_post(product_class: ProductClass, links: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "data_year": str(workflow.default_data_year()),  # ignored on the edit page
        "name": "智能焊接机器人",
        "model": "WR-200",
        "product_class": product_class.pk,
        "description": "六轴焊接机器人",
        "first_sale_date": "2021-03-01",
        "sales": "1000",
        "exports": "100",
        "output_value": "1200.5",
        "links-TOTAL_FORMS": str(len(links) + 1),  # one blank row, as added by "add another patent"
        "links-INITIAL_FORMS": "0",
        "links-MIN_NUM_FORMS": "0",
        "links-MAX_NUM_FORMS": "1000",
    }
    for i, link in enumerate(links):
        data[f"links-{i}-right"] = link["right"]
        data[f"links-{i}-contribution"] = link.get("contribution", "60")
        data[f"links-{i}-embodiment"] = link.get("embodiment", "")
        if link.get("is_core"):
            data[f"links-{i}-is_core"] = "on"
    data.update(fields)
    return data


def test_product_create_with_links_and_images(
    filer_client: Client,
    unit_a: FilingUnit,
    filer_a: User,
    add_right: Callable[..., PatentRight],
    product_class: ProductClass,
    media: Any,
) -> None:
    page = text(filer_client.get(reverse("enterprise:product_new")))
    default_year = workflow.default_data_year()
    assert f'<option value="{default_year}" selected>' in page
    assert f'<option value="{default_year + 1}"' not in page  # no later than last year
    assert "data-formset-template" in page and "__prefix__" in page
    r1, r2 = add_right(unit_a, filer_a), add_right(unit_a, filer_a, type_digit="2")
    data = version_post(
        product_class,
        [
            {"right": r1.pk, "is_core": True, "contribution": "60", "embodiment": "主体"},
            {"right": r2.pk, "contribution": "20"},
        ],
        data_year=str(default_year),
        certification_opt_in="on",
    )
    data["images"] = [
        SimpleUploadedFile("front.png", png("red"), content_type="image/png"),
        SimpleUploadedFile("side.png", png("blue"), content_type="image/png"),
    ]

    response = filer_client.post(reverse("enterprise:product_new"), data)

    assert response.status_code == 302
    version = ProductVersion.objects.get(product__unit=unit_a)
    assert response["Location"] == reverse("enterprise:version", args=[version.pk])
    assert version.data_year == default_year
    assert version.status == FilingStatus.DRAFT
    assert version.output_value == Decimal("1200.50")
    assert version.certification_opt_in
    links = {link.right_id: link for link in version.links.all()}
    assert set(links) == {r1.pk, r2.pk}
    assert links[r1.pk].is_core and not links[r2.pk].is_core
    assert links[r2.pk].contribution == Decimal(20)
    images = list(version.images.all())
    assert [i.content_type for i in images] == ["image/png", "image/png"]

    detail = text(filer_client.get(response["Location"]))
    assert "智能焊接机器人" in detail
    assert r1.patent.number in detail and r2.patent.number in detail
    assert reverse("enterprise:image", args=[images[0].pk]) in detail
    assert 'data-testid="checklist-ok"' in detail
    served = filer_client.get(reverse("enterprise:image", args=[images[0].pk]))
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == png("red")


def test_product_create_errors_keep_input(
    filer_client: Client,
    unit_a: FilingUnit,
    filer_a: User,
    add_right: Callable[..., PatentRight],
    product_class: ProductClass,
    media: Any,
) -> None:
    r1, r2 = add_right(unit_a, filer_a), add_right(unit_a, filer_a)
    too_much = version_post(
        product_class, [{"right": r1.pk, "is_core": True, "contribution": "70"}, {"right": r2.pk, "contribution": "40"}]
    )
    response = filer_client.post(reverse("enterprise:product_new"), too_much)
    body = text(response)
    assert response.status_code == 400
    assert 'data-testid="patent-errors"' in body
    assert "不能超过 100%" in body
    assert 'value="智能焊接机器人"' in body and 'value="70"' in body
    exports = version_post(product_class, [{"right": r1.pk, "is_core": True}], exports="5000")
    assert "不能大于上年度销售额" in text(filer_client.post(reverse("enterprise:product_new"), exports))

    fake = version_post(product_class, [{"right": r1.pk, "is_core": True}])
    fake["images"] = [SimpleUploadedFile("evil.png", b"<script>alert(1)</script>", content_type="image/png")]
    refused = text(filer_client.post(reverse("enterprise:product_new"), fake))
    assert 'data-testid="error-images"' in refused
    assert "只接受 JPG、PNG" in refused
    assert not Product.objects.filter(unit=unit_a).exists()


def test_version_edit_replaces_links_and_removes_images(
    filer_client: Client,
    unit_a: FilingUnit,
    filer_a: User,
    add_right: Callable[..., PatentRight],
    new_version: Callable[..., ProductVersion],
    product_class: ProductClass,
    media: Any,
) -> None:
    version = new_version(unit_a, filer_a)
    page = text(filer_client.get(reverse("enterprise:version_edit", args=[version.pk])))
    assert 'name="links-INITIAL_FORMS" value="1"' in page
    other = add_right(unit_a, filer_a)
    data = version_post(product_class, [{"right": other.pk, "is_core": True, "contribution": "30"}], name="新名称")
    data["images"] = [SimpleUploadedFile("a.png", png(), content_type="image/png")]
    assert filer_client.post(reverse("enterprise:version_edit", args=[version.pk]), data).status_code == 302
    version.refresh_from_db()
    assert version.name == "新名称"
    assert [link.right_id for link in version.links.all()] == [other.pk]
    image = version.images.get()
    data.pop("images")
    data["remove_images"] = [str(image.pk)]
    filer_client.post(reverse("enterprise:version_edit", args=[version.pk]), data)
    assert not version.images.exists()

    workflow.version_submit(version=version, user=filer_a)
    locked = filer_client.get(reverse("enterprise:version_edit", args=[version.pk]), follow=True)
    assert "不能修改" in text(locked)


def test_submit_shows_rule_errors(
    filer_client: Client,
    unit_a: FilingUnit,
    filer_a: User,
    add_right: Callable[..., PatentRight],
    new_version: Callable[..., ProductVersion],
) -> None:
    right = add_right(unit_a, filer_a)
    version = new_version(unit_a, filer_a, links=[{"right": right.pk, "is_core": False, "contribution": 50}])
    page = text(filer_client.get(reverse("enterprise:version", args=[version.pk])))
    assert 'data-testid="rule-error"' in page and "请至少标记一项核心专利" in page

    response = filer_client.post(reverse("enterprise:version_submit", args=[version.pk]), follow=True)

    body = text(response)
    assert "尚不能提交审核" in body
    assert "请至少标记一项核心专利" in body
    version.refresh_from_db()
    assert version.status == FilingStatus.DRAFT
    assert filer_client.get(reverse("enterprise:version_submit", args=[version.pk])).status_code == 405


def test_returned_reasons_shown_next_to_fields_then_resubmit(
    filer_client: Client,
    unit_a: FilingUnit,
    filer_a: User,
    reviewer: User,
    new_version: Callable[..., ProductVersion],
) -> None:
    version = new_version(unit_a, filer_a)
    submitted = filer_client.post(reverse("enterprise:version_submit", args=[version.pk]))
    assert submitted.status_code == 302
    version.refresh_from_db()
    assert version.status == FilingStatus.SUBMITTED
    workflow.version_return(
        version=version,
        user=reviewer,
        reasons={"sales": "销售额与年报不符", "": "请补充产品说明书", "patents": "请补充核心专利的证明"},
    )

    page = text(filer_client.get(reverse("enterprise:version", args=[version.pk])))
    assert re.search(r'data-testid="return-reason-sales">.*?销售额与年报不符', page, re.S)
    assert re.search(r'data-testid="return-reason-general">.*?请补充产品说明书', page, re.S)
    assert re.search(r'data-testid="return-reason-patents">.*?请补充核心专利的证明', page, re.S)
    assert "重新提交" in page
    edit = text(filer_client.get(reverse("enterprise:version_edit", args=[version.pk])))
    sales_input = edit.index('name="sales"')
    reason = edit.index('data-testid="return-reason-sales"')
    assert 0 < reason - sales_input < 1500  # right after the input
    assert 'data-testid="return-reason-patents"' in edit

    filer_client.post(reverse("enterprise:version_submit", args=[version.pk]))
    version.refresh_from_db()
    assert version.status == FilingStatus.RESUBMITTED
    history = text(filer_client.get(reverse("enterprise:version", args=[version.pk])))
    assert history.count('data-testid="history-row"') == 3
    assert "return-reason-sales" not in history


def test_withdraw_delete_opt_in(
    filer_client: Client, unit_a: FilingUnit, filer_a: User, new_version: Callable[..., ProductVersion]
) -> None:
    draft = new_version(unit_a, filer_a)
    page = text(filer_client.get(reverse("enterprise:version", args=[draft.pk])))
    assert 'data-testid="delete-button"' in page and "data-confirm" in page
    filer_client.post(reverse("enterprise:version_opt_in", args=[draft.pk]), {"opt_in": "1"})
    draft.refresh_from_db()
    assert draft.certification_opt_in
    filer_client.post(reverse("enterprise:version_opt_in", args=[draft.pk]), {"opt_in": "0"})
    draft.refresh_from_db()
    assert not draft.certification_opt_in

    deleted = filer_client.post(reverse("enterprise:version_delete", args=[draft.pk]))
    assert deleted["Location"] == reverse("enterprise:home")
    assert not ProductVersion.objects.filter(pk=draft.pk).exists()
    assert not Product.objects.filter(pk=draft.product_id).exists()

    version = new_version(unit_a, filer_a)
    workflow.version_submit(version=version, user=filer_a)
    kept = filer_client.post(reverse("enterprise:version_delete", args=[version.pk]), follow=True)
    assert "只有从未提交过的草稿可以删除" in text(kept)
    assert ProductVersion.objects.filter(pk=version.pk).exists()
    filer_client.post(reverse("enterprise:version_withdraw", args=[version.pk]), {"reason": "产品停产"})
    version.refresh_from_db()
    assert version.status == FilingStatus.WITHDRAWN
    assert version.transitions.last().reason == "产品停产"
    again = filer_client.post(reverse("enterprise:version_withdraw", args=[version.pk]), follow=True)
    assert "不能执行" in text(again)
    closed = filer_client.post(reverse("enterprise:version_opt_in", args=[version.pk]), {"opt_in": "1"}, follow=True)
    assert "不能参与认定" in text(closed)


def test_yearly_update(
    filer_client: Client,
    unit_a: FilingUnit,
    filer_a: User,
    reviewer: User,
    add_right: Callable[..., PatentRight],
    product_class: ProductClass,
) -> None:
    right = add_right(unit_a, filer_a)
    year = workflow.default_data_year()
    old = services.product_create(
        unit=unit_a,
        user=filer_a,
        data={"name": "旧年产品", "product_class": product_class, "sales": 10, "exports": 1, "output_value": 12},
        links=[{"right": right.pk, "is_core": True, "contribution": 80}],
        data_year=year - 1,
    )
    workflow.version_submit(version=old, user=filer_a)
    workflow.version_approve(version=old, user=reviewer)
    page = text(filer_client.get(reverse("enterprise:version", args=[old.pk])))
    assert 'data-testid="yearly-update-button"' in page
    assert old.product.filing_number in page
    for name, arg in (("documents:receipt", old.product_id), ("public:product", old.product.filing_number)):
        try:
            url = reverse(name, args=[arg])
        except NoReverseMatch:  # built by another part of the platform; the button appears once it exists
            continue
        assert f'href="{url}"' in page, name

    response = filer_client.post(reverse("enterprise:product_yearly_update", args=[old.product_id]))

    new = ProductVersion.objects.get(product=old.product, data_year=year)
    assert response["Location"] == reverse("enterprise:version_edit", args=[new.pk])
    assert new.status == FilingStatus.DRAFT
    assert [link.right_id for link in new.links.all()] == [right.pk]
    again = filer_client.post(reverse("enterprise:product_yearly_update", args=[old.product_id]), follow=True)
    assert f"另一操作已先完成：{year} 年度的更新草稿已于" in text(again)  # the second click (issue 17 §5)
    assert old.product.versions.count() == 2


# ---------------------------------------------------------------------------------------------
# Exports


def sheet_rows(response: Any) -> list[tuple[Any, ...]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(BytesIO(response.content), read_only=True)
    return [tuple(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]


def test_exports_hold_the_units_rows_only(
    filer_client: Client,
    unit_a: FilingUnit,
    unit_b: FilingUnit,
    filer_a: User,
    filer_b: User,
    new_version: Callable[..., ProductVersion],
) -> None:
    new_version(unit_a, filer_a, name="甲产品")
    new_version(unit_b, filer_b, name="乙产品")

    products = sheet_rows(filer_client.get(reverse("enterprise:products_export")))
    assert products[0][1] == "产品名称"
    assert [row[1] for row in products[1:]] == ["甲产品"]
    assert products[1][3] == workflow.default_data_year()
    assert products[1][5] == "草稿"

    patents = sheet_rows(filer_client.get(reverse("enterprise:patents_export")))
    own = PatentRight.objects.get(unit=unit_a)
    assert patents[0][0] == "申请号"
    assert [row[0] for row in patents[1:]] == [own.patent.number]
    assert patents[1][8] == "甲产品"
    exports = AuditEvent.objects.filter(action=AuditAction.EXPORT, actor_id=filer_a.pk)
    assert set(exports.values_list("object_type", flat=True)) == {"filings.Product", "filings.PatentRight"}


# ---------------------------------------------------------------------------------------------
# Scoping: another unit, and other roles, get 404


def test_other_unit_gets_404_everywhere(
    client: Client,
    unit_a: FilingUnit,
    filer_a: User,
    filer_b: User,
    new_version: Callable[..., ProductVersion],
    media: Any,
) -> None:
    version = new_version(unit_a, filer_a)
    image = version.images.create(file=SimpleUploadedFile("x.png", png()), content_type="image/png")
    right = version.links.get().right
    login(client, filer_b)
    gets = [
        reverse("enterprise:version", args=[version.pk]),
        reverse("enterprise:version_edit", args=[version.pk]),
        reverse("enterprise:image", args=[image.pk]),
        reverse("enterprise:patent_edit", args=[right.pk]),
        reverse("enterprise:patent_delete", args=[right.pk]),
    ]
    posts = [
        reverse("enterprise:version_edit", args=[version.pk]),
        reverse("enterprise:version_submit", args=[version.pk]),
        reverse("enterprise:version_withdraw", args=[version.pk]),
        reverse("enterprise:version_delete", args=[version.pk]),
        reverse("enterprise:version_opt_in", args=[version.pk]),
        reverse("enterprise:product_yearly_update", args=[version.product_id]),
        reverse("enterprise:patent_edit", args=[right.pk]),
        reverse("enterprise:patent_delete", args=[right.pk]),
    ]
    for url in gets:
        assert client.get(url).status_code == 404, url
    for url in posts:
        assert client.post(url, {"opt_in": "1", "kind": "owner"}).status_code == 404, url
    version.refresh_from_db()
    assert version.status == FilingStatus.DRAFT and not version.certification_opt_in
    assert PatentRight.objects.filter(pk=right.pk).exists()
    listing = text(client.get(reverse("enterprise:home")))
    assert version.name not in listing
    assert right.patent.number not in text(client.get(reverse("enterprise:patents")))


@pytest.mark.parametrize("who", ["reviewer", "port_admin"])
def test_reviewer_and_port_admin_get_404_on_enterprise_pages(
    client: Client,
    request: pytest.FixtureRequest,
    who: str,
    unit_a: FilingUnit,
    filer_a: User,
    new_version: Callable[..., ProductVersion],
) -> None:
    version = new_version(unit_a, filer_a)
    right = version.links.get().right
    login(client, request.getfixturevalue(who))
    for name, args in [
        ("home", []),
        ("unit_edit", []),
        ("members", []),
        ("patents", []),
        ("patent_new", []),
        ("patents_export", []),
        ("products_export", []),
        ("product_new", []),
        ("version", [version.pk]),
        ("version_edit", [version.pk]),
        ("patent_edit", [right.pk]),
    ]:
        assert client.get(reverse(f"enterprise:{name}", args=args)).status_code == 404, name
    for name in ("version_submit", "version_withdraw", "version_delete", "version_opt_in"):
        assert client.post(reverse(f"enterprise:{name}", args=[version.pk])).status_code == 404, name
    version.refresh_from_db()
    assert version.status == FilingStatus.DRAFT


def test_anonymous_is_sent_to_login(client: Client, unit_a: FilingUnit) -> None:
    response = client.get(reverse("enterprise:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
