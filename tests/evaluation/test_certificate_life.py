"""A certificate's life (evaluation/lifecycle.py): each transition both ways, through the paths that cause it
(the legal-status import's apply, the admin site, the filing workflow, the daily re-check, the revoke page),
and every reader of "certified as of D" (the certified list and its export, the verification page, the open
data, the dashboards' figure, the filing statement) dropping a revoked filing's certificate."""

from __future__ import annotations

import datetime as dt
from io import BytesIO
from typing import Any

import pytest
from django.contrib.admin.sites import site as admin_site
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from evaluation import lifecycle
from evaluation.choices import CandidateStatus, CertificateCause, CertificateStatus
from evaluation.models import Candidate, CertificateEvent, Round
from evaluation.tasks import recheck_certificates
from filings import drift, workflow
from filings.models import Patent, PatentStatusChange, Product
from patent_platform import clock
from patent_platform.choices import AuditAction
from patent_platform.models import AuditEvent, Notice, User
from provincial import dashboards, opendata
from provincial import statements as statement_service

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]  # the rule's SQL (dates, JSON, subqueries) on both engines

S = CertificateStatus


def notices() -> list[Notice]:
    return list(Notice.objects.filter(kind="evaluation.candidate").order_by("pk"))


def of_unit(name_part: str) -> Candidate:
    return Candidate.objects.select_related("version", "unit", "product", "round").get(
        status=CandidateStatus.CERTIFIED, unit__name__contains=name_part
    )


def core_patent(candidate: Candidate) -> Patent:
    return candidate.version.links.filter(is_core=True).select_related("right__patent").first().right.patent


def set_status(patent: Patent, status: str, user: User) -> None:
    """What the legal-status import applies for one row (StatusImport.apply calls drift.legal_status_apply)."""
    with transaction.atomic():
        drift.legal_status_apply(
            rows=[drift.Row(number=2, patent=patent.number, status=status)], source=None, user=user
        )


def verify_page(client: Any, candidate: Candidate) -> str:
    response = client.get(reverse("certified:verify", args=[candidate.certificate_number]))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-cache"
    return response.content.decode()


def events(candidate: Candidate) -> list[tuple[str, str, str]]:
    return list(
        CertificateEvent.objects.filter(candidate=candidate)
        .order_by("at", "pk")
        .values_list("from_status", "to_status", "cause")
    )


# --- issue ----------------------------------------------------------------------------------------------


def test_a_certificate_is_issued_valid_for_its_rounds_period_with_a_first_history_row(demo: None) -> None:
    c = of_unit("深圳鹏芯")
    issued_on = c.certified_at.astimezone(clock.CHINA_TZ).date()
    assert c.certificate_status == S.VALID
    assert c.round.certificate_validity_months == 36
    assert c.valid_from == issued_on
    assert c.valid_until == lifecycle.add_months(issued_on, 36) - dt.timedelta(days=1)
    assert events(c) == [("", S.VALID, CertificateCause.ISSUED)]
    assert lifecycle.standing(c).status == S.VALID


# --- a core patent lapses → suspended → restored → valid -------------------------------------------------


