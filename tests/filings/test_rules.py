"""The filing rules a version must meet before review (and again at approval), with the filer's message,
and the write services around them: registration, patent rights, drafts."""

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from filings import rules, services, workflow
from filings.choices import FilingStatus, LegalStatus, RightKind
from filings.identifiers import build_uscc
from filings.models import (
    FilingPolicy,
    FilingUnit,
    Patent,
    PatentRight,
    Product,
    ProductClass,
    ProductVersion,
    Transition,
    UnitMembership,
)
from patent_platform.choices import AuditAction, Role
from patent_platform.models import AuditEvent, User

S = FilingStatus

AddRight = Callable[..., PatentRight]
NewVersion = Callable[..., ProductVersion]


def link(right: PatentRight, contribution: Any = 60, *, core: bool = True) -> dict[str, Any]:
    return {"right": right.pk, "is_core": core, "contribution": Decimal(str(contribution))}


def patent_errors(version: ProductVersion) -> list[str]:
    return rules.version_rule_errors(version).get("patents", [])


def assert_submit_refused(version: ProductVersion, user: User, field: str, fragment: str) -> None:
    """Submitting fails with the message on `field`, and the version stays a draft without history."""
    with pytest.raises(ValidationError) as exc:
        workflow.version_submit(version=version, user=user)
    assert any(fragment in m for m in exc.value.message_dict[field]), exc.value.message_dict
    version.refresh_from_db()
    assert version.status == S.DRAFT
    assert not Transition.objects.filter(version=version).exists()


def set_policy(**fields: bool) -> FilingPolicy:
    policy = FilingPolicy.current()
    for name, value in fields.items():
        setattr(policy, name, value)
    policy.save()
    return policy


def yesterday() -> dt.date:
    return workflow.china_today() - dt.timedelta(days=1)


# --------------------------------------------------------------------------------------------------
# the patent list


def test_a_valid_filing_has_no_errors(new_version: NewVersion, unit_a: FilingUnit, filer_a: User) -> None:
    version = new_version(unit_a, filer_a)
    assert rules.version_rule_errors(version) == {}
    workflow.version_submit(version=version, user=filer_a)
    assert version.status == S.SUBMITTED


def test_at_least_one_patent(new_version: NewVersion, unit_a: FilingUnit, filer_a: User) -> None:
    version = new_version(unit_a, filer_a, links=[])
    assert patent_errors(version) == ["请至少关联一项本单位有权使用的专利。"]
    assert_submit_refused(version, filer_a, "patents", "请至少关联一项本单位有权使用的专利。")


def test_only_patents_the_unit_has_a_right_to(
    new_version: NewVersion, add_right: AddRight, unit_a: FilingUnit, filer_a: User, unit_b: FilingUnit, filer_b: User
) -> None:
    foreign = add_right(unit_b, filer_b)
    with pytest.raises(ValidationError) as exc:
        new_version(unit_a, filer_a, links=[link(foreign)])
    assert exc.value.message_dict["patents"] == ["第 1 项：该专利不是本单位登记的专利。"]
    assert not Product.objects.filter(unit=unit_a).exists()  # nothing half-saved

    version = new_version(unit_a, filer_a)
    with pytest.raises(ValidationError) as exc:
        services.version_update(
            version=version, user=filer_a, data={}, links=[link(version.links.get().right, 50), link(foreign, 10)]
        )
    assert exc.value.message_dict["patents"] == ["第 2 项：该专利不是本单位登记的专利。"]
    assert version.links.count() == 1  # the old list is kept


def test_the_same_patent_of_another_unit_is_its_own_right(
    add_right: AddRight, new_version: NewVersion, unit_a: FilingUnit, filer_a: User, unit_b: FilingUnit, filer_b: User
) -> None:
    """Co-owners each record their right; each unit files with its own right, never with the other's."""
    right_a = add_right(unit_a, filer_a, kind=RightKind.CO_OWNER)
    right_b = services.patent_right_create(
        unit=unit_b, user=filer_b, data={"number": right_a.patent.number, "kind": RightKind.CO_OWNER}
    )
    assert right_b.patent_id == right_a.patent_id and Patent.objects.filter(pk=right_a.patent_id).count() == 1
    assert rules.version_rule_errors(new_version(unit_b, filer_b, links=[link(right_b)])) == {}


