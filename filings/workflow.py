"""The filing workflow, in one module: a transition is the only way a version changes state.

    draft ──submit──▶ submitted ──approve──▶ approved ──revoke──▶ revoked
                        │   ▲                    │
                   return   resubmit (from returned)   yearly update: a new draft version
                        ▼   │
                      returned
    withdraw: from draft, submitted, returned, resubmitted or approved (by the filer).

Each transition locks the version row, checks the current state and who acts (through the scoping
rule: out of scope is "not found"), writes a `Transition` row and an audit record, and notifies the
people concerned by e-mail through a Celery task enqueued on commit. Approval allocates the filing
number (产品备案号) inside the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import transaction
from django.db.models import F, Field
from django.dispatch import Signal
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from filings import candidacy, identity, rules, webhooks
from filings.choices import EDITABLE_STATUSES, PENDING_STATUSES, FilingStatus
from filings.models import (
    FilingNumberSequence,
    PatentLink,
    Product,
    ProductImage,
    ProductVersion,
    ReturnReason,
    ReviewOverride,
    Transition,
)
from filings.models.search_text import refresh_text
from filings.rules import default_data_year as default_data_year  # re-exported: read as workflow.default_data_year
from patent_platform import audit
from patent_platform.choices import AuditAction, Role
from patent_platform.clock import china_today
from patent_platform.concurrency import Conflict, when
from patent_platform.roles import require_role
from patent_platform.scoping import lock_visible, scope_of

if TYPE_CHECKING:
    from patent_platform.models import User
    from patent_platform.scoping import Reader

S = FilingStatus
FILER = frozenset({Role.ENTERPRISE})
REVIEWERS = frozenset({Role.REVIEWER, Role.NATIONAL_ADMIN})


@dataclass(frozen=True)
class Rule:
    sources: frozenset[str]
    target: str
    actors: frozenset[str]
    label: Any


RULES: dict[str, Rule] = {
    "submit": Rule(frozenset({S.DRAFT}), S.SUBMITTED, FILER, _("提交")),
    "resubmit": Rule(frozenset({S.RETURNED}), S.RESUBMITTED, FILER, _("重新提交")),
    "return": Rule(frozenset(PENDING_STATUSES), S.RETURNED, REVIEWERS, _("退回修改")),
    "approve": Rule(frozenset(PENDING_STATUSES), S.APPROVED, REVIEWERS, _("通过备案")),
    "withdraw": Rule(
        frozenset({S.DRAFT, S.SUBMITTED, S.RETURNED, S.RESUBMITTED, S.APPROVED}), S.WITHDRAWN, FILER, _("撤回")
    ),
    "revoke": Rule(frozenset({S.APPROVED}), S.REVOKED, REVIEWERS, _("撤销备案")),
}

# Fields a reviewer can attach a return reason to ("" = the filing as a whole).
RETURNABLE_FIELDS = (
    "",
    "name",
    "model",
    "product_class",
    "description",
    "images",
    "first_sale_date",
    "sales",
    "exports",
    "output_value",
    "patents",
)


def field_label(field: str) -> str:
    """The label of a returnable field ("" = the filing as a whole) in the active language."""
    special = {"": _("总体意见"), "images": _("产品图片"), "patents": _("关联专利")}
    if field in special:
        return str(special[field])
    model_field = ProductVersion._meta.get_field(field)
    if not isinstance(model_field, Field):  # a reverse relation is not a returnable field
        raise FieldDoesNotExist(field)
    return str(model_field.verbose_name)


class WorkflowError(ValidationError):
    """A transition that is not allowed from the current state, or whose checks failed."""


def allowed_actions(version: ProductVersion, user: Reader) -> list[str]:
    """The transitions this user may take on this version now (for buttons and the API)."""
    return actions_for(version.status, getattr(user, "role", None))


def actions_for(status: str, role: str | None) -> list[str]:
    """`allowed_actions` of a version in `status` for a user of `role`: all that it depends on."""
    return [name for name, rule in RULES.items() if status in rule.sources and role in rule.actors]


def _lock(version: ProductVersion, user: User) -> ProductVersion:
    """Re-read the version under a row lock, through the scoping rule (out of scope: 404)."""
    locked: ProductVersion = lock_visible(ProductVersion.objects.select_related("product"), user, version.pk)
    return locked


class TransitionConflict(Conflict, WorkflowError):
    """The transition lost a race: another action changed the filing first (pages show it, the API answers 409)."""


def _lost_race(locked: ProductVersion, action: str, seen: str | None) -> TransitionConflict | None:
    """Under the lock, the state refuses `action`: a lost race when the action's result is already there (the
    same action done) or the filing changed since the request read it (`seen`); else None (a plain refusal)."""
    rule = RULES[action]
    if locked.status != rule.target and (seen is None or seen == locked.status):
        return None
    last = locked.transitions.order_by("-pk").first()
    done = RULES[last.action].label if last is not None and last.action in RULES else _("更新")
    return TransitionConflict(
        _(
            "另一操作已先完成：该备案已于 %(at)s 被执行“%(done)s”，当前状态为“%(status)s”，"
            "不能执行“%(action)s”。请刷新页面查看。"
        ),
        code="invalid_transition",  # a refused transition still, told as a lost race
        params={
            "at": when(last.at if last is not None else locked.updated_at),
            "done": done,
            "status": locked.get_status_display(),
            "action": rule.label,
        },
    )


def _require_source(locked: ProductVersion, action: str, seen: str | None = None) -> None:
    """`seen`: the status the request read before it took the lock (None: unknown)."""
    rule = RULES[action]
    if locked.status not in rule.sources:
        if conflict := _lost_race(locked, action, seen):
            raise conflict
        raise WorkflowError(
            _("当前状态为“%(status)s”，不能执行“%(action)s”。"),
            code="invalid_transition",
            params={"status": locked.get_status_display(), "action": rule.label},
        )


# Sent by `_transition`, inside its transaction, after every transition of a version: `version` (locked, in
# its new state), `action`, `from_status`, `user`, `reason`. Layers above listen (evaluation/lifecycle.py: a
# revoked or withdrawn filing ends its certificate; a yearly update filed reinstates one); what they write
# commits with the transition, or neither does.
transitioned = Signal()


def _transition(
    version: ProductVersion, action: str, user: User, *, reason: str = "", notify: bool = True
) -> ProductVersion:
    rule = RULES[action]
    require_role(user, *rule.actors, message=_("您的角色不能执行“%(action)s”。") % {"action": rule.label})
    seen = version.status  # as the request read it, before the lock
    locked = _lock(version, user)
    _require_source(locked, action, seen)
    source = locked.status
    locked.status = rule.target
    now = timezone.now()
    if rule.target in PENDING_STATUSES:
        locked.submitted_at = now
    if action in ("approve", "return", "revoke"):
        locked.decided_at = now
        locked.decided_by = user
    record = Transition.objects.create(
        version=locked, action=action, from_status=source, to_status=rule.target, actor=user, reason=reason
    )
    # the approval span (see `ProductVersion.approved_at`): the times of the transitions themselves
    if action == "approve":
        locked.approved_at, locked.approval_ended_at = record.at, None
    elif source == S.APPROVED:
        locked.approval_ended_at = record.at
    locked.save()
    audit.audit_event(
        action=AuditAction.TRANSITION,
        obj=locked,
        actor=user,
        changes={"status": [source, rule.target]},
        message=f"{action}: {reason}" if reason else action,
    )
    from filings.notifications import queue_transition_notice

    if notify:  # approval writes its notice once the filing number is allocated
        queue_transition_notice(record)  # the outbox row commits with the transition, or neither does
    version.__dict__.update(locked.__dict__)
    transitioned.send(
        sender=ProductVersion, version=locked, action=action, from_status=source, user=user, reason=reason
    )
    return locked


def check_submittable(version: ProductVersion) -> None:
    """The rules a version must meet before review; raises ValidationError keyed by field."""
    errors = rules.version_rule_errors(version)
    if errors:
        raise ValidationError(errors)


def version_submit(*, version: ProductVersion, user: User) -> ProductVersion:
    with transaction.atomic():
        seen = version.status  # as the request read it, before the lock
        locked = _lock(version, user)
        action = "resubmit" if locked.status == S.RETURNED else "submit"  # the stored state, not a stale copy
        if seen == S.RETURNED and action == "submit":
            action = "resubmit"  # the filer meant to resubmit: a lost race is told as such
        _require_source(locked, action, seen)
        # the unit's identity first (filings/identity.py): an unverified unit keeps its drafts but submits none
        identity.require_verified(locked.product.unit)
        check_submittable(locked)
        submitted = _transition(version, action, user)
        from filings.checks import run_checks

        run_checks(submitted)  # the plausibility flags of this submission (they inform; they decide nothing)
        return submitted


def version_return(*, version: ProductVersion, user: User, reasons: Mapping[str, str]) -> ProductVersion:
    """Return with reasons per field (`""` for the filing as a whole); at least one reason."""
    cleaned = {field: (msg or "").strip() for field, msg in reasons.items() if (msg or "").strip()}
    unknown = set(cleaned) - set(RETURNABLE_FIELDS)
    if unknown:
        raise ValidationError(
            _("未知字段：%(fields)s"), code="unknown_field", params={"fields": ", ".join(sorted(unknown))}
        )
    if not cleaned:
        raise ValidationError(_("退回时请至少填写一条理由。"), code="reason_required")
    with transaction.atomic():
        with translation.override(settings.LANGUAGE_CODE):  # stored text: the platform's language
            summary = "；".join(f"{field_label(k)}：{v}" for k, v in cleaned.items())
        locked = _transition(version, "return", user, reason=summary)
        ProductVersion.objects.filter(pk=locked.pk).update(review_round=F("review_round") + 1)
        locked.refresh_from_db(fields=["review_round"])
        ReturnReason.objects.bulk_create(
            ReturnReason(version=locked, review_round=locked.review_round, field=f, message=m, created_by=user)
            for f, m in cleaned.items()
        )
        # the webhook event commits with the return, or neither does
        webhooks.emit_transition(locked, "return", reasons=[{"field": f, "message": m} for f, m in cleaned.items()])
        version.review_round = locked.review_round
        return locked


def current_return_reasons(version: ProductVersion) -> dict[str, list[str]]:
    """The reasons of the latest return, by field, while the version is returned.

    Reads `version.return_reasons.all()`, so a list that prefetched them runs no query per version."""
    if version.status != S.RETURNED:
        return {}
    result: dict[str, list[str]] = {}
    for r in version.return_reasons.all():  # ordered by round and id
        if r.review_round == version.review_round:
            result.setdefault(r.field, []).append(r.message)
    return result


def allocate_filing_number(province_code: str, *, year: int | None = None) -> str:
    """The next 产品备案号 for a province: BA + year + province + 6-digit serial, e.g. BA202644000001.

    The sequence row is created if missing (ignore_conflicts makes concurrent creation safe) and then
    incremented by an UPDATE, which holds the row lock until the surrounding transaction commits, so
    concurrent approvals in the same province queue on it and never read the same value. A number is
    never reused: the sequence only grows, and products keep their numbers when revoked.
    """
    year = year or china_today().year
    province = province_code[:2]
    FilingNumberSequence.objects.bulk_create(
        [FilingNumberSequence(year=year, province_code=province)], ignore_conflicts=True
    )
    FilingNumberSequence.objects.filter(year=year, province_code=province).update(last=F("last") + 1)
    serial = FilingNumberSequence.objects.values_list("last", flat=True).get(year=year, province_code=province)
    return f"BA{year}{province}{serial:06d}"


def _republish(product: Product) -> None:
    newest = product.versions.filter(status=S.APPROVED).order_by("-data_year").first()
    Product.objects.filter(pk=product.pk).update(published_version=newest)
    product.published_version = newest
    refresh_text(Product.objects.filter(pk=product.pk))


class FindingsError(WorkflowError):
    """Approval refused by the filing's rule set (`rules.version_findings`): messages keyed by field, the
    findings themselves in `findings` (the API answers 409 with both)."""

    def __init__(self, errors: dict[str, list[str]], findings: list[rules.Finding]) -> None:
        super().__init__(errors, code="findings")
        self.findings = findings


OVERRIDE_REASON_MAX = 1000


def approval_refusal(findings: list[rules.Finding], override_reason: str) -> FindingsError | None:
    """Why these findings stop an approval with this override reason, or None: a finding that cannot be
    overridden always stops it; an overridable one (an open ownership conflict) stops it without a reason."""
    blocking = [f for f in findings if not f.overridable]
    unexplained = [f for f in findings if f.overridable] if not override_reason else []
    if not blocking and not unexplained:
        return None
    errors: dict[str, list[str]] = {}
    for finding in blocking + unexplained:
        errors.setdefault(finding.field, []).append(str(finding.message))
    if unexplained:
        errors["override_reason"] = [
            str(_("存在须由审核员核实的问题（见上），请填写通过的理由；理由将记录在备案上并写入审计日志。"))
        ]
    return FindingsError(errors, blocking + unexplained)


def version_approve(*, version: ProductVersion, user: User, override_reason: str = "") -> ProductVersion:
    """Approve a pending version. The rule set runs again under the row lock (a patent may have lapsed or a
    conflict opened since submission): a finding that cannot be overridden refuses the approval; an open
    ownership conflict refuses it unless the reviewer gives `override_reason`, which is then recorded on the
    filing (`ReviewOverride`, one per finding) and in the audit log."""

    reason = (override_reason or "").strip()
    if len(reason) > OVERRIDE_REASON_MAX:
        raise ValidationError(
            {"override_reason": [_("理由不能超过 %(n)s 字。") % {"n": OVERRIDE_REASON_MAX}]}, code="too_long"
        )
    rule = RULES["approve"]
    require_role(user, *rule.actors, message=_("您的角色不能执行“%(action)s”。") % {"action": rule.label})
    with transaction.atomic():
        seen = version.status  # as the request read it, before the lock
        locked = _lock(version, user)
        _require_source(locked, "approve", seen)
        findings = rules.version_findings(locked)
        if refusal := approval_refusal(findings, reason):
            raise refusal
        overridden: list[rules.Finding] = []
        summary = ""
        if any(f.overridable for f in findings):
            with translation.override(settings.LANGUAGE_CODE):  # stored text: the platform's language
                overridden = [f for f in rules.version_findings(locked) if f.overridable]
                summary = str(_("说明理由通过：%(reason)s")) % {"reason": reason}
        locked = _transition(version, "approve", user, reason=summary, notify=False)
        for finding in overridden:
            record = ReviewOverride.objects.create(
                version=locked,
                code=finding.code,
                message=str(finding.message)[:1000],
                conflict_id=finding.conflict_id,
                reason=reason,
                created_by=user,
            )
            audit.audit_event(
                action=AuditAction.CREATE,
                obj=record,
                actor=user,
                changes={
                    "version": [None, locked.pk],
                    "code": [None, finding.code],
                    "conflict": [None, finding.conflict_id],
                    "reason": [None, reason],
                },
                message=f"approval override: {finding.code}",
            )
        product = Product.objects.select_for_update().get(pk=locked.product_id)
        if not product.filing_number:
            product.filing_number = allocate_filing_number(product.province_code)
            product.save(update_fields=["filing_number"])
            audit.audit_event(
                action=AuditAction.UPDATE,
                obj=product,
                actor=user,
                changes={"filing_number": [None, product.filing_number]},
            )
        _republish(product)
        locked.product = product
        version.product = product
        from filings.notifications import queue_transition_notice

        queue_transition_notice(Transition.objects.filter(version=locked, action="approve").latest("pk"))
        webhooks.emit_transition(locked, "approve")  # with the filing number, in the approval's transaction
        return locked


def version_withdraw(*, version: ProductVersion, user: User, reason: str = "") -> ProductVersion:
    with transaction.atomic():
        locked = _transition(version, "withdraw", user, reason=reason)
        _republish(locked.product)
        return locked


def version_revoke(*, version: ProductVersion, user: User, reason: str) -> ProductVersion:
    if not (reason or "").strip():
        raise ValidationError({"reason": _("撤销备案须说明理由。")}, code="reason_required")
    with transaction.atomic():
        locked = _transition(version, "revoke", user, reason=reason.strip())
        _republish(locked.product)
        webhooks.emit_transition(locked, "revoke", reason=reason.strip())
        return locked


def product_yearly_update_start(*, product: Product, user: User, data_year: int | None = None) -> ProductVersion:
    """Copy the newest version (figures, links, images) into a draft for the next data year."""
    require_role(user, *FILER, message=_("只有备案单位可以进行年度更新。"))
    with transaction.atomic():
        product = lock_visible(Product.objects.all(), user, product.pk)
        source = product.versions.order_by("-data_year").first()
        if source is None:
            raise WorkflowError(_("该产品还没有任何年度版本。"), code="no_version")
        made = source.transitions.filter(action="yearly_update").first() if source.status == S.DRAFT else None
        if made is not None and data_year in (None, source.data_year):  # two clicks: the first made the draft
            raise TransitionConflict(
                _("另一操作已先完成：%(year)s 年度的更新草稿已于 %(at)s 创建。请刷新页面查看。"),
                code="year_exists",
                params={"year": source.data_year, "at": when(made.at)},
            )
        year = data_year or source.data_year + 1
        if year <= source.data_year:
            raise WorkflowError(
                _("%(year)s 年度的数据已存在或早于最新版本（%(latest)s 年度）。"),
                code="year_exists",
                params={"year": year, "latest": source.data_year},
            )
        if year > default_data_year():
            raise WorkflowError(
                _("%(year)s 年度的数据须在该年度结束后（%(next)s 年）填报。"),
                code="year_not_over",
                params={"year": year, "next": year + 1},
            )
        if source.status in EDITABLE_STATUSES or source.status in PENDING_STATUSES:
            raise WorkflowError(_("最新版本尚未审核完毕，不能开始下一年度的更新。"), code="pending_version")
        links = list(source.links.all())
        images = list(source.images.all())
        new = ProductVersion.objects.get(pk=source.pk)
        new.pk = None
        new.id = None
        new._state.adding = True
        new.data_year = year
        new.status = S.DRAFT
        new.review_round = 0
        new.submitted_at = new.decided_at = new.decided_by = None
        new.approved_at = new.approval_ended_at = None
        new.certification_opt_in = False
        new.save()
        PatentLink.objects.bulk_create(
            PatentLink(
                version=new,
                right_id=link.right_id,
                is_core=link.is_core,
                contribution=link.contribution,
                embodiment=link.embodiment,
            )
            for link in links
        )
        ProductImage.objects.bulk_create(
            ProductImage(version=new, file=i.file.name, content_type=i.content_type, caption=i.caption) for i in images
        )
        Transition.objects.create(
            version=new,
            action="yearly_update",
            from_status="",
            to_status=S.DRAFT,
            actor=user,
            reason=f"{source.data_year} → {year}",
        )
        audit.audit_event(
            action=AuditAction.CREATE, obj=new, actor=user, message=f"yearly update {source.data_year} → {year}"
        )
        return new


def version_set_certification_opt_in(*, version: ProductVersion, user: User, opt_in: bool) -> ProductVersion:
    """The filer opts in or out of certification for this data year (not after revocation or withdrawal)."""
    require_role(user, *FILER, message=_("只有备案单位可以选择是否参与认定。"))
    with transaction.atomic():
        locked = _lock(version, user)
        if locked.status in (S.REVOKED, S.WITHDRAWN):
            raise WorkflowError(_("已撤回或已撤销的备案不能参与认定。"), code="opt_in_closed")
        opting_in = opt_in and not locked.certification_opt_in
        if opting_in and (refusal := candidacy.opt_in_refusal(locked.data_year, locked.pk)):
            raise WorkflowError(refusal, code="opt_in_cutoff")
        if locked.certification_opt_in != opt_in:
            before = audit.snapshot(locked)
            locked.certification_opt_in = opt_in
            locked.save(update_fields=["certification_opt_in", "updated_at"])
            audit.audit_change(obj=locked, before=before, ignore=frozenset({"updated_at"}), actor=user)
        version.certification_opt_in = opt_in
        return locked


def is_member(user: Reader, unit_id: int) -> bool:
    return unit_id in scope_of(user).unit_ids
