"""Write-side functions of the filings app: registration, patents and rights, product versions.

Views, the API, the Excel import and the admin call these; each runs in one transaction and checks
its writes against the user's scope. State changes of a filing are in `filings.workflow`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils.translation import gettext as _

from filings import candidacy, conflicts
from filings.choices import EDITABLE_STATUSES, ConflictStatus, LicenceKind, RightKind
from filings.identifiers import parse_patent_number, validate_uscc
from filings.models import (
    FilingPolicy,
    FilingUnit,
    Patent,
    PatentConflict,
    PatentLink,
    PatentRight,
    Product,
    ProductVersion,
    UnitMembership,
)
from patent_platform import audit, clock, confirmation
from patent_platform.choices import AuditAction, Role
from patent_platform.messages import Duplicate, rule
from patent_platform.models import User
from patent_platform.roles import require_role
from patent_platform.scoping import forget_scope, lock_visible, scope_of
from patent_platform.tabular import decimal_or_zero

if TYPE_CHECKING:
    from patent_platform.scoping import Reader

VERSION_FIELDS = (
    "name",
    "model",
    "product_class",
    "description",
    "first_sale_date",
    "sales",
    "exports",
    "output_value",
    "certification_opt_in",
)


# ---------------------------------------------------------------------------------------------
# Filing units and their members


@transaction.atomic
def register_enterprise(
    *,
    user_data: Mapping[str, Any],
    unit_data: Mapping[str, Any],
    email_confirmed_via: str = "",
    invited: bool = False,
) -> tuple[User, FilingUnit]:
    """A new enterprise user registers its filing unit and becomes its manager. `email_confirmed_via`: the address
    is proven already (an identity provider asserted it verified: filings/oidc.py), no confirmation mail; a
    password of None leaves the account without one (it logs in through its identity provider). `invited`: the
    registration came through a port's invitation link for this USCC (filings/invitations.py; the audit says so,
    nothing else changes)."""
    try:
        uscc = validate_uscc(unit_data["uscc"])
    except ValidationError as exc:
        raise ValidationError({"uscc": exc.messages}) from exc
    if FilingUnit.objects.filter(uscc=uscc).exists():
        taken = ValidationError(
            _(
                "该统一社会信用代码已注册。如需加入该单位，请联系单位管理员为您添加账号；"
                "如果该代码属于您的单位而并非由您的单位注册，请提交认领申请。"
            ),
            code="uscc_taken",  # the registration page offers the claim (filings/identity.py)
        )
        raise ValidationError({"uscc": [taken]})
    email = User.objects.normalize_email(user_data["email"]).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": _("该电子邮箱已注册，请直接登录。")}, code="email_taken")
    user = User.objects.create_user(
        email,
        user_data["password"],
        full_name=user_data.get("full_name", ""),
        phone=user_data.get("phone", ""),
        role=Role.ENTERPRISE,
    )
    unit = FilingUnit(**{**unit_data, "uscc": uscc})
    unit.full_clean()
    unit.save()
    UnitMembership.objects.create(user=user, unit=unit, is_manager=True)
    forget_scope(user)
    message = "registration through an invitation link" if invited else "registration"
    audit.audit_event(action=AuditAction.CREATE, obj=unit, actor=user, message=message)
    # The unit starts unverified (filings/identity.py: drafts yes, submissions no) and the account unconfirmed
    # (patent_platform/confirmation.py: it signs in, and can do nothing until the link of this mail is opened).
    if email_confirmed_via:
        confirmation.email_confirm(user=user, via=email_confirmed_via)
    else:
        confirmation.email_confirmation_send(user=user)
    return user, unit


def require_filer(user: Reader, unit: FilingUnit | None = None) -> None:
    """Only an enterprise user writes filing data, and only for its own unit: anyone else gets 404."""
    require_role(user, Role.ENTERPRISE, error=Http404)
    if unit is not None and not FilingUnit.objects.visible_to(user).filter(pk=unit.pk).exists():
        raise Http404


def member_unit(user: Reader) -> FilingUnit:
    """The filing unit of an enterprise user (404 for anyone else)."""
    require_role(user, Role.ENTERPRISE, error=Http404)
    ids = scope_of(user).unit_ids
    if not ids:
        raise Http404
    unit: FilingUnit = FilingUnit.objects.visible_to(user).get(pk=min(ids))
    return unit


def is_unit_manager(user: User, unit: FilingUnit) -> bool:
    return UnitMembership.objects.filter(user_id=user.pk, unit=unit, is_manager=True).exists()


@transaction.atomic
def add_unit_member(*, manager: User, unit: FilingUnit, email: str, full_name: str = "", phone: str = "") -> User:
    """A unit manager adds a colleague; the new account has no usable password until set by link."""
    if not is_unit_manager(manager, unit):
        raise PermissionDenied(_("只有单位管理员可以添加成员。"))
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": _("该电子邮箱已注册。")}, code="email_taken")
    user = User.objects.create_user(email, None, full_name=full_name, phone=phone, role=Role.ENTERPRISE)
    UnitMembership.objects.create(user=user, unit=unit, is_manager=False)
    audit.audit_event(action=AuditAction.CREATE, obj=user, actor=manager, message=f"member of unit {unit.pk}")
    from filings.notifications import queue_member_invitation

    queue_member_invitation(user, unit, manager)
    return user


# ---------------------------------------------------------------------------------------------
# Patents and rights


RECORDAL_MAX: int = PatentRight._meta.get_field("recordal_number").max_length or 0  # a CharField: always set


def _clean_right(data: Mapping[str, Any]) -> dict[str, Any]:
    """The rules of a unit's right, for every path (the form, the API, the Excel import, the services)."""
    kind = data.get("kind") or RightKind.OWNER
    licence_kind = data.get("licence_kind") or ""
    recordal = (data.get("recordal_number") or "").strip()
    errors: dict[str, str] = {}
    if kind not in RightKind.values:
        errors["kind"] = _("未知的权利类型。")
    if len(recordal) > RECORDAL_MAX:  # the paths' fields say so too; a direct call reached the database (500)
        errors["recordal_number"] = _("许可备案号不能超过 %(n)s 个字符。") % {"n": RECORDAL_MAX}
    elif kind == RightKind.LICENSEE:
        if licence_kind not in LicenceKind.values:
            errors["licence_kind"] = _("被许可人须注明许可类型（独占、排他或普通）。")
        elif FilingPolicy.current().require_licence_recordal and not recordal:
            errors["recordal_number"] = _("平台要求许可须经备案，请填写许可备案号。")
    elif licence_kind or recordal:
        errors["licence_kind"] = _("只有被许可人需要填写许可类型和许可备案号。")
    if errors:
        raise ValidationError(errors)
    return {
        "kind": kind,
        "licence_kind": licence_kind,
        "recordal_number": recordal,
        "valid_until": data.get("valid_until"),
    }


