"""A certification round replayed end to end on PostgreSQL, as the yearly programme runs it.

The demo holds a finished first round of the data year; its three other approved product-years take part in
a second one. The national office configures the calendar; two products opt in before the cut-off, the third
after it only through a lock exception; information is asked for, one filer misses the deadline and is
admitted late with a reason shown on its result; the demo's nine experts form three disjoint panels (one
per product) and none sees another panel's product; the list goes out for a 公示 of five working days, an
objection is upheld; the final list certifies the other two, with certificates. Then a core patent of a
certified product lapses (the legal-status import's apply): its certificate is suspended, and the product's
public page says so; the patent restored, the certificate is valid again.

Time passes in the test the way it passes in the programme: the calendar's dates are moved into the past.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from evaluation import industry, lifecycle, methods, publicity, rounds, schedule, workdays
from evaluation.choices import CandidateStatus, CertificateStatus, LockKind, Stage
from evaluation.models import Assignment, Candidate, MethodVersion, Round
from evaluation.rounds import RoundError
from filings import drift, workflow
from filings.choices import FilingStatus
from filings.models import ProductClass, ProductVersion
from patent_platform.choices import Role
from patent_platform.models import User
from tests.evaluation.conftest import INFO, SCORES, YEAR, filer_of

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
C = CandidateStatus


def days(n: int) -> dt.date:
    return workflow.china_today() + dt.timedelta(days=n)


def time_passes(rnd: Round, by: int) -> None:
    """Every date of the round's calendar moves `by` days into the past."""
    fields = ["deadline", "info_due", "scoring_due", "objections_due", "publicity_start", "publicity_end"]
    Round.objects.filter(pk=rnd.pk).update(**{f: F(f) - dt.timedelta(days=by) for f in fields})
    Candidate.objects.filter(round=rnd, info_extended_to__isnull=False).update(
        info_extended_to=F("info_extended_to") - dt.timedelta(days=by)
    )
    rnd.refresh_from_db()


