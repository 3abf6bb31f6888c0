"""Port applications: an office applies for its management port, the national office approves or returns it.

Approval opens the port in one transaction: the application is marked approved, the unit opened, its
contacts stored, and an account made for every contact marked as administrator (role port_admin, no
usable password) and granted the port's regions. The invitations (a one-time link to set the password,
Django's password-reset token, void once the password is set) are e-mailed after the commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from patent_platform import audit, outbox
from patent_platform.choices import AuditAction, Role
from patent_platform.concurrency import Conflict, when
from patent_platform.models import User
from patent_platform.uploads import validate_upload
from provincial.choices import ApplicationStatus
from provincial.models import ManagementUnit, PortApplication, PortContact, PortMembership
from provincial.services import port_add_admin

CONTACT_FIELDS = ("name", "post", "office_phone", "mobile", "email", "is_admin")
MAX_CONTACTS = 20
SUBJECT_PREFIX = "【专利产品备案】"


# ---------------------------------------------------------------------------------------------
# Checks


def unit_unavailable_reason(unit: ManagementUnit) -> str | None:
    """Why `unit` cannot be applied for now (open already, or an application waits), or None."""
    if unit.is_open:
        return _("“%(unit)s”的管理端口已开通，无需再次申请。如需增加管理员或联系人，请联系国家知识产权局。") % {
            "unit": unit.name
        }
    if unit.applications.filter(status=ApplicationStatus.SUBMITTED).exists():
        return _("“%(unit)s”已有一份待审核的开通申请，请等待审核结果（结果将发送到申请时填写的邮箱）。") % {
            "unit": unit.name
        }
    return None


def clean_contacts(contacts: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The contacts as stored on the application; at least one, at least one administrator, unique e-mails."""
    rows = []
    for contact in contacts:
        row = {key: contact.get(key, "") for key in CONTACT_FIELDS}
        row["email"] = str(row["email"]).strip().lower()
        row["is_admin"] = bool(row["is_admin"])
        for key in ("name", "post", "office_phone", "mobile"):
            row[key] = str(row[key]).strip()
        rows.append(row)
    if not rows:
        raise ValidationError({"contacts": _("请至少填写一位联系人。")})
    if len(rows) > MAX_CONTACTS:
        raise ValidationError({"contacts": _("联系人最多 %(n)s 位。") % {"n": MAX_CONTACTS}})
    emails = [row["email"] for row in rows]
    duplicates = sorted({e for e in emails if emails.count(e) > 1})
    if duplicates:
        raise ValidationError({"contacts": _("联系人电子邮箱重复：%(emails)s。") % {"emails": "、".join(duplicates)}})
    if not any(row["is_admin"] for row in rows):
        raise ValidationError(
            {"contacts": _("请至少勾选一位“端口管理员”：端口开通后将为其创建账号并发送设置密码的邀请。")}
        )
    return rows


def admin_account_problems(application: PortApplication) -> list[str]:
    """The administrator e-mails that cannot become administrators of this port, with the reason."""
    problems = []
    for contact in application.contacts:
        if not contact.get("is_admin"):
            continue
        email = str(contact.get("email", "")).lower()
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            continue
        if user.role != Role.PORT_ADMIN:
            problems.append(
                _("邮箱 %(email)s 已被平台上的“%(role)s”账号使用，不能再作为端口管理员；请退回申请，请其更换邮箱。")
                % {"email": email, "role": user.get_role_display()}
            )
            continue
        membership = PortMembership.objects.filter(user=user).select_related("unit").first()
        if membership is not None and membership.unit_id != application.unit_id:
            problems.append(
                _("邮箱 %(email)s 已是“%(port)s”的端口管理员，一个账号只能管理一个端口。")
                % {"email": email, "port": membership.unit.name}
            )
    return problems


# ---------------------------------------------------------------------------------------------
# Applying


def submit_application(
    *,
    unit: ManagementUnit,
    office_name: str,
    person_in_charge: str,
    applicant_email: str,
    form_scan: UploadedFile[bytes],
    contacts: Iterable[Mapping[str, Any]],
    person_post: str = "",
    person_phone: str = "",
) -> PortApplication:
    """Store an application (no login: the office is not a user yet) and e-mail the applicant a receipt."""
    rows = clean_contacts(contacts)
    try:
        validate_upload(form_scan, allowed=("pdf",))
    except ValidationError as exc:
        raise ValidationError({"form_scan": exc.messages}) from exc
    with transaction.atomic():
        unit = ManagementUnit.objects.select_for_update().get(pk=unit.pk)  # one pending application per unit
        reason = unit_unavailable_reason(unit)
        if reason:
            raise ValidationError({"unit": reason})
        application = PortApplication(
            unit=unit,
            office_name=office_name.strip(),
            person_in_charge=person_in_charge.strip(),
            person_post=person_post.strip(),
            person_phone=person_phone.strip(),
            applicant_email=applicant_email.strip().lower(),
            contacts=rows,
        )
        application.form_scan.save("scan.pdf", form_scan, save=False)
        application.save()
        audit.audit_event(
            action=AuditAction.CREATE,
            obj=application,
            changes={"unit": [None, unit.code], "status": [None, application.status], "contacts": [None, len(rows)]},
            message="port application",
        )
        queue_receipt_notice(application)
    return application