@transaction.atomic
def add_patent_right(*, unit: FilingUnit, user: User, data: Mapping[str, Any]) -> PatentRight:
    """Record a unit's right to a patent, creating the patent record on first mention.

    `data`: number (any accepted form), title, application_date, grant_date, legal_status, kind,
    licence_kind, recordal_number, valid_until.
    """
    require_filer(user, unit)
    try:
        parsed = parse_patent_number(str(data.get("number", "")))
    except ValidationError as exc:
        raise ValidationError({"number": exc.messages}) from exc
    right_fields = _clean_right(data)
    patent = Patent.objects.filter(number=parsed.normalized).first()
    if patent is None:
        if not (data.get("title") or "").strip():
            raise ValidationError({"title": _("请填写专利名称。")}, code="required")
        patent = Patent(
            number=parsed.normalized,
            kind=parsed.kind,
            pct=parsed.pct,
            title=data["title"].strip(),
            application_date=data.get("application_date"),
            grant_date=data.get("grant_date"),
            legal_status=data.get("legal_status") or "valid",
        )
        patent.full_clean()
        patent.save()
        audit.audit_change(obj=patent, before=None, actor=user)
    existing = PatentRight.objects.filter(unit=unit, patent=patent).values_list("pk", flat=True).first()
    if existing is not None:
        raise Duplicate(_("本单位已登记专利 %(n)s。") % {"n": patent.number}, existing_id=existing, field="number")
    right = PatentRight(unit=unit, patent=patent, created_by=user, **right_fields)
    right.save()
    audit.audit_change(obj=right, before=None, actor=user)
    conflicts.detect_after_commit([patent.pk])
    return right