def test_at_least_one_core_patent(
    new_version: NewVersion, add_right: AddRight, unit_a: FilingUnit, filer_a: User
) -> None:
    version = new_version(unit_a, filer_a, links=[link(add_right(unit_a, filer_a), core=False)])
    assert patent_errors(version) == ["请至少标记一项核心专利。"]
    assert_submit_refused(version, filer_a, "patents", "请至少标记一项核心专利。")


@pytest.mark.parametrize("value", ["-1", "100.01", "250"])
def test_each_contribution_is_between_0_and_100(
    value: str, new_version: NewVersion, add_right: AddRight, unit_a: FilingUnit, filer_a: User
) -> None:
    with pytest.raises(ValidationError) as exc:
        new_version(unit_a, filer_a, links=[link(add_right(unit_a, filer_a), value)])
    assert "第 1 项：贡献度须在 0 到 100 之间。" in exc.value.message_dict["patents"]


@pytest.mark.parametrize("value", ["0", "100"])
def test_contribution_bounds_are_allowed(
    value: str, new_version: NewVersion, add_right: AddRight, unit_a: FilingUnit, filer_a: User
) -> None:
    version = new_version(unit_a, filer_a, links=[link(add_right(unit_a, filer_a), value)])
    assert rules.version_rule_errors(version) == {}


def test_contributions_sum_to_at_most_100(
    new_version: NewVersion, add_right: AddRight, unit_a: FilingUnit, filer_a: User
) -> None:
    first, second = add_right(unit_a, filer_a), add_right(unit_a, filer_a)
    with pytest.raises(ValidationError) as exc:
        new_version(unit_a, filer_a, links=[link(first, 60), link(second, 50)])
    assert exc.value.message_dict["patents"] == ["各专利贡献度之和为 110%，不能超过 100%。"]
    with pytest.raises(ValidationError) as exc:
        new_version(unit_a, filer_a, links=[link(first, "60.25"), link(second, "40.5")])
    assert exc.value.message_dict["patents"] == ["各专利贡献度之和为 100.75%，不能超过 100%。"]
    version = new_version(unit_a, filer_a, links=[link(first, "59.5"), link(second, "40.5", core=False)])
    assert rules.version_rule_errors(version) == {}  # exactly 100 is fine


def test_a_patent_linked_twice_or_a_contribution_that_is_not_a_number(
    new_version: NewVersion, add_right: AddRight, unit_a: FilingUnit, filer_a: User
) -> None:
    right = add_right(unit_a, filer_a)
    with pytest.raises(ValidationError) as exc:
        new_version(unit_a, filer_a, links=[link(right, 10), link(right, 10)])
    assert exc.value.message_dict["patents"] == [f"第 2 项：专利 {right.patent.number} 重复关联。"]
    with pytest.raises(ValidationError) as exc:
        new_version(unit_a, filer_a, links=[{"right": right.pk, "is_core": True, "contribution": "六十"}])
    assert exc.value.message_dict["patents"] == ["第 1 项：贡献度须为数字。"]


# --------------------------------------------------------------------------------------------------
# figures


@pytest.mark.parametrize(
    ("field", "message"),
    [("sales", "销售额不能为负数。"), ("exports", "出口额不能为负数。"), ("output_value", "产值不能为负数。")],
)
def test_figures_are_not_negative(
    field: str, message: str, new_version: NewVersion, unit_a: FilingUnit, filer_a: User
) -> None:
    with pytest.raises(ValidationError) as exc:
        new_version(unit_a, filer_a, **{field: Decimal(-1)})
    assert message in exc.value.message_dict[field]
    assert rules.figure_errors({field: "-0.01"})[field] == message
    assert rules.figure_errors({field: "很多"})[field].endswith("须为数字。")


