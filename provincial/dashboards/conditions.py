"""The conditions a dashboard counts by, as query expressions on products and versions: now (filed,
approved before a moment, certified, flagged, first approval) and as of a moment (approved, filed,
certified, flagged at T; see `provincial.dashboards.history`)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, TypedDict

from django.db.models import (
    Case,
    DateTimeField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.utils import timezone

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    from patent_platform.scoping import Reader

from evaluation import lifecycle
from evaluation.models import Candidate
from filings.choices import FilingStatus
from filings.models import FilingFlag, ProductVersion


def filed_condition() -> Exists:
    return Exists(ProductVersion.objects.filter(product=OuterRef("pk"), submitted_at__isnull=False))


def certified_condition() -> Exists:
    """The product holds a certificate now: "certified as of D" (evaluation/lifecycle.py `held_q`) for this
    moment — issued, within its validity, not revoked, its filing not ended (a suspended one still counts)."""
    return lifecycle.held_by_product(timezone.now())


def flagged_condition(user: Reader) -> Exists:
    """An approved version of the product carries an open patent-status flag (read through the scoping rule;
    `user` None: unscoped, for building the summary cells, which are scoped when read)."""
    flags = FilingFlag.objects.all() if user is None else FilingFlag.objects.visible_to(user)
    return Exists(flags.open().filter(version__product=OuterRef("pk"), version__status=FilingStatus.APPROVED))


def approved_before(moment: dt.datetime) -> Exists:
    """A currently approved version decided before `moment` (so the first approval is earlier)."""
    return Exists(
        ProductVersion.objects.filter(product=OuterRef("pk"), status=FilingStatus.APPROVED, decided_at__lt=moment)
    )


def first_approval() -> Subquery:
    return Subquery(
        ProductVersion.objects.filter(product=OuterRef("pk"), status=FilingStatus.APPROVED)
        .order_by("decided_at")
        .values("decided_at")[:1],
        output_field=DateTimeField(),
    )


# ---------------------------------------------------------------------------------------------
# At a moment (the history the platform keeps: provincial.dashboards.history)

LEFT_APPROVED = (FilingStatus.REVOKED, FilingStatus.WITHDRAWN)


def approved_on() -> Case:
    """When a version was approved (an expression on ProductVersion rows; None if it never was)."""
    return Case(
        When(status=FilingStatus.APPROVED, then=F("decided_at")),
        When(status__in=LEFT_APPROVED, then=F("approved_at")),
        default=None,
        output_field=DateTimeField(),
    )


def approved_at_q(moment: dt.datetime, prefix: str = "") -> Q:
    """The versions (at `prefix`) that were approved at `moment`, as a plain range predicate: approved now
    and decided before it, or approved before it and left at or after it (or never, in data written
    without the transition)."""
    return Q(**{f"{prefix}status": FilingStatus.APPROVED, f"{prefix}decided_at__lt": moment}) | (
        Q(**{f"{prefix}status__in": LEFT_APPROVED, f"{prefix}approved_at__lt": moment})
        & (Q(**{f"{prefix}approval_ended_at__isnull": True}) | Q(**{f"{prefix}approval_ended_at__gte": moment}))
    )


class ApprovedOn(TypedDict):
    """The annotation of `versions_approved_at`: when the version was approved."""

    approved_on: dt.datetime | None


def versions_approved_at(moment: dt.datetime) -> QuerySet[WithAnnotations[ProductVersion, ApprovedOn]]:
    """The versions that were approved at `moment`."""
    return ProductVersion.objects.filter(approved_at_q(moment)).annotate(approved_on=approved_on())


def filed_at(moment: dt.datetime) -> Exists:
    """The product had a version submitted for review before `moment`."""
    from filings.choices import PENDING_STATUSES
    from filings.models import Transition

    submitted = Transition.objects.filter(version=OuterRef("pk"), to_status__in=PENDING_STATUSES, at__lt=moment)
    return Exists(
        ProductVersion.objects.filter(product=OuterRef("pk")).filter(Q(submitted_at__lt=moment) | Exists(submitted))
    )


def certified_at(moment: dt.datetime) -> Exists:
    """A certificate held at `moment` (evaluation/lifecycle.py `held_q`: issued before it, within its validity,
    not revoked and its filing not ended by then)."""
    return lifecycle.held_by_product(moment)


def flagged_at(moment: dt.datetime, user: Reader) -> Exists:
    """A version approved at `moment` carried a patent-status flag that was open then (raised before it,
    not resolved before it)."""
    flags = FilingFlag.objects.all() if user is None else FilingFlag.objects.visible_to(user)
    return Exists(
        flags.filter(version__product=OuterRef("pk"), raised_at__lt=moment)
        .filter(approved_at_q(moment, "version__"))
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=moment))
    )


def invention_at() -> Exists:
    """The product's published version at the moment (`at_version`) links an invention patent (a patent's
    kind follows from its number: it has no history)."""
    from filings.choices import PatentKind
    from filings.models import PatentLink

    return Exists(PatentLink.objects.filter(version=OuterRef("at_version"), right__patent__kind=PatentKind.INVENTION))


def certified_for_data_year_at(moment: dt.datetime, data_year: int) -> Exists:
    """`certified_at(moment)`, restricted to the rounds of `data_year` (the year-end evaluation of year Y
    counts the rounds held in Y, which evaluate the data of Y - 1)."""
    return Exists(
        Candidate.objects.filter(lifecycle.held_q(moment), product=OuterRef("pk"), round__data_year=data_year)
    )