@transaction.atomic
def update_patent_right(*, right: PatentRight, user: User, data: Mapping[str, Any]) -> PatentRight:
    require_filer(user)
    right = lock_visible(PatentRight.objects.all(), user, right.pk)
    before = audit.snapshot(right)
    for k, v in _clean_right({**audit.snapshot(right), **data}).items():
        setattr(right, k, v)
    right.save()
    audit.audit_change(obj=right, before=before, actor=user)
    conflicts.detect_after_commit([right.patent_id])
    return right


@transaction.atomic
def delete_patent_right(*, right: PatentRight, user: User) -> None:
    require_filer(user)
    right = lock_visible(PatentRight.objects.all(), user, right.pk)
    if right.links.exists():
        raise ValidationError(_("该专利已关联到产品，不能删除；请先从产品中移除。"), code="in_use")
    audit.audit_event(action=AuditAction.DELETE, obj=right, actor=user)
    patent_id = right.patent_id
    right.delete()
    conflicts.detect_after_commit([patent_id])


# ---------------------------------------------------------------------------------------------
# Product versions


def _link_error(i: int, text: str, code: str, member: str) -> str:
    """The message names the i-th link as people count (第 1 项); the API points at /links/<i-1>/<member>."""
    return rule(text, code, index=i - 1, item_field=member)


def link_shape_errors(
    unit_id: int, links: Iterable[Mapping[str, Any]], rights: Mapping[int, str] | None = None
) -> list[str]:
    """Errors in the patent list that make it unsavable (foreign rights, duplicates, bad %).

    `rights`: the unit's rights as {right id: patent number}, when the caller has read them already
    (the Excel import checks thousands of products against one read); read here otherwise."""
    errors: list[str] = []
    seen: set[int] = set()
    total = Decimal(0)
    if rights is None:
        rights = dict(PatentRight.objects.filter(unit_id=unit_id).values_list("pk", "patent__number"))
    for i, link in enumerate(links, start=1):
        item = functools.partial(_link_error, i)
        right_id = int(link["right"]) if link.get("right") not in (None, "") else None
        if right_id is None or right_id not in rights:
            errors.append(item(_("第 %(i)s 项：该专利不是本单位登记的专利。") % {"i": i}, "right_unknown", "right"))
            continue
        if right_id in seen:
            message = _("第 %(i)s 项：专利 %(n)s 重复关联。") % {"i": i, "n": rights[right_id]}
            errors.append(item(message, "duplicate_link", "right"))
        seen.add(right_id)
        try:
            contribution = decimal_or_zero(link.get("contribution"))
        except ArithmeticError:
            contribution = Decimal("NaN")
        if not contribution.is_finite():
            errors.append(item(_("第 %(i)s 项：贡献度须为数字。") % {"i": i}, "contribution_invalid", "contribution"))
            continue
        if not Decimal(0) <= contribution <= Decimal(100):
            message = _("第 %(i)s 项：贡献度须在 0 到 100 之间。") % {"i": i}
            errors.append(item(message, "contribution_range", "contribution"))
        elif _decimal_places(contribution) > 2:  # stored with two: 33.333 was kept as 33.33 by the service alone
            message = _("第 %(i)s 项：贡献度最多保留两位小数。") % {"i": i}
            errors.append(item(message, "contribution_places", "contribution"))
        total += contribution
    if total > 100:
        errors.append(
            rule(
                _("各专利贡献度之和为 %(total)s%%，不能超过 100%%。") % {"total": f"{total.normalize():f}"},
                "contribution_total",
            )
        )
    return errors


FIRST_DATA_YEAR = 2000


def data_year_window() -> tuple[int, int]:
    """The data years a filing may have: from FIRST_DATA_YEAR to last year (certification uses the previous
    calendar year's data, so a year that has not ended yet has no figures to file). One rule for every
    path: the form's choices, the API, the Excel import, the services and the check before review."""
    from filings.workflow import default_data_year

    return FIRST_DATA_YEAR, default_data_year()


