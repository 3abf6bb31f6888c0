"""The filing workflow: every transition from every state, who may act, and what each step leaves behind.

Versions are brought into each state through the real workflow (no status written into the table), so
the table test also proves that every state is reachable the way a user reaches it.
"""

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.http import Http404
from guardian.shortcuts import assign_perm

from filings import services, workflow
from filings.choices import FilingStatus
from filings.models import (
    FilingUnit,
    PatentRight,
    Product,
    ProductClass,
    ProductImage,
    ProductVersion,
    ReturnReason,
    Transition,
    UnitMembership,
)
from filings.workflow import RULES, WorkflowError
from patent_platform.choices import AuditAction, Role
from patent_platform.models import AuditEvent, Region, User
from patent_platform.models.regions import MANAGE_REGION_PERMISSION
from patent_platform.scoping import forget_scope

# embedded (CI runs it on SQLite too): row locks (select_for_update) are no-ops on SQLite
pytestmark = pytest.mark.embedded

S = FilingStatus
REASONS = {"sales": "销售额与财务报表不一致，请核对。", "patents": "核心专利与产品的关系请补充说明。"}

# --------------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture
def national(make_user: Callable[..., User]) -> User:
    return make_user("national-w@example.cn", Role.NATIONAL_ADMIN)


@pytest.fixture
def other_reviewer(make_user: Callable[..., User]) -> User:
    return make_user("reviewer-2@example.cn", Role.REVIEWER)


def _port_admin(make_user: Callable[..., User], email: str, region_code: str) -> User:
    user = make_user(email, Role.PORT_ADMIN)
    assign_perm(MANAGE_REGION_PERMISSION, user, Region.objects.get(code=region_code))
    forget_scope(user)
    return user


@pytest.fixture
def port_gd(make_user: Callable[..., User], reference: None) -> User:
    """The Guangdong port: unit_a (广州) is inside its scope."""
    return _port_admin(make_user, "port-gd@example.cn", "440000")


@pytest.fixture
def port_zj(make_user: Callable[..., User], reference: None) -> User:
    """The Zhejiang port: unit_a is outside its scope."""
    return _port_admin(make_user, "port-zj@example.cn", "330000")


@pytest.fixture
def colleague(make_user: Callable[..., User], unit_a: FilingUnit) -> User:
    """A second member of unit A (not its manager): hears about the unit's filings too."""
    user = make_user("colleague-a@example.cn", Role.ENTERPRISE)
    UnitMembership.objects.create(user=user, unit=unit_a, is_manager=False)
    return user


@pytest.fixture
def reach(
    new_version: Callable[..., ProductVersion], unit_a: FilingUnit, filer_a: User, reviewer: User
) -> Callable[[str], ProductVersion]:
    """reach(status): a fresh version of unit A brought into `status` through the workflow."""

    paths: dict[str, list[Callable[[ProductVersion], Any]]] = {
        S.DRAFT: [],
        S.SUBMITTED: [lambda v: workflow.version_submit(version=v, user=filer_a)],
        S.RETURNED: [
            lambda v: workflow.version_submit(version=v, user=filer_a),
            lambda v: workflow.version_return(version=v, user=reviewer, reasons=REASONS),
        ],
        S.RESUBMITTED: [
            lambda v: workflow.version_submit(version=v, user=filer_a),
            lambda v: workflow.version_return(version=v, user=reviewer, reasons=REASONS),
            lambda v: workflow.version_submit(version=v, user=filer_a),
        ],
        S.APPROVED: [
            lambda v: workflow.version_submit(version=v, user=filer_a),
            lambda v: workflow.version_approve(version=v, user=reviewer),
        ],
        S.WITHDRAWN: [lambda v: workflow.version_withdraw(version=v, user=filer_a, reason="不再备案")],
        S.REVOKED: [
            lambda v: workflow.version_submit(version=v, user=filer_a),
            lambda v: workflow.version_approve(version=v, user=reviewer),
            lambda v: workflow.version_revoke(version=v, user=reviewer, reason="产品已停产"),
        ],
    }

    def make(status: str) -> ProductVersion:
        version = new_version(unit_a, filer_a)
        for step in paths[status]:
            step(version)
        version.refresh_from_db()
        assert version.status == status
        return version

    return make