def test_a_core_patent_lapsing_suspends_and_its_restoration_reinstates(
    client: Any, demo: None, demo_users: dict[str, User]
) -> None:
    c = of_unit("深圳鹏芯")
    patent = core_patent(c)
    set_status(patent, "lapsed", demo_users["reviewer"])
    c.refresh_from_db()
    assert c.certificate_status == S.SUSPENDED and c.suspension == {"patents": [patent.number]}
    page = verify_page(client, c)
    assert 'data-status="suspended"' in page and "今日状态：暂停" in page
    assert f"核心专利 {patent.number} 失效、期限届满或被宣告无效" in page
    # the public product page shows it at once (nothing cached), with the patent's status and check date
    product_page = client.get(reverse("public:product", args=[c.product.filing_number]))
    assert product_page["Cache-Control"] == "no-cache"
    html = product_page.content.decode()
    assert f'id="certificate-{c.certificate_number}"' in html and 'data-status="suspended"' in html
    assert 'data-status="lapsed"' in html and clock.china_today().isoformat() in html
    # the certified list keeps it (a suspended certificate is still held), marked suspended with why
    listing = client.get(reverse("certified:list"), {"q": c.certificate_number}).content.decode()
    assert c.certificate_number in listing and 'data-status="suspended"' in listing and patent.number in listing
    # the filer was told
    assert any(c.certificate_number in m.subject and "暂停" in m.subject for m in notices())

    set_status(patent, "valid", demo_users["reviewer"])
    c.refresh_from_db()
    assert c.certificate_status == S.VALID and c.suspension == {}
    assert 'data-status="valid"' in verify_page(client, c)
    assert events(c)[1:] == [
        (S.VALID, S.SUSPENDED, CertificateCause.PATENT_ENDED),
        (S.SUSPENDED, S.VALID, CertificateCause.PATENT_RESTORED),
    ]
    # a non-core patent of the product changes nothing
    others = c.version.links.filter(is_core=False).select_related("right__patent")
    if others.exists():
        set_status(others.first().right.patent, "invalidated", demo_users["reviewer"])
        c.refresh_from_db()
        assert c.certificate_status == S.VALID


def test_a_status_changed_on_the_admin_site_goes_through_the_same_rule(demo: None, demo_users: dict[str, User]) -> None:
    c = of_unit("深圳鹏芯")
    patent = core_patent(c)
    admin = admin_site._registry[Patent]
    request = RequestFactory().post("/admin/")
    request.user = User.objects.filter(is_superuser=True).first() or demo_users["national"]
    patent.legal_status = "expired"
    with transaction.atomic():
        admin.save_model(request, patent, form=None, change=True)
    c.refresh_from_db()
    assert c.certificate_status == S.SUSPENDED and c.suspension["patents"] == [patent.number]
    # the patent's history and the flag were written as by the import
    assert PatentStatusChange.objects.filter(patent=patent, to_status="expired").exists()
    assert patent.flags.filter(resolved_at__isnull=True).exists()


# --- a missed yearly update → suspended → the update filed → valid --------------------------------------


