"""A filing unit's identity is proven before it files (docs/UNITS.md).

- Registration (`services.enterprise_register`) creates the unit *unverified*: it may record patents and
  prepare drafts, but `require_verified` — called by `workflow.version_submit` under the version's row lock, the one
  function every path that submits goes through (page, API, demo loader, factories) — refuses a submission
  with `UnitUnverified` (the API's problem `unit_unverified`, 403).
- The unit becomes verified (`unit_verify`, a conditional UPDATE: once) when a reviewer accepts its proof
  (`verification_submit` → `identity_request_decide`), when a reviewer accepts a claim of its USCC, or at once when a
  trusted identity provider asserts the USCC (`unit_verify_by_identity_provider`, the hook OIDC will call).
- A claim (`claim_open`): the real owner of a USCC someone else registered opens a claim from the refusal,
  with its own account and the same proof. A reviewer decides; on acceptance the accounts that held the unit
  are suspended (inactive, sessions and API tokens ended, told why by mail), their drafts stay (nothing is
  deleted: the audit needs them), and the claimant becomes the unit's administrator. Both sides are told.
- Two reviewers deciding one request at once: the decision is a conditional UPDATE on `status = pending`;
  the second gets `DecisionConflict` (a message naming who decided and when), never a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from filings.choices import IdentityRequestKind, IdentityRequestStatus, VerificationMethod
from filings.identifiers import validate_uscc
from filings.models import FilingUnit, IdentityRequest, UnitMembership
from patent_platform import audit, confirmation, outbox
from patent_platform.choices import AuditAction, Role
from patent_platform.concurrency import Conflict, when
from patent_platform.models import User
from patent_platform.roles import has_role, require_role
from patent_platform.scoping import forget_scope
from patent_platform.security import end_access
from patent_platform.uploads import CONTENT_TYPES, validate_upload

K = IdentityRequestKind
S = IdentityRequestStatus
REVIEWERS = (Role.REVIEWER, Role.NATIONAL_ADMIN)
REASON_MAX = 1000
PROOF_KINDS = ("pdf", "jpg", "png")


class UnitUnverified(ValidationError):
    """A submission by a unit whose identity is not verified yet: pages show the message, the API answers the
    problem `unit_unverified` (403)."""

    problem_code = "unit_unverified"


class DecisionConflict(Conflict):
    """Another reviewer decided the request first (pages show it; the API would answer 409)."""


UNVERIFIED_MESSAGE = gettext_lazy(
    "本单位的身份尚未核验，暂不能提交备案。请在“单位身份核验”页面上传加盖单位公章的授权委托书和营业执照，"
    "平台审核通过后即可提交；草稿已保存。"
)


# ---- the rule -------------------------------------------------------------------------------------------


def is_verified(unit: FilingUnit) -> bool:
    """Read from the database (not a cached row): a reviewer may have verified the unit a moment ago."""
    return FilingUnit.objects.filter(pk=unit.pk, verified_at__isnull=False).exists()


def require_verified(unit: FilingUnit) -> None:
    """Raise UnitUnverified unless the unit's identity is verified (workflow.version_submit calls it)."""
    if not is_verified(unit):
        raise UnitUnverified(UNVERIFIED_MESSAGE, code="unit_unverified")


# ---- verification ---------------------------------------------------------------------------------------


@transaction.atomic
def unit_verify(*, unit: FilingUnit, method: str, actor: User | None = None, note: str = "") -> bool:
    """Mark the unit verified (once: a conditional UPDATE; True if this call did it); audited. The only writer
    of `verified_at`. A claim re-stamps the method even on a verified unit (the proof changed hands)."""
    if method not in VerificationMethod.values:
        raise ValueError(f"unknown verification method {method!r}")
    now = timezone.now()
    rows = FilingUnit.objects.filter(pk=unit.pk)
    if method != VerificationMethod.CLAIM:
        rows = rows.filter(verified_at__isnull=True)
    done = rows.update(verified_at=now, verified_via=method)
    if done:
        audit.audit_event(
            action=AuditAction.UPDATE,
            obj=unit,
            actor=actor,
            changes={"verified_via": [unit.verified_via or None, method]},
            message=f"unit verified ({method}){': ' + note if note else ''}",
        )
        unit.verified_at, unit.verified_via = now, method
    return bool(done)


def trusted_identity_providers() -> frozenset[str]:
    return frozenset(getattr(settings, "TRUSTED_IDENTITY_PROVIDERS", ()) or ())


