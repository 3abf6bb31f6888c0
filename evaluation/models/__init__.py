"""The T/PPAC 402-2022 method as versioned data, per-class benchmarks, certification rounds.

- `MethodVersion` fixes an indicator set and the pass rule. Once a round has used it, it is frozen:
  a change makes a new version (`evaluation.methods.method_copy`) and old results keep theirs.
- `BenchmarkSet` holds the benchmark values of one method version, product class and data year.
  A draft is edited; fixing it freezes it; a change after that is a new set with a higher number.
- `Round` is one certification round; `Candidate` one product-year in it, with its indicator results
  (`IndicatorResult`), additional information, expert assignments and objections.

Scoping: methods, benchmarks and rounds are reference data every signed-in user may read; a
candidate and everything hanging off it is scoped like the product (region codes copied onto the
candidate, the filing unit for enterprise users) and, for experts, by their assignments.

The models are in the package's modules (`methods`, `rounds`, `experts`, `whatif`, `schedule`) and all are
importable from here. `AdditionalInfo` stays in this module: migration 0001 names its upload path
`evaluation.models.random_attachment_name`.
"""

import uuid
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Self

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from evaluation.models.experts import (
    CRITERIA,
    Assignment,
    AssignmentQuerySet,
    ExpertProfile,
    NationalOnlyQuerySet,
    Objection,
)
from evaluation.models.methods import SCORE, VALUE, Benchmark, BenchmarkSet, Indicator, MethodVersion, ReferenceQuerySet
from evaluation.models.rounds import (
    Candidate,
    CandidateQuerySet,
    CertificateEvent,
    CertificateEventQuerySet,
    IndicatorResult,
    IndicatorResultQuerySet,
    Round,
    RoundQuerySet,
)
from evaluation.models.schedule import Holiday, LockException, LockExceptionQuerySet
from evaluation.models.whatif import WhatIfRun
from patent_platform.scoping import ScopedQuerySet

if TYPE_CHECKING:
    from patent_platform.scoping import Reader

__all__ = [
    "CRITERIA",
    "SCORE",
    "VALUE",
    "AdditionalInfo",
    "AdditionalInfoQuerySet",
    "Assignment",
    "AssignmentQuerySet",
    "Benchmark",
    "BenchmarkSet",
    "Candidate",
    "CandidateQuerySet",
    "CertificateEvent",
    "CertificateEventQuerySet",
    "ExpertProfile",
    "Holiday",
    "Indicator",
    "IndicatorResult",
    "IndicatorResultQuerySet",
    "LockException",
    "LockExceptionQuerySet",
    "MethodVersion",
    "NationalOnlyQuerySet",
    "Objection",
    "ReferenceQuerySet",
    "Round",
    "RoundQuerySet",
    "WhatIfRun",
    "random_attachment_name",
]


def random_attachment_name(instance: Any, filename: str) -> str:
    suffix = PurePosixPath(filename).suffix.lower()[:5]
    return f"evaluation/{uuid.uuid4().hex}{suffix}"


class AdditionalInfoQuerySet(ScopedQuerySet):
    def visible_to(self, user: "Reader") -> Self:
        return self.filter(candidate__in=Candidate.objects.visible_to(user))


class AdditionalInfo(models.Model):
    """What a filer adds after passing the patent evaluation (for the experts)."""

    candidate = models.OneToOneField(Candidate, on_delete=models.CASCADE, related_name="info")
    market_position = models.TextField(_("市场地位与竞争优势"), max_length=3000)
    technology = models.TextField(_("技术先进性"), max_length=3000)
    patent_use = models.TextField(_("专利运用与保护情况"), max_length=3000)
    attachment = models.FileField(_("证明材料（PDF）"), upload_to=random_attachment_name, blank=True, max_length=200)
    submitted_at = models.DateTimeField(_("提交时间"), auto_now=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    objects = AdditionalInfoQuerySet.as_manager()

    class Meta:
        verbose_name = _("补充材料")
        verbose_name_plural = _("补充材料")

    def __str__(self) -> str:
        return str(self.candidate)