def data_year_error(year: Any) -> str | None:
    first, latest = data_year_window()
    if isinstance(year, int) and not isinstance(year, bool) and first <= year <= latest:
        return None
    return _("数据年度须在 %(first)s 至 %(latest)s 年之间（认定使用上一年度的数据）。") % {
        "first": first,
        "latest": latest,
    }


FIGURES = ("sales", "exports", "output_value")
REQUIRED_FIGURES = ("sales", "output_value")  # exports left blank are 0 (a product need not be exported)
FIGURE_MAX = Decimal(10) ** 12  # the columns' 14 digits with 2 decimals: up to 999 999 999 999.99 万元


def _decimal_places(value: Decimal) -> int:
    """The decimal places as written (1.500 has 3), as the forms', the API's and the model's validators count."""
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def figures_to_store(data: Mapping[str, Any]) -> dict[str, Any]:
    """`data` with a blank export figure as 0 (the rule of `figure_errors`)."""
    out = dict(data)
    if "exports" in out and out["exports"] in (None, ""):
        out["exports"] = Decimal(0)
    return out


def figure_errors(data: Mapping[str, Any]) -> dict[str, str]:
    """The rules of a version's figures, for every path: sales and output value given (exports blank: 0), numbers,
    not negative, at most two decimal places, below 10^12 万元, exports not above sales."""
    errors: dict[str, str] = {}
    labels = {"sales": _("销售额"), "exports": _("出口额"), "output_value": _("产值")}
    values: dict[str, Decimal] = {}
    for name, label in labels.items():
        if name in REQUIRED_FIGURES and data.get(name) in (None, ""):
            errors[name] = rule(_("请填写%(label)s。") % {"label": label}, "required")
            continue
        try:
            values[name] = decimal_or_zero(data.get(name))
        except ArithmeticError:
            errors[name] = rule(_("%(label)s须为数字。") % {"label": label}, "invalid")
            continue
        if not values[name].is_finite():
            errors[name] = rule(_("%(label)s须为数字。") % {"label": label}, "invalid")
            del values[name]
        elif values[name] < 0:
            errors[name] = rule(_("%(label)s不能为负数。") % {"label": label}, "min_value")
        elif _decimal_places(values[name]) > 2:
            errors[name] = rule(_("%(label)s最多保留两位小数。") % {"label": label}, "max_decimal_places")
        elif values[name] >= FIGURE_MAX:
            errors[name] = rule(_("%(label)s数值过大（须小于 1 万亿万元）。") % {"label": label}, "max_value")
    if "sales" in values and "exports" in values and "exports" not in errors and values["exports"] > values["sales"]:
        errors["exports"] = rule(
            _("出口额（%(exports)s 万元）不能大于上年度销售额（%(sales)s 万元）。")
            % {"exports": values["exports"], "sales": values["sales"]},
            "exports_above_sales",
        )
    return errors


@dataclass(frozen=True)
class Finding:
    """One finding of a filing's rule set: what the check before review and approval found.

    `field`: the field it belongs to ("patents" for the patent list). `code`: what kind of rule (the API's
    findings carry it). `overridable`: a reviewer may approve despite it, with a reason (recorded as a
    `ReviewOverride` and audited); every other finding blocks submission and approval. `conflict_id`: the
    open ownership conflict an overridable finding is about."""

    field: str
    message: str
    code: str
    overridable: bool = False
    conflict_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "field": self.field, "message": self.message, "overridable": self.overridable}