def _product(
    unit: FilingUnit, user: User, right: PatentRight, product_class: ProductClass, data_year: int, **data: Any
) -> ProductVersion:
    fields = {
        "name": "年度更新测试产品",
        "model": "Y-1",
        "product_class": product_class,
        "sales": Decimal("2000.50"),
        "exports": Decimal("300"),
        "output_value": Decimal("2500"),
        "description": "用于年度更新的测试产品",
        **data,
    }
    links = [{"right": right.pk, "is_core": True, "contribution": Decimal("45.5"), "embodiment": "控制模块"}]
    return services.product_create(unit=unit, user=user, data=fields, links=links, data_year=data_year)


def _approve(version: ProductVersion, filer: User, reviewer: User) -> ProductVersion:
    workflow.version_submit(version=version, user=filer)
    workflow.version_approve(version=version, user=reviewer)
    version.refresh_from_db()
    return version


def _counts(version: ProductVersion) -> tuple[int, int, int]:
    return (
        Transition.objects.filter(version=version).count(),
        AuditEvent.objects.filter(object_type="filings.ProductVersion", object_id=str(version.pk)).count(),
        ReturnReason.objects.filter(version=version).count(),
    )


# --------------------------------------------------------------------------------------------------
# the state table


def _perform(action: str, version: ProductVersion, filer: User, reviewer: User) -> None:
    """The public function a user's action calls, with an actor the rule allows."""
    if action in ("submit", "resubmit"):
        workflow.version_submit(version=version, user=filer)  # one button: it resubmits a returned version
    elif action == "return":
        workflow.version_return(version=version, user=reviewer, reasons={"name": "产品名称与型号不符"})
    elif action == "approve":
        workflow.version_approve(version=version, user=reviewer)
    elif action == "withdraw":
        workflow.version_withdraw(version=version, user=filer, reason="企业决定撤回")
    elif action == "revoke":
        workflow.version_revoke(version=version, user=reviewer, reason="发现专利权属争议")
    else:  # pragma: no cover - a new rule needs a line here
        raise AssertionError(f"no test step for {action}")


def test_the_table_covers_every_rule_and_state() -> None:
    assert set(RULES) == {"submit", "resubmit", "return", "approve", "withdraw", "revoke"}
    for rule in RULES.values():
        assert rule.sources <= set(S.values) and rule.target in S.values
    # every state but the draft is some rule's target, so every state is reachable
    assert {rule.target for rule in RULES.values()} | {S.DRAFT} == set(S.values)


@pytest.mark.parametrize("status", S.values)
@pytest.mark.parametrize("action", list(RULES))
def test_every_transition_from_every_state(
    action: str, status: str, reach: Callable[[str], ProductVersion], filer_a: User, reviewer: User
) -> None:
    version = reach(status)
    effective = "resubmit" if action in ("submit", "resubmit") and status == S.RETURNED else action
    if action in ("submit", "resubmit") and status == S.DRAFT:
        effective = "submit"
    rule = RULES[effective]
    before = _counts(version)
    decided_before = version.decided_at

    if status in rule.sources:
        _perform(action, version, filer_a, reviewer)
        version.refresh_from_db()
        assert version.status == rule.target
        record = Transition.objects.filter(version=version).latest("id")
        assert (record.action, record.from_status, record.to_status) == (effective, status, rule.target)
        event = AuditEvent.objects.filter(
            action=AuditAction.TRANSITION, object_type="filings.ProductVersion", object_id=str(version.pk)
        ).latest("id")
        assert event.changes == {"status": [status, rule.target]}
        assert event.message.startswith(effective)
    else:
        with pytest.raises(WorkflowError) as exc:
            _perform(action, version, filer_a, reviewer)
        assert exc.value.code == "invalid_transition"
        assert str(S(status).label) in exc.value.messages[0]
        version.refresh_from_db()
        assert version.status == status
        assert version.decided_at == decided_before
        assert _counts(version) == before  # no transition, no audit record, no reasons