def unit_verify_by_identity_provider(
    *, unit: FilingUnit, asserted_uscc: str, provider: str, user: User | None = None
) -> bool:
    """The hook for a trusted identity provider (OIDC, issue 22): a login whose provider asserts the unit's USCC
    verifies the unit at once. `provider` must be one of settings.TRUSTED_IDENTITY_PROVIDERS (PermissionDenied
    otherwise); the asserted USCC must be the unit's (ValidationError otherwise: nothing changes). Pending
    verification requests of the unit are closed as no longer needed. True if this call verified the unit."""
    if provider not in trusted_identity_providers():
        raise PermissionDenied(_("身份提供方“%(provider)s”不在受信任列表中。") % {"provider": provider})
    try:
        uscc = validate_uscc(asserted_uscc)
    except ValidationError as exc:
        raise ValidationError({"uscc": exc.messages}, code="uscc_invalid") from exc
    if uscc != unit.uscc:
        raise ValidationError(
            {"uscc": _("身份提供方确认的统一社会信用代码与本单位登记的不一致。")}, code="uscc_mismatch"
        )
    with transaction.atomic():
        done = unit_verify(
            unit=unit, method=VerificationMethod.IDENTITY_PROVIDER, actor=user, note=f"provider {provider}"
        )
        IdentityRequest.objects.filter(unit=unit, kind=K.VERIFICATION, status=S.PENDING).update(
            status=S.WITHDRAWN, decided_at=timezone.now(), reason=f"verified by identity provider {provider}"
        )
    return done


def _checked_proof(file: UploadedFile[bytes] | None, field: str) -> str:
    if file is None:
        raise ValidationError({field: _("请上传该文件。")}, code="required")
    try:
        kind = validate_upload(file, allowed=PROOF_KINDS)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}, code=exc.code) from exc
    return CONTENT_TYPES[kind]


def _proofs(letter: UploadedFile[bytes] | None, licence: UploadedFile[bytes] | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    types: dict[str, str] = {}
    for field, file in (("letter", letter), ("licence", licence)):
        try:
            types[field] = _checked_proof(file, field)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return {"letter": letter, "letter_type": types["letter"], "licence": licence, "licence_type": types["licence"]}


def verification_submit(
    *, user: User, letter: UploadedFile[bytes] | None, licence: UploadedFile[bytes] | None, note: str = ""
) -> IdentityRequest:
    """A unit's manager sends its proof for review (again after a rejection). Refused when the unit is verified
    or a request is under review."""
    from filings.services import is_unit_manager, member_unit

    unit = member_unit(user)
    if not is_unit_manager(user, unit):
        raise PermissionDenied(_("只有单位管理员可以提交身份核验材料。"))
    note = (note or "").strip()
    if len(note) > REASON_MAX:
        raise ValidationError({"note": _("说明不能超过 %(n)s 字。") % {"n": REASON_MAX}}, code="too_long")
    proofs = _proofs(letter, licence)
    if is_verified(unit):
        raise ValidationError(_("本单位的身份已核验，无须再次提交。"), code="verified")
    try:
        with transaction.atomic():
            request = IdentityRequest.objects.create(
                kind=K.VERIFICATION, unit=unit, applicant=user, note=note, **proofs
            )
            audit.audit_event(action=AuditAction.CREATE, obj=request, actor=user, message="verification requested")
    except IntegrityError as exc:  # identity_one_pending_verification: two clicks, or a colleague first
        raise ValidationError(_("本单位已有一份待审核的核验申请，请等待审核结果。"), code="pending") from exc
    return request


# ---- claims ---------------------------------------------------------------------------------------------


def claim_open(
    *,
    uscc: str,
    user_data: Mapping[str, Any],
    letter: UploadedFile[bytes] | None,
    licence: UploadedFile[bytes] | None,
    note: str = "",
) -> tuple[User, IdentityRequest]:
    """The real owner of a USCC that another account registered claims it: its own account (e-mail, name,
    phone, password; confirmed by mail like a registration) and its proof. Returns the new account and the
    claim; a reviewer decides (`identity_request_decide`)."""
    errors: dict[str, Any] = {}
    unit = None
    try:
        uscc = validate_uscc(uscc)
        unit = FilingUnit.objects.filter(uscc=uscc).first()
        if unit is None:
            errors["uscc"] = [_("该统一社会信用代码尚未注册，请直接注册备案单位。")]
    except ValidationError as exc:
        errors["uscc"] = exc.messages
    email = User.objects.normalize_email(user_data.get("email") or "").lower()
    if not email:
        errors["email"] = [_("请填写登录邮箱。")]
    elif User.objects.filter(email__iexact=email).exists():
        errors["email"] = [_("该电子邮箱已注册。认领须使用一个新的电子邮箱账号。")]
    password = user_data.get("password") or ""
    try:
        password_validation.validate_password(password, User(email=email, full_name=user_data.get("full_name", "")))
    except ValidationError as exc:
        errors["password"] = exc.messages
    note = (note or "").strip()
    if len(note) > REASON_MAX:
        errors["note"] = [_("说明不能超过 %(n)s 字。") % {"n": REASON_MAX}]
    try:
        proofs = _proofs(letter, licence)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors or unit is None:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email,
                password,
                full_name=user_data.get("full_name", ""),
                phone=user_data.get("phone", ""),
                role=Role.ENTERPRISE,
            )
            claim = IdentityRequest.objects.create(kind=K.CLAIM, unit=unit, applicant=user, note=note, **proofs)
            audit.audit_event(action=AuditAction.CREATE, obj=user, actor=user, message="claimant account")
            audit.audit_event(
                action=AuditAction.CREATE, obj=claim, actor=user, message=f"claim of USCC {unit.uscc} opened"
            )
            confirmation.email_confirmation_send(user=user)
    except IntegrityError as exc:  # the e-mail taken a moment ago by another request
        raise ValidationError({"email": _("该电子邮箱已注册。认领须使用一个新的电子邮箱账号。")}) from exc
    return user, claim


