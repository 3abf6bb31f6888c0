"""The reviewer's desk: the queue (filters, age, counts, export), the review page and its actions, scoping."""

import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from filings import services, workflow
from filings.choices import FilingStatus, LegalStatus
from filings.models import FilingUnit, ProductClass, ProductImage, ProductVersion, ReturnReason
from patent_platform.choices import AuditAction, Role
from patent_platform.models import AuditEvent, User

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def national(make_user: Callable[..., User]) -> User:
    return make_user("national-r@example.cn", Role.NATIONAL_ADMIN)


def _port_admin(make_user: Callable[..., User], email: str, port_code: str) -> User:
    from provincial.models import ManagementUnit
    from provincial.services import port_add_admin

    user = make_user(email, Role.PORT_ADMIN)
    port_add_admin(unit=ManagementUnit.objects.get(code=port_code), user=user)
    return User.objects.get(pk=user.pk)


@pytest.fixture
def port_guangdong(make_user: Callable[..., User], reference: None) -> User:
    return _port_admin(make_user, "port-gd@example.cn", "440000")


@pytest.fixture
def submit() -> Callable[..., ProductVersion]:
    def do(version: ProductVersion, user: User, days_ago: int = 0) -> ProductVersion:
        workflow.version_submit(version=version, user=user)
        if days_ago:
            # time passes: the version has been waiting for `days_ago` days
            ProductVersion.objects.filter(pk=version.pk).update(
                submitted_at=timezone.now() - dt.timedelta(days=days_ago, hours=1)
            )
        version.refresh_from_db()
        return version

    return do


def _rows(response: Any) -> list[int]:
    return [v.pk for v in response.context["versions"]]


def _login(client: Any, user: User) -> Any:
    client.force_login(user)
    return client


# --------------------------------------------------------------------------------------------- queue


def test_queue_lists_waiting_versions_oldest_first_with_age(
    client: Any, reviewer: User, unit_a: FilingUnit, filer_a: User, new_version: Callable, submit: Callable
) -> None:
    old = submit(new_version(unit_a, filer_a, name="老产品"), filer_a, days_ago=8)
    recent = submit(new_version(unit_a, filer_a, name="新产品"), filer_a, days_ago=1)
    new_version(unit_a, filer_a, name="草稿产品")  # a draft is not the reviewer's business
    approved = submit(new_version(unit_a, filer_a, name="已通过产品"), filer_a)
    workflow.version_approve(version=approved, user=reviewer)

    response = _login(client, reviewer).get(reverse("review:queue"))
    assert response.status_code == 200
    assert _rows(response) == [old.pk, recent.pk]
    html = response.content.decode()
    assert "草稿产品" not in html and "已通过产品" not in html
    ages = {v.pk: (v.age_days, v.is_stale) for v in response.context["versions"]}
    assert ages == {old.pk: (8, True), recent.pk: (1, False)}
    assert html.count('data-stale="true"') == 1
    counts = response.context["counts"]
    assert counts["pending"] == 2 and counts["approved"] == 1 and counts["all"] == 3


def test_queue_status_filters_and_counts(
    client: Any, reviewer: User, unit_a: FilingUnit, filer_a: User, new_version: Callable, submit: Callable
) -> None:
    returned = submit(new_version(unit_a, filer_a, name="退回产品"), filer_a)
    workflow.version_return(version=returned, user=reviewer, reasons={"name": "名称不规范"})
    revoked = submit(new_version(unit_a, filer_a, name="撤销产品"), filer_a)
    workflow.version_approve(version=revoked, user=reviewer)
    workflow.version_revoke(version=revoked, user=reviewer, reason="数据不实")
    pending = submit(new_version(unit_a, filer_a, name="待审产品"), filer_a)

    client = _login(client, reviewer)
    assert _rows(client.get(reverse("review:queue"), {"status": "returned"})) == [returned.pk]
    assert _rows(client.get(reverse("review:queue"), {"status": "revoked"})) == [revoked.pk]
    assert _rows(client.get(reverse("review:queue"), {"status": "approved"})) == []
    assert set(_rows(client.get(reverse("review:queue"), {"status": "all"}))) == {returned.pk, revoked.pk, pending.pk}
    empty = client.get(reverse("review:queue"), {"status": "approved"})
    assert 'data-testid="queue-empty"' in empty.content.decode()
    counts = empty.context["counts"]
    assert (counts["pending"], counts["returned"], counts["approved"], counts["revoked"]) == (1, 1, 0, 1)