@pytest.mark.parametrize("status", S.values)
def test_allowed_actions_follow_the_rules(
    status: str,
    reach: Callable[[str], ProductVersion],
    filer_a: User,
    reviewer: User,
    national: User,
    port_gd: User,
) -> None:
    version = reach(status)
    for user in (filer_a, reviewer, national, port_gd):
        expected = [name for name, rule in RULES.items() if status in rule.sources and user.role in rule.actors]
        assert workflow.allowed_actions(version, user) == expected
    assert workflow.allowed_actions(version, port_gd) == []  # a port only watches


# --------------------------------------------------------------------------------------------------
# who may act


def test_roles_that_may_not_act_are_refused_and_nothing_changes(
    reach: Callable[[str], ProductVersion], filer_a: User, reviewer: User, port_gd: User
) -> None:
    draft = reach(S.DRAFT)
    for user in (reviewer, port_gd):
        with pytest.raises(PermissionDenied):
            workflow.version_submit(version=draft, user=user)
        with pytest.raises(PermissionDenied):
            workflow.version_withdraw(version=draft, user=user)
    pending = reach(S.SUBMITTED)
    for user in (filer_a, port_gd):
        with pytest.raises(PermissionDenied):
            workflow.version_approve(version=pending, user=user)
        with pytest.raises(PermissionDenied):
            workflow.version_return(version=pending, user=user, reasons=REASONS)
    approved = reach(S.APPROVED)
    for user in (filer_a, port_gd):
        with pytest.raises(PermissionDenied):
            workflow.version_revoke(version=approved, user=user, reason="理由")
    for version, status in ((draft, S.DRAFT), (pending, S.SUBMITTED), (approved, S.APPROVED)):
        version.refresh_from_db()
        assert version.status == status
    assert not Transition.objects.filter(version=draft).exists()


def test_another_units_filer_and_an_outside_port_do_not_even_find_the_filing(
    reach: Callable[[str], ProductVersion], filer_b: User, port_zj: User
) -> None:
    draft = reach(S.DRAFT)
    with pytest.raises(Http404):
        workflow.version_submit(version=draft, user=filer_b)
    with pytest.raises(Http404):
        workflow.version_withdraw(version=draft, user=filer_b)
    with pytest.raises(Http404):
        workflow.version_set_certification_opt_in(version=draft, user=filer_b, opt_in=True)
    with pytest.raises(Http404):
        workflow.product_yearly_update_start(product=draft.product, user=filer_b)
    with pytest.raises((Http404, PermissionDenied)):
        workflow.version_approve(version=reach(S.SUBMITTED), user=port_zj)
    draft.refresh_from_db()
    assert draft.status == S.DRAFT and not draft.certification_opt_in


def test_a_national_administrator_may_review(reach: Callable[[str], ProductVersion], national: User) -> None:
    version = reach(S.SUBMITTED)
    workflow.version_approve(version=version, user=national)
    assert version.status == S.APPROVED and version.decided_by == national


# --------------------------------------------------------------------------------------------------
# return for correction and resubmission


def test_return_needs_at_least_one_reason(reach: Callable[[str], ProductVersion], reviewer: User) -> None:
    version = reach(S.SUBMITTED)
    for reasons in ({}, {"": "  "}, {"sales": ""}):
        with pytest.raises(ValidationError) as exc:
            workflow.version_return(version=version, user=reviewer, reasons=reasons)
        assert exc.value.messages == ["退回时请至少填写一条理由。"]
    with pytest.raises(ValidationError, match="未知字段"):
        workflow.version_return(version=version, user=reviewer, reasons={"password": "x"})
    version.refresh_from_db()
    assert version.status == S.SUBMITTED and version.review_round == 0
    assert not ReturnReason.objects.filter(version=version).exists()


