"""What the verification API answers: is filing / certificate / statement X valid as of a day, which products of
a unit are filed and certified, and a region's figures. Read-only; every read goes through `visible_to` of the
caller (a client's principal, verification/oauth.py), so what lies outside its region is absent: 404.

No validity rule is written here; each is the platform's own, in one place:
- a filing is valid at a moment when one of its versions was approved then: `provincial.dashboards.approved_at_q`,
  the rule of every figure "as of" a date (approved before the moment, not revoked or withdrawn by then). At
  the present moment it is exactly the public product page's rule (`Product.objects.public()`: an approved
  version is published);
- a certificate is one the public verification page finds (`evaluation.views.public.certified`: certified on a
  published final list); it is valid when issued by the moment (the round's final list published before it,
  `provincial.dashboards.certified_at`) and its filing in force: today the certificate page's own rule
  (`evaluation.certificates.filing_in_force`), at a past moment the certified version approved then;
- a filing statement (备案情况证明) is valid when it was issued by the moment and its stored snapshot is intact
  (`provincial.statements.digest`, what the statement verification page checks); today's answer adds whether the
  unit's filings changed since (`provincial.statements.changes_since`);
- open flags: `verification.flags.open_flags`.

"As of D" is the end of day D in Beijing (the moment D+1 00:00 Asia/Shanghai), or now when D is today.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.db.models import Exists, OuterRef
from django.http import Http404
from django.utils import timezone

from evaluation.certificates import filing_in_force
from evaluation.models import Candidate, CandidateQuerySet
from evaluation.views.public import certified
from filings.identifiers import validate_uscc
from filings.models import FilingUnit, PatentLink, Product, ProductVersion
from patent_platform import clock
from provincial import statements as statement_rules
from provincial.dashboards import approved_at_q, approved_on, area_for, dashboard, state_at
from provincial.models import FilingStatement
from verification.flags import open_flags

if TYPE_CHECKING:
    from patent_platform.scoping import Reader


@dataclass(frozen=True)
class AsOf:
    day: dt.date
    moment: dt.datetime
    today: bool


def as_of(day: dt.date | None) -> AsOf:
    """The moment a day's answer is read at: the end of `day` in Beijing, or now for today (or no day)."""
    today = clock.china_today()
    if day is None or day >= today:
        return AsOf(day=today, moment=timezone.now(), today=True)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=clock.CHINA_TZ)
    return AsOf(day=day, moment=end, today=False)


def _date(value: dt.datetime | None) -> str | None:
    return timezone.localtime(value).date().isoformat() if value else None


def _unit(unit: FilingUnit) -> dict[str, Any]:
    return {"name": unit.name, "uscc": unit.uscc, "region_code": unit.region_id, "region": unit.region.full_name}