def test_a_missed_yearly_update_suspends_on_read_and_in_the_record_and_filing_it_reinstates(
    client: Any, demo: None, demo_users: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    c = of_unit("深圳鹏芯")
    year = c.round.data_year + 1
    # the next year's round closes in the spring after that data year: the platform's clock is there
    later = dt.datetime(year + 1, 3, 2, 10, 0, tzinfo=clock.CHINA_TZ)
    monkeypatch.setattr(timezone, "now", lambda: later)
    Round.objects.create(
        name=f"{year} 年度认定",
        data_year=year,
        method=c.round.method,
        deadline=clock.china_today() - dt.timedelta(days=1),  # its cut-off has passed
    )
    # correct on read: before the daily re-check has run, every reader shows the suspension
    assert c.certificate_status == S.VALID
    state = lifecycle.standing(c)
    assert state.status == S.SUSPENDED and state.update_year == year
    assert f"未在 {year} 年度认定批次截止日前提交 {year} 年度数据的年度更新" in verify_page(client, c)

    recheck_certificates.apply()  # the daily task records it
    c.refresh_from_db()
    assert c.certificate_status == S.SUSPENDED and c.suspension == {"update_year": year}
    assert events(c)[-1] == (S.VALID, S.SUSPENDED, CertificateCause.UPDATE_MISSED)
    assert lifecycle.certificate_recheck_all() == 0  # again: nothing changes

    filer = c.unit.memberships.select_related("user").first().user
    update = workflow.product_yearly_update_start(product=c.product, user=filer, data_year=year)
    workflow.version_submit(version=update, user=filer)  # the update filed: the transition reinstates at once
    c.refresh_from_db()
    assert c.certificate_status == S.VALID and c.suspension == {}
    assert events(c)[-1] == (S.SUSPENDED, S.VALID, CertificateCause.UPDATE_FILED)
    assert 'data-status="valid"' in verify_page(client, c)


# --- expiry at the end of the validity ------------------------------------------------------------------


def test_a_certificate_expires_after_its_last_day(client: Any, demo: None) -> None:
    c = of_unit("深圳鹏芯")
    today = clock.china_today()
    Candidate.objects.filter(pk=c.pk).update(valid_until=today)
    c.refresh_from_db()
    assert lifecycle.standing(c, today).status == S.VALID  # the last day is included
    assert lifecycle.certified_as_of(today).filter(pk=c.pk).exists()
    tomorrow = today + dt.timedelta(days=1)
    assert lifecycle.standing(c, tomorrow).status == S.EXPIRED
    assert not lifecycle.certified_as_of(tomorrow).filter(pk=c.pk).exists()

    Candidate.objects.filter(pk=c.pk).update(valid_until=today - dt.timedelta(days=1))
    assert 'data-status="expired"' in verify_page(client, c)  # on read, before the re-check
    assert c.certificate_number not in client.get(reverse("certified:list")).content.decode()
    assert lifecycle.certificate_recheck_all() == 1
    c.refresh_from_db()
    assert c.certificate_status == S.EXPIRED and events(c)[-1] == (S.VALID, S.EXPIRED, CertificateCause.EXPIRED)


# --- revocation by the national office -----------------------------------------------------------------


def revoke_url(candidate: Candidate) -> str:
    return reverse("certification:certificate_revoke", args=[candidate.pk])


def test_the_national_office_revokes_with_a_ground_and_a_reason_confirmed_and_audited(
    client: Any, demo: None, demo_users: dict[str, User]
) -> None:
    c = of_unit("深圳鹏芯")
    national = demo_users["national"]
    client.force_login(national)
    page = client.get(revoke_url(c)).content.decode()
    assert 'data-testid="revoke-form"' in page and "data-confirm=" in page

    refused = client.post(revoke_url(c), {"ground": "objection", "reason": "太短"})
    assert refused.status_code == 400 and 'data-testid="error-reason"' in refused.content.decode()
    refused = client.post(revoke_url(c), {"ground": "", "reason": "经核查，该产品的核心专利权属存在争议。"})
    assert refused.status_code == 400 and 'data-testid="error-ground"' in refused.content.decode()
    c.refresh_from_db()
    assert c.certificate_status == S.VALID

    reason = "经核查，申报材料中的销售额与审计报告不符。"
    response = client.post(revoke_url(c), {"ground": "finding", "reason": reason})
    assert response.status_code == 302 and response["Location"] == reverse("certification:certificates")
    c.refresh_from_db()
    assert c.certificate_status == S.REVOKED and c.revocation_reason == reason and c.revoked_at is not None
    assert events(c)[-1] == (S.VALID, S.REVOKED, CertificateCause.FINDING)
    assert CertificateEvent.objects.filter(candidate=c).last().actor == national
    assert AuditEvent.objects.filter(action=AuditAction.TRANSITION, object_id=str(c.pk), actor_id=national.pk).exists()
    assert any(reason in m.body for m in notices())
    # a second click answers with the state, not a 500
    again = client.post(revoke_url(c), {"ground": "finding", "reason": reason})
    assert again.status_code == 409 and "已撤销" in again.content.decode()
    # the public sees it revoked, with the reason
    client.logout()
    public = verify_page(client, c)
    assert "今日状态：撤销" in public and reason in public
    # revoked is final: a patent restored later does not bring it back
    lifecycle.certificate_recheck(candidate_ids=[c.pk])
    c.refresh_from_db()
    assert c.certificate_status == S.REVOKED


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("reviewer", 404),
        ("guangdong", 404),
        ("shenzhen", 404),
        ("ent-sz", 404),
        ("ent-hz", 404),
        ("expert1", 404),
        (None, 302),
    ],
)
def test_only_the_national_office_opens_the_revoke_page(
    client: Any, demo: None, demo_users: dict[str, User], who: str | None, expected: int
) -> None:
    c = of_unit("深圳鹏芯")
    if who:
        client.force_login(demo_users[who])
    assert client.get(revoke_url(c)).status_code == expected
    assert (
        client.post(revoke_url(c), {"ground": "finding", "reason": "无权限的用户试图撤销证书。"}).status_code
        == expected
    )
    c.refresh_from_db()
    assert c.certificate_status == S.VALID


