"""Plausibility flags on real submissions: run on every path that submits (page, API), shown on the review page
with the figure, the comparison and the threshold, never deciding anything; the thresholds as a versioned,
validated, audited national setting; the flag-rate report and its export through the scoping rule."""

import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook
from rest_framework.test import APIClient

from filings import checks, services, workflow
from filings.choices import CheckRule, FilingStatus
from filings.models import CheckSettings, FilingUnit, PlausibilityCheck, ProductClass, ProductVersion
from patent_platform.choices import Role
from patent_platform.models import AuditEvent, User
from tests.factories import (
    FilingUnitFactory,
    MemberFactory,
    PortAdminFactory,
    ProductVersionFactory,
    UserFactory,
    add_patent,
)

pytestmark = pytest.mark.django_db
LAST_YEAR = workflow.default_data_year()


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rules_of(version: ProductVersion) -> list[str]:
    return [f.rule for f in checks.open_flags([version.pk])[version.pk] if f.kind == "plausibility"]


@pytest.fixture
def national(make_user: Callable[..., User]) -> User:
    return make_user("national-checks@example.cn", Role.NATIONAL_ADMIN)


def two_years(unit: FilingUnit, filer: User, before: dict[str, Any], now: dict[str, Any]) -> ProductVersion:
    """A product approved for the year before last with `before`, and its yearly update for last year with `now`
    (a draft, not yet submitted)."""
    right = add_patent(unit, filer)
    fields = {"name": "同比产品", "product_class": ProductClass.objects.get(code="03").pk}
    fields |= {"sales": Decimal(1000), "exports": Decimal(100), "output_value": Decimal(1200), **before}
    first = services.product_create(
        unit=unit,
        user=filer,
        data=fields,
        links=[{"right": right.pk, "is_core": True, "contribution": Decimal(60)}],
        data_year=LAST_YEAR - 1,
    )
    workflow.version_submit(version=first, user=filer)
    workflow.version_approve(version=first, user=UserFactory(role=Role.REVIEWER))
    draft = workflow.product_yearly_update_start(product=first.product, user=filer)
    return services.version_update(version=draft, user=filer, data=now)


@pytest.mark.embedded
def test_a_page_submission_flags_a_jump_and_the_review_page_shows_figure_comparison_and_threshold(
    reference: None,
) -> None:
    unit = FilingUnitFactory()
    filer = MemberFactory(unit=unit).user
    version = two_years(
        unit,
        filer,
        {"sales": Decimal(1000), "exports": Decimal(0), "output_value": Decimal(1000)},
        {"sales": Decimal("3000.01"), "output_value": Decimal(3000)},  # sales just past 3×; output exactly 3×
    )
    response = client_for(filer).post(reverse("enterprise:version_submit", args=[version.pk]))
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.status == FilingStatus.SUBMITTED  # flags never decide
    assert rules_of(version) == [CheckRule.YOY_SALES]
    run = PlausibilityCheck.objects.get(version=version)
    assert run.settings.version == 1 and run.previous.data_year == LAST_YEAR - 1

    reviewer = UserFactory(role=Role.REVIEWER)
    page = client_for(reviewer).get(reverse("review:detail", args=[version.pk])).content.decode()
    assert 'data-testid="plausibility-flag" data-rule="yoy_sales"' in page
    assert ">3000.01<" in page and ">1000<" in page and ">3<" in page  # figure, comparison, threshold
    # the reviewer may still approve: a flag is information
    workflow.version_approve(version=version, user=reviewer)
    assert ProductVersion.objects.get(pk=version.pk).status == FilingStatus.APPROVED


def test_an_api_submission_is_checked_too_and_a_resubmission_keeps_the_earlier_run(reference: None) -> None:
    unit = FilingUnitFactory()
    filer = MemberFactory(unit=unit).user
    version = two_years(
        unit,
        filer,
        {"sales": Decimal(1000), "exports": Decimal(0), "output_value": Decimal(1000)},
        {"sales": Decimal(1000), "output_value": Decimal(199)},  # output far below sales (0.2 × 1000 = 200)
    )
    api = APIClient()
    api.force_authenticate(filer)
    answer = api.post(f"/api/v1/products/{version.product_id}/submit/", format="json")
    assert answer.status_code == 200, answer.content
    assert rules_of(version) == [CheckRule.YOY_OUTPUT, CheckRule.OUTPUT_BELOW_SALES]

    reviewer = UserFactory(role=Role.REVIEWER)
    workflow.version_return(version=version, user=reviewer, reasons={"output_value": "请核实产值"})
    services.version_update(version=version, user=filer, data={"output_value": Decimal(900)})
    workflow.version_submit(version=version, user=filer)
    assert rules_of(version) == []
    runs = list(PlausibilityCheck.objects.filter(version=version).order_by("pk"))
    assert [(r.flag_count, r.is_current) for r in runs] == [(2, False), (0, True)]
    page = client_for(reviewer).get(reverse("review:detail", args=[version.pk])).content.decode()
    assert 'data-testid="plausibility-ok"' in page and 'data-testid="check-history"' in page


def test_patent_jump_counted_from_the_links(reference: None) -> None:
    unit = FilingUnitFactory()
    filer = MemberFactory(unit=unit).user
    version = two_years(unit, filer, {}, {})
    rights = [services.patent_right_create(unit=unit, user=filer, data=_patent(i)) for i in range(5)]
    links = [{"right": version.links.get().right_id, "is_core": True, "contribution": Decimal(50)}]
    links += [{"right": r.pk, "is_core": False, "contribution": Decimal(5)} for r in rights]
    services.version_update(version=version, user=filer, data={}, links=links)  # 1 → 6 patents
    workflow.version_submit(version=version, user=filer)
    flag = next(f for f in checks.open_flags([version.pk])[version.pk] if f.rule == CheckRule.PATENT_JUMP)
    assert (flag.figure, flag.comparison, flag.threshold) == (6, 1, 2)