# ---------------------------------------------------------------------------------------------
# Deciding


def _lock_pending(application: PortApplication) -> PortApplication:
    """The application under its row lock, still waiting. One already decided was decided by another request
    first (two clicks at once, or a page read before it): a lost race (`Conflict`: 409, the page says so)."""
    locked = PortApplication.objects.select_for_update().select_related("unit").get(pk=application.pk)
    if locked.status != ApplicationStatus.SUBMITTED:
        raise Conflict(
            _("另一操作已先完成：该申请已于 %(at)s 审核，状态已是“%(status)s”，不能再审核。请刷新页面查看。")
            % {"at": when(locked.decided_at), "status": locked.get_status_display()},
            code="not_pending",
        )
    return locked


def _admin_user(contact: Mapping[str, Any], unit: ManagementUnit) -> tuple[User, bool]:
    """The account of an administrator contact: an existing port administrator without another port,
    or a new account with an unusable password. Returns (user, created)."""
    email = str(contact["email"]).lower()
    user = User.objects.select_for_update().filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(
            email, None, full_name=contact.get("name", ""), phone=contact.get("mobile", ""), role=Role.PORT_ADMIN
        )
        return user, True
    if user.role != Role.PORT_ADMIN:
        raise ValidationError(
            _("邮箱 %(email)s 已被平台上的“%(role)s”账号使用，不能作为端口管理员。请退回申请，请申请单位更换邮箱。")
            % {"email": email, "role": user.get_role_display()},
            code="email_taken",
        )
    membership = PortMembership.objects.filter(user=user).select_related("unit").first()
    if membership is not None and membership.unit_id != unit.pk:
        raise ValidationError(
            _("邮箱 %(email)s 已是“%(port)s”的端口管理员，一个账号只能管理一个端口。")
            % {"email": email, "port": membership.unit.name},
            code="email_other_port",
        )
    return user, False


@transaction.atomic
def application_approve(*, application: PortApplication, user: User) -> PortApplication:
    """Approve: open the port, store its contacts, create and grant its administrators, invite them."""
    application = _lock_pending(application)
    unit = ManagementUnit.objects.select_for_update().get(pk=application.unit_id)
    if unit.is_open:
        raise ValidationError(_("“%(unit)s”的管理端口已开通，请退回此申请。") % {"unit": unit.name}, code="open")
    rows = clean_contacts(application.contacts)
    before = application.status
    application.status = ApplicationStatus.APPROVED
    application.decided_at = timezone.now()
    application.decided_by = user
    application.return_reason = ""
    application.save(update_fields=["status", "decided_at", "decided_by", "return_reason"])
    unit.is_open = True
    unit.save(update_fields=["is_open"])  # ManagementUnit is audited by its signal (is_open: false → true)
    for row in rows:
        PortContact.objects.create(unit=unit, **row)
    admins = []
    for row in rows:
        if not row["is_admin"]:
            continue
        admin, created = _admin_user(row, unit)
        port_add_admin(unit=unit, user=admin)
        audit.audit_event(
            action=AuditAction.PERMISSION,
            obj=admin,
            changes={"port": [None, unit.code], "role": [None, Role.PORT_ADMIN]},
            message=f"port administrator of {unit.code} ({'new account' if created else 'existing account'})",
            actor=user,
        )
        admins.append(admin)
    audit.audit_event(
        action=AuditAction.TRANSITION,
        obj=application,
        changes={"status": [before, application.status], "unit.is_open": [False, True], "admins": len(admins)},
        message="port application approved",
        actor=user,
    )
    queue_approval_notices(application, admins)
    return application