def test_reasons_are_stored_per_field_with_the_review_round(
    reach: Callable[[str], ProductVersion], filer_a: User, reviewer: User
) -> None:
    version = reach(S.SUBMITTED)
    workflow.version_return(version=version, user=reviewer, reasons={**REASONS, "": "  请整体核对。 "})
    version.refresh_from_db()
    assert version.status == S.RETURNED and version.review_round == 1
    assert workflow.current_return_reasons(version) == {
        "sales": [REASONS["sales"]],
        "patents": [REASONS["patents"]],
        "": ["请整体核对。"],
    }
    assert set(ReturnReason.objects.filter(version=version).values_list("review_round", "created_by")) == {
        (1, reviewer.pk)
    }

    # the filer corrects and resubmits: the reasons are history, no longer "current"
    services.version_update(version=version, user=filer_a, data={"sales": Decimal(1500)})
    workflow.version_submit(version=version, user=filer_a)
    version.refresh_from_db()
    assert version.status == S.RESUBMITTED
    assert Transition.objects.filter(version=version).latest("id").action == "resubmit"
    assert workflow.current_return_reasons(version) == {}

    # a second round: only its own reasons are current
    workflow.version_return(version=version, user=reviewer, reasons={"model": "型号仍未填写完整"})
    version.refresh_from_db()
    assert version.review_round == 2
    assert workflow.current_return_reasons(version) == {"model": ["型号仍未填写完整"]}
    assert ReturnReason.objects.filter(version=version, review_round=1).count() == 3

    workflow.version_submit(version=version, user=filer_a)
    workflow.version_approve(version=version, user=reviewer)
    version.refresh_from_db()
    assert version.status == S.APPROVED
    assert workflow.current_return_reasons(version) == {}
    actions = list(Transition.objects.filter(version=version).values_list("action", flat=True))
    assert actions == ["submit", "return", "resubmit", "return", "resubmit", "approve"]


def test_a_returned_version_can_be_edited_and_a_submitted_one_cannot(
    reach: Callable[[str], ProductVersion], filer_a: User
) -> None:
    returned = reach(S.RETURNED)
    services.version_update(version=returned, user=filer_a, data={"name": "改正后的名称"})
    returned.refresh_from_db()
    assert returned.name == "改正后的名称"
    submitted = reach(S.SUBMITTED)
    with pytest.raises(ValidationError, match="不能修改"):
        services.version_update(version=submitted, user=filer_a, data={"name": "偷偷修改"})
    submitted.refresh_from_db()
    assert submitted.name == "测试产品"


# --------------------------------------------------------------------------------------------------
# approval and filing numbers


def test_approval_allocates_a_filing_number_and_publishes(
    reach: Callable[[str], ProductVersion], reviewer: User
) -> None:
    version = reach(S.SUBMITTED)
    assert version.product.filing_number is None
    workflow.version_approve(version=version, user=reviewer)
    product = Product.objects.get(pk=version.product_id)
    year = workflow.china_today().year
    assert re.fullmatch(rf"BA{year}44\d{{6}}", product.filing_number)
    assert product.published_version_id == version.pk
    assert version.decided_by == reviewer and version.decided_at is not None
    assert AuditEvent.objects.filter(
        object_type="filings.Product",
        object_id=str(product.pk),
        changes={"filing_number": [None, product.filing_number]},
    ).exists()
    assert Product.objects.public().filter(pk=product.pk).exists()


def test_numbers_are_consecutive_per_province_and_never_reused(
    reach: Callable[[str], ProductVersion],
    new_version: Callable[..., ProductVersion],
    unit_b: FilingUnit,
    filer_b: User,
    reviewer: User,
) -> None:
    first = reach(S.APPROVED)
    number = first.product.filing_number
    serial = int(number[-6:])
    workflow.version_revoke(version=first, user=reviewer, reason="专利权属存在争议")
    first.product.refresh_from_db()
    assert first.product.filing_number == number  # kept after revocation
    assert first.product.published_version is None
    assert not Product.objects.public().filter(pk=first.product_id).exists()

    second = reach(S.APPROVED)  # same province (广东)
    assert second.product.filing_number == number[:-6] + f"{serial + 1:06d}"  # the revoked number is not reused

    other = _approve(new_version(unit_b, filer_b), filer_b, reviewer)  # 浙江: its own sequence
    year = workflow.china_today().year
    assert other.product.filing_number.startswith(f"BA{year}33")
    assert len({first.product.filing_number, second.product.filing_number, other.product.filing_number}) == 3