def test_exports_do_not_exceed_sales(new_version: NewVersion, unit_a: FilingUnit, filer_a: User) -> None:
    with pytest.raises(ValidationError) as exc:
        new_version(unit_a, filer_a, sales=Decimal(100), exports=Decimal(200))
    assert exc.value.message_dict["exports"] == ["出口额（200 万元）不能大于上年度销售额（100 万元）。"]
    version = new_version(unit_a, filer_a, sales=Decimal(100), exports=Decimal(100))
    assert rules.version_rule_errors(version) == {}
    # editing only the sales below the stored exports is caught too
    with pytest.raises(ValidationError) as exc:
        services.version_update(version=version, user=filer_a, data={"sales": Decimal(50)})
    assert "不能大于上年度销售额" in exc.value.message_dict["exports"][0]
    version.refresh_from_db()
    assert version.sales == Decimal(100)


# --------------------------------------------------------------------------------------------------
# the platform's filing policy


def test_a_patent_type_the_policy_does_not_accept(
    new_version: NewVersion, add_right: AddRight, unit_a: FilingUnit, filer_a: User
) -> None:
    utility = add_right(unit_a, filer_a, type_digit="2")
    version = new_version(unit_a, filer_a, links=[link(utility)])
    assert rules.version_rule_errors(version) == {}
    set_policy(allow_utility_model=False)
    number = utility.patent.number
    assert patent_errors(version) == [f"专利 {number} 为实用新型，平台目前不接受该类型专利用于备案。"]
    assert_submit_refused(version, filer_a, "patents", "不接受该类型专利")


@pytest.mark.parametrize(
    ("status", "label"),
    [
        (LegalStatus.LAPSED, "失效（未缴年费等）"),
        (LegalStatus.EXPIRED, "期限届满"),
        (LegalStatus.INVALIDATED, "被宣告无效"),
        (LegalStatus.PENDING, "审查中"),
    ],
)
def test_a_patent_that_is_not_in_force(
    status: str, label: str, new_version: NewVersion, add_right: AddRight, unit_a: FilingUnit, filer_a: User
) -> None:
    right = add_right(unit_a, filer_a, legal_status=status)
    version = new_version(unit_a, filer_a, links=[link(right)])
    assert patent_errors(version) == [f"专利 {right.patent.number} 的法律状态为“{label}”，不能用于备案。"]
    assert_submit_refused(version, filer_a, "patents", label)


def test_pending_applications_count_when_the_policy_says_so(
    new_version: NewVersion, add_right: AddRight, unit_a: FilingUnit, filer_a: User
) -> None:
    version = new_version(unit_a, filer_a, links=[link(add_right(unit_a, filer_a, legal_status=LegalStatus.PENDING))])
    assert patent_errors(version)
    set_policy(allow_pending=True)
    assert rules.version_rule_errors(version) == {}


def test_a_licence_without_recordal_when_the_policy_requires_one(
    new_version: NewVersion, add_right: AddRight, unit_a: FilingUnit, filer_a: User
) -> None:
    licensed = add_right(unit_a, filer_a, kind=RightKind.LICENSEE, licence_kind="ordinary")
    recorded = add_right(
        unit_a, filer_a, kind=RightKind.LICENSEE, licence_kind="exclusive", recordal_number="2019990000123"
    )
    version = new_version(unit_a, filer_a, links=[link(licensed, 40), link(recorded, 40)])
    assert rules.version_rule_errors(version) == {}
    set_policy(require_licence_recordal=True)
    assert patent_errors(version) == [f"专利 {licensed.patent.number} 的许可没有备案号，平台要求许可须经备案。"]
    # and a new licence cannot be recorded without its recordal number any more
    with pytest.raises(ValidationError) as exc:
        add_right(unit_a, filer_a, kind=RightKind.LICENSEE, licence_kind="sole")
    assert exc.value.message_dict == {"recordal_number": ["平台要求许可须经备案，请填写许可备案号。"]}


def test_a_right_that_has_expired(
    new_version: NewVersion, add_right: AddRight, unit_a: FilingUnit, filer_a: User
) -> None:
    expired = add_right(unit_a, filer_a, kind=RightKind.LICENSEE, licence_kind="ordinary", valid_until=yesterday())
    version = new_version(unit_a, filer_a, links=[link(expired)])
    assert patent_errors(version) == [
        f"本单位对专利 {expired.patent.number} 的权利已于 {yesterday().isoformat()} 到期。"
    ]
    today = add_right(unit_a, filer_a, valid_until=workflow.china_today())
    assert rules.version_rule_errors(new_version(unit_a, filer_a, links=[link(today)])) == {}  # valid through today