def _rule_findings(version: ProductVersion) -> list[Finding]:
    """The rules a filer can fix: data year, figures, name and class, links and contributions, the filing
    settings (patent types and statuses), rights and licences. None of them can be overridden."""
    found: list[Finding] = []
    if message := data_year_error(version.data_year):
        found.append(Finding("data_year", message, "data_year"))
    for field, message in figure_errors({f: getattr(version, f) for f in FIGURES}).items():
        found.append(Finding(field, message, "figures"))
    if not version.name.strip():
        found.append(Finding("name", _("请填写产品名称。"), "required"))
    if not version.product_class.is_active:
        found.append(Finding("product_class", _("该产品分类已停用，请选择其他分类。"), "product_class"))
    links = list(version.links.select_related("right__patent"))
    for message in link_shape_errors(
        version.product.unit_id, [{"right": link.right_id, "contribution": link.contribution} for link in links]
    ):
        found.append(Finding("patents", message, "links"))
    if not links:
        found.append(Finding("patents", _("请至少关联一项本单位有权使用的专利。"), "links"))
    elif not any(link.is_core for link in links):
        found.append(Finding("patents", _("请至少标记一项核心专利。"), "links"))
    policy = FilingPolicy.current()
    kinds, statuses = policy.allowed_kinds(), policy.allowed_statuses()
    today = clock.china_today()
    for link in links:
        right, patent = link.right, link.right.patent
        if patent.kind not in kinds:
            found.append(
                Finding(
                    "patents",
                    _("专利 %(n)s 为%(kind)s，平台目前不接受该类型专利用于备案。")
                    % {"n": patent.number, "kind": patent.get_kind_display()},
                    "patent_kind",
                )
            )
        if patent.legal_status not in statuses:
            found.append(
                Finding(
                    "patents",
                    _("专利 %(n)s 的法律状态为“%(status)s”，不能用于备案。")
                    % {"n": patent.number, "status": patent.get_legal_status_display()},
                    "patent_status",
                )
            )
        if right.kind == RightKind.LICENSEE and policy.require_licence_recordal and not right.recordal_number:
            found.append(
                Finding(
                    "patents",
                    _("专利 %(n)s 的许可没有备案号，平台要求许可须经备案。") % {"n": patent.number},
                    "licence_recordal",
                )
            )
        if right.valid_until and right.valid_until < today:
            found.append(
                Finding(
                    "patents",
                    _("本单位对专利 %(n)s 的权利已于 %(d)s 到期。")
                    % {"n": patent.number, "d": right.valid_until.isoformat()},
                    "right_expired",
                )
            )
    return found


def _conflict_findings(version: ProductVersion) -> list[Finding]:
    """An open ownership conflict on a patent of the version (the review page's red box, same query): a
    reviewer verifies the unit's right and either closes the conflict or approves with a reason."""
    patent_ids = PatentLink.objects.filter(version_id=version.pk).values("right__patent_id")
    open_ = (
        PatentConflict.objects.filter(status=ConflictStatus.OPEN, patent_id__in=patent_ids)
        .select_related("patent")
        .order_by("patent__number", "kind")
    )
    return [
        Finding(
            "patents",
            _("专利 %(n)s 存在未处理的权属冲突（%(kind)s）：须核实本单位的权利后处理该冲突，或由审核员说明理由后通过。")
            % {"n": c.patent.number, "kind": c.get_kind_display()},
            "ownership_conflict",
            overridable=True,
            conflict_id=c.pk,
        )
        for c in open_
    ]


def version_findings(version: ProductVersion) -> list[Finding]:
    """The whole rule set of a filing, as the check before review and approval sees it: the rules (none
    overridable) and the open ownership conflicts of its patents (overridable by a reviewer, with a reason).
    The review page, the filer's version page, `workflow.submit` and `workflow.approve` all read this."""
    if not version.pk:
        return []
    return _rule_findings(version) + _conflict_findings(version)


def version_rule_errors(version: ProductVersion) -> dict[str, list[str]]:
    """The findings that no one can override, keyed by field ("patents" for the list): what keeps a saved
    version from review (submission) and from approval."""
    errors: dict[str, list[str]] = {}
    for finding in _rule_findings(version):
        errors.setdefault(finding.field, []).append(finding.message)
    return errors


def _apply_links(version: ProductVersion, links: list[Mapping[str, Any]]) -> None:
    version.links.all().delete()
    PatentLink.objects.bulk_create(
        PatentLink(
            version=version,
            right_id=int(link["right"]),
            is_core=bool(link.get("is_core")),
            contribution=decimal_or_zero(link.get("contribution")),
            embodiment=(link.get("embodiment") or "").strip(),
        )
        for link in links
    )


