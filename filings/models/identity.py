"""Proof of a filing unit's identity (docs/UNITS.md): a unit's request to be verified, and a claim of a taken
USCC by its real owner. Both carry the same two scans — the authorisation letter (授权委托书) bearing the
unit's seal and the business licence (营业执照) — and are decided by a platform reviewer.

Who reads them (`IdentityRequestQuerySet.visible_to`): reviewers and national administrators all; an
enterprise user its own unit's verification requests and the claims it filed itself — never a claim against
its unit (the account under suspicion must not read the claimant's papers); anyone else nothing.
"""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, ClassVar, Self

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from filings.choices import IdentityRequestKind, IdentityRequestStatus
from patent_platform.choices import Role
from patent_platform.roles import has_role
from patent_platform.scoping import ScopedQuerySet, authenticated_reader, scope_of

if TYPE_CHECKING:
    from patent_platform.scoping import Reader


def proof_name(instance: IdentityRequest, filename: str) -> str:
    suffix = PurePosixPath(filename).suffix.lower()[:5]
    return f"identity/{uuid.uuid4().hex}{suffix}"


class IdentityRequestQuerySet(ScopedQuerySet):
    def visible_to(self, user: Reader) -> Self:
        scope = scope_of(user)
        if scope.everything:
            return self.all()
        q = Q(pk__in=[])  # deny by default (ports: nothing; identity papers are the reviewers' business)
        if scope.unit_ids:
            q |= Q(kind=IdentityRequestKind.VERIFICATION, unit_id__in=sorted(scope.unit_ids))
        reader = authenticated_reader(user)
        if reader is not None and reader.pk is not None and has_role(reader, Role.ENTERPRISE):
            q |= Q(kind=IdentityRequestKind.CLAIM, applicant_id=reader.pk)
        return self.filter(q)


class IdentityRequest(models.Model):
    kind = models.CharField(_("类型"), max_length=20, choices=IdentityRequestKind.choices)
    unit = models.ForeignKey(
        "filings.FilingUnit", on_delete=models.PROTECT, related_name="identity_requests", verbose_name=_("备案单位")
    )
    # verification: the unit's manager who sent it; claim: the claimant's own (new) account
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="identity_requests", verbose_name=_("申请人")
    )
    status = models.CharField(
        _("状态"), max_length=20, choices=IdentityRequestStatus.choices, default=IdentityRequestStatus.PENDING
    )
    letter = models.FileField(_("授权委托书（加盖单位公章）"), upload_to=proof_name, max_length=200)
    letter_type = models.CharField(max_length=50, editable=False)
    licence = models.FileField(_("营业执照"), upload_to=proof_name, max_length=200)
    licence_type = models.CharField(max_length=50, editable=False)
    note = models.CharField(_("说明"), max_length=1000, blank=True)
    submitted_at = models.DateTimeField(_("提交时间"), auto_now_add=True)
    decided_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("审核人"),
    )
    reason = models.CharField(_("审核意见"), max_length=1000, blank=True)

    objects = IdentityRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("身份核验与认领申请")
        verbose_name_plural = _("身份核验与认领申请")
        ordering: ClassVar[list[str]] = ["-submitted_at", "-id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            # one verification request under review per unit (a re-submission follows a decision)
            models.UniqueConstraint(
                fields=["unit"],
                condition=Q(kind="verification", status="pending"),
                name="identity_one_pending_verification",
            ),
            # one claim under review per claimant account
            models.UniqueConstraint(
                fields=["applicant"], condition=Q(kind="claim", status="pending"), name="identity_one_pending_claim"
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["status", "kind", "-submitted_at"], name="identity_queue")
        ]  # the queue

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.unit}"