def test_approval_checks_the_rules_again(
    new_version: NewVersion, unit_a: FilingUnit, filer_a: User, reviewer: User
) -> None:
    version = new_version(unit_a, filer_a)
    workflow.version_submit(version=version, user=filer_a)
    patent = version.links.get().right.patent
    patent.legal_status = LegalStatus.LAPSED  # the annual fee was not paid after submission
    patent.save()
    with pytest.raises(ValidationError) as exc:
        workflow.version_approve(version=version, user=reviewer)
    assert any("失效" in m for m in exc.value.message_dict["patents"])
    version.refresh_from_db()
    assert version.status == S.SUBMITTED
    assert Product.objects.get(pk=version.product_id).filing_number is None
    assert not Transition.objects.filter(version=version, action="approve").exists()
    # the reviewer can still return it with the reason
    workflow.version_return(
        version=version, user=reviewer, reasons={"patents": f"专利 {patent.number} 已失效，请更换。"}
    )
    assert version.status == S.RETURNED

    set_policy(allow_design=True)  # unrelated change: still blocked by the lapsed patent
    with pytest.raises(ValidationError):
        workflow.version_submit(version=version, user=filer_a)


def test_a_policy_change_after_submission_blocks_approval(
    new_version: NewVersion, add_right: AddRight, unit_a: FilingUnit, filer_a: User, reviewer: User
) -> None:
    version = new_version(unit_a, filer_a, links=[link(add_right(unit_a, filer_a, type_digit="3"))])
    workflow.version_submit(version=version, user=filer_a)
    set_policy(allow_design=False)
    with pytest.raises(ValidationError, match="外观设计"):
        workflow.version_approve(version=version, user=reviewer)
    version.refresh_from_db()
    assert version.status == S.SUBMITTED


def test_other_rules_name_and_active_class(
    new_version: NewVersion, unit_a: FilingUnit, filer_a: User, reference: None
) -> None:
    retired = ProductClass.objects.create(code="T-OLD", name="已停用分类", scheme="platform", is_active=False)
    version = new_version(unit_a, filer_a, product_class=retired)
    assert rules.version_rule_errors(version) == {"product_class": ["该产品分类已停用，请选择其他分类。"]}


# --------------------------------------------------------------------------------------------------
# registration


def _unit_data(org: str = "MA5R0001") -> dict[str, Any]:
    return {
        "uscc": build_uscc(region_code="440305", org_body=org),
        "name": "深圳注册测试科技有限公司",
        "region_id": "440305",
    }


def _user_data(email: str = "new-ent@example.cn") -> dict[str, Any]:
    return {"email": email, "password": "Strong-Pass-2026!", "full_name": "李四"}


def test_register_enterprise(reference: None) -> None:
    user, unit = services.enterprise_register(user_data=_user_data(" New-Ent@Example.CN "), unit_data=_unit_data())
    assert user.email == "new-ent@example.cn" and user.role == Role.ENTERPRISE
    assert user.check_password("Strong-Pass-2026!")
    assert (unit.province_code, unit.city_code) == ("440000", "440300")
    assert UnitMembership.objects.get(user=user).unit == unit
    assert UnitMembership.objects.get(user=user).is_manager
    assert FilingUnit.objects.visible_to(user).get() == unit
    assert AuditEvent.objects.filter(
        action=AuditAction.CREATE, object_type="filings.FilingUnit", object_id=str(unit.pk), message="registration"
    ).exists()


