"""One rule set per write (issue 17, mechanism 1), for ownership conflicts and patent status: the check the review
page shows is the rule set submission and approval apply, on every path (service, page, API).

Found by users:
- the review page of a version whose patent had an open ownership conflict showed the red conflict box and, just
  below, the green "自动检查未发现问题"; the approve dialog did not mention it and approval went through;
- after a core patent lapsed, the public product page (where the receipt's QR code leads) still listed it with no
  status, and the self-assessment counted it as a core patent (P2 met) while P1 (valid inventions) showed 0.

An open ownership conflict is a finding a reviewer may override, with a reason that is recorded on the filing and
audited; an ended patent (lapsed, expired, invalidated) or any other status the filing settings refuse is not.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from evaluation import methods
from evaluation.models import Indicator, MethodVersion
from filings import conflicts, drift, services, workflow
from filings.choices import ConflictStatus, FilingStatus, LegalStatus
from filings.models import FilingPolicy, FilingUnit, Patent, PatentConflict, ProductVersion, ReviewOverride
from patent_platform.choices import Role
from patent_platform.models import AuditEvent, User
from tests.problems import fields, problem

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]  # the rule set on both engines

REASON = "已核对专利登记簿副本与转让合同：本单位为专利权人，另一单位的声明有误，已通知其更正。"


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def browser(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def claim_as_owner(unit: FilingUnit, user: User, patent: Patent) -> PatentConflict:
    """Another unit records itself as owner of the same patent; the detection (as after the commit) opens the
    conflict."""
    services.patent_right_create(unit=unit, user=user, data={"number": patent.number, "title": patent.title})
    conflicts.detect([patent.pk])
    return PatentConflict.objects.get(patent=patent, status=ConflictStatus.OPEN)


def set_status(patent: Patent, status: str, reviewer: User) -> None:
    """The platform's legal-status data changes, through the status import's own writer."""
    drift.legal_status_apply(
        rows=[drift.Row(number=2, patent=patent.number, status=status)], source=None, user=reviewer
    )
    patent.refresh_from_db()


def status_of(version: ProductVersion) -> str:
    return ProductVersion.objects.get(pk=version.pk).status


# --------------------------------------------------------------------------------------------- defect 1


def test_the_review_page_lists_an_open_conflict_and_approval_needs_an_audited_reason(
    unit_a: FilingUnit,
    filer_a: User,
    unit_b: FilingUnit,
    filer_b: User,
    reviewer: User,
    new_version: Any,
) -> None:
    version = new_version(unit_a, filer_a, name="冲突专利产品")
    patent = version.links.get().right.patent
    conflict = claim_as_owner(unit_b, filer_b, patent)
    # the conflict does not stop the filer's submission: the reviewer verifies it
    filer_page = browser(filer_a)
    assert filer_page.post(reverse("enterprise:version_submit", args=[version.pk])).status_code == 302
    assert status_of(version) == FilingStatus.SUBMITTED

    desk = browser(reviewer)
    url = reverse("review:detail", args=[version.pk])
    html = desk.get(url).content.decode()
    assert 'data-testid="conflict-warning"' in html
    assert 'data-testid="rule-ok"' not in html and "自动检查未发现问题" not in html  # before: both boxes
    assert 'data-code="ownership_conflict"' in html and "须说明理由方可通过" in html
    confirm = re.search(r'data-testid="approve" data-confirm="([^"]*)"', html)
    assert confirm and patent.number in confirm.group(1) and "权属冲突" in confirm.group(1)  # the dialog names it
    assert 'name="override_reason"' in html
    page = filer_page.get(reverse("enterprise:version", args=[version.pk])).content.decode()
    assert 'data-testid="to-verify"' in page and patent.number in page  # the filer is told what will be verified

    # without a reason: refused (before: approved), nothing allocated
    refused = desk.post(reverse("review:approve", args=[version.pk]), {"override_reason": "  "})
    assert refused.status_code == 200 and "请填写通过的理由" in refused.content.decode()
    assert status_of(version) == FilingStatus.SUBMITTED
    assert not ProductVersion.objects.get(pk=version.pk).product.filing_number

    # with a reason: approved, the override recorded on the filing and audited
    assert desk.post(reverse("review:approve", args=[version.pk]), {"override_reason": REASON}).status_code == 302
    assert status_of(version) == FilingStatus.APPROVED
    override = ReviewOverride.objects.get(version=version)
    assert (override.code, override.conflict, override.reason, override.created_by) == (
        "ownership_conflict",
        conflict,
        REASON,
        reviewer,
    )
    assert patent.number in override.message
    event = AuditEvent.objects.get(object_type="filings.ReviewOverride", object_id=str(override.pk))
    assert event.actor_id == reviewer.pk and event.changes["reason"] == [None, REASON]
    assert event.changes["conflict"] == [None, conflict.pk]

    html = desk.get(url).content.decode()
    assert 'data-testid="overrides"' in html and REASON in html and "已说明理由通过" in html
    assert 'data-testid="rule-ok"' not in html  # the conflict is still open: still a finding, now explained
    page = filer_page.get(reverse("enterprise:version", args=[version.pk])).content.decode()
    assert 'data-testid="overrides"' in page and REASON in page
    assert "说明理由通过" in page  # the history row of the approval carries the reason too


def test_the_api_answers_409_with_the_findings_and_takes_an_override_reason(
    unit_a: FilingUnit,
    filer_a: User,
    unit_b: FilingUnit,
    filer_b: User,
    reviewer: User,
    new_version: Any,
) -> None:
    version = new_version(unit_a, filer_a)
    pid = version.product_id
    claim_as_owner(unit_b, filer_b, version.links.get().right.patent)
    assert api(filer_a).post(f"/api/v1/products/{pid}/submit/", format="json").status_code == 200

    desk = api(reviewer)
    answer = desk.post(f"/api/v1/products/{pid}/approve/", format="json")
    assert answer.status_code == 409, answer.content
    body = answer.json()
    assert [(f["code"], f["field"], f["overridable"]) for f in body["findings"]] == [
        ("ownership_conflict", "patents", True)
    ]
    assert problem(answer, 409, "findings")["findings"] == body["findings"]
    assert fields(answer)["links"] == [body["findings"][0]["message"]] and fields(answer)["override_reason"]
    too_long = desk.post(f"/api/v1/products/{pid}/approve/", {"override_reason": "理" * 1001}, format="json")
    assert too_long.status_code == 400 and "override_reason" in fields(too_long)
    assert status_of(version) == FilingStatus.SUBMITTED

    done = desk.post(f"/api/v1/products/{pid}/approve/", {"override_reason": REASON}, format="json")
    assert done.status_code == 200, done.content
    assert done.json()["current_version"]["status"] == FilingStatus.APPROVED
    assert ReviewOverride.objects.get(version=version).reason == REASON


def test_an_ended_patent_cannot_be_overridden_on_any_path(
    unit_a: FilingUnit, filer_a: User, reviewer: User, new_version: Any
) -> None:
    version = new_version(unit_a, filer_a)
    workflow.version_submit(version=version, user=filer_a)
    set_status(version.links.get().right.patent, LegalStatus.LAPSED, reviewer)

    html = browser(reviewer).get(reverse("review:detail", args=[version.pk])).content.decode()
    assert 'data-code="patent_status"' in html and 'data-testid="approve-blocked"' in html
    assert re.search(r'data-testid="approve" data-confirm="[^"]*失效[^"]*" disabled', html)
    answer = browser(reviewer).post(reverse("review:approve", args=[version.pk]), {"override_reason": REASON})
    assert answer.status_code == 200 and "失效" in answer.content.decode()
    answer = api(reviewer).post(
        f"/api/v1/products/{version.product_id}/approve/", {"override_reason": REASON}, format="json"
    )
    assert answer.status_code == 409
    assert [(f["code"], f["overridable"]) for f in answer.json()["findings"]] == [("patent_status", False)]
    with pytest.raises(ValidationError):
        workflow.version_approve(version=version, user=reviewer, override_reason=REASON)
    assert status_of(version) == FilingStatus.SUBMITTED and not ReviewOverride.objects.exists()


# --------------------------------------------------------------------------------------------- defect 2


def test_a_lapsed_core_patent_shows_on_the_public_page_and_no_longer_counts_for_p2(
    approved_version: ProductVersion,
    reviewer: User,
    filer_a: User,
    make_user: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    version = approved_version
    patent = version.links.get().right.patent  # an invention, core, valid
    national = make_user("national-t@example.cn", Role.NATIONAL_ADMIN)
    method = MethodVersion.active()
    assert method is not None
    bset = methods.benchmark_set_create(
        method=method, product_class=version.product_class, data_year=version.data_year, user=national
    )
    codes = {i.code: i.pk for i in Indicator.objects.filter(method=method)}
    values = {pk: Decimal(1) if code in ("P1", "P2") else Decimal(0) for code, pk in codes.items()}
    methods.benchmark_set_update_values(bset=bset, user=national, values=values)
    methods.benchmark_set_fix(bset=bset, user=national)

    public_url = reverse("public:product", args=[version.product.filing_number])
    self_check = reverse("certification:self_check", args=[version.pk])

    def public_status() -> str:
        html = Client().get(public_url).content.decode()
        return re.search(r'data-testid="patent-status" data-status="(\w+)">(.*?)</td>', html, re.S).group(2)

    def indicators() -> dict[str, tuple[str, str]]:
        html = browser(filer_a).get(self_check).content.decode()
        rows = re.findall(r'data-code="(P[12])" data-passed="([01])">.*?data-testid="value">([^<]*)<', html, flags=re.S)
        return {code: (value.strip(), passed) for code, passed, value in rows}

    assert public_status() == "有效"
    assert indicators() == {"P1": ("1", "1"), "P2": ("1", "1")}

    # the legal-status file of the platform says the patent lapsed for an unpaid annuity
    content = f"申请号,法律状态,生效日期\n{patent.number},未缴年费终止,2025-03-01\n".encode()
    desk = browser(reviewer)
    with django_capture_on_commit_callbacks(execute=True):  # the import task runs in-process after the commit
        response = desk.post(reverse("review:patent_status_upload"), {"file": SimpleUploadedFile("状态.csv", content)})
    assert response.status_code == 302
    patent.refresh_from_db()
    assert patent.legal_status == LegalStatus.LAPSED

    assert "失效" in public_status()  # before: the row had no status at all
    assert indicators() == {"P1": ("0", "0"), "P2": ("0", "0")}  # before: P2 still 1, met


# --------------------------------------------------------------------------------------------- every path

PATHS = ("service", "page", "api")


def submit_via(path: str, version: ProductVersion, filer: User) -> bool:
    if path == "service":
        try:
            workflow.version_submit(version=version, user=filer)
        except ValidationError:
            return False
        return True
    if path == "page":
        answer = browser(filer).post(reverse("enterprise:version_submit", args=[version.pk]), follow=True)
        assert answer.status_code == 200
        refused = "尚不能提交审核" in answer.content.decode()
        assert refused == (status_of(version) == FilingStatus.DRAFT)
        return not refused
    answer = api(filer).post(f"/api/v1/products/{version.product_id}/submit/", format="json")
    assert answer.status_code in (200, 400), answer.content
    if answer.status_code == 400:
        assert "links" in fields(answer)  # the services' "patents": the product's "links" on the API
    return answer.status_code == 200


def approve_via(path: str, version: ProductVersion, reviewer: User, reason: str) -> bool:
    if path == "service":
        try:
            workflow.version_approve(version=version, user=reviewer, override_reason=reason)
        except ValidationError:
            return False
        return True
    if path == "page":
        answer = browser(reviewer).post(reverse("review:approve", args=[version.pk]), {"override_reason": reason})
        assert answer.status_code in (200, 302)
        return answer.status_code == 302
    answer = api(reviewer).post(
        f"/api/v1/products/{version.product_id}/approve/", {"override_reason": reason}, format="json"
    )
    assert answer.status_code in (200, 409), answer.content
    if answer.status_code == 409:
        assert answer.json()["findings"]
    return answer.status_code == 200


class Rolled(Exception):
    """Leaves the example's savepoint: each example starts from the same rows."""


