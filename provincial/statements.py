"""The filing statement (备案情况证明) of a filing unit: a snapshot of its filed and certified products by
data year, a PDF drawn from it, and the comparison of the snapshot with today's data.

Bureaus checking award and project applications use it; the QR code on the PDF opens the public
verification page, which shows the snapshot as issued and what changed since.

What a statement covers (stated in the PDF and on the verification page):
- filed products: every product-year (version) of the unit whose status is 已通过备案 and whose product holds
  a filing number (产品备案号), grouped by data year; versions withdrawn or revoked are not listed;
- certified products: the certificates the unit holds on the day ("certified as of D",
  evaluation/lifecycle.py `certified_as_of`: within their validity, not revoked, their filing not ended),
  each with its status that day (valid or suspended), grouped by the round's data year;
- totals per data year.

The snapshot is read through `visible_to` of a reader scoped to the unit itself (what the unit's own users
see), so it never holds another unit's rows. It is stored as `FilingStatement.content` with the SHA-256 of
its canonical JSON; the PDF is rendered from the stored snapshot on every download (the same text each
time), and the verification page recomputes today's snapshot to compare.

The PDF carries an SM2 signature of the statement's facts (`statement_facts`: number, unit, USCC, data as of,
totals, the SHA-256 of the snapshot, the verification address), embedded as `sm2-signature.json` and printed
with the key id (patent_platform/signing.py; `manage.py verify_document` checks a downloaded statement).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.http import Http404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from evaluation import lifecycle
from evaluation.certificates import filing_in_force, is_certified
from evaluation.models import Candidate
from filings.choices import FilingStatus
from filings.models import FilingFlag, FilingUnit, Product, ProductVersion
from filings.receipts import qr_data_uri
from patent_platform import audit, signing
from patent_platform.choices import AuditAction, Role
from patent_platform.clock import china_today
from patent_platform.models import User
from patent_platform.roles import require_role
from patent_platform.scoping import Principal, Scope, lock_visible
from provincial.models import FilingStatement

TEMPLATE = "provincial/statements/document.html"
SCHEMA = 1
NUMBER_PREFIX = "BZ"
NUMBER_ATTEMPTS = 8
# Who may issue and download statements. Reviewers (platform-wide readers) and experts do not: a statement is
# an administrative document of the unit, its port or the national office.
ISSUERS = frozenset({Role.ENTERPRISE, Role.PORT_ADMIN, Role.NATIONAL_ADMIN})
ADMINISTRATORS = frozenset({Role.PORT_ADMIN, Role.NATIONAL_ADMIN})


def unit_reader(unit: FilingUnit) -> Principal:
    """A reader that sees exactly what the unit's own users see."""
    return Principal(role=Role.ENTERPRISE, scope=Scope(unit_ids=frozenset({unit.pk})), label=f"statement:{unit.pk}")


def _local_date(value: Any) -> str:
    return timezone.localtime(value).date().isoformat() if value else ""


def _filed_rows(unit: FilingUnit, reader: Principal) -> list[dict[str, Any]]:
    versions = (
        ProductVersion.objects.visible_to(reader)
        .filter(product__unit=unit, status=FilingStatus.APPROVED, product__filing_number__isnull=False)
        .select_related("product", "product_class")
        .order_by("-data_year", "product__filing_number")
    )
    flagged = set(
        FilingFlag.objects.visible_to(reader)
        .open()
        .filter(version__product__unit=unit)
        .values_list("version_id", flat=True)
    )
    rows = []
    for version in versions:
        rows.append(
            {
                "version_id": version.pk,
                "product_id": version.product_id,
                "data_year": version.data_year,
                "name": version.name,
                "model": version.model,
                "product_class": version.product_class.name,
                "product_class_code": version.product_class.code,
                "filing_number": version.product.filing_number,
                "approved_on": _local_date(version.decided_at),
                "status": version.status,
                "flagged": version.pk in flagged,
            }
        )
    return rows