def test_revoke_requires_a_reason(reach: Callable[[str], ProductVersion], reviewer: User) -> None:
    version = reach(S.APPROVED)
    for reason in ("", "   "):
        with pytest.raises(ValidationError) as exc:
            workflow.version_revoke(version=version, user=reviewer, reason=reason)
        assert exc.value.message_dict == {"reason": ["撤销备案须说明理由。"]}
    version.refresh_from_db()
    assert version.status == S.APPROVED
    workflow.version_revoke(version=version, user=reviewer, reason="  提供虚假销售数据  ")
    assert Transition.objects.filter(version=version).latest("id").reason == "提供虚假销售数据"


# --------------------------------------------------------------------------------------------------
# yearly update, withdrawal and republishing


def test_yearly_update_copies_the_filing_into_a_draft_for_the_next_year(
    unit_a: FilingUnit,
    filer_a: User,
    reviewer: User,
    add_right: Callable[..., PatentRight],
    product_class: ProductClass,
    media_root: str,
) -> None:
    last = workflow.default_data_year()
    right = add_right(unit_a, filer_a)
    old = _product(unit_a, filer_a, right, product_class, data_year=last - 1)
    image = ProductImage(version=old, content_type="image/png", caption="正面")
    image.file.save("front.png", ContentFile(b"\x89PNG\r\n\x1a\n"), save=True)
    workflow.version_set_certification_opt_in(version=old, user=filer_a, opt_in=True)
    old = _approve(old, filer_a, reviewer)
    number = old.product.filing_number

    new = workflow.product_yearly_update_start(product=old.product, user=filer_a)
    assert new.pk != old.pk and new.product_id == old.product_id
    assert (new.data_year, new.status, new.review_round) == (last, S.DRAFT, 0)
    for field in ("name", "model", "product_class_id", "description", "sales", "exports", "output_value"):
        assert getattr(new, field) == getattr(old, field), field
    assert new.certification_opt_in is False  # opting in is a decision per year
    assert new.submitted_at is None and new.decided_by is None
    assert list(new.links.values_list("right_id", "is_core", "contribution", "embodiment")) == [
        (right.pk, True, Decimal("45.50"), "控制模块")
    ]
    assert list(new.images.values_list("file", "caption")) == [(image.file.name, "正面")]
    record = Transition.objects.get(version=new)
    assert (record.action, record.to_status, record.reason) == ("yearly_update", S.DRAFT, f"{last - 1} → {last}")
    assert AuditEvent.objects.filter(
        action=AuditAction.CREATE, object_type="filings.ProductVersion", object_id=str(new.pk)
    ).exists()
    # the old year is untouched and still what the public sees
    old.refresh_from_db()
    assert old.status == S.APPROVED and old.links.count() == 1 and old.images.count() == 1
    assert Product.objects.get(pk=old.product_id).published_version_id == old.pk

    # approving the new year keeps the product's number and publishes the new year
    services.version_update(version=new, user=filer_a, data={"sales": Decimal(3000)})
    new = _approve(new, filer_a, reviewer)
    product = Product.objects.get(pk=old.product_id)
    assert product.filing_number == number
    assert product.published_version_id == new.pk

    # withdrawing the newest approved year falls back to the older one, then to nothing
    workflow.version_withdraw(version=new, user=filer_a, reason="数据有误")
    product.refresh_from_db()
    assert product.published_version_id == old.pk
    workflow.version_withdraw(version=old, user=filer_a)
    product.refresh_from_db()
    assert product.published_version is None and product.filing_number == number
    assert not Product.objects.public().filter(pk=product.pk).exists()