@transaction.atomic
def application_return(*, application: PortApplication, user: User, reason: str) -> PortApplication:
    """Return with a reason; the applicant is told by e-mail and may apply again (a new application)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("请填写退回理由，申请单位将通过邮件收到该理由。")})
    application = _lock_pending(application)
    before = application.status
    application.status = ApplicationStatus.RETURNED
    application.return_reason = reason
    application.decided_at = timezone.now()
    application.decided_by = user
    application.save(update_fields=["status", "return_reason", "decided_at", "decided_by"])
    audit.audit_event(
        action=AuditAction.TRANSITION,
        obj=application,
        changes={"status": [before, application.status], "return_reason": [None, reason]},
        message="port application returned",
        actor=user,
    )
    queue_return_notice(application)
    return application


# ---------------------------------------------------------------------------------------------
# Contacts kept per port (national administrators add and remove them)


@transaction.atomic
def contact_add(*, unit: ManagementUnit, data: Mapping[str, Any], user: User) -> PortContact:
    email = str(data.get("email", "")).strip().lower()
    if PortContact.objects.filter(unit=unit, email__iexact=email).exists():
        raise ValidationError({"email": _("该端口已有使用此邮箱的联系人。")})
    contact = PortContact(
        unit=unit,
        name=str(data.get("name", "")).strip(),
        post=str(data.get("post", "")).strip(),
        office_phone=str(data.get("office_phone", "")).strip(),
        mobile=str(data.get("mobile", "")).strip(),
        email=email,
        is_admin=False,  # administrators are accounts: they come with an approval (or the admin site)
    )
    contact.full_clean()
    contact.save()
    audit.audit_change(obj=contact, before=None, actor=user)
    return contact


@transaction.atomic
def contact_remove(*, contact: PortContact, user: User) -> None:
    audit.audit_event(action=AuditAction.DELETE, obj=contact, changes=audit.snapshot(contact), actor=user)
    contact.delete()


# ---------------------------------------------------------------------------------------------
# E-mails


def _site_link(path: str) -> str:
    site: str = settings.SITE_URL
    return site.rstrip("/") + path


def queue_receipt_notice(application: PortApplication) -> None:
    with translation.override(settings.LANGUAGE_CODE):
        subject = SUBJECT_PREFIX + _("已收到“%(unit)s”管理端口开通申请") % {"unit": application.unit.name}
        body = "\n".join(
            [
                _("%(office)s：") % {"office": application.office_name},
                _("我们已收到贵单位提交的“%(unit)s”管理端口开通申请。") % {"unit": application.unit.name},
                _("国家知识产权局审核后，结果将发送到本邮箱。"),
                _("负责人：%(name)s") % {"name": application.person_in_charge},
                _("联系人：%(n)s 位") % {"n": len(application.contacts)},
            ]
        )
    _to_applicant("provincial.application_receipt", application, subject, body)


def _to_applicant(kind: str, application: PortApplication, subject: str, body: str) -> None:
    outbox.enqueue(
        kind, source=str(application.pk), recipients=[application.applicant_email], subject=subject, body=body
    )


def queue_return_notice(application: PortApplication) -> None:
    with translation.override(settings.LANGUAGE_CODE):
        subject = SUBJECT_PREFIX + _("“%(unit)s”管理端口开通申请已退回") % {"unit": application.unit.name}
        body = "\n".join(
            [
                _("%(office)s：") % {"office": application.office_name},
                _("贵单位提交的“%(unit)s”管理端口开通申请已被退回。") % {"unit": application.unit.name},
                _("退回理由：%(reason)s") % {"reason": application.return_reason},
                _("请按上述理由修改后重新提交申请：%(link)s") % {"link": _site_link(reverse("port_apply:new"))},
            ]
        )
    _to_applicant("provincial.application_returned", application, subject, body)


def queue_invitation_notice(user: User, unit: ManagementUnit) -> None:
    with translation.override(settings.LANGUAGE_CODE):
        subject = SUBJECT_PREFIX + _("您已成为“%(unit)s”管理端口管理员") % {"unit": unit.name}
        lines = [
            _("%(name)s：") % {"name": user.get_full_name()},
            _("“%(unit)s”管理端口已开通，您是该端口的管理员。") % {"unit": unit.name},
        ]
        needs_link = not user.has_usable_password()
        if needs_link:
            lines += outbox.link_lines(user)
        else:
            lines.append(_("请使用您已设置的密码登录：%(link)s") % {"link": _site_link(reverse("login"))})
            lines.append(_("登录账号：%(email)s") % {"email": user.email})
    outbox.enqueue(
        "provincial.port_admin_invitation",
        source=f"{unit.pk}:{user.pk}",
        recipients=[user.email],
        subject=subject,
        body="\n".join(lines),
        link_user=user if needs_link else None,
    )


def queue_approval_notices(application: PortApplication, admins: Iterable[User]) -> None:
    """The approved port's notices: each administrator's invitation and the applicant's notice."""
    unit = application.unit
    for admin in sorted(admins, key=lambda a: a.pk):
        queue_invitation_notice(admin, unit)
    with translation.override(settings.LANGUAGE_CODE):
        subject = SUBJECT_PREFIX + _("“%(unit)s”管理端口已开通") % {"unit": unit.name}
        body = "\n".join(
            [
                _("%(office)s：") % {"office": application.office_name},
                _("贵单位提交的“%(unit)s”管理端口开通申请已获批准，端口已开通。") % {"unit": unit.name},
                _("端口管理员将分别收到设置密码的邀请邮件。"),
            ]
        )
    _to_applicant("provincial.application_approved", application, subject, body)