def _certified_rows(unit: FilingUnit, reader: Principal) -> list[dict[str, Any]]:
    today = china_today()
    held = lifecycle.certified_as_of(today)
    public = Product.objects.visible_to(reader).public().filter(unit=unit, pk=OuterRef("product_id"))
    candidates = (
        held.filter(pk__in=Candidate.objects.visible_to(reader).filter(unit=unit).values("pk"))
        .annotate(product_public=Exists(public))  # read by filing_in_force
        .select_related("round", "version", "product", "product_class")
        .order_by("-round__data_year", "certificate_number")
    )
    rows = []
    for candidate in candidates:
        if not is_certified(candidate):
            continue
        state = lifecycle.standing(candidate, today)
        rows.append(
            {
                "candidate_id": candidate.pk,
                "version_id": candidate.version_id,
                "data_year": candidate.round.data_year,
                "round": candidate.round.name,
                "certificate_number": candidate.certificate_number,
                "name": candidate.version.name,
                "model": candidate.version.model,
                "product_class": candidate.product_class.name,
                "filing_number": candidate.product.filing_number or "",
                "certified_on": _local_date(candidate.certified_at),
                "in_force": filing_in_force(candidate),
                "status": state.status,
                "valid_until": candidate.valid_until.isoformat() if candidate.valid_until else "",
            }
        )
    return rows


def build_content(unit: FilingUnit, *, as_of: Any = None) -> dict[str, Any]:
    """The snapshot of `unit`'s filed and certified products, by data year, as JSON-ready data."""
    as_of = as_of or timezone.now()
    reader = unit_reader(unit)
    region = unit.region
    filed = _filed_rows(unit, reader)
    certified = _certified_rows(unit, reader)
    years = sorted({r["data_year"] for r in filed} | {r["data_year"] for r in certified}, reverse=True)
    filed_by_year: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in filed:
        filed_by_year[row["data_year"]].append(row)
    certified_by_year: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in certified:
        certified_by_year[row["data_year"]].append(row)
    return {
        "schema": SCHEMA,
        "data_as_of": timezone.localtime(as_of).isoformat(timespec="seconds"),
        "unit": {
            "id": unit.pk,
            "name": unit.name,
            "uscc": unit.uscc,
            "region_code": region.code,
            "region": region.full_name,
        },
        "covers": {
            "filing_statuses": [FilingStatus.APPROVED.value],
            "certified": "final_list",
            "years": years,
        },
        "years": [
            {
                "data_year": year,
                "filed": filed_by_year.get(year, []),
                "certified": certified_by_year.get(year, []),
                "filed_count": len(filed_by_year.get(year, [])),
                "certified_count": len(certified_by_year.get(year, [])),
            }
            for year in years
        ],
        "totals": {
            "filed_versions": len(filed),
            "filed_products": len({r["product_id"] for r in filed}),
            "certified": len(certified),
        },
    }


def canonical_json(content: dict[str, Any]) -> bytes:
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def digest(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(content)).hexdigest()


def random_serial() -> str:
    """Eight random digits (a function so that a test can force a collision)."""
    return f"{secrets.randbelow(10**8):08d}"


def new_number() -> str:
    return f"{NUMBER_PREFIX}{china_today().year}{random_serial()}"


def statement_issue(*, unit: FilingUnit, user: User) -> FilingStatement:
    """Issue a statement of `unit` for `user` (who must see the unit: 404 otherwise), with a fresh number.

    One transaction per attempt: the unit row is locked, its data read, the row written, the audit record
    added. A number already taken (random collision) rolls the attempt back and draws again."""
    require_role(user, *ISSUERS, error=Http404)
    for _attempt in range(NUMBER_ATTEMPTS):
        number = new_number()
        try:
            with transaction.atomic():
                locked = lock_visible(FilingUnit.objects, user, unit.pk)
                as_of = timezone.now()
                content = build_content(locked, as_of=as_of)
                statement = FilingStatement.objects.create(
                    number=number,
                    unit=locked,
                    content=content,
                    data_as_of=as_of,
                    generated_by=user,
                    sha256=digest(content),
                )
                audit.audit_event(
                    action=AuditAction.CREATE,
                    obj=statement,
                    actor=user,
                    changes={"unit": locked.pk, "sha256": statement.sha256, **content["totals"]},
                    message=f"filing statement {number} of {locked.uscc}",
                )
                return statement
        except IntegrityError:
            if not FilingStatement.objects.filter(number=number).exists():
                raise
    raise RuntimeError("could not draw a free statement number")