def patents_of(version_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The patents linked to each version with their legal status today (one query)."""
    rows: dict[int, list[dict[str, Any]]] = defaultdict(list)
    links = PatentLink.objects.filter(version_id__in=version_ids).select_related("right__patent")
    for link in links.order_by("version_id", "-is_core", "-contribution", "pk"):
        patent = link.right.patent
        rows[link.version_id].append(
            {
                "number": patent.number,
                "patent_number": patent.patent_number,
                "kind": patent.kind,
                "title": patent.title,
                "legal_status": patent.legal_status,
                "legal_status_label": str(patent.get_legal_status_display()),
                "is_core": link.is_core,
            }
        )
    return rows


def _versions_valid_at(versions: Any, at: AsOf) -> Any:
    return versions.annotate(
        valid_at=Exists(ProductVersion.objects.filter(pk=OuterRef("pk")).filter(approved_at_q(at.moment))),
        approved_on=approved_on(),
    )


# ---------------------------------------------------------------------------------------------------------------
# A filing


def verify_filing(reader: Reader, filing_number: str, day: dt.date | None) -> dict[str, Any]:
    at = as_of(day)
    number = filing_number.strip().upper()
    product = (
        Product.objects.visible_to(reader).select_related("unit__region__parent__parent").filter(filing_number=number)
    ).first()
    if product is None:
        raise Http404
    versions = list(_versions_valid_at(product.versions.select_related("product_class"), at).order_by("-data_year"))
    valid = [v for v in versions if v.valid_at]
    shown = valid[0] if valid else next((v for v in versions if v.approved_on), versions[0] if versions else None)
    flags = open_flags([v.pk for v in valid], at.moment)
    patents = patents_of([shown.pk]) if shown else {}
    return {
        "filing_number": number,
        "as_of": at.day.isoformat(),
        "valid": bool(valid),
        "unit": _unit(product.unit),
        "product": None
        if shown is None
        else {
            "name": shown.name,
            "model": shown.model,
            "product_class": shown.product_class.name,
            "data_year": shown.data_year,
            "approved_on": _date(shown.approved_on),
            "status": shown.status if at.today else None,
        },
        "years": [
            {
                "data_year": v.data_year,
                "valid": bool(v.valid_at),
                "approved_on": _date(v.approved_on),
                "status": v.status if at.today else None,
            }
            for v in versions
            if v.approved_on
        ],
        "patents": patents.get(shown.pk, []) if shown else [],
        "open_flags": [flag | {"data_year": v.data_year} for v in valid for flag in flags.get(v.pk, [])],
    }


# ---------------------------------------------------------------------------------------------------------------
# A certificate


def _certificate_valid(candidate: Candidate, at: AsOf) -> tuple[bool, bool]:
    """(issued by the moment, filing in force at the moment)."""
    finalized = candidate.round.finalized_at
    issued = finalized is None or finalized < at.moment
    if at.today:
        return issued, filing_in_force(candidate)
    in_force = ProductVersion.objects.filter(pk=candidate.version_id).filter(approved_at_q(at.moment)).exists()
    return issued, in_force


def _certificate(candidate: Candidate, at: AsOf) -> dict[str, Any]:
    issued, in_force = _certificate_valid(candidate, at)
    return {
        "certificate_number": candidate.certificate_number,
        "valid": issued and in_force,
        "issued": issued,
        "filing_in_force": in_force,
        "certified_on": _date(candidate.certified_at),
        "round": candidate.round.name,
        "data_year": candidate.round.data_year,
        "filing_number": candidate.product.filing_number or "",
        "product": {"name": candidate.version.name, "model": candidate.version.model},
        "product_class": candidate.product_class.name,
    }


def certified_visible_to(reader: Reader) -> CandidateQuerySet:
    """The certificates the public verification page finds, as far as `reader` may see them."""
    return cast("CandidateQuerySet", certified()).visible_to(reader)  # the Candidate manager's queryset


def verify_certificate(reader: Reader, number: str, day: dt.date | None) -> dict[str, Any]:
    at = as_of(day)
    number = number.strip().upper()
    candidate = certified_visible_to(reader).filter(certificate_number=number).first()
    if candidate is None:
        raise Http404
    flags = open_flags([candidate.version_id], at.moment)
    return {
        "as_of": at.day.isoformat(),
        **_certificate(candidate, at),
        "unit": _unit(candidate.unit),
        "patents": patents_of([candidate.version_id]).get(candidate.version_id, []),
        "open_flags": flags.get(candidate.version_id, []),
    }


# ---------------------------------------------------------------------------------------------------------------
# A filing statement


def verify_statement(reader: Reader, number: str, day: dt.date | None) -> dict[str, Any]:
    at = as_of(day)
    number = number.strip().upper()
    statement = (
        FilingStatement.objects.visible_to(reader).select_related("unit__region__parent__parent").filter(number=number)
    ).first()
    if statement is None:
        raise Http404
    issued = statement.generated_at < at.moment
    intact = statement_rules.digest(statement.content) == statement.sha256
    answer: dict[str, Any] = {
        "statement_number": statement.number,
        "as_of": at.day.isoformat(),
        "valid": issued and intact,
        "issued": issued,
        "intact": intact,
        "issued_on": _date(statement.generated_at),
        "data_as_of": timezone.localtime(statement.data_as_of).isoformat(timespec="seconds"),
        "unit": _unit(statement.unit),
        "totals": statement.content.get("totals", {}),
        "changed_since_issued": None,
        "changes": None,
    }
    if at.today and issued:
        changes = statement_rules.changes_since(statement)
        answer["changed_since_issued"] = changes["any"]
        answer["changes"] = {
            key: len(changes[key])
            for key in ("filed_removed", "filed_added", "flagged", "certified_added", "certified_lapsed")
        }
    return answer


# ---------------------------------------------------------------------------------------------------------------
# A unit's products


def unit_products(reader: Reader, uscc: str, day: dt.date | None, *, with_certificates: bool) -> dict[str, Any]:
    """The unit's products filed (a version approved) at the moment, each with its valid data years, the patents
    of its newest valid year with their legal status, the open flags, and (with the scope) its certificates."""
    at = as_of(day)
    code = validate_uscc(uscc)  # a malformed code: ValidationError, answered 400 with the field's message
    unit = FilingUnit.objects.visible_to(reader).select_related("region__parent__parent").filter(uscc=code).first()
    if unit is None:
        raise Http404
    versions = list(
        ProductVersion.objects.visible_to(reader)
        .filter(product__unit=unit)
        .filter(approved_at_q(at.moment))
        .annotate(approved_on=approved_on())
        .select_related("product", "product_class")
        .order_by("product__filing_number", "-data_year")
    )
    by_product: dict[int, list[Any]] = defaultdict(list)  # versions annotated with `approved_on`
    for version in versions:
        by_product[version.product_id].append(version)
    newest = [years[0] for years in by_product.values()]
    patents = patents_of([v.pk for v in newest])
    flags = open_flags([v.pk for v in versions], at.moment)
    certificates: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if with_certificates:
        for candidate in certified_visible_to(reader).filter(unit=unit).order_by("-round__data_year", "pk"):
            certificates[candidate.product_id].append(_certificate(candidate, at))
    products: list[dict[str, Any]] = []
    for years in by_product.values():
        head = years[0]
        products.append(
            {
                "filing_number": head.product.filing_number,
                "name": head.name,
                "model": head.model,
                "product_class": head.product_class.name,
                "data_years": [v.data_year for v in years],
                "approved_on": _date(min(v.approved_on for v in years if v.approved_on)),
                "patents": patents.get(head.pk, []),
                "open_flags": [f | {"data_year": v.data_year} for v in years for f in flags.get(v.pk, [])],
                "certificates": certificates.get(head.product_id, []) if with_certificates else None,
            }
        )
    return {
        "as_of": at.day.isoformat(),
        "unit": _unit(unit),
        "filed_products": len(products),
        "certified_products": sum(1 for p in products if any(c["valid"] for c in p["certificates"] or [])),
        "products": products,
    }


# ---------------------------------------------------------------------------------------------------------------
# A region's figures


def region_statistics(reader: Reader, day: dt.date | None) -> dict[str, Any]:
    """The dashboard's figures of the client's region (what a port of that region sees on its dashboard): today
    the dashboard's own (`provincial.dashboards.dashboard`), at a past day as they stood then (`state_at`)."""
    at = as_of(day)
    area = area_for(reader)
    return dashboard(area) if at.today else state_at(area, at.moment)