def test_queue_filters_by_province_class_year_and_text(
    client: Any,
    reviewer: User,
    unit_a: FilingUnit,
    unit_b: FilingUnit,
    filer_a: User,
    filer_b: User,
    new_version: Callable,
    submit: Callable,
) -> None:
    other_class = ProductClass.objects.exclude(code="03").filter(is_active=True).first()
    a = submit(new_version(unit_a, filer_a, name="广州伺服电机"), filer_a)
    b = submit(new_version(unit_b, filer_b, name="杭州石墨烯膜", product_class=other_class), filer_b)
    approved = submit(new_version(unit_a, filer_a, name="广州减速器"), filer_a)
    workflow.version_approve(version=approved, user=reviewer)
    number = approved.product.filing_number

    client = _login(client, reviewer)
    queue = reverse("review:queue")
    assert _rows(client.get(queue, {"province": "440000"})) == [a.pk]
    assert _rows(client.get(queue, {"province": "330000"})) == [b.pk]
    assert _rows(client.get(queue, {"product_class": other_class.pk})) == [b.pk]
    assert _rows(client.get(queue, {"data_year": a.data_year})) == [a.pk, b.pk]
    assert _rows(client.get(queue, {"data_year": a.data_year - 1})) == []
    assert _rows(client.get(queue, {"q": "石墨烯"})) == [b.pk]  # product name
    assert _rows(client.get(queue, {"q": "杭州测试"})) == [b.pk]  # unit name
    assert _rows(client.get(queue, {"q": unit_a.uscc.lower()})) == [a.pk]  # USCC
    assert _rows(client.get(queue, {"q": number, "status": "all"})) == [approved.pk]  # filing number
    # an invalid filter is ignored and shown, not a server error
    bad = client.get(queue, {"data_year": "abc"})
    assert bad.status_code == 200 and set(_rows(bad)) == {a.pk, b.pk}


def test_queue_has_no_n_plus_one(
    client: Any, reviewer: User, unit_a: FilingUnit, filer_a: User, new_version: Callable, submit: Callable
) -> None:
    client = _login(client, reviewer)
    for i in range(2):
        submit(new_version(unit_a, filer_a, name=f"产品{i}"), filer_a)
    client.get(reverse("review:queue"))  # the first page after login also looks up the 2FA device, once
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("review:queue"))
    for i in range(2, 7):
        submit(new_version(unit_a, filer_a, name=f"产品{i}"), filer_a)
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("review:queue"))
    assert len(response.context["versions"]) == 7
    assert len(many.captured_queries) == len(few.captured_queries)