# ---- the reviewer's decision ----------------------------------------------------------------------------


def _unit_managers(unit: FilingUnit, exclude: int | None = None) -> list[User]:
    members = UnitMembership.objects.filter(unit=unit, user__is_active=True).select_related("user")
    return [m.user for m in members if m.user_id != exclude]


def _mail(kind: str, request: IdentityRequest, recipients: list[User], subject: str, lines: list[str]) -> None:
    for user in recipients:
        outbox.enqueue(
            kind,
            source=f"identity:{request.pk}:{request.status}",
            recipients=[user.email],
            subject=subject,
            body="\n".join([_("%(name)s：") % {"name": user.get_full_name()}, *lines]),
        )


def _suspend_holders(request: IdentityRequest, reviewer: User) -> list[User]:
    """Accepting a claim: every other account of the unit is suspended (inactive; sessions and API tokens
    ended) and told why; memberships and drafts stay, for the audit."""
    unit = request.unit
    holders = list(
        User.objects.filter(unit_membership__unit=unit, is_active=True).exclude(pk=request.applicant_id).order_by("pk")
    )
    if not holders:
        return []
    ids = [u.pk for u in holders]
    User.objects.filter(pk__in=ids).update(is_active=False)
    UnitMembership.objects.filter(user_id__in=ids).update(is_manager=False)
    end_access(ids)
    for user in holders:
        audit.audit_event(
            action=AuditAction.PERMISSION,
            obj=user,
            actor=reviewer,
            changes={"is_active": [True, False]},
            message=f"suspended: claim {request.pk} of USCC {unit.uscc} accepted",
        )
        forget_scope(user)
    _mail(
        "accounts.suspended",
        request,
        holders,
        _("【专利产品备案】您的账号已停用"),
        [
            _(
                "统一社会信用代码 %(uscc)s（%(unit)s）的持有单位向平台提交了认领申请，并提供了加盖公章的授权委托书"
                "和营业执照；平台审核员已于 %(when)s 审核通过。该代码由您的账号注册，您的账号因此已停用，"
                "不能再登录或办理业务。"
            )
            % {"uscc": unit.uscc, "unit": unit.name, "when": when(request.decided_at)},
            _("您账号下的草稿和记录均已保留，供审计核查，未被删除。"),
            _("如您认为有误，请联系平台管理员并提供相关证明材料。"),
        ],
    )
    return holders


