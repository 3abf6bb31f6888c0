"""The calendar of the rounds: `LockException`s (a product let past a deadline) and the `Holiday`s that
working-day deadlines skip.
"""

from typing import TYPE_CHECKING, ClassVar, Self

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from evaluation.choices import (
    LockKind,
)
from evaluation.models.methods import ReferenceQuerySet
from evaluation.models.rounds import Candidate, Round
from patent_platform.choices import Role
from patent_platform.roles import has_role
from patent_platform.scoping import ScopedQuerySet, authenticated_reader

if TYPE_CHECKING:
    from patent_platform.scoping import Reader


class LockExceptionQuerySet(ScopedQuerySet):
    """The national office reads every exception; a filer or a port those of the candidates they may see."""

    def visible_to(self, user: "Reader") -> Self:
        reader = authenticated_reader(user)
        if reader is not None and reader.is_active and has_role(reader, Role.NATIONAL_ADMIN):
            return self.all()
        return self.filter(candidate__in=Candidate.objects.visible_to(user))


class LockException(models.Model):
    """The national office lets one product past a deadline, with a reason (audited, shown on the result).

    `cutoff`: a product-year admitted to the round after its filing cut-off (its filer may still opt in,
    and the patent evaluation takes it in); `info`: a candidate may add its information until `until`.
    """

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="lock_exceptions")
    kind = models.CharField(_("类型"), max_length=10, choices=LockKind.choices)
    version = models.ForeignKey(
        "filings.ProductVersion", on_delete=models.PROTECT, related_name="lock_exceptions", verbose_name=_("产品")
    )
    candidate = models.ForeignKey(
        Candidate, null=True, blank=True, on_delete=models.CASCADE, related_name="lock_exceptions"
    )
    until = models.DateField(_("准予至"), null=True, blank=True)
    reason = models.TextField(_("理由"), max_length=2000)
    granted_at = models.DateTimeField(_("准予时间"), auto_now_add=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = LockExceptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("锁定例外")
        verbose_name_plural = _("锁定例外")
        ordering: ClassVar[list[str]] = ["granted_at", "id"]

    def __str__(self) -> str:
        return f"{self.round} · {self.get_kind_display()} · {self.version_id}"


class Holiday(models.Model):
    """A day the national office marks off the Monday–Friday working week (a public holiday), or on it
    (a weekend day worked in exchange, 调休上班). The 公示 period counts working days."""

    date = models.DateField(_("日期"), unique=True)
    name = models.CharField(_("名称"), max_length=50)
    is_workday = models.BooleanField(_("调休上班"), default=False, help_text=_("勾选：该周末日按工作日计算"))

    objects = ReferenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("节假日")
        verbose_name_plural = _("节假日")
        ordering: ClassVar[list[str]] = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"
