"""The dashboards' summary cells (provincial/dashboards/): the same figures as the live queries after every
kind of write, marks written in the writer's transaction, drained on read per area, rebuilt when stale,
read through the scoping rule, and the time they are as of shown on the page."""

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from filings import workflow
from filings.choices import FilingStatus, LegalStatus
from filings.models import FilingFlag, FilingUnit, PatentLink, Product, ProductVersion
from patent_platform.choices import Role
from patent_platform.models import Region, User
from provincial import dashboards
from provincial.models import SummaryCell, SummaryDirty, SummaryKind, SummaryState
from tests.provincial.live import CurrentClient

# embedded (CI runs it on SQLite too): cells written with bulk_create on SQLite (COPY on PostgreSQL)
pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

WHO = ("national", "guangdong", "shenzhen", "zhejiang")


def _without_time(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "as_of"}


def assert_same(users: dict[str, User]) -> None:
    """Every dashboard (and the national ranking) from the cells equals the live computation."""
    for who in WHO:
        area = dashboards.area_for(users[who])
        assert _without_time(dashboards.dashboard(area)) == _without_time(dashboards.live_dashboard(area)), who
    assert dashboards.national_ranking(users["national"]) == dashboards.live_national_ranking(users["national"])


def client_for(user: User) -> Client:
    client = CurrentClient()
    client.force_login(user)
    return client


def approved_in(province: str) -> ProductVersion:
    return ProductVersion.objects.filter(status=FilingStatus.APPROVED, product__province_code=province).first()


def test_cells_equal_the_live_figures_after_every_kind_of_write(demo_users: dict[str, User]) -> None:
    users, reviewer = demo_users, demo_users["reviewer"]
    assert_same(users)  # first read builds the summary
    assert SummaryState.objects.get().built_at is not None

    # review decisions: approve, return, revoke
    for version in ProductVersion.objects.filter(status__in=[FilingStatus.SUBMITTED, FilingStatus.RESUBMITTED]):
        workflow.version_approve(version=version, user=reviewer)
        assert_same(users)
        break
    else:
        pytest.fail("the demo has no filing waiting for review")
    revoked = approved_in("440000")
    workflow.version_revoke(version=revoked, user=reviewer, reason="测试撤销")
    assert_same(users)

    # a unit moves from 广东 to 浙江 (its products follow by a set-based update)
    unit = FilingUnit.objects.filter(province_code="440000", products__published_version__isnull=False).first()
    unit.region = Region.objects.get(code="330106")
    unit.save()
    assert Product.objects.filter(unit=unit, province_code="330000").exists()
    assert_same(users)

    # the unit's industry and scale move the section and scale breakdowns
    unit.industry, unit.scale = "I", "micro"
    unit.save()
    assert_same(users)

    # a flag raised and resolved one by one (the reviewer's page)
    version = approved_in("330000")
    patent = PatentLink.objects.filter(version=version).first().right.patent
    flag = FilingFlag.objects.create(version=version, patent=patent, legal_status=LegalStatus.LAPSED)
    assert_same(users)
    flag.resolved_at, flag.resolution = timezone.now(), "测试"
    flag.save()
    assert_same(users)

    # a product deleted (a draft never filed changes nothing, but its unit count stays)
    draft = ProductVersion.objects.filter(status=FilingStatus.DRAFT, submitted_at__isnull=True).first()
    if draft is not None:
        draft.product.delete()
        assert_same(users)


def test_the_drift_import_marks_the_products_it_flags(demo_users: dict[str, User]) -> None:
    """The import writes flags set-based (no post_save): it says so through `figures_changed`."""
    from filings import drift

    users = demo_users
    assert_same(users)
    version = approved_in("440000")
    patent = PatentLink.objects.filter(version=version).first().right.patent
    before = dashboards.dashboard(dashboards.area_for(users["guangdong"]))["totals"]["flagged"]
    with transaction.atomic():
        outcome = drift.legal_status_apply(
            rows=[drift.Row(number=2, patent=patent.number, status=LegalStatus.LAPSED, effective_date=None)],
            source=None,
            user=users["reviewer"],
        )
    assert outcome.flagged >= 1
    assert SummaryDirty.objects.filter(province_code="440000").exists()
    after = dashboards.dashboard(dashboards.area_for(users["guangdong"]))["totals"]["flagged"]
    linked = (
        Product.objects.filter(
            province_code="440000",
            published_version__isnull=False,
            versions__status=FilingStatus.APPROVED,
            versions__links__right__patent=patent,
        )
        .distinct()
        .count()
    )
    assert linked >= 1 and after == before + linked
    assert_same(users)
    with transaction.atomic():
        drift.legal_status_apply(
            rows=[drift.Row(number=2, patent=patent.number, status=LegalStatus.VALID, effective_date=None)],
            source=None,
            user=users["reviewer"],
        )
    assert dashboards.dashboard(dashboards.area_for(users["guangdong"]))["totals"]["flagged"] == before
    assert_same(users)


