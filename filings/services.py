"""Write-side functions of the filings app: registration, patents and rights, product versions.

Views, the API, the Excel import and the admin call these; each runs in one transaction and checks
its writes against the user's scope. State changes of a filing are in `filings.workflow`; the rule set that
submission and approval check is in `filings.rules` (which both read).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils.translation import gettext as _

from filings import candidacy, conflicts, rules
from filings.choices import EDITABLE_STATUSES, LicenceKind, RightKind
from filings.identifiers import parse_patent_number, validate_uscc
from filings.models import (
    FilingPolicy,
    FilingUnit,
    Patent,
    PatentLink,
    PatentRight,
    Product,
    ProductVersion,
    UnitMembership,
)
from patent_platform import audit, confirmation
from patent_platform.choices import AuditAction, Role
from patent_platform.messages import Duplicate
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
def enterprise_register(
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
def unit_member_add(*, manager: User, unit: FilingUnit, email: str, full_name: str = "", phone: str = "") -> User:
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
def patent_right_create(*, unit: FilingUnit, user: User, data: Mapping[str, Any]) -> PatentRight:
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
def patent_right_update(*, right: PatentRight, user: User, data: Mapping[str, Any]) -> PatentRight:
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
def patent_right_delete(*, right: PatentRight, user: User) -> None:
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
    errors: dict[str, Any] = dict(rules.figure_errors(data))
    if links is not None:
        shape = rules.link_shape_errors(unit_id, links)
        if shape:
            errors["patents"] = shape
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def product_create(
    *,
    unit: FilingUnit,
    user: User,
    data: Mapping[str, Any],
    links: list[Mapping[str, Any]],
    data_year: int | None = None,
) -> ProductVersion:
    """A new product with its first (draft) version for `data_year` (default: last year)."""
    require_filer(user, unit)
    year = rules.default_data_year() if data_year is None else data_year
    if message := rules.data_year_error(year):
        raise ValidationError({"data_year": [message]})
    _check_shape(unit.pk, data, links)
    if data.get("certification_opt_in") and (refusal := candidacy.opt_in_refusal(year, None)):
        raise ValidationError({"certification_opt_in": [refusal]})
    data = rules.figures_to_store(data)
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
def version_update(
    *, version: ProductVersion, user: User, data: Mapping[str, Any], links: list[Mapping[str, Any]] | None = None
) -> ProductVersion:
    """Edit a draft or returned version (figures and, if given, the whole patent list)."""
    require_filer(user)
    locked: ProductVersion = lock_visible(ProductVersion.objects.select_related("product"), user, version.pk)
    if locked.status not in EDITABLE_STATUSES:
        raise ValidationError(
            _("当前状态为“%(status)s”，不能修改。") % {"status": locked.get_status_display()}, code="not_editable"
        )
    merged = {f: getattr(locked, f) for f in rules.FIGURES} | dict(data)
    _check_shape(locked.product.unit_id, merged, links)
    opting_in = bool(data.get("certification_opt_in")) and not locked.certification_opt_in
    if opting_in and (refusal := candidacy.opt_in_refusal(locked.data_year, locked.pk)):
        raise ValidationError({"certification_opt_in": [refusal]})
    data = rules.figures_to_store(data)
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
def version_delete(*, version: ProductVersion, user: User) -> None:
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