def _patent(i: int) -> dict[str, str]:
    from filings.identifiers import build_patent_number

    number = build_patent_number(year=2018, type_digit="1", serial=7_700_000 + i)
    return {"number": number, "title": f"跳变专利 {i}"}


def test_peer_score_against_the_class_and_year(reference: None) -> None:
    unit = FilingUnitFactory()
    filer = MemberFactory(unit=unit).user
    reviewer = UserFactory(role=Role.REVIEWER)
    for sales in (900, 950, 1000, 1000, 1050, 1100, 980, 1020, 990):
        peer = ProductVersionFactory(
            unit=unit, user=filer, sales=Decimal(sales), exports=Decimal(0), output_value=Decimal(sales)
        )
        workflow.version_submit(version=peer, user=filer)
        workflow.version_approve(version=peer, user=reviewer)
    outlier = ProductVersionFactory(
        unit=unit, user=filer, sales=Decimal(50000), exports=Decimal(0), output_value=Decimal(50000)
    )
    workflow.version_submit(version=outlier, user=filer)  # the tenth of the group: scored
    flags = {f.rule: f for f in checks.open_flags([outlier.pk])[outlier.pk]}
    assert CheckRule.PEER_SALES in flags and CheckRule.PEER_OUTPUT in flags
    assert flags[CheckRule.PEER_SALES].comparison == 1000 and flags[CheckRule.PEER_SALES].score > Decimal("3.5")
    assert CheckRule.PEER_EXPORTS not in flags  # every export 0: MAD 0, no score


def test_settings_are_versioned_validated_audited_and_national_only(reference: None, national: User) -> None:
    url = reverse("checks:settings")
    assert client_for(UserFactory(role=Role.REVIEWER)).get(url).status_code == 404
    client = client_for(national)
    assert client.get(url).status_code == 200
    data = {name: str(getattr(CheckSettings(), name)) for name in checks.SETTINGS_FIELDS}
    bad = data | {"yoy_factor": "1", "peer_min_group": "2"}
    response = client.post(url, bad)
    assert response.status_code == 400
    assert CheckSettings.objects.count() == 1  # the defaults, made when the page was read
    response = client.post(url, data | {"yoy_factor": "1.5", "note": "试行"})
    assert response.status_code == 302
    assert checks.current_settings().version == 2 and checks.current_settings().yoy_factor == Decimal("1.5")
    assert CheckSettings.objects.get(version=1).yoy_factor == 3  # the old version stays
    event = AuditEvent.objects.filter(object_type="filings.CheckSettings").latest("pk")
    assert event.changes["yoy_factor"] == ["3", "1.5"]
    client.post(url, data | {"yoy_factor": "1.5"})  # nothing changed: no new version
    assert CheckSettings.objects.count() == 2
    with pytest.raises(PermissionDenied):
        checks.check_settings_save(user=UserFactory(role=Role.REVIEWER), data=data)


def test_new_submissions_use_the_new_thresholds(reference: None, national: User) -> None:
    data = {name: getattr(CheckSettings(), name) for name in checks.SETTINGS_FIELDS}
    checks.check_settings_save(user=national, data=data | {"output_share_min": Decimal("0.9")})
    version = ProductVersionFactory(sales=Decimal(1000), output_value=Decimal(899))
    workflow.version_submit(version=version, user=version.product.unit.memberships.first().user)
    run = PlausibilityCheck.objects.get(version=version)
    assert run.settings.version == 2
    assert rules_of(version) == [CheckRule.OUTPUT_BELOW_SALES]


def test_report_rates_by_reviewer_class_and_province_scoped_for_ports(reference: None, national: User) -> None:
    reviewer = UserFactory(role=Role.REVIEWER, full_name="审核员甲")
    gd = FilingUnitFactory(region_id="440106")
    zj = FilingUnitFactory(region_id="330106")
    for unit, output in ((gd, 100), (gd, 1000), (zj, 100)):  # output 100 < 0.2 × 1000: flagged
        filer = MemberFactory(unit=unit).user
        version = ProductVersionFactory(unit=unit, user=filer, output_value=Decimal(output))
        workflow.version_submit(version=version, user=filer)
        workflow.version_approve(version=version, user=reviewer)
    report = checks.flag_rates(national)
    assert (report["total"], report["flagged"], report["rate"]) == (3, 2, Decimal("66.7"))
    assert [(r["version__decided_by__full_name"], r["total"], r["flagged"]) for r in report["by_reviewer"]] == [
        ("审核员甲", 3, 2)
    ]
    assert {r["version__product__province_code"]: r["flagged"] for r in report["by_province"]} == {
        "440000": 1,
        "330000": 1,
    }
    assert dict((code, n) for code, _label, n in report["per_rule"])[CheckRule.OUTPUT_BELOW_SALES] == 2

    port = PortAdminFactory(port_code="440000").user
    page = client_for(port).get(reverse("checks:report")).content.decode()
    assert 'data-province="440000"' in page and 'data-province="330000"' not in page
    assert checks.flag_rates(port)["total"] == 2
    export = client_for(port).get(reverse("checks:report_export"))
    assert export.status_code == 200
    rows = list(load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True))
    assert rows[-1][2:4] == (2, 1)  # the total row: the port's two filings, one flagged
    assert client_for(MemberFactory().user).get(reverse("checks:report")).status_code == 404


def test_report_empty_state(reference: None, national: User) -> None:
    page = client_for(national).get(reverse("checks:report")).content.decode()
    assert 'data-testid="report-empty"' in page