def test_register_refuses_a_taken_uscc_or_email(reference: None) -> None:
    services.enterprise_register(user_data=_user_data(), unit_data=_unit_data())
    with pytest.raises(ValidationError) as exc:
        services.enterprise_register(user_data=_user_data("other@example.cn"), unit_data=_unit_data())
    assert exc.value.message_dict == {
        "uscc": [
            "该统一社会信用代码已注册。如需加入该单位，请联系单位管理员为您添加账号；"
            "如果该代码属于您的单位而并非由您的单位注册，请提交认领申请。"
        ]
    }
    with pytest.raises(ValidationError) as exc:
        services.enterprise_register(user_data=_user_data("NEW-ENT@example.cn"), unit_data=_unit_data("MA5R0002"))
    assert exc.value.message_dict == {"email": ["该电子邮箱已注册，请直接登录。"]}
    assert User.objects.count() == 1 and FilingUnit.objects.count() == 1  # nothing half-made


def test_register_with_a_uscc_written_loosely(reference: None) -> None:
    data = _unit_data()
    loose = data["uscc"].lower()[:9] + " " + data["uscc"].lower()[9:]
    _user, unit = services.enterprise_register(user_data=_user_data(), unit_data={**data, "uscc": loose})
    assert unit.uscc == data["uscc"]
    with pytest.raises(ValidationError):
        services.enterprise_register(
            user_data=_user_data("x@example.cn"), unit_data={**data, "uscc": data["uscc"][:-1] + "0"}
        )


# --------------------------------------------------------------------------------------------------
# patent rights


def test_add_patent_right_normalises_a_messy_number(unit_a: FilingUnit, filer_a: User) -> None:
    right = services.patent_right_create(
        unit=unit_a, user=filer_a, data={"number": " cn 2017 1060 1862 3 ", "title": " 一种装置 "}
    )
    patent = right.patent
    assert (patent.number, patent.kind, patent.title, patent.legal_status) == (
        "201710601862.3",
        "invention",
        "一种装置",
        "valid",
    )
    assert patent.patent_number == "ZL201710601862.3"
    assert right.kind == RightKind.OWNER and right.created_by == filer_a
    # the same patent written another way is a duplicate for this unit
    with pytest.raises(ValidationError) as exc:
        services.patent_right_create(unit=unit_a, user=filer_a, data={"number": "ZL201710601862.3"})
    assert exc.value.message_dict == {"number": ["本单位已登记专利 201710601862.3。"]}
    assert PatentRight.objects.filter(unit=unit_a).count() == 1
    fullwidth = services.patent_right_create(
        unit=unit_a, user=filer_a, data={"number": "２００７１０３０８４９４Ｘ", "title": "x"}
    )
    assert fullwidth.patent.number == "200710308494.X"


def test_add_patent_right_errors_are_per_field(unit_a: FilingUnit, filer_a: User) -> None:
    with pytest.raises(ValidationError) as exc:
        services.patent_right_create(unit=unit_a, user=filer_a, data={"number": "201710601862.4", "title": "x"})
    assert "校验位应为 3" in exc.value.message_dict["number"][0]
    with pytest.raises(ValidationError) as exc:
        services.patent_right_create(unit=unit_a, user=filer_a, data={"number": "201710601862.3"})
    assert exc.value.message_dict == {"title": ["请填写专利名称。"]}
    with pytest.raises(ValidationError) as exc:
        services.patent_right_create(
            unit=unit_a, user=filer_a, data={"number": "201710601862.3", "title": "x", "kind": RightKind.LICENSEE}
        )
    assert exc.value.message_dict == {"licence_kind": ["被许可人须注明许可类型（独占、排他或普通）。"]}
    with pytest.raises(ValidationError) as exc:
        services.patent_right_create(
            unit=unit_a, user=filer_a, data={"number": "201710601862.3", "title": "x", "licence_kind": "ordinary"}
        )
    assert exc.value.message_dict == {"licence_kind": ["只有被许可人需要填写许可类型和许可备案号。"]}
    assert not PatentRight.objects.exists() and not Patent.objects.exists()
    right = services.patent_right_create(
        unit=unit_a,
        user=filer_a,
        data={"number": "201710601862.3", "title": "x", "kind": RightKind.LICENSEE, "licence_kind": "exclusive"},
    )
    assert (right.kind, right.licence_kind) == (RightKind.LICENSEE, "exclusive")