def test_a_mark_is_part_of_the_writers_transaction(demo_users: dict[str, User]) -> None:
    dashboards.dashboard(dashboards.area_for(demo_users["national"]))
    assert not SummaryDirty.objects.exists()
    version = approved_in("440000")
    with pytest.raises(RuntimeError), transaction.atomic():
        workflow.version_revoke(version=version, user=demo_users["reviewer"], reason="回滚")
        assert SummaryDirty.objects.filter(province_code="440000").exists()
        raise RuntimeError
    assert not SummaryDirty.objects.exists()
    assert ProductVersion.objects.get(pk=version.pk).status == FilingStatus.APPROVED


def test_a_read_drains_only_the_dirty_regions_of_its_own_area(demo_users: dict[str, User]) -> None:
    dashboards.dashboard(dashboards.area_for(demo_users["national"]))
    workflow.version_revoke(version=approved_in("440000"), user=demo_users["reviewer"], reason="广东")
    workflow.version_revoke(version=approved_in("330000"), user=demo_users["reviewer"], reason="浙江")
    assert set(SummaryDirty.objects.values_list("province_code", flat=True)) == {"440000", "330000"}
    zhejiang_cells = list(SummaryCell.objects.filter(province_code="330000").values_list("pk", "approved"))

    data = dashboards.dashboard(dashboards.area_for(demo_users["guangdong"]))
    assert set(SummaryDirty.objects.values_list("province_code", flat=True)) == {"330000"}
    assert list(SummaryCell.objects.filter(province_code="330000").values_list("pk", "approved")) == zhejiang_cells
    assert data["as_of"] >= timezone.now() - dt.timedelta(seconds=5)
    assert _without_time(data) == _without_time(dashboards.live_dashboard(dashboards.area_for(demo_users["guangdong"])))

    out = io.StringIO()
    call_command("refresh_summary", stdout=out)
    assert out.getvalue().strip() == "summary refreshed: 1 dirty regions recomputed"
    assert not SummaryDirty.objects.exists()
    assert_same(demo_users)


