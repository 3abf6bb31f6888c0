"""A what-if comparison run in the background (`evaluation.whatif`): what was asked and its report."""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from evaluation.choices import (
    WhatIfStatus,
)
from evaluation.models.experts import NationalOnlyQuerySet
from evaluation.models.methods import MethodVersion
from evaluation.models.rounds import Round


class WhatIfRun(models.Model):
    """A what-if comparison run in the background (`evaluation.whatif`): what was asked, its progress and the
    report as plain data. It reads the round's tables and never writes them; national administrators only."""

    method = models.ForeignKey(
        MethodVersion, on_delete=models.CASCADE, related_name="+", verbose_name=_("测算方法版本")
    )
    round = models.ForeignKey(Round, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    data_year = models.PositiveSmallIntegerField(_("数据年度"), null=True, blank=True)
    product_class = models.ForeignKey(
        "filings.ProductClass", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(_("状态"), max_length=10, choices=WhatIfStatus.choices, default=WhatIfStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = NationalOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("方法对比测算")
        verbose_name_plural = _("方法对比测算")
        ordering: ClassVar[list[str]] = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.method} · {self.round or self.data_year}"

    @property
    def running(self) -> bool:
        return self.status in (WhatIfStatus.QUEUED, WhatIfStatus.RUNNING)

    @property
    def percent(self) -> int:
        if not self.total:
            return 0 if self.running else 100
        return min(100, round(100 * self.done / self.total))