def test_only_the_units_own_filers_record_rights(
    unit_a: FilingUnit, filer_b: User, reviewer: User, add_right: AddRight, filer_a: User
) -> None:
    for user in (filer_b, reviewer):
        with pytest.raises(Http404):
            services.patent_right_create(unit=unit_a, user=user, data={"number": "201710601862.3", "title": "x"})
    right = add_right(unit_a, filer_a)
    with pytest.raises(Http404):
        services.patent_right_delete(right=right, user=filer_b)
    with pytest.raises(Http404):
        services.patent_right_update(right=right, user=filer_b, data={"valid_until": yesterday()})
    assert PatentRight.objects.filter(pk=right.pk).exists()


def test_delete_patent_right_refuses_one_in_use(
    new_version: NewVersion, add_right: AddRight, unit_a: FilingUnit, filer_a: User
) -> None:
    used = add_right(unit_a, filer_a)
    new_version(unit_a, filer_a, links=[link(used)])
    with pytest.raises(ValidationError) as exc:
        services.patent_right_delete(right=used, user=filer_a)
    assert exc.value.messages == ["该专利已关联到产品，不能删除；请先从产品中移除。"]
    assert PatentRight.objects.filter(pk=used.pk).exists()

    unused = add_right(unit_a, filer_a)
    services.patent_right_delete(right=unused, user=filer_a)
    assert not PatentRight.objects.filter(pk=unused.pk).exists()
    assert Patent.objects.filter(pk=unused.patent_id).exists()  # the patent record stays for others
    assert AuditEvent.objects.filter(
        action=AuditAction.DELETE, object_type="filings.PatentRight", object_id=str(unused.pk)
    ).exists()


# --------------------------------------------------------------------------------------------------
# drafts


def test_delete_a_draft_that_was_never_submitted(
    new_version: NewVersion, unit_a: FilingUnit, filer_a: User, filer_b: User
) -> None:
    version = new_version(unit_a, filer_a)
    with pytest.raises(Http404):
        services.version_delete(version=version, user=filer_b)
    services.version_delete(version=version, user=filer_a)
    assert not ProductVersion.objects.filter(pk=version.pk).exists()
    assert not Product.objects.filter(pk=version.product_id).exists()  # no other version, no number
    assert AuditEvent.objects.filter(
        action=AuditAction.DELETE, object_type="filings.ProductVersion", object_id=str(version.pk)
    ).exists()


@pytest.mark.parametrize("path", ["submitted", "returned", "withdrawn_after_submit"])
def test_a_draft_with_history_cannot_be_deleted(
    path: str, new_version: NewVersion, unit_a: FilingUnit, filer_a: User, reviewer: User
) -> None:
    version = new_version(unit_a, filer_a)
    workflow.version_submit(version=version, user=filer_a)
    if path == "returned":
        workflow.version_return(version=version, user=reviewer, reasons={"": "请补充"})
    if path == "withdrawn_after_submit":
        workflow.version_withdraw(version=version, user=filer_a)
    with pytest.raises(ValidationError) as exc:
        services.version_delete(version=version, user=filer_a)
    assert exc.value.messages == ["只有从未提交过的草稿可以删除；已提交的备案请撤回。"]
    assert ProductVersion.objects.filter(pk=version.pk).exists()


def test_deleting_a_yearly_update_draft_keeps_the_product(
    unit_a: FilingUnit, filer_a: User, reviewer: User, add_right: AddRight, product_class: ProductClass
) -> None:
    right = add_right(unit_a, filer_a)
    old = services.product_create(
        unit=unit_a,
        user=filer_a,
        data={"name": "旧年度产品", "product_class": product_class, "sales": Decimal(10), "output_value": Decimal(12)},
        links=[link(right)],
        data_year=workflow.default_data_year() - 1,
    )
    workflow.version_submit(version=old, user=filer_a)
    workflow.version_approve(version=old, user=reviewer)
    draft = workflow.product_yearly_update_start(product=old.product, user=filer_a)
    services.version_delete(version=draft, user=filer_a)
    product = Product.objects.get(pk=old.product_id)
    assert list(product.versions.all()) == [old]
    assert product.filing_number and product.published_version_id == old.pk
