"""What a port may open from its lists (issue 20, "working from the lists"): a filing unit of its area and any
filed version of a product of its area, read-only.

The rules, in one place (the pages of `provincial/views/worklists.py` read only through these):
- the area is the one scoping rule's (`dashboards.Area`: the user's scope, optionally one port inside it with
  `?port=`); a unit, product or version outside it answers 404, as one that does not exist;
- a port sees what was **filed**: a version submitted for review at least once (`submitted_at` set —
  submitted, returned, resubmitted, approved, withdrawn or revoked after submission), the same definition as
  the dashboards' "filed products" (`dashboards.filed_condition`). A draft never submitted is the enterprise's own
  (it may never be filed at all, and its figures are work in progress): its version answers 404 and a product
  with no filed version answers 404; the unit page counts neither (docs/PORTS.md, "Working from the lists");
- the history shown is the filing's own (`Transition`: when, from, to, why, and the actor's role — not the
  person: reviewers and filers are named only to the platform's own staff). The audit log stays with its
  readers (`AuditEvent.objects.visible_to`), as before;
- contacts of a unit are shown as `patent_platform.masking.unit_contacts` says for the viewer's role
  (masked for port and national administrators, as in the lists and the API).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from evaluation.models import Candidate
from filings.models import FilingUnit, PatentLink, Product, ProductVersion, ReturnReason, Transition
from filings.workflow import RULES
from provincial import dashboards

if TYPE_CHECKING:
    from patent_platform.scoping import Reader

HISTORY_LIMIT = 200


def filed_versions(area: dashboards.Area) -> QuerySet[ProductVersion]:
    """The versions a port may open: those of its area submitted at least once."""
    return area.versions().filter(submitted_at__isnull=False)


def filed_products(area: dashboards.Area) -> QuerySet[Product]:
    """The products a port may open: those of its area with a filed version (the dashboards' "filed")."""
    return area.products().filter(dashboards.filed_condition())


def get_unit(area: dashboards.Area, pk: int) -> FilingUnit:
    unit = area.units().select_related("region").filter(pk=pk).first()
    if unit is None:
        raise Http404
    return unit


def get_product(area: dashboards.Area, pk: int) -> Product:
    product = filed_products(area).select_related("unit__region", "published_version").filter(pk=pk).first()
    if product is None:
        raise Http404
    return product


def get_version(area: dashboards.Area, pk: int) -> ProductVersion:
    version = (
        filed_versions(area)
        .select_related("product__unit__region", "product__published_version", "product_class", "decided_by")
        .filter(pk=pk)
        .first()
    )
    if version is None:
        raise Http404
    return version


def versions_of(area: dashboards.Area, product: Product) -> list[ProductVersion]:
    """The filed versions of a product, newest data year first."""
    return list(filed_versions(area).filter(product=product).select_related("product_class").order_by("-data_year"))


def default_version(versions: list[ProductVersion], product: Product) -> ProductVersion:
    """The version a product's page opens on: the published one, else the newest filed one."""
    for version in versions:
        if version.pk == product.published_version_id:
            return version
    return versions[0]


@dataclass
class UnitProduct:
    product: Product
    version: ProductVersion  # the published version, else the newest filed one
    versions: int
    certified: bool
    url: str = ""


def unit_products(area: dashboards.Area, unit: FilingUnit) -> list[UnitProduct]:
    """The unit's filed products with the version each shows and how many filed versions it has."""
    filed = filed_versions(area).select_related("product_class").order_by("-data_year", "-id")
    products = (
        filed_products(area)
        .filter(unit=unit)
        .select_related("published_version__product_class")
        .annotate(
            filed_count=Count("versions", filter=Q(versions__submitted_at__isnull=False)),
            certified=dashboards.certified_condition(),
        )
        .prefetch_related(Prefetch("versions", queryset=filed, to_attr="filed_versions"))
        .order_by("-id")
    )
    rows = []
    for product in products:
        version = product.published_version or product.filed_versions[0]
        rows.append(UnitProduct(product, version, product.filed_count, product.certified))
    return rows


def unit_drafts(area: dashboards.Area, unit: FilingUnit) -> int:
    """How many of the unit's products have never been filed (shown as a number only, never opened)."""
    return area.products().filter(unit=unit).exclude(dashboards.filed_condition()).count()


def action_label(transition: Transition) -> str:
    rule = RULES.get(transition.action)
    if rule is not None:
        return str(rule.label)
    if transition.action == "yearly_update":
        return _("年度更新")
    return str(transition.get_to_status_display())


def actor_label(transition: Transition) -> str:
    """Who acted, by role only (a port does not need the person's name)."""
    actor = transition.actor
    return str(actor.get_role_display()) if actor is not None else _("系统")


def describe(transitions: list[Transition]) -> list[dict[str, Any]]:
    return [
        {
            "at": t.at,
            "action": action_label(t),
            "actor": actor_label(t),
            "from": t.get_from_status_display() if t.from_status else "",
            "to": t.get_to_status_display(),
            "reason": t.reason,
            "version": t.version,
        }
        for t in transitions
    ]


def unit_history(area: dashboards.Area, unit: FilingUnit) -> list[dict[str, Any]]:
    """The filing history of the unit's filed versions, newest first (at most HISTORY_LIMIT entries)."""
    transitions = (
        Transition.objects.filter(version__in=filed_versions(area).filter(product__unit=unit))
        .select_related("actor", "version__product")
        .order_by("-at", "-id")[:HISTORY_LIMIT]
    )
    return describe(list(transitions))


def version_history(version: ProductVersion) -> list[dict[str, Any]]:
    """The version's own history, oldest first (the caller has read `version` through `get_version`)."""
    return describe(list(version.transitions.select_related("actor").order_by("at", "id")))


def version_links(version: ProductVersion) -> QuerySet[PatentLink]:
    return version.links.select_related("right__patent")


def return_reasons(version: ProductVersion) -> QuerySet[ReturnReason]:
    """The reasons of the version's latest return (what the filer is asked to correct)."""
    if not version.review_round:
        return ReturnReason.objects.none()
    return version.return_reasons.filter(review_round=version.review_round)


def candidacies(user: Reader, product: Product) -> QuerySet[Candidate]:
    """The product's certification candidacies the user may see (the certification pages' own rule)."""
    return (
        Candidate.objects.visible_to(user)
        .filter(product=product)
        .select_related("round", "version")
        .order_by("-round__data_year", "-id")
    )