def test_revoking_the_newest_year_also_falls_back(
    unit_a: FilingUnit,
    filer_a: User,
    reviewer: User,
    add_right: Callable[..., PatentRight],
    product_class: ProductClass,
) -> None:
    old = _approve(
        _product(unit_a, filer_a, add_right(unit_a, filer_a), product_class, workflow.default_data_year() - 1),
        filer_a,
        reviewer,
    )
    new = _approve(workflow.product_yearly_update_start(product=old.product, user=filer_a), filer_a, reviewer)
    workflow.version_revoke(version=new, user=reviewer, reason="本年度数据不实")
    assert Product.objects.get(pk=old.product_id).published_version_id == old.pk


def test_yearly_update_is_refused_for_a_year_not_over_or_while_pending(
    unit_a: FilingUnit,
    filer_a: User,
    reviewer: User,
    add_right: Callable[..., PatentRight],
    product_class: ProductClass,
    reach: Callable[[str], ProductVersion],
) -> None:
    current = reach(S.APPROVED)  # data of last year: this year is not over
    assert current.data_year == workflow.default_data_year()
    with pytest.raises(WorkflowError) as exc:
        workflow.product_yearly_update_start(product=current.product, user=filer_a)
    assert exc.value.code == "year_not_over"
    with pytest.raises(WorkflowError) as exc:
        workflow.product_yearly_update_start(product=current.product, user=filer_a, data_year=current.data_year)
    assert exc.value.code == "year_exists"
    with pytest.raises(PermissionDenied):
        workflow.product_yearly_update_start(product=current.product, user=reviewer)

    right = add_right(unit_a, filer_a)
    older = _product(unit_a, filer_a, right, product_class, data_year=workflow.default_data_year() - 1)
    for step in (lambda: None, lambda: workflow.version_submit(version=older, user=filer_a)):  # draft, then pending
        step()
        with pytest.raises(WorkflowError) as exc:
            workflow.product_yearly_update_start(product=older.product, user=filer_a)
        assert exc.value.code == "pending_version"
    assert older.product.versions.count() == 1


# --------------------------------------------------------------------------------------------------
# certification opt-in


def test_opt_in_is_audited_and_closed_after_withdrawal(
    reach: Callable[[str], ProductVersion], filer_a: User, reviewer: User
) -> None:
    version = reach(S.APPROVED)
    workflow.version_set_certification_opt_in(version=version, user=filer_a, opt_in=True)
    version.refresh_from_db()
    assert version.certification_opt_in is True
    event = AuditEvent.objects.filter(
        action=AuditAction.UPDATE, object_type="filings.ProductVersion", object_id=str(version.pk)
    ).latest("id")
    assert event.changes == {"certification_opt_in": [False, True]}

    count = AuditEvent.objects.filter(object_id=str(version.pk), action=AuditAction.UPDATE).count()
    workflow.version_set_certification_opt_in(version=version, user=filer_a, opt_in=True)  # no change, no record
    assert AuditEvent.objects.filter(object_id=str(version.pk), action=AuditAction.UPDATE).count() == count

    with pytest.raises(PermissionDenied):
        workflow.version_set_certification_opt_in(version=version, user=reviewer, opt_in=False)

    workflow.version_withdraw(version=version, user=filer_a)
    with pytest.raises(WorkflowError) as exc:
        workflow.version_set_certification_opt_in(version=version, user=filer_a, opt_in=False)
    assert exc.value.code == "opt_in_closed"
    version.refresh_from_db()
    assert version.certification_opt_in is True

    revoked = reach(S.REVOKED)
    with pytest.raises(WorkflowError):
        workflow.version_set_certification_opt_in(version=revoked, user=filer_a, opt_in=True)


# --------------------------------------------------------------------------------------------------
# e-mail


def _recipients() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


