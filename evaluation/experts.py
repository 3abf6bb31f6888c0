"""The expert pool (专家库) of the industry evaluation: national administrators add and withdraw experts.

An expert is a user with the expert role and a profile (organisation, province, product classes); the
profile's province and organisation are what the conflict rule of `evaluation.rounds` compares. A new
expert gets a one-time link to set a password, the same activation link every other account uses.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from evaluation.models import ExpertProfile
from filings.models import ProductClass
from patent_platform import audit, outbox
from patent_platform.choices import AuditAction, RegionLevel, Role
from patent_platform.models import Region, User
from patent_platform.roles import require_role

NATIONAL_ONLY = gettext_lazy("只有国家局管理员可以维护专家库。")


def queue_expert_invitation(user: User) -> list[str]:
    """The new expert's notice, with a one-time link to set the password (made when it is sent)."""
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("【专利密集型产品认定】您已被聘为评审专家")
        body = "\n".join(
            [
                _("%(name)s：") % {"name": user.get_full_name()},
                _("国家知识产权局已将您加入专利密集型产品认定专家库，您将收到产业性评价的评审任务。"),
                *outbox.link_lines(user),
            ]
        )
    return outbox.enqueue(
        "evaluation.expert_invitation",
        source=str(user.pk),
        recipients=[user.email],
        subject=subject,
        body=body,
        link_user=user,
    )


@transaction.atomic
def expert_create(
    *,
    user: User,
    email: str,
    full_name: str,
    organisation: str,
    province_code: str,
    title: str = "",
    classes: Iterable[ProductClass] = (),
) -> User:
    """A new expert account with its profile; the invitation is written to the outbox with it."""
    require_role(user, Role.NATIONAL_ADMIN, message=NATIONAL_ONLY)
    email = email.strip().lower()
    errors: dict[str, str] = {}
    if not email:
        errors["email"] = _("请填写邮箱。")
    elif User.objects.filter(email__iexact=email).exists():
        errors["email"] = _("邮箱 %(email)s 已被平台上的其他账号使用。") % {"email": email}
    if not full_name.strip():
        errors["full_name"] = _("请填写姓名。")
    if not organisation.strip():
        errors["organisation"] = _("请填写工作单位（用于回避同单位的产品）。")
    if not Region.objects.filter(code=province_code, level=RegionLevel.PROVINCE).exists():
        errors["province_code"] = _("请选择所在省份（用于回避同省的产品）。")
    classes = list(classes)
    if not classes:
        errors["classes"] = _("请至少选择一个评审领域。")
    if errors:
        raise ValidationError(errors)
    expert = User.objects.create_user(email, None, full_name=full_name.strip(), role=Role.EXPERT)
    profile = ExpertProfile.objects.create(
        user=expert, organisation=organisation.strip(), province_code=province_code, title=title.strip()
    )
    profile.classes.set(classes)
    audit.audit_event(
        action=AuditAction.CREATE,
        obj=profile,
        changes={
            "email": [None, email],
            "organisation": [None, profile.organisation],
            "province_code": [None, province_code],
            "classes": [None, [c.code for c in classes]],
        },
        message=str(gettext_lazy("加入专家库")),
        actor=user,
    )
    queue_expert_invitation(expert)
    return expert


@transaction.atomic
def expert_set_active(*, profile: ExpertProfile, user: User, active: bool) -> ExpertProfile:
    """Withdraw an expert from the pool (new assignments skip them; their scores stay) or bring them back."""
    require_role(user, Role.NATIONAL_ADMIN, message=NATIONAL_ONLY)
    profile = ExpertProfile.objects.select_for_update().get(pk=profile.pk)
    if profile.is_active == active:
        return profile
    profile.is_active = active
    profile.save(update_fields=["is_active"])
    audit.audit_event(
        action=AuditAction.UPDATE,
        obj=profile,
        changes={"is_active": [not active, active]},
        message=str(gettext_lazy("恢复在库") if active else gettext_lazy("移出专家库")),
        actor=user,
    )
    return profile