def test_the_certificate_list_is_scoped_and_exports(client: Any, demo: None, demo_users: dict[str, User]) -> None:
    sz, gz = of_unit("深圳鹏芯"), of_unit("广州云帆")
    client.force_login(demo_users["national"])
    page = client.get(reverse("certification:certificates")).content.decode()
    assert sz.certificate_number in page and gz.certificate_number in page and 'data-testid="revoke-link"' in page
    export = client.get(reverse("certification:certificates") + "?export=xlsx")
    sheet = load_workbook(BytesIO(export.content)).active
    numbers = [row[0] for row in sheet.iter_rows(values_only=True)]
    assert sz.certificate_number in numbers and gz.certificate_number in numbers
    client.force_login(demo_users["guangdong"])
    page = client.get(reverse("certification:certificates")).content.decode()
    assert sz.certificate_number in page and 'data-testid="revoke-link"' not in page
    client.force_login(demo_users["ent-sz"])
    assert client.get(reverse("certification:certificates")).status_code == 404


# --- a revoked filing ends its certification: every reader, one rule ------------------------------------


@pytest.fixture
def revoked(demo: None, demo_users: dict[str, User]) -> Candidate:
    """The 深圳鹏芯 certificate, its filing revoked by a reviewer."""
    c = of_unit("深圳鹏芯")
    workflow.version_revoke(version=c.version, user=demo_users["reviewer"], reason="备案材料不实。")
    c.refresh_from_db()
    return c


def test_a_revoked_filing_ends_the_certificate_in_its_record(revoked: Candidate) -> None:
    assert revoked.certificate_status == S.REVOKED
    assert (
        revoked.revocation_ground == CertificateCause.FILING_REVOKED and revoked.revocation_reason == "备案材料不实。"
    )
    assert events(revoked)[-1] == (S.VALID, S.REVOKED, CertificateCause.FILING_REVOKED)


def test_a_revoked_filing_leaves_the_certified_list(client: Any, revoked: Candidate) -> None:
    page = client.get(reverse("certified:list")).content.decode()
    assert revoked.certificate_number not in page
    assert of_unit("广州云帆").certificate_number in page


def test_a_revoked_filing_leaves_the_certified_lists_export(client: Any, revoked: Candidate) -> None:
    sheet = load_workbook(BytesIO(client.get(reverse("certified:list") + "?export=xlsx").content)).active
    numbers = [row[0] for row in sheet.iter_rows(values_only=True)]
    assert revoked.certificate_number not in numbers and of_unit("广州云帆").certificate_number in numbers


def test_a_revoked_filings_verification_page_says_revoked(client: Any, revoked: Candidate) -> None:
    page = verify_page(client, revoked)
    assert "今日状态：撤销" in page and "产品备案被撤销" in page and "备案材料不实。" in page


def test_a_revoked_filing_leaves_the_open_data_from_its_month(revoked: Candidate) -> None:
    """The current month's figures (published once it ends) count the certificates held now: not this one."""
    figures = opendata.figures(clock.current_month_start())
    held = set(Product.objects.filter(lifecycle.held_by_product(clock.china_now())).values_list("pk", flat=True))
    assert revoked.product_id not in held and of_unit("广州云帆").product_id in held
    assert figures["totals"]["certified"] == len(held)
    assert sum(r["certified"] for r in figures["rows"]) == len(held)