def test_queue_paginates(
    client: Any,
    reviewer: User,
    unit_a: FilingUnit,
    filer_a: User,
    new_version: Callable,
    submit: Callable,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from filings.views.review import ReviewQueueView

    monkeypatch.setattr(ReviewQueueView, "paginate_by", 2)
    versions = [submit(new_version(unit_a, filer_a, name=f"分页{i}"), filer_a) for i in range(3)]
    client = _login(client, reviewer)
    first = client.get(reverse("review:queue"))
    assert _rows(first) == [versions[0].pk, versions[1].pk]
    assert 'data-testid="next-page"' in first.content.decode()
    assert _rows(client.get(reverse("review:queue"), {"page": 2})) == [versions[2].pk]


def test_export_writes_the_filtered_rows_and_an_audit_event(
    client: Any,
    reviewer: User,
    unit_a: FilingUnit,
    unit_b: FilingUnit,
    filer_a: User,
    filer_b: User,
    new_version: Callable,
    submit: Callable,
) -> None:
    submit(new_version(unit_a, filer_a, name="广州伺服电机"), filer_a, days_ago=7)
    submit(new_version(unit_b, filer_b, name="杭州石墨烯膜"), filer_b)
    response = _login(client, reviewer).get(reverse("review:export"), {"province": "440000"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "filename*=utf-8''" in response["Content-Disposition"].lower()
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "产品名称"
    assert len(rows) == 2
    assert rows[1][0] == "广州伺服电机" and rows[1][4] == unit_a.name and rows[1][5] == unit_a.uscc
    assert rows[1][6] == "广东省" and rows[1][9] == 7
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.actor_id == reviewer.pk and event.changes["rows"] == 1
    assert event.changes["filters"] == {"province": "440000"}


# --------------------------------------------------------------------------------------------- review page


def test_review_page_shows_version_patents_unit_checks_and_history(
    client: Any,
    reviewer: User,
    unit_a: FilingUnit,
    filer_a: User,
    add_right: Callable,
    new_version: Callable,
    submit: Callable,
    settings: Any,
    tmp_path: Any,
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    right = add_right(unit_a, filer_a, kind="licensee", licence_kind="exclusive", recordal_number="X2023440000123")
    links = [{"right": right.pk, "is_core": True, "contribution": Decimal("75.5"), "embodiment": "控制算法"}]
    version = submit(new_version(unit_a, filer_a, links=links, name="智能伺服驱动器"), filer_a)
    image = ProductImage.objects.create(
        version=version, file=ContentFile(PNG, name="p.png"), content_type="image/png", caption="正面"
    )
    # after submission the patent lapses: the automatic checks warn the reviewer
    right.patent.legal_status = LegalStatus.LAPSED
    right.patent.save()

    response = _login(client, reviewer).get(reverse("review:detail", args=[version.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    for text in (
        "智能伺服驱动器",
        right.patent.number,
        right.patent.title,
        "被许可人",
        "独占许可",
        "X2023440000123",
        "75.50%",
        "控制算法",
        unit_a.name,
        unit_a.uscc,
        "广东省广州市天河区",
    ):
        assert text in html, text
    assert 'data-testid="rule-warnings"' in html and "失效" in html
    assert reverse("review:image", args=[image.pk]) in html
    assert response.context["transitions"][0].action == "submit"
    image_response = client.get(reverse("review:image", args=[image.pk]))
    assert image_response.status_code == 200 and b"".join(image_response.streaming_content) == PNG


def test_yearly_update_shows_previous_figures_and_change(
    client: Any,
    reviewer: User,
    unit_a: FilingUnit,
    filer_a: User,
    add_right: Callable,
    product_class: ProductClass,
    submit: Callable,
) -> None:
    right = add_right(unit_a, filer_a)
    first = services.product_create(
        unit=unit_a,
        user=filer_a,
        data={"name": "年度产品", "product_class": product_class, "sales": Decimal(1000), "output_value": Decimal(1)},
        links=[{"right": right.pk, "is_core": True, "contribution": Decimal(50)}],
        data_year=workflow.default_data_year() - 1,
    )
    submit(first, filer_a)
    workflow.version_approve(version=first, user=reviewer)
    update = workflow.product_yearly_update_start(product=first.product, user=filer_a)
    services.version_update(version=update, user=filer_a, data={"sales": Decimal(1500)})
    submit(update, filer_a)

    response = _login(client, reviewer).get(reverse("review:detail", args=[update.pk]))
    assert response.context["previous"].pk == first.pk
    sales = response.context["figures"][0]
    assert (sales["previous"], sales["value"], sales["delta"], sales["percent"]) == (
        Decimal(1000),
        Decimal(1500),
        Decimal(500),
        Decimal("50.0"),
    )
    assert "+500.00 (+50.0%)" in response.content.decode()


# --------------------------------------------------------------------------------------------- actions


def test_return_with_reasons_per_field_mails_the_filer(
    client: Any,
    reviewer: User,
    unit_a: FilingUnit,
    filer_a: User,
    new_version: Callable,
    submit: Callable,
    django_capture_on_commit_callbacks: Callable,
) -> None:
    version = submit(new_version(unit_a, filer_a), filer_a)
    client = _login(client, reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("review:return", args=[version.pk]),
            {"reason_general": "请补充产品图片", "reason_sales": "销售额与产值不符", "reason_name": "  "},
            follow=True,
        )
    assert response.redirect_chain[-1][0] == reverse("review:detail", args=[version.pk])
    assert "已退回修改" in response.content.decode()
    version.refresh_from_db()
    assert version.status == FilingStatus.RETURNED
    assert dict(ReturnReason.objects.filter(version=version).values_list("field", "message")) == {
        "": "请补充产品图片",
        "sales": "销售额与产值不符",
    }
    assert [m.to for m in mail.outbox] == [[filer_a.email]]
    assert "销售额与产值不符" in mail.outbox[0].body


def test_return_without_reason_is_refused_and_keeps_nothing_changed(
    client: Any, reviewer: User, unit_a: FilingUnit, filer_a: User, new_version: Callable, submit: Callable
) -> None:
    version = submit(new_version(unit_a, filer_a), filer_a)
    response = _login(client, reviewer).post(reverse("review:return", args=[version.pk]), {"reason_general": " "})
    assert response.status_code == 200
    assert "退回时请至少填写一条理由" in response.content.decode()
    version.refresh_from_db()
    assert version.status == FilingStatus.SUBMITTED


def test_workflow_error_is_shown_and_the_input_kept(
    client: Any, reviewer: User, approved_version: ProductVersion
) -> None:
    response = _login(client, reviewer).post(
        reverse("review:return", args=[approved_version.pk]), {"reason_model": "型号写法不规范"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "不能执行" in html  # the version is approved: it cannot be returned
    assert "型号写法不规范</textarea>" in html


def test_approve_allocates_a_filing_number_and_publishes(
    client: Any, reviewer: User, unit_a: FilingUnit, filer_a: User, new_version: Callable, submit: Callable
) -> None:
    version = submit(new_version(unit_a, filer_a, name="待通过产品"), filer_a)
    client = _login(client, reviewer)
    page = client.get(reverse("review:detail", args=[version.pk])).content.decode()
    assert 'data-testid="approve"' in page and "data-confirm=" in page
    response = client.post(reverse("review:approve", args=[version.pk]), follow=True)
    version.refresh_from_db()
    number = version.product.filing_number
    assert version.status == FilingStatus.APPROVED
    assert number and number.startswith("BA") and number[6:8] == "44"
    assert number in response.content.decode()  # the success message names the new number
    assert client.get(reverse("public:product", args=[number])).status_code == 200


def test_approve_refused_when_a_check_fails(
    client: Any, reviewer: User, unit_a: FilingUnit, filer_a: User, new_version: Callable, submit: Callable
) -> None:
    version = submit(new_version(unit_a, filer_a), filer_a)
    patent = version.links.get().right.patent
    patent.legal_status = LegalStatus.INVALIDATED
    patent.save()
    response = _login(client, reviewer).post(reverse("review:approve", args=[version.pk]))
    assert response.status_code == 200
    assert "被宣告无效" in response.content.decode()
    version.refresh_from_db()
    assert version.status == FilingStatus.SUBMITTED and not version.product.filing_number


def test_revoke_requires_a_reason_and_removes_the_product_from_public_pages(
    client: Any, reviewer: User, approved_version: ProductVersion
) -> None:
    number = approved_version.product.filing_number
    assert client.get(reverse("public:product", args=[number])).status_code == 200
    client = _login(client, reviewer)
    refused = client.post(reverse("review:revoke", args=[approved_version.pk]), {"reason": "  "})
    assert refused.status_code == 200 and "撤销备案须说明理由" in refused.content.decode()
    approved_version.refresh_from_db()
    assert approved_version.status == FilingStatus.APPROVED

    done = client.post(reverse("review:revoke", args=[approved_version.pk]), {"reason": "专利已转让"})
    assert done.status_code == 302
    approved_version.refresh_from_db()
    assert approved_version.status == FilingStatus.REVOKED
    assert approved_version.transitions.last().reason == "专利已转让"
    client.logout()
    gone = client.get(reverse("public:product", args=[number]))  # a printed QR code still gets an answer
    assert gone.status_code == 410 and approved_version.name not in gone.content.decode()
    search = client.get(reverse("public:search"), {"q": number})
    assert list(search.context["products"]) == []
    assert 'data-testid="public-empty"' in search.content.decode()


def test_actions_are_post_only(client: Any, reviewer: User, approved_version: ProductVersion) -> None:
    response = _login(client, reviewer).get(reverse("review:revoke", args=[approved_version.pk]))
    assert response.status_code == 405


# --------------------------------------------------------------------------------------------- scoping


def test_national_admin_may_review(client: Any, national: User, approved_version: ProductVersion) -> None:
    client = _login(client, national)
    assert client.get(reverse("review:queue")).status_code == 200
    assert client.get(reverse("review:detail", args=[approved_version.pk])).status_code == 200


@pytest.mark.parametrize("who", ["filer_a", "filer_b", "port_guangdong"])
def test_enterprise_users_and_port_admins_get_404(
    client: Any,
    who: str,
    request: pytest.FixtureRequest,
    approved_version: ProductVersion,
    settings: Any,
    tmp_path: Any,
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    image = ProductImage.objects.create(
        version=approved_version, file=ContentFile(PNG, name="p.png"), content_type="image/png"
    )
    client = _login(client, request.getfixturevalue(who))
    pk = approved_version.pk
    for url in (
        reverse("review:queue"),
        reverse("review:export"),
        reverse("review:detail", args=[pk]),
        reverse("review:image", args=[image.pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("review:revoke", args=[pk]), {"reason": "x"}).status_code == 404
    approved_version.refresh_from_db()
    assert approved_version.status == FilingStatus.APPROVED


def test_anonymous_is_sent_to_login(client: Any, approved_version: ProductVersion) -> None:
    response = client.get(reverse("review:detail", args=[approved_version.pk]))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_missing_version_is_404(client: Any, reviewer: User) -> None:
    assert _login(client, reviewer).get(reverse("review:detail", args=[999999])).status_code == 404