def test_who_hears_about_each_step(
    django_capture_on_commit_callbacks: Any,
    new_version: Callable[..., ProductVersion],
    unit_a: FilingUnit,
    filer_a: User,
    colleague: User,
    reviewer: User,
    other_reviewer: User,
) -> None:
    unit_a.contact_email = "contact@gz-test.example.cn"
    unit_a.save()
    members = sorted([filer_a.email, colleague.email, "contact@gz-test.example.cn"])
    version = new_version(unit_a, filer_a)

    with django_capture_on_commit_callbacks(execute=True):
        workflow.version_submit(version=version, user=filer_a)
    assert mail.outbox == []  # the queue is the reviewers' notice

    with django_capture_on_commit_callbacks(execute=True):
        workflow.version_return(version=version, user=reviewer, reasons=REASONS)
    assert _recipients() == members
    assert "已退回修改" in mail.outbox[0].subject
    assert "测试产品" in mail.outbox[0].subject
    assert REASONS["sales"] in mail.outbox[0].body

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        workflow.version_submit(version=version, user=filer_a)
    assert _recipients() == [reviewer.email]  # the reviewer who returned it, not every reviewer
    assert "已重新提交" in mail.outbox[0].subject

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        workflow.version_approve(version=version, user=other_reviewer)
    assert _recipients() == members
    number = Product.objects.get(pk=version.product_id).filing_number
    assert all(number in message.body for message in mail.outbox)

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        workflow.version_revoke(version=version, user=other_reviewer, reason="专利已被宣告无效")
    assert _recipients() == members
    assert "已撤销" in mail.outbox[0].subject and "专利已被宣告无效" in mail.outbox[0].body


def test_inactive_members_and_withdrawals_send_nothing_extra(
    django_capture_on_commit_callbacks: Any,
    reach: Callable[[str], ProductVersion],
    filer_a: User,
    colleague: User,
    reviewer: User,
) -> None:
    colleague.is_active = False
    colleague.save()
    version = reach(S.SUBMITTED)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.version_approve(version=version, user=reviewer)
    assert _recipients() == [filer_a.email]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        workflow.version_withdraw(version=version, user=filer_a, reason="停产")
    assert mail.outbox == []


def test_nothing_is_sent_or_kept_when_the_transaction_rolls_back(
    django_capture_on_commit_callbacks: Any, reach: Callable[[str], ProductVersion], reviewer: User
) -> None:
    version = reach(S.SUBMITTED)
    before = _counts(version)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        workflow.version_approve(version=version, user=reviewer)
        raise RuntimeError("something after the approval failed")
    assert callbacks == []
    assert mail.outbox == []
    version.refresh_from_db()
    assert version.status == S.SUBMITTED
    assert _counts(version) == before
    assert Product.objects.get(pk=version.product_id).filing_number is None


def test_each_mail_names_the_state_its_step_led_to(
    django_capture_on_commit_callbacks: Any, reach: Callable[[str], ProductVersion], filer_a: User, reviewer: User
) -> None:
    """The delivery may run after the filing moved on: a return mail still says "returned"."""
    version = reach(S.SUBMITTED)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        workflow.version_return(version=version, user=reviewer, reasons=REASONS)
    workflow.version_submit(version=version, user=filer_a)  # the filer resubmits before the delivery ran
    mail.outbox.clear()
    for callback in callbacks:
        callback()
    to_filer = [m for m in mail.outbox if m.to == [filer_a.email]]
    assert len(to_filer) == 1
    assert to_filer[0].subject.endswith("已退回修改")
    assert "状态：已退回修改" in to_filer[0].body
    assert [m.to for m in mail.outbox if m not in to_filer] == [[reviewer.email]]  # the resubmission's notice


def test_submit_acts_on_the_stored_state_not_a_stale_copy(
    reach: Callable[[str], ProductVersion], filer_a: User, reviewer: User
) -> None:
    version = reach(S.SUBMITTED)
    stale = ProductVersion.objects.get(pk=version.pk)  # the filer's page, loaded before the return
    workflow.version_return(version=version, user=reviewer, reasons=REASONS)
    workflow.version_submit(version=stale, user=filer_a)
    assert stale.status == S.RESUBMITTED
    assert Transition.objects.filter(version=version).latest("id").action == "resubmit"