def test_a_revoked_filing_leaves_the_dashboards_certified_figure(revoked: Candidate) -> None:
    certified = set(Product.objects.filter(dashboards.certified_condition()).values_list("pk", flat=True))
    assert revoked.product_id not in certified and of_unit("广州云帆").product_id in certified


def test_a_revoked_filing_leaves_the_units_new_filing_statement(revoked: Candidate) -> None:
    content = statement_service.build_content(revoked.unit)
    numbers = [r["certificate_number"] for y in content["years"] for r in y["certified"]]
    assert revoked.certificate_number not in numbers


def test_every_reader_reads_the_one_rule(client: Any, demo: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Narrow `lifecycle.held_q` to nothing: every reader's certified products go with it."""
    c = of_unit("深圳鹏芯")
    monkeypatch.setattr(lifecycle, "held_q", lambda moment: lifecycle.Q(pk__in=[]))
    assert c.certificate_number not in client.get(reverse("certified:list")).content.decode()
    assert opendata.figures(clock.current_month_start())["totals"]["certified"] == 0
    assert not Product.objects.filter(dashboards.certified_condition()).exists()
    assert statement_service.build_content(c.unit)["totals"]["certified"] == 0


def test_the_filer_gets_a_notice_in_the_outbox_with_the_reason(demo: None, demo_users: dict[str, User]) -> None:
    c = of_unit("深圳鹏芯")
    set_status(core_patent(c), "invalidated", demo_users["reviewer"])
    messages = [m for m in notices() if c.certificate_number in m.subject]
    assert messages and "核心专利" in messages[-1].body


def test_a_rounds_validity_is_bounded(demo: None, demo_users: dict[str, User]) -> None:
    from evaluation import rounds

    for months in (0, 121):
        with pytest.raises(ValidationError) as caught:
            rounds.round_start(
                user=demo_users["national"],
                name="有效期",
                data_year=workflow.default_data_year(),
                deadline=clock.china_today(),
                certificate_validity_months=months,
            )
        assert "certificate_validity_months" in caught.value.message_dict


def test_the_candidate_page_shows_the_status_and_history_naming_people_to_the_office_only(
    client: Any, demo: None, demo_users: dict[str, User]
) -> None:
    c = of_unit("深圳鹏芯")
    set_status(core_patent(c), "lapsed", demo_users["reviewer"])
    url = reverse("certification:candidate", args=[c.pk])
    client.force_login(demo_users["national"])
    page = client.get(url).content.decode()
    assert 'data-testid="certificate-standing"' in page and 'data-status="suspended"' in page
    assert 'data-testid="revoke-link"' in page and "reviewer@example.cn" in page
    client.force_login(demo_users["ent-sz"])
    page = client.get(url).content.decode()
    assert 'data-status="suspended"' in page and 'data-testid="certificate-history"' in page
    assert 'data-testid="revoke-link"' not in page and "reviewer@example.cn" not in page


def test_the_results_api_gives_each_certificates_status_today(demo: None, demo_users: dict[str, User]) -> None:
    from rest_framework.test import APIClient

    c = of_unit("深圳鹏芯")
    api = APIClient()
    api.force_authenticate(demo_users["national"])

    def certificate() -> dict[str, Any]:
        answer = api.get(f"/api/v1/evaluation/results/{c.pk}/")
        assert answer.status_code == 200, answer.content
        return answer.json()["certificate"]

    assert certificate() == {
        "status": S.VALID,
        "reasons": [],
        "valid_from": c.valid_from.isoformat(),
        "valid_until": c.valid_until.isoformat(),
    }
    patent = core_patent(c)
    set_status(patent, "lapsed", demo_users["reviewer"])
    suspended = certificate()
    assert suspended["status"] == S.SUSPENDED and patent.number in suspended["reasons"][0]
    # a candidate without a certificate has none
    Candidate.objects.filter(pk=c.pk).update(status=CandidateStatus.PROPOSED, certificate_number=None)
    assert certificate() is None