# ---------------------------------------------------------------------------------------------------------------
# The PDF


def verify_url(statement: FilingStatement) -> str:
    """The public verification address printed (and encoded in the QR code) on the statement."""
    site: str = settings.SITE_URL
    return site.rstrip("/") + reverse("statements:verify", args=[statement.token])


def statement_facts(statement: FilingStatement) -> dict[str, Any]:
    """What the statement's signature covers (its canonical content); the snapshot itself by its SHA-256."""
    unit = statement.content.get("unit", {})
    return {
        "document": "statement",
        "number": statement.number,
        "unit": unit.get("name"),
        "uscc": unit.get("uscc"),
        "data_as_of": statement.content.get("data_as_of"),
        "totals": statement.content.get("totals", {}),
        "sha256": statement.sha256,
        "url": verify_url(statement),
    }


def document_context(statement: FilingStatement) -> dict[str, Any]:
    url = verify_url(statement)
    return {
        "signed": signing.sign_facts(statement_facts(statement)),
        "statement": statement,
        "content": statement.content,
        "unit": statement.content.get("unit", {}),
        "years": statement.content.get("years", []),
        "totals": statement.content.get("totals", {}),
        "verify_url": url,
        "qr": qr_data_uri(url),
    }


def render_html(statement: FilingStatement) -> str:
    return render_to_string(TEMPLATE, document_context(statement))


def render_pdf(statement: FilingStatement) -> bytes:
    """The statement as PDF bytes (Noto Sans CJK embedded; nothing fetched but data: URIs)."""
    import weasyprint

    context = document_context(statement)
    fetcher = weasyprint.URLFetcher(allowed_protocols={"data"})
    document = weasyprint.HTML(string=render_to_string(TEMPLATE, context), url_fetcher=fetcher)
    return signing.write_signed_pdf(document, context["signed"])


# ---------------------------------------------------------------------------------------------------------------
# What changed since


def _status_now(version_ids: set[int]) -> dict[int, str]:
    """The status label of each version today ("已删除" for a version gone)."""
    found = {v.pk: v.get_status_display() for v in ProductVersion.objects.filter(pk__in=version_ids)}
    return {pk: str(found.get(pk, _("已删除"))) for pk in version_ids}


def changes_since(statement: FilingStatement) -> dict[str, Any]:
    """The statement's snapshot against the unit's data today: filings no longer in force (with their status
    now), filings new since, patent-status flags raised since, certifications added or no longer in force."""
    then = statement.content
    now = build_content(statement.unit)
    then_filed = {r["version_id"]: r for y in then.get("years", []) for r in y["filed"]}
    now_filed = {r["version_id"]: r for y in now["years"] for r in y["filed"]}
    then_cert = {r["candidate_id"]: r for y in then.get("years", []) for r in y["certified"]}
    now_cert = {r["candidate_id"]: r for y in now["years"] for r in y["certified"]}
    gone_ids = set(then_filed) - set(now_filed)
    statuses = _status_now(gone_ids)
    removed = [{**then_filed[pk], "status_now": statuses[pk]} for pk in sorted(gone_ids)]
    added = [now_filed[pk] for pk in sorted(set(now_filed) - set(then_filed))]
    flagged = [
        now_filed[pk]
        for pk in sorted(set(now_filed) & set(then_filed))
        if now_filed[pk]["flagged"] and not then_filed[pk]["flagged"]
    ]
    cert_added = [now_cert[pk] for pk in sorted(set(now_cert) - set(then_cert))]
    cert_lapsed = [
        then_cert[pk]
        for pk in sorted(then_cert)
        if then_cert[pk]["in_force"] and (pk not in now_cert or not now_cert[pk]["in_force"])
    ]
    return {
        "filed_removed": removed,
        "filed_added": added,
        "flagged": flagged,
        "certified_added": cert_added,
        "certified_lapsed": cert_lapsed,
        "any": bool(removed or added or flagged or cert_added or cert_lapsed),
        "now": now,
    }