def _check_shape(unit_id: int, data: Mapping[str, Any], links: list[Mapping[str, Any]] | None) -> None:
    errors: dict[str, Any] = dict(figure_errors(data))
    if links is not None:
        shape = link_shape_errors(unit_id, links)
        if shape:
            errors["patents"] = shape
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def create_product(
    *,
    unit: FilingUnit,
    user: User,
    data: Mapping[str, Any],
    links: list[Mapping[str, Any]],
    data_year: int | None = None,
) -> ProductVersion:
    """A new product with its first (draft) version for `data_year` (default: last year)."""
    from filings.workflow import default_data_year

    require_filer(user, unit)
    year = default_data_year() if data_year is None else data_year
    if message := data_year_error(year):
        raise ValidationError({"data_year": [message]})
    _check_shape(unit.pk, data, links)
    if data.get("certification_opt_in") and (refusal := candidacy.opt_in_refusal(year, None)):
        raise ValidationError({"certification_opt_in": [refusal]})
    data = figures_to_store(data)
    product = Product(unit=unit, created_by=user)
    product.save()
    version = ProductVersion(product=product, data_year=year)
    for f in VERSION_FIELDS:
        if f in data:
            setattr(
                version,
                f if f != "product_class" else "product_class_id",
                _fk(data[f]) if f == "product_class" else data[f],
            )
    version.full_clean(exclude=["product"])
    version.save()
    _apply_links(version, links)
    audit.audit_change(obj=version, before=None, actor=user)
    return version


def _fk(value: Any) -> Any:
    return getattr(value, "pk", value)


@transaction.atomic
def update_version(
    *, version: ProductVersion, user: User, data: Mapping[str, Any], links: list[Mapping[str, Any]] | None = None
) -> ProductVersion:
    """Edit a draft or returned version (figures and, if given, the whole patent list)."""
    require_filer(user)
    locked: ProductVersion = lock_visible(ProductVersion.objects.select_related("product"), user, version.pk)
    if locked.status not in EDITABLE_STATUSES:
        raise ValidationError(
            _("当前状态为“%(status)s”，不能修改。") % {"status": locked.get_status_display()}, code="not_editable"
        )
    merged = {f: getattr(locked, f) for f in FIGURES} | dict(data)
    _check_shape(locked.product.unit_id, merged, links)
    opting_in = bool(data.get("certification_opt_in")) and not locked.certification_opt_in
    if opting_in and (refusal := candidacy.opt_in_refusal(locked.data_year, locked.pk)):
        raise ValidationError({"certification_opt_in": [refusal]})
    data = figures_to_store(data)
    before = audit.snapshot(locked)
    for f in VERSION_FIELDS:
        if f in data:
            if f == "product_class":
                locked.product_class_id = _fk(data[f])
            else:
                setattr(locked, f, data[f])
    locked.full_clean(exclude=["product"])
    try:
        locked.save()
    except IntegrityError as exc:  # a database constraint the checks above should have caught
        raise ValidationError(str(exc)) from exc
    if links is not None:
        old = sorted((link.right_id, link.is_core, link.contribution) for link in locked.links.all())
        _apply_links(locked, links)
        new = sorted((link.right_id, link.is_core, link.contribution) for link in locked.links.all())
        if old != new:
            audit.audit_event(
                action=AuditAction.UPDATE, obj=locked, actor=user, changes={"links": [_jsonable(old), _jsonable(new)]}
            )
    audit.audit_change(obj=locked, before=before, actor=user)
    version.__dict__.update({k: v for k, v in locked.__dict__.items() if not k.startswith("_")})
    return locked


def _jsonable(rows: list[tuple[Any, ...]]) -> list[list[str]]:
    return [[str(v) for v in row] for row in rows]


@transaction.atomic
def delete_draft(*, version: ProductVersion, user: User) -> None:
    """A draft that was never submitted may be deleted (with its product if it has no other version)."""
    require_filer(user)
    locked: ProductVersion = lock_visible(ProductVersion.objects.select_related("product"), user, version.pk)
    if locked.status != "draft" or locked.transitions.exclude(action="yearly_update").exists():
        raise ValidationError(_("只有从未提交过的草稿可以删除；已提交的备案请撤回。"), code="not_deletable")
    product = locked.product
    audit.audit_event(action=AuditAction.DELETE, obj=locked, actor=user)
    locked.delete()
    if not product.versions.exists() and not product.filing_number:
        product.delete()