def test_writes_outside_the_platform_show_after_the_rebuild_the_dashboard_asks_for(
    demo_users: dict[str, User], settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    gd = demo_users["guangdong"]
    first = dashboards.dashboard(dashboards.area_for(gd))
    built = SummaryState.objects.get().built_at
    # SQL behind the platform's back: no mark
    Product.objects.filter(province_code="440000", published_version__isnull=False).update(published_version=None)
    stale = dashboards.dashboard(dashboards.area_for(gd))
    assert stale["totals"]["approved"] == first["totals"]["approved"] > 0
    assert stale["as_of"] == built  # the page says how old the figures are

    # older than SUMMARY_MAX_AGE: the read asks for a rebuild (in-process in tests, after commit)
    SummaryState.objects.update(built_at=timezone.now() - dt.timedelta(seconds=settings.SUMMARY_MAX_AGE + 1))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        dashboards.dashboard(dashboards.area_for(gd))
    assert len(callbacks) == 1
    fresh = dashboards.dashboard(dashboards.area_for(gd))
    assert fresh["totals"]["approved"] == 0
    assert SummaryState.objects.get().built_at > built
    assert_same(demo_users)


def test_cells_are_read_through_the_scoping_rule(demo_users: dict[str, User], make_user: Any) -> None:
    dashboards.dashboard(dashboards.area_for(demo_users["national"]))
    everything = SummaryCell.objects.count()
    assert SummaryCell.objects.visible_to(demo_users["national"]).count() == everything > 0
    shenzhen = SummaryCell.objects.visible_to(demo_users["shenzhen"])
    assert shenzhen.exists() and set(shenzhen.values_list("city_code", flat=True)) == {"440300"}
    guangdong = SummaryCell.objects.visible_to(demo_users["guangdong"])
    assert set(guangdong.values_list("province_code", flat=True)) == {"440000"}
    for role in (Role.ENTERPRISE, Role.REVIEWER, Role.EXPERT):
        user = make_user(f"{role}@summary.test", role=role)
        expected = everything if role == Role.REVIEWER else 0  # reviewers' scope is the nation, as for products
        assert SummaryCell.objects.visible_to(user).count() == expected


def test_the_page_and_the_api_say_when_the_figures_are_from(demo_users: dict[str, User]) -> None:
    client = client_for(demo_users["guangdong"])
    client.get(reverse("port:home"))
    built = SummaryState.objects.get().built_at
    page = client.get(reverse("port:home"))
    local = timezone.localtime(page.context["data"]["as_of"])
    assert f"数据截至 {local:%Y-%m-%d %H:%M}" in page.content.decode()
    assert page.context["data"]["as_of"] == built
    answer = client.get("/api/v1/provincial/dashboard/").json()
    assert dt.datetime.fromisoformat(answer["as_of"]) == built


def test_full_rebuild_command_and_cell_kinds(demo_users: dict[str, User]) -> None:
    out = io.StringIO()
    call_command("refresh_summary", "--full", stdout=out)
    count = SummaryCell.objects.count()
    assert out.getvalue().startswith(f"summary rebuilt: {count:,} cells in ")
    kinds = set(SummaryCell.objects.values_list("kind", flat=True))
    assert kinds == set(SummaryKind.values)
    region = SummaryCell.objects.filter(kind=SummaryKind.REGION)
    approved = Product.objects.filter(published_version__isnull=False).count()
    assert sum(region.values_list("approved", flat=True)) == approved
    assert sum(SummaryCell.objects.filter(kind=SummaryKind.MONTH).values_list("approved", flat=True)) == approved
    assert sum(region.values_list("units", flat=True)) == FilingUnit.objects.count()
    sales = sum(region.values_list("sales", flat=True), Decimal(0))
    assert sales == sum(
        Product.objects.filter(published_version__isnull=False).values_list("published_version__sales", flat=True),
        Decimal(0),
    )


def test_the_beat_schedule_drains_every_minute_and_rebuilds_hourly() -> None:
    from django_celery_beat.models import PeriodicTask

    drain = PeriodicTask.objects.get(task="provincial.tasks.drain_summary")
    rebuild = PeriodicTask.objects.get(task="provincial.tasks.rebuild_summary")
    assert drain.enabled and rebuild.enabled
    assert (drain.crontab.minute, drain.crontab.hour) == ("*", "*")
    assert (rebuild.crontab.minute, rebuild.crontab.hour) == ("41", "*")
    assert str(rebuild.crontab.timezone) == "Asia/Shanghai"


@pytest.mark.worker
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored", "ignore::RuntimeWarning")
def test_a_worker_rebuilds_and_drains_the_summary(worker: Any) -> None:
    """The beat's tasks on a real worker process, Redis broker and the PostgreSQL test database."""
    import time

    from patent_platform.celery import app

    call_command("load_demo", verbosity=0, stdout=io.StringIO())
    SummaryCell.objects.all().delete()
    SummaryState.objects.all().delete()

    def run(task: str) -> Any:
        result = app.send_task(task)
        deadline = time.monotonic() + 90
        while not result.ready():
            assert worker.poll() is None, "the worker process died"
            assert time.monotonic() < deadline, f"{task}: no answer within 90 s"
            time.sleep(0.2)
        return result.get(timeout=5, disable_sync_subtasks=False)

    built = run("provincial.tasks.rebuild_summary")
    assert built["cells"] == SummaryCell.objects.count() > 0
    assert SummaryState.objects.get().built_at is not None
    version = approved_in("440000")
    workflow.version_revoke(version=version, user=User.objects.get(email="reviewer@example.cn"), reason="worker")
    assert SummaryDirty.objects.exists()
    assert run("provincial.tasks.drain_summary") >= 1
    assert not SummaryDirty.objects.exists()
    national = User.objects.get(email="national@example.cn")
    area = dashboards.area_for(national)
    assert _without_time(dashboards.dashboard(area)) == _without_time(dashboards.live_dashboard(area))


def test_a_rounds_stage_moves_the_certified_figure(demo_users: dict[str, User]) -> None:
    """Candidates are certified while their round is in publicity; the Round.save that makes it final (or,
    here, takes it back and makes it final again) marks their regions."""
    from evaluation.choices import CandidateStatus, Stage
    from evaluation.models import Round

    national = demo_users["national"]
    before = dashboards.dashboard(dashboards.area_for(national))["totals"]["certified"]
    rnd = Round.objects.filter(stage=Stage.FINAL, candidates__status=CandidateStatus.CERTIFIED).distinct().first()
    assert rnd is not None and before > 0, "the demo has a final round with certificates"
    rnd.stage = Stage.PUBLICITY
    rnd.save()
    assert dashboards.dashboard(dashboards.area_for(national))["totals"]["certified"] < before
    assert_same(demo_users)
    rnd.stage = Stage.FINAL
    rnd.save()
    assert dashboards.dashboard(dashboards.area_for(national))["totals"]["certified"] == before
    assert_same(demo_users)
