"""Conflicting claims to a patent: the rules, the detection after every write of a right, the reviewer's pages."""

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook
from rest_framework.test import APIClient

from filings import conflicts, services, workflow
from filings.choices import ConflictKind, ConflictStatus, RightKind
from filings.identifiers import build_patent_number
from filings.models import FilingUnit, Patent, PatentConflict, PatentRight, UnitMembership
from patent_platform.choices import AuditAction, Role
from patent_platform.models import AuditEvent, User

pytestmark = pytest.mark.django_db

_serial = iter(range(5000, 6000))


@pytest.fixture
def unit_c(make_unit: Callable[..., FilingUnit]) -> FilingUnit:
    return make_unit("成都测试电子科技有限公司", "510107", "MA6TC003")


@pytest.fixture
def filer_c(make_user: Callable[..., User], unit_c: FilingUnit) -> User:
    user = make_user("filer-c@example.cn", Role.ENTERPRISE)
    UnitMembership.objects.create(user=user, unit=unit_c, is_manager=True)
    return user


@pytest.fixture
def number() -> str:
    return build_patent_number(year=2020, type_digit="1", serial=next(_serial))


@pytest.fixture
def claim(django_capture_on_commit_callbacks: Any) -> Callable[..., PatentRight]:
    """claim(unit, user, number, kind, **right): the unit records its right through the service, and the
    transaction commits (so the detection hooked after the commit runs)."""

    def do(unit: FilingUnit, user: User, number: str, kind: str = RightKind.OWNER, **data: Any) -> PatentRight:
        if kind == RightKind.LICENSEE:
            data.setdefault("licence_kind", "ordinary")
        with django_capture_on_commit_callbacks(execute=True):
            return services.patent_right_create(
                unit=unit, user=user, data={"number": number, "title": "冲突测试专利", "kind": kind, **data}
            )

    return do


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    def run(fn: Callable[..., Any], **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return fn(**kwargs)

    return run


def open_conflicts(number: str) -> list[tuple[str, set[int]]]:
    return [
        (c.kind, {r.pk for r in c.rights.all()})
        for c in PatentConflict.objects.filter(patent__number=number, status=ConflictStatus.OPEN)
    ]


# --------------------------------------------------------------------------------------------- the rules


def test_two_owners_are_a_conflict_with_both_sides(
    claim: Callable, number: str, unit_a: FilingUnit, unit_b: FilingUnit, filer_a: User, filer_b: User
) -> None:
    a = claim(unit_a, filer_a, number)
    assert open_conflicts(number) == []
    b = claim(unit_b, filer_b, number)
    assert open_conflicts(number) == [(ConflictKind.MULTIPLE_OWNERS, {a.pk, b.pk})]


@pytest.mark.parametrize("second", [RightKind.TRANSFEREE, RightKind.CAPITAL])
def test_an_owner_and_another_units_transferee_or_capital_contribution_conflict(
    claim: Callable, number: str, second: str, unit_a: FilingUnit, unit_b: FilingUnit, filer_a: User, filer_b: User
) -> None:
    a = claim(unit_a, filer_a, number)
    b = claim(unit_b, filer_b, number, second)
    assert open_conflicts(number) == [(ConflictKind.MULTIPLE_OWNERS, {a.pk, b.pk})]


def test_co_owners_among_themselves_are_no_conflict(
    claim: Callable,
    number: str,
    unit_a: FilingUnit,
    unit_b: FilingUnit,
    unit_c: FilingUnit,
    filer_a: User,
    filer_b: User,
    filer_c: User,
) -> None:
    claim(unit_a, filer_a, number, RightKind.CO_OWNER)
    claim(unit_b, filer_b, number, RightKind.CO_OWNER)
    claim(unit_c, filer_c, number, RightKind.CO_OWNER)
    assert open_conflicts(number) == []
    assert PatentConflict.objects.count() == 0


def test_a_sole_owner_and_another_units_co_owner_conflict(
    claim: Callable,
    number: str,
    unit_a: FilingUnit,
    unit_b: FilingUnit,
    unit_c: FilingUnit,
    filer_a: User,
    filer_b: User,
    filer_c: User,
) -> None:
    b = claim(unit_b, filer_b, number, RightKind.CO_OWNER)
    c = claim(unit_c, filer_c, number, RightKind.CO_OWNER)
    assert open_conflicts(number) == []
    a = claim(unit_a, filer_a, number, RightKind.OWNER)
    assert open_conflicts(number) == [(ConflictKind.MULTIPLE_OWNERS, {a.pk, b.pk, c.pk})]


@pytest.mark.parametrize("holder", [RightKind.OWNER, RightKind.CO_OWNER, RightKind.TRANSFEREE])
def test_a_licence_with_an_owner_on_the_platform_is_no_conflict(
    claim: Callable, number: str, holder: str, unit_a: FilingUnit, unit_b: FilingUnit, filer_a: User, filer_b: User
) -> None:
    claim(unit_a, filer_a, number, holder)
    claim(unit_b, filer_b, number, RightKind.LICENSEE, licence_kind="exclusive", recordal_number="2021990000123")
    assert open_conflicts(number) == []


def test_a_licence_without_an_owner_is_a_conflict_closed_when_the_owner_registers(
    claim: Callable, number: str, unit_a: FilingUnit, unit_b: FilingUnit, filer_a: User, filer_b: User
) -> None:
    licence = claim(unit_b, filer_b, number, RightKind.LICENSEE)
    assert open_conflicts(number) == [(ConflictKind.LICENCE_WITHOUT_OWNER, {licence.pk})]
    claim(unit_a, filer_a, number, RightKind.OWNER)
    assert open_conflicts(number) == []
    closed = PatentConflict.objects.get(patent__number=number)
    assert (closed.status, closed.note, closed.resolved_by) == (ConflictStatus.RESOLVED, conflicts.AUTO_NOTE, None)
    assert closed.resolved_at is not None


def test_removing_a_side_closes_the_conflict(
    claim: Callable,
    committed: Callable,
    number: str,
    unit_a: FilingUnit,
    unit_b: FilingUnit,
    filer_a: User,
    filer_b: User,
) -> None:
    a = claim(unit_a, filer_a, number)
    b = claim(unit_b, filer_b, number)
    conflict = PatentConflict.objects.get(status=ConflictStatus.OPEN)
    committed(services.patent_right_delete, right=b, user=filer_b)
    conflict.refresh_from_db()
    assert conflict.status == ConflictStatus.RESOLVED and conflict.note == "冲突已消除"
    assert list(conflict.rights.all()) == [a]  # the deleted right is gone from the sides, the other stays
    assert open_conflicts(number) == []


def test_changing_a_right_to_a_licence_closes_the_owner_conflict_and_opens_none(
    claim: Callable,
    committed: Callable,
    number: str,
    unit_a: FilingUnit,
    unit_b: FilingUnit,
    filer_a: User,
    filer_b: User,
) -> None:
    claim(unit_a, filer_a, number)
    b = claim(unit_b, filer_b, number)
    assert len(open_conflicts(number)) == 1
    committed(
        services.patent_right_update, right=b, user=filer_b, data={"kind": RightKind.LICENSEE, "licence_kind": "sole"}
    )
    assert open_conflicts(number) == []


def test_a_third_owner_joins_the_open_conflict(
    claim: Callable,
    number: str,
    unit_a: FilingUnit,
    unit_b: FilingUnit,
    unit_c: FilingUnit,
    filer_a: User,
    filer_b: User,
    filer_c: User,
) -> None:
    a, b = claim(unit_a, filer_a, number), claim(unit_b, filer_b, number)
    first = PatentConflict.objects.get()
    c = claim(unit_c, filer_c, number, RightKind.CAPITAL)
    assert PatentConflict.objects.get() == first  # one open conflict per patent and kind
    assert {r.pk for r in first.rights.all()} == {a.pk, b.pk, c.pk}


# --------------------------------------------------------------------------------------------- detection


def test_detection_is_idempotent_and_the_full_scan_repairs_missed_writes(
    number: str, unit_a: FilingUnit, unit_b: FilingUnit, filer_a: User, filer_b: User
) -> None:
    # written without the commit hook running (the transaction of the test never commits)
    a = services.patent_right_create(unit=unit_a, user=filer_a, data={"number": number, "title": "专利"})
    b = services.patent_right_create(unit=unit_b, user=filer_b, data={"number": number})
    assert PatentConflict.objects.count() == 0
    out = io.StringIO()
    call_command("detect_conflicts", stdout=out)
    assert "1 opened" in out.getvalue()
    assert open_conflicts(number) == [(ConflictKind.MULTIPLE_OWNERS, {a.pk, b.pk})]
    again = conflicts.detect_all()
    assert (again.opened, again.updated, again.closed) == (0, 0, 0)
    assert conflicts.detect([a.patent_id, a.patent_id]).opened == 0
    assert PatentConflict.objects.count() == 1


def test_a_dismissed_conflict_is_not_reopened_until_its_sides_change(
    claim: Callable,
    number: str,
    reviewer: User,
    unit_a: FilingUnit,
    unit_b: FilingUnit,
    unit_c: FilingUnit,
    filer_a: User,
    filer_b: User,
    filer_c: User,
) -> None:
    claim(unit_a, filer_a, number)
    claim(unit_b, filer_b, number)
    conflict = PatentConflict.objects.get()
    conflicts.conflict_close(
        conflict=conflict, user=reviewer, status=ConflictStatus.DISMISSED, note="两家为母子公司，已核实"
    )
    assert conflicts.detect_all().opened == 0
    assert open_conflicts(number) == []
    claim(unit_c, filer_c, number)  # a new side: the reviewer has not seen this one
    assert len(open_conflicts(number)) == 1
    assert PatentConflict.objects.count() == 2


def test_the_api_and_the_patent_page_trigger_the_detection(
    client: Any,
    django_capture_on_commit_callbacks: Any,
    number: str,
    unit_a: FilingUnit,
    unit_b: FilingUnit,
    filer_a: User,
    filer_b: User,
) -> None:
    api = APIClient()
    api.force_authenticate(filer_a)
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.post("/api/v1/patents/", {"number": number, "title": "接口登记的专利"}, format="json")
    assert answer.status_code == 201, answer.content
    client.force_login(filer_b)
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(
            reverse("enterprise:patent_new"), {"number": number, "kind": RightKind.OWNER, "legal_status": "valid"}
        )
    assert page.status_code == 302, page.content.decode()[:2000]
    assert [kind for kind, _sides in open_conflicts(number)] == [ConflictKind.MULTIPLE_OWNERS]
    right_b = PatentRight.objects.get(unit=unit_b)
    with django_capture_on_commit_callbacks(execute=True):
        deleted = APIClient()
        deleted.force_authenticate(filer_b)
        assert deleted.delete(f"/api/v1/patents/{right_b.pk}/").status_code == 204
    assert open_conflicts(number) == []


def test_an_excel_import_of_patents_is_checked_once_committed(
    claim: Callable,
    django_capture_on_commit_callbacks: Any,
    number: str,
    unit_a: FilingUnit,
    unit_b: FilingUnit,
    filer_a: User,
    filer_b: User,
) -> None:
    """Many rights written in one transaction are checked together after its commit."""
    from django.db import transaction

    claim(unit_a, filer_a, number)
    other = build_patent_number(year=2020, type_digit="1", serial=next(_serial))
    claim(unit_a, filer_a, other)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        services.patent_right_create(unit=unit_b, user=filer_b, data={"number": number})
        services.patent_right_create(unit=unit_b, user=filer_b, data={"number": other})
        assert PatentConflict.objects.count() == 0  # nothing before the commit
    assert callbacks
    assert {c.patent.number for c in PatentConflict.objects.filter(status=ConflictStatus.OPEN)} == {number, other}


# --------------------------------------------------------------------------------------------- pages


@pytest.fixture
def conflict(claim: Callable, number: str, unit_a: FilingUnit, unit_b: FilingUnit, filer_a: User, filer_b: User):
    claim(unit_a, filer_a, number)
    claim(unit_b, filer_b, number, RightKind.TRANSFEREE, valid_until="2030-12-31")
    return PatentConflict.objects.get()


@pytest.fixture
def national(make_user: Callable[..., User]) -> User:
    return make_user("national-c@example.cn", Role.NATIONAL_ADMIN)


def test_reviewers_and_national_administrators_see_the_list_and_both_sides(
    client: Any, conflict: PatentConflict, reviewer: User, national: User
) -> None:
    for user in (reviewer, national):
        client.force_login(user)
        page = client.get(reverse("review:conflicts"))
        assert page.status_code == 200
        assert [c.pk for c in page.context["conflicts"]] == [conflict.pk]
        html = page.content.decode()
        assert "广州测试智能装备有限公司" in html and "杭州测试新材料有限公司" in html
        detail = client.get(reverse("review:conflict", args=[conflict.pk]))
        assert detail.status_code == 200
        body = detail.content.decode()
        assert body.count('data-testid="side"') == 2
        for text in ("专利权人", "受让人", "2030-12-31", "广东省", "浙江省", "尚未用于产品备案"):
            assert text in body, text


def test_the_list_filters_by_kind_and_status_and_shows_an_empty_state(
    client: Any, conflict: PatentConflict, reviewer: User
) -> None:
    client.force_login(reviewer)
    url = reverse("review:conflicts")
    assert len(client.get(url, {"kind": ConflictKind.MULTIPLE_OWNERS}).context["conflicts"]) == 1
    empty = client.get(url, {"kind": ConflictKind.LICENCE_WITHOUT_OWNER})
    assert list(empty.context["conflicts"]) == [] and 'data-testid="conflicts-empty"' in empty.content.decode()
    assert list(client.get(url, {"status": ConflictStatus.DISMISSED}).context["conflicts"]) == []
    assert len(client.get(url, {"status": "all"}).context["conflicts"]) == 1


def test_the_export_has_the_filtered_rows_and_is_audited(client: Any, conflict: PatentConflict, reviewer: User) -> None:
    client.force_login(reviewer)
    answer = client.get(reverse("review:conflicts-export"), {"status": "open"})
    assert answer.status_code == 200
    rows = list(load_workbook(io.BytesIO(answer.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "申请号" and len(rows) == 2
    assert rows[1][0] == conflict.patent.number and "杭州测试新材料有限公司（受让人）" in rows[1][4]
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, object_type="filings.PatentConflict").exists()


@pytest.mark.parametrize("role", [Role.ENTERPRISE, Role.PORT_ADMIN, Role.EXPERT, Role.SYSTEM_ADMIN])
def test_other_roles_get_404(
    client: Any, conflict: PatentConflict, make_user: Callable[..., User], filer_a: User, role: str
) -> None:
    user = filer_a if role == Role.ENTERPRISE else make_user(f"{role}-c@example.cn", role)
    client.force_login(user)
    pk = conflict.pk
    for url in (
        reverse("review:conflicts"),
        reverse("review:conflicts-export"),
        reverse("review:conflict", args=[pk]),
    ):
        assert client.get(url).status_code == 404, url
    answer = client.post(reverse("review:conflict-close", args=[pk]), {"decision": "dismissed", "note": "x"})
    assert answer.status_code == 404
    conflict.refresh_from_db()
    assert conflict.status == ConflictStatus.OPEN
    assert PatentConflict.objects.visible_to(user).count() == 0


def test_anonymous_visitors_are_sent_to_login(client: Any, conflict: PatentConflict) -> None:
    answer = client.get(reverse("review:conflict", args=[conflict.pk]))
    assert answer.status_code == 302 and reverse("login") in answer["Location"]


@pytest.mark.parametrize("decision", [ConflictStatus.RESOLVED, ConflictStatus.DISMISSED])
def test_a_reviewer_resolves_or_dismisses_with_a_note(
    client: Any, conflict: PatentConflict, reviewer: User, decision: str
) -> None:
    client.force_login(reviewer)
    url = reverse("review:conflict-close", args=[conflict.pk])
    answer = client.post(url, {"decision": decision, "note": "已联系双方核实"})
    assert answer.status_code == 302
    conflict.refresh_from_db()
    assert (conflict.status, conflict.note, conflict.resolved_by) == (decision, "已联系双方核实", reviewer)
    event = AuditEvent.objects.get(action=AuditAction.TRANSITION, object_type="filings.PatentConflict")
    assert event.actor_id == reviewer.pk and event.changes["status"] == ["open", decision]
    page = client.get(reverse("review:conflict", args=[conflict.pk])).content.decode()
    assert 'data-testid="conflict-closed"' in page and 'data-testid="conflict-decision"' not in page
    again = client.post(url, {"decision": decision, "note": "再次处理"})
    assert again.status_code == 400 and "该冲突已处理" in again.content.decode()


def test_closing_needs_a_note_and_keeps_the_choice(client: Any, conflict: PatentConflict, reviewer: User) -> None:
    client.force_login(reviewer)
    answer = client.post(
        reverse("review:conflict-close", args=[conflict.pk]), {"decision": ConflictStatus.DISMISSED, "note": "  "}
    )
    assert answer.status_code == 400
    html = answer.content.decode()
    assert "请填写处理说明。" in html
    assert 'value="dismissed" checked' in html
    conflict.refresh_from_db()
    assert conflict.status == ConflictStatus.OPEN
    bad = client.post(reverse("review:conflict-close", args=[conflict.pk]), {"decision": "open", "note": "x"})
    assert bad.status_code == 400 and "请选择处理结果。" in bad.content.decode()


def test_the_review_page_of_a_version_using_a_patent_in_conflict_warns_with_a_link(
    client: Any,
    claim: Callable,
    new_version: Callable,
    number: str,
    reviewer: User,
    unit_a: FilingUnit,
    unit_b: FilingUnit,
    filer_a: User,
    filer_b: User,
) -> None:
    right = claim(unit_a, filer_a, number)
    version = new_version(
        unit_a, filer_a, links=[{"right": right.pk, "is_core": True, "contribution": 60, "embodiment": "主体"}]
    )
    workflow.version_submit(version=version, user=filer_a)
    client.force_login(reviewer)
    url = reverse("review:detail", args=[version.pk])
    assert 'data-testid="conflict-warning"' not in client.get(url).content.decode()
    claim(unit_b, filer_b, number)
    conflict = PatentConflict.objects.get()
    html = client.get(url).content.decode()
    assert 'data-testid="conflict-warning"' in html
    assert reverse("review:conflict", args=[conflict.pk]) in html
    detail = client.get(reverse("review:conflict", args=[conflict.pk])).content.decode()
    assert reverse("review:detail", args=[version.pk]) in detail  # the product using the right, with its status
    assert Patent.objects.get(number=number).conflicts.count() == 1


def test_the_daily_scan_is_scheduled_and_opens_what_no_hook_saw(
    claim: Callable, number: str, unit_a: FilingUnit, unit_b: FilingUnit, filer_a: User, filer_b: User
) -> None:
    from django_celery_beat.models import PeriodicTask

    from filings.tasks import detect_conflicts

    entry = PeriodicTask.objects.get(task="filings.tasks.detect_conflicts")
    assert entry.enabled and (entry.crontab.minute, entry.crontab.hour) == ("10", "4")
    assert str(entry.crontab.timezone) == "Asia/Shanghai"
    a = claim(unit_a, filer_a, number)
    b = claim(unit_b, filer_b, number)
    PatentConflict.objects.all().delete()  # as if the second right had been written in the admin site
    counts = detect_conflicts.delay().get()
    assert counts["opened"] == 1 and counts["checked"] >= 1
    assert open_conflicts(number) == [(ConflictKind.MULTIPLE_OWNERS, {a.pk, b.pk})]
    assert detect_conflicts.delay().get()["opened"] == 0  # idempotent