def test_a_round_replayed_from_its_calendar_to_the_certificates(demo_users: dict[str, User]) -> None:
    national = demo_users["national"]
    # the demo's filings were approved before this year's round was configured
    ProductVersion.objects.filter(data_year=YEAR).update(decided_at=F("decided_at") - dt.timedelta(days=60))
    Round.objects.filter(data_year=YEAR).update(deadline=F("deadline") - dt.timedelta(days=60))  # the demo's round
    early, late = [], None
    waiting = list(
        ProductVersion.objects.filter(
            data_year=YEAR, status=FilingStatus.APPROVED, certification_opt_in=False, candidacies__isnull=True
        )
        .select_related("product__unit")
        .order_by("pk")
    )
    assert len(waiting) == 3
    *early, late = waiting

    # --- the calendar: cut-off tomorrow; the office's benchmarks at 0 so that every product passes
    active = MethodVersion.active()
    for product_class in ProductClass.objects.filter(pk__in=[v.product_class_id for v in waiting]):
        bset = methods.benchmark_set_create(method=active, product_class=product_class, data_year=YEAR, user=national)
        methods.benchmark_set_update_values(
            bset=bset, user=national, values={b.indicator_id: 0 for b in bset.values.all()}
        )
        methods.benchmark_set_fix(bset=bset, user=national)
    rnd = rounds.round_start(
        user=national,
        name=f"{YEAR} 年度专利密集型产品认定（第二批）",
        data_year=YEAR,
        deadline=days(1),
        info_due=days(20),
        scoring_due=days(40),
        publicity_days=5,
        objections_due=days(60),
    )
    assert rnd.evaluation_requested_at is None
    for version in early:  # before the cut-off
        workflow.version_set_certification_opt_in(version=version, user=filer_of(version), opt_in=True)
    time_passes(rnd, 2)  # the cut-off was yesterday
    with pytest.raises(ValidationError) as closed:
        workflow.version_set_certification_opt_in(version=late, user=filer_of(late), opt_in=True)
    assert "截止申报" in closed.value.messages[0]
    schedule.lock_exception_grant(
        rnd=rnd,
        user=national,
        kind=LockKind.CUTOFF,
        reason="备案审核延误，经核实准予参评。",
        filing_number=late.product.filing_number,
    )
    workflow.version_set_certification_opt_in(version=late, user=filer_of(late), opt_in=True)
    assert schedule.tick()["evaluations_started"] == 1
    rounds.round_evaluate(round_id=rnd.pk)  # the task queued on commit
    rnd.refresh_from_db()
    assert rnd.candidates.count() == 3 and rnd.candidates.filter(status=C.PATENT_PASSED).count() == 3

    # --- information: two answer in time; the third is admitted late with a reason
    rounds.round_request_information(rnd=rnd, user=national)
    assert Round.objects.get(pk=rnd.pk).info_due == days(18)
    by_version = {c.version_id: c for c in rnd.candidates.select_related("version", "round")}
    for version in early:
        rounds.information_submit(candidate_id=by_version[version.pk].pk, user=filer_of(version), data=INFO)
    time_passes(rnd, 19)  # the information deadline was yesterday
    missed = by_version[late.pk]
    with pytest.raises(RoundError):
        rounds.information_submit(candidate_id=missed.pk, user=filer_of(late), data=INFO)
    assert schedule.tick()["information_closed"] == 1
    assert Candidate.objects.get(pk=missed.pk).status == C.INFO_MISSING
    schedule.lock_exception_grant(
        rnd=rnd,
        user=national,
        kind=LockKind.INFO,
        candidate_id=missed.pk,
        until=days(2),
        reason="企业所在地停电，准予延期。",
    )
    rounds.information_submit(candidate_id=missed.pk, user=filer_of(late), data=INFO)
    with pytest.raises(RoundError):  # the admitted product's time still runs
        industry.industry_evaluation_start(rnd=rnd, user=national)
    time_passes(rnd, 3)
    counts = industry.industry_evaluation_start(rnd=rnd, user=national)
    assert counts == {"assigned": 9, "products": 3, "missing_info": 0}

    # --- three panels: disjoint, and no expert sees another panel's product
    panels = {
        c.pk: set(Assignment.objects.filter(candidate=c).values_list("expert_id", flat=True))
        for c in rnd.candidates.all()
    }
    assert all(len(p) == 3 for p in panels.values())
    everyone = [e for p in panels.values() for e in p]
    assert len(everyone) == len(set(everyone)) == 9
    for candidate_id, panel in panels.items():
        others = [c for c in panels if c != candidate_id]
        expert = User.objects.get(pk=min(panel))
        page = Client()
        page.force_login(expert)
        home = page.get(reverse("certification:expert_home")).content.decode()
        assert Candidate.objects.get(pk=candidate_id).version.name in home
        api = APIClient()
        api.force_authenticate(expert)
        for other in others:
            other_candidate = Candidate.objects.select_related("version").get(pk=other)
            assert page.get(reverse("certification:candidate", args=[other])).status_code == 404
            assert api.get(f"/api/v1/evaluation/results/{other}/").status_code == 404
            if other_candidate.version.name != Candidate.objects.get(pk=candidate_id).version.name:
                assert other_candidate.version.name not in home
    # the demo round's panels are disjoint too
    first = Round.objects.exclude(pk=rnd.pk).get(data_year=YEAR)
    demo_panels = [
        set(Assignment.objects.filter(candidate=c).values_list("expert_id", flat=True)) for c in first.candidates.all()
    ]
    assert len(demo_panels) == 3 and all(a.isdisjoint(b) for a in demo_panels for b in demo_panels if a is not b)

    for assignment in Assignment.objects.filter(candidate__round=rnd).select_related("expert"):
        industry.score_submit(
            assignment_id=assignment.pk, user=assignment.expert, scores=SCORES, comments="技术先进，专利支撑作用明显。"
        )
    time_passes(rnd, 21)  # the scoring deadline has passed

    # --- 公示 of five working days, an objection upheld
    assert publicity.round_publicity_start(rnd=rnd, user=national) == {"proposed": 3, "failed": 0}
    rnd.refresh_from_db()
    assert rnd.publicity_end == workdays.period_end(rnd.publicity_start, 5)
    objected = by_version[early[0].pk]
    objection = publicity.objection_lodge(
        candidate_id=objected.pk,
        name="某竞争企业",
        contact="010-12345678",
        reasons="该产品的核心专利已被宣告无效，请核实。",
    )
    publicity.objection_decide(
        objection_id=objection.pk, user=national, uphold=True, decision="经核实，核心专利已被宣告全部无效，异议成立。"
    )
    with pytest.raises(RoundError):
        rounds.round_finalize(rnd=rnd, user=national)  # the publicity still runs

    # --- the final list and the certificates
    assert rounds.round_finalize(rnd=rnd, user=national, today=rnd.publicity_end + dt.timedelta(days=1)) == {
        "certified": 2
    }
    statuses = dict(rnd.candidates.values_list("version_id", "status"))
    assert statuses == {early[0].pk: C.OBJECTION_UPHELD, early[1].pk: C.CERTIFIED, late.pk: C.CERTIFIED}
    assert set(Candidate.objects.public().filter(round=rnd).values_list("version_id", flat=True)) == {
        early[1].pk,
        late.pk,
    }
    admitted = Candidate.objects.get(pk=missed.pk)
    assert admitted.certificate_number.startswith(f"RD{YEAR}")
    filer = Client()
    filer.force_login(filer_of(late))
    result = filer.get(reverse("certification:candidate", args=[admitted.pk])).content.decode()
    assert "备案审核延误，经核实准予参评。" in result and "企业所在地停电，准予延期。" in result
    certificate = filer.get(reverse("certification:certificate", args=[admitted.pk]))
    assert certificate.status_code == 200 and certificate["Content-Type"] == "application/pdf"
    assert Round.objects.get(pk=rnd.pk).stage == Stage.FINAL

    # --- a core patent of a certified product lapses: its certificate is suspended, then restored
    held = Candidate.objects.get(round=rnd, version_id=late.pk)
    core = held.version.links.filter(is_core=True).select_related("right__patent").first().right.patent
    reviewer = User.objects.filter(role=Role.REVIEWER).first()

    def legal_status(status: str) -> None:  # what the legal-status import applies for one row
        with transaction.atomic():
            drift.legal_status_apply(
                rows=[drift.Row(number=2, patent=core.number, status=status)], source=None, user=reviewer
            )

    legal_status("lapsed")
    held.refresh_from_db()
    assert held.certificate_status == CertificateStatus.SUSPENDED and held.suspension == {"patents": [core.number]}
    assert lifecycle.standing(held).status == CertificateStatus.SUSPENDED
    page = Client().get(reverse("public:product", args=[held.product.filing_number])).content.decode()
    assert f'id="certificate-{held.certificate_number}"' in page and 'data-status="suspended"' in page
    legal_status("valid")
    held.refresh_from_db()
    assert (
        held.certificate_status == CertificateStatus.VALID
        and lifecycle.standing(held).status == CertificateStatus.VALID
    )