@settings(
    max_examples=10,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    status=st.sampled_from(LegalStatus.values),
    conflict=st.booleans(),
    reason=st.sampled_from(["", "   ", REASON]),
)
@example(status=LegalStatus.VALID, conflict=True, reason="").via("approved with an open conflict, no reason")
@example(status=LegalStatus.LAPSED, conflict=False, reason=REASON).via("a lapsed patent is not overridable")
@example(status=LegalStatus.VALID, conflict=True, reason=REASON).via("an explained conflict")
def test_submission_and_approval_accept_and_refuse_alike_on_every_path(
    status: str,
    conflict: bool,
    reason: str,
    unit_a: FilingUnit,
    filer_a: User,
    unit_b: FilingUnit,
    filer_b: User,
    reviewer: User,
    add_right: Any,
    new_version: Any,
) -> None:
    """The filer submits after the patent's status changed and, separately, the reviewer approves a filing
    submitted before the change: the service, the page and the API give the same answer, and it is the rule
    set's: an accepted status (valid; pending only when the filing settings allow it) and, for approval, an
    open conflict only with a reason."""
    submittable = status in FilingPolicy.current().allowed_statuses()
    approvable = submittable and (not conflict or bool(reason.strip()))
    try:
        with transaction.atomic():
            right = add_right(unit_a, filer_a)
            link = [{"right": right.pk, "is_core": True, "contribution": Decimal(60)}]
            drafts = {p: new_version(unit_a, filer_a, links=link, name=f"提交{p}") for p in PATHS}
            pending = {p: new_version(unit_a, filer_a, links=link, name=f"审核{p}") for p in PATHS}
            for version in pending.values():
                workflow.version_submit(version=version, user=filer_a)
            if conflict:
                claim_as_owner(unit_b, filer_b, right.patent)
            set_status(right.patent, status, reviewer)
            submitted = {p: submit_via(p, drafts[p], filer_a) for p in PATHS}
            approved = {p: approve_via(p, pending[p], reviewer, reason) for p in PATHS}
            overrides = ReviewOverride.objects.filter(version__in=pending.values()).count()
            raise Rolled
    except Rolled:
        pass
    assert submitted == dict.fromkeys(PATHS, submittable), (status, conflict, submitted)
    assert approved == dict.fromkeys(PATHS, approvable), (status, conflict, reason, approved)
    assert overrides == (len(PATHS) if approvable and conflict else 0)