def identity_request_decide(*, request: IdentityRequest, user: User, accept: bool, reason: str = "") -> IdentityRequest:
    """A reviewer accepts or rejects a verification request or a claim (a reason is required to reject; it is
    shown to the applicant). Audited; both sides told by mail. A request decided by someone else first raises
    DecisionConflict."""
    require_role(user, *REVIEWERS, message=_("只有平台审核员可以审核身份核验与认领申请。"))
    reason = (reason or "").strip()
    if not accept and not reason:
        raise ValidationError({"reason": _("不通过时请填写理由，理由将告知申请人。")}, code="reason_required")
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": _("理由不能超过 %(n)s 字。") % {"n": REASON_MAX}}, code="too_long")
    status = S.ACCEPTED if accept else S.REJECTED
    now = timezone.now()
    with transaction.atomic():
        # the decision itself: one conditional UPDATE, so of two reviewers at once exactly one changes the row
        won = IdentityRequest.objects.filter(pk=request.pk, status=S.PENDING).update(
            status=status, decided_at=now, decided_by=user, reason=reason
        )
        fresh = IdentityRequest.objects.select_related("unit", "applicant", "decided_by").get(pk=request.pk)
        if not won:
            who = fresh.decided_by.get_full_name() if fresh.decided_by else _("平台")
            raise DecisionConflict(
                _("另一操作已先完成：该申请已由 %(who)s 于 %(at)s 处理（%(status)s），无须重复操作。请刷新页面查看。"),
                params={"who": who, "at": when(fresh.decided_at), "status": fresh.get_status_display()},
            )
        audit.audit_event(
            action=AuditAction.TRANSITION,
            obj=fresh,
            actor=user,
            changes={"status": [S.PENDING, status], "reason": [None, reason or None]},
            message=f"{fresh.kind} {'accepted' if accept else 'rejected'}",
        )
        unit = fresh.unit
        if fresh.kind == K.VERIFICATION:
            _decide_verification(fresh, user, accept)
        else:
            _decide_claim(fresh, user, accept)
        unit.refresh_from_db()
    request.__dict__.update({k: v for k, v in fresh.__dict__.items() if not k.startswith("_")})
    return fresh


def _decide_verification(request: IdentityRequest, reviewer: User, accept: bool) -> None:
    unit = request.unit
    recipients = _unit_managers(unit)
    if accept:
        unit_verify(unit=unit, method=VerificationMethod.REVIEW, actor=reviewer, note=f"request {request.pk}")
        lines = [
            _("%(unit)s（统一社会信用代码 %(uscc)s）的身份已核验通过，现在可以提交产品备案。")
            % {"unit": unit.name, "uscc": unit.uscc}
        ]
        subject = _("【专利产品备案】单位身份核验已通过")
    else:
        lines = [
            _("%(unit)s 的身份核验申请未通过。理由：%(reason)s") % {"unit": unit.name, "reason": request.reason},
            _("请登录平台，在“单位身份核验”页面按审核意见重新上传材料。"),
        ]
        subject = _("【专利产品备案】单位身份核验未通过")
    _mail("filings.unit_identity", request, recipients, subject, lines)


def _decide_claim(request: IdentityRequest, reviewer: User, accept: bool) -> None:
    unit = request.unit
    claimant = request.applicant
    if not accept:
        _mail(
            "filings.unit_identity",
            request,
            [claimant],
            _("【专利产品备案】认领申请未通过"),
            [
                _("您对统一社会信用代码 %(uscc)s 的认领申请未通过。理由：%(reason)s")
                % {"uscc": unit.uscc, "reason": request.reason},
                _("如有补充材料，可重新提交认领申请，或联系平台管理员。"),
            ],
        )
        return
    if UnitMembership.objects.filter(user=claimant).exclude(unit=unit).exists():
        raise ValidationError(_("申请人的账号已属于另一备案单位，不能成为本单位管理员。"), code="claimant_member")
    suspended = _suspend_holders(request, reviewer)
    UnitMembership.objects.update_or_create(user=claimant, defaults={"unit": unit, "is_manager": True})
    forget_scope(claimant)
    audit.audit_event(
        action=AuditAction.PERMISSION,
        obj=claimant,
        actor=reviewer,
        changes={"unit": [None, unit.pk], "is_manager": [None, True]},
        message=f"claim {request.pk} accepted: manager of unit {unit.pk}",
    )
    unit_verify(unit=unit, method=VerificationMethod.CLAIM, actor=reviewer, note=f"claim {request.pk}")
    # the suspended holders' own requests are moot now
    IdentityRequest.objects.filter(unit=unit, status=S.PENDING, kind=K.VERIFICATION).update(
        status=S.WITHDRAWN, decided_at=timezone.now(), decided_by=reviewer, reason=f"superseded by claim {request.pk}"
    )
    _mail(
        "filings.unit_identity",
        request,
        [claimant],
        _("【专利产品备案】认领申请已通过"),
        [
            _(
                "您对统一社会信用代码 %(uscc)s（%(unit)s）的认领申请已审核通过。您的账号现在是该单位的管理员，"
                "单位身份已核验，可以提交产品备案。"
            )
            % {"uscc": unit.uscc, "unit": unit.name},
            _("原先注册该代码的 %(n)s 个账号已停用；其草稿和记录已保留供审计，请核对后再提交。")
            % {"n": len(suspended)},
        ],
    )


def can_review(user: User) -> bool:
    return has_role(user, *REVIEWERS)
