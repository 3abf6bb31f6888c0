"""Months signed off (issue 20): every rule of `provincial.publications.signoff` on the service, the pages that
call it per role, and a corrected month end to end (signed, reopened with a reason, rebuilt: the next edition
says which figures changed and by how much).

Publications are rows with small files (`make_publication` of the publication views' tests) except in the
end-to-end test, which builds the month's real figures and workbook through `build.build_publication`.
"""

from __future__ import annotations

import datetime as dt
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.http import Http404
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from patent_platform import clock as platform_clock
from patent_platform.choices import AuditAction
from patent_platform.clock import CHINA_TZ, previous_month
from patent_platform.models import AuditEvent, Notice, User
from provincial.choices import PublicationKind, PublicationStatus, SignoffState
from provincial.models import NATIONAL_SCOPE, ManagementUnit, MonthSignoff, Publication
from provincial.publications import build, services, signoff
from provincial.publications.services import PublicationError
from provincial.publications.signoff import SignoffConflict, SignoffError
from tests.provincial.test_figures_as_of import approve_at, clock, new_product, submit_at
from tests.provincial.test_publication_views import make_publication

pytestmark = pytest.mark.django_db

MONTH = previous_month()
GD, SZ, ZJ = "440000", "440300", "330000"


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def pubs(demo_users: dict[str, User]) -> dict[str, Publication]:
    return {code: make_publication(code) for code in (GD, SZ, ZJ, NATIONAL_SCOPE)}


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The builds a rebuild asks for (the build itself is the worker's; the end-to-end test runs it)."""
    ids: list[int] = []
    monkeypatch.setattr(services, "_enqueue_builds", lambda pks: ids.extend(pks))
    return ids


def unit(code: str) -> ManagementUnit:
    return ManagementUnit.objects.get(code=code)


def state(code: str, period: dt.date = MONTH) -> MonthSignoff:
    return MonthSignoff.objects.get(unit__code=code, period=period)


def events(message: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(object_type="provincial.MonthSignoff", message=message).order_by("pk"))


def sign(users: dict[str, User], who: str, code: str, edition: Any = 1, note: str = "") -> MonthSignoff:
    return signoff.signoff_sign(user=users[who], unit=unit(code), period=MONTH, edition=edition, note=note)


# ---------------------------------------------------------------------------------------------------------------
# The port: sign off, or note a problem


def test_a_port_signs_off_the_edition_it_reviewed(demo_users: dict[str, User], pubs: dict[str, Publication]) -> None:
    row = sign(demo_users, "guangdong", GD, edition=1, note="已与本省统计核对。")
    assert (row.state, row.edition, row.note, row.decided_by) == (
        SignoffState.SIGNED,
        1,
        "已与本省统计核对。",
        demo_users["guangdong"],
    )
    (event,) = events("month signed off")
    assert event.action == AuditAction.TRANSITION and event.actor_id == demo_users["guangdong"].pk
    assert event.changes["state"] == ["open", "signed"] and event.changes["revision"] == 0


def test_city_ports_and_province_ports_each_sign_their_own(
    demo_users: dict[str, User], pubs: dict[str, Publication]
) -> None:
    sign(demo_users, "shenzhen", SZ)
    sign(demo_users, "zhejiang", ZJ)
    assert state(SZ).state == state(ZJ).state == SignoffState.SIGNED
    assert not MonthSignoff.objects.filter(unit__code=GD, state=SignoffState.SIGNED).exists()


@pytest.mark.parametrize(
    ("who", "code"),
    [("guangdong", SZ), ("shenzhen", GD), ("zhejiang", GD), ("shenzhen", ZJ)],
    ids=["province-on-its-city-port", "city-on-its-province", "another-province", "city-on-another-province"],
)
def test_a_port_signs_no_other_port_s_month(
    demo_users: dict[str, User], pubs: dict[str, Publication], who: str, code: str
) -> None:
    with pytest.raises(Http404):
        sign(demo_users, who, code)
    with pytest.raises(Http404):
        signoff.signoff_note_problem(user=demo_users[who], unit=unit(code), period=MONTH, edition=1, note="不对")
    assert not MonthSignoff.objects.filter(state=SignoffState.SIGNED).exists()


@pytest.mark.parametrize("who", ["national", "reviewer", "ent-gz"])
def test_only_port_administrators_sign(demo_users: dict[str, User], pubs: dict[str, Publication], who: str) -> None:
    with pytest.raises(PermissionDenied):
        sign(demo_users, who, GD)


def test_nothing_to_sign_before_the_publication_is_ready(demo_users: dict[str, User]) -> None:
    make_publication(GD, status=PublicationStatus.BUILDING)
    with pytest.raises(SignoffError) as refused:
        sign(demo_users, "guangdong", GD)
    assert refused.value.code == "not_ready"
    with pytest.raises(SignoffError):
        sign(demo_users, "shenzhen", SZ)  # no row at all
    assert not MonthSignoff.objects.filter(state=SignoffState.SIGNED).exists()


def test_a_month_not_ended_cannot_be_signed(demo_users: dict[str, User], pubs: dict[str, Publication]) -> None:
    this_month = platform_clock.china_today().replace(day=1)
    with pytest.raises(SignoffError) as refused:
        signoff.signoff_sign(user=demo_users["guangdong"], unit=unit(GD), period=this_month, edition=1)
    assert "period" in refused.value.message_dict


def test_signing_an_edition_not_the_current_one_is_refused(
    demo_users: dict[str, User], pubs: dict[str, Publication]
) -> None:
    Publication.objects.filter(pk=pubs[GD].pk).update(revision=1)  # rebuilt since the page was read: 第 2 版
    with pytest.raises(SignoffConflict) as refused:
        sign(demo_users, "guangdong", GD, edition=1)
    assert "第 2 版" in refused.value.messages[0]
    with pytest.raises(SignoffError) as bad:
        sign(demo_users, "guangdong", GD, edition="二")
    assert "edition" in bad.value.message_dict
    assert sign(demo_users, "guangdong", GD, edition=2).edition == 2


@pytest.mark.embedded  # the row lock is SQLite's BEGIN IMMEDIATE there
def test_signing_twice_is_one_signature(demo_users: dict[str, User], pubs: dict[str, Publication]) -> None:
    sign(demo_users, "guangdong", GD)
    with pytest.raises(SignoffConflict) as second:
        sign(demo_users, "guangdong", GD)
    assert second.value.messages[0].startswith("另一操作已先完成")
    assert len(events("month signed off")) == 1


def test_a_problem_is_noted_with_its_description_and_then_signed(
    demo_users: dict[str, User], pubs: dict[str, Publication]
) -> None:
    gd = demo_users["guangdong"]
    with pytest.raises(SignoffError) as empty:
        signoff.signoff_note_problem(user=gd, unit=unit(GD), period=MONTH, edition=1, note="   ")
    assert "note" in empty.value.message_dict
    with pytest.raises(SignoffError):
        signoff.signoff_note_problem(user=gd, unit=unit(GD), period=MONTH, edition=1, note="长" * 2001)
    note = "广州市通过备案产品少计 2 件。"
    row = signoff.signoff_note_problem(user=gd, unit=unit(GD), period=MONTH, edition=1, note=note)
    assert (row.state, row.note, row.edition) == (SignoffState.PROBLEM, note, 1)
    with pytest.raises(SignoffConflict):  # the same note again: the second click
        signoff.signoff_note_problem(user=gd, unit=unit(GD), period=MONTH, edition=1, note=note)
    more = note + "另，深圳市销售额单位有误。"
    assert signoff.signoff_note_problem(user=gd, unit=unit(GD), period=MONTH, edition=1, note=more).note == more
    assert len(events("month problem noted")) == 2
    # once resolved, the port signs
    assert sign(demo_users, "guangdong", GD).state == SignoffState.SIGNED
    with pytest.raises(SignoffConflict):  # and a signed month takes no problem note: only the national office reopens
        signoff.signoff_note_problem(user=gd, unit=unit(GD), period=MONTH, edition=1, note="又发现问题")


# ---------------------------------------------------------------------------------------------------------------
# The national office: reopen, rebuild, remind, release


def test_only_the_national_office_reopens_with_a_reason(
    demo_users: dict[str, User], pubs: dict[str, Publication]
) -> None:
    sign(demo_users, "shenzhen", SZ)
    for who in ("shenzhen", "guangdong", "reviewer"):
        with pytest.raises(PermissionDenied):
            signoff.signoff_reopen(user=demo_users[who], unit=unit(SZ), period=MONTH, reason="更正")
    with pytest.raises(SignoffError) as no_reason:
        signoff.signoff_reopen(user=demo_users["national"], unit=unit(SZ), period=MONTH, reason=" ")
    assert "reason" in no_reason.value.message_dict
    assert state(SZ).state == SignoffState.SIGNED

    mail.outbox.clear()
    reason = "深圳市 3 家企业的审核通过时间登记有误，已更正。"
    row = signoff.signoff_reopen(user=demo_users["national"], unit=unit(SZ), period=MONTH, reason=reason)
    assert (row.state, row.reopen_reason, row.reopened_by, row.reopen_count) == (
        SignoffState.OPEN,
        reason,
        demo_users["national"],
        1,
    )
    (event,) = events("month reopened")
    assert event.changes["reason"] == reason and event.changes["state"] == ["signed", "open"]
    (notice,) = Notice.objects.filter(kind="provincial.month_reopened")
    assert notice.recipient == "shenzhen@example.cn" and reason in notice.body
    with pytest.raises(SignoffConflict):  # the second click
        signoff.signoff_reopen(user=demo_users["national"], unit=unit(SZ), period=MONTH, reason=reason)
    with pytest.raises(SignoffError) as not_signed:
        signoff.signoff_reopen(user=demo_users["national"], unit=unit(ZJ), period=MONTH, reason=reason)
    assert not_signed.value.code == "not_signed"
    # and the port signs again
    assert sign(demo_users, "shenzhen", SZ).state == SignoffState.SIGNED


def test_a_signed_month_is_not_rebuilt_until_it_is_reopened(
    demo_users: dict[str, User], pubs: dict[str, Publication], enqueued: list[int]
) -> None:
    national = demo_users["national"]
    sign(demo_users, "guangdong", GD)
    with pytest.raises(PublicationError) as refused:
        services.publication_rebuild_request(user=national, kind=PublicationKind.MONTHLY, period=MONTH, unit=unit(GD))
    assert refused.value.code == "signed"
    # all ports: every other port's publication is rebuilt, the signed one keeps its edition
    rows = services.publication_rebuild_request(
        user=national, kind=PublicationKind.MONTHLY, period=MONTH, all_ports=True
    )
    assert GD not in {r.scope_key for r in rows} and {SZ, ZJ, NATIONAL_SCOPE} <= {r.scope_key for r in rows}
    assert Publication.objects.get(pk=pubs[GD].pk).revision == 0
    # reopened with a rebuild: the next edition is on its way
    enqueued.clear()
    signoff.signoff_reopen(user=national, unit=unit(GD), period=MONTH, reason="数据更正", rebuild=True)
    again = Publication.objects.get(pk=pubs[GD].pk)
    assert (again.revision, again.status, enqueued) == (1, PublicationStatus.PENDING, [again.pk])


@pytest.mark.embedded  # the row lock is SQLite's BEGIN IMMEDIATE there
def test_the_ports_that_have_not_answered_are_reminded_once_a_day(
    demo_users: dict[str, User], pubs: dict[str, Publication], monkeypatch: pytest.MonkeyPatch
) -> None:
    national = demo_users["national"]
    sign(demo_users, "guangdong", GD)
    signoff.signoff_note_problem(
        user=demo_users["zhejiang"], unit=unit(ZJ), period=MONTH, edition=1, note="浙江数据有误"
    )
    for who in ("guangdong", "reviewer"):
        with pytest.raises(PermissionDenied):
            signoff.signoff_remind(user=demo_users[who], period=MONTH)
    reminded = signoff.signoff_remind(user=national, period=MONTH)
    assert [r.unit.code for r in reminded] == [SZ]  # signed and problem-noted ports are not reminded
    notices = list(Notice.objects.filter(kind="provincial.month_reminder"))
    assert [n.recipient for n in notices] == ["shenzhen@example.cn"]
    assert f"{MONTH.year}年{MONTH.month}月" in notices[0].subject and "/port/months/" in notices[0].body
    assert state(SZ).reminded_on == platform_clock.china_today()
    (event,) = AuditEvent.objects.filter(message="month sign-off reminder")
    assert event.actor_id == national.pk
    with pytest.raises(SignoffConflict):  # the same day again
        signoff.signoff_remind(user=national, period=MONTH)
    assert Notice.objects.filter(kind="provincial.month_reminder").count() == 1
    # the next day (China date), once more
    tomorrow = platform_clock.china_today() + dt.timedelta(days=1)
    monkeypatch.setattr(platform_clock, "china_today", lambda: tomorrow)
    assert [r.unit.code for r in signoff.signoff_remind(user=national, period=MONTH)] == [SZ]
    assert state(SZ).reminded_on == tomorrow
    assert Notice.objects.filter(kind="provincial.month_reminder").count() == 2
    # nobody left to remind
    sign(demo_users, "shenzhen", SZ)
    with pytest.raises(SignoffError) as nobody:
        signoff.signoff_remind(user=national, period=MONTH)
    assert nobody.value.code == "nobody"


def test_a_port_whose_publication_is_not_ready_is_not_reminded(demo_users: dict[str, User]) -> None:
    make_publication(GD)
    make_publication(SZ, status=PublicationStatus.FAILED)
    assert [r.unit.code for r in signoff.signoff_remind(user=demo_users["national"], period=MONTH)] == [GD]


def test_the_national_office_releases_the_national_publication_when_it_chooses(
    demo_users: dict[str, User], pubs: dict[str, Publication], enqueued: list[int]
) -> None:
    national = demo_users["national"]
    sign(demo_users, "guangdong", GD)
    port_client = Client()
    port_client.force_login(demo_users["shenzhen"])
    download = reverse("port:publication_download", args=[pubs[NATIONAL_SCOPE].pk, "xlsx"])
    assert port_client.get(download).status_code == 404  # not released: the national office's own
    with pytest.raises(PermissionDenied):
        signoff.publication_release(user=demo_users["guangdong"], period=MONTH, edition=1)

    released = signoff.publication_release(user=national, period=MONTH, edition=1)
    assert released.is_released and released.released_by == national
    event = AuditEvent.objects.get(message="national publication released")
    assert sorted(event.changes["unsigned_ports"]) == [ZJ, SZ] and event.changes["signed_ports"] == 1
    recipients = set(Notice.objects.filter(kind="provincial.national_released").values_list("recipient", flat=True))
    assert recipients == {"guangdong@example.cn", "shenzhen@example.cn", "zhejiang@example.cn"}
    assert port_client.get(download).status_code == 200  # every port now sees it
    with pytest.raises(SignoffConflict):
        signoff.publication_release(user=national, period=MONTH, edition=1)

    # a rebuild is a new edition: hidden from the ports until released again
    services.publication_rebuild_request(user=national, kind=PublicationKind.MONTHLY, period=MONTH, unit=None)
    assert port_client.get(download).status_code == 404
    with pytest.raises(SignoffError) as not_ready:
        signoff.publication_release(user=national, period=MONTH, edition=2)
    assert not_ready.value.code == "not_ready"


def test_release_needs_the_edition_shown(demo_users: dict[str, User], pubs: dict[str, Publication]) -> None:
    Publication.objects.filter(pk=pubs[NATIONAL_SCOPE].pk).update(revision=2)
    with pytest.raises(SignoffConflict):
        signoff.publication_release(user=demo_users["national"], period=MONTH, edition=1)
    assert not Publication.objects.get(pk=pubs[NATIONAL_SCOPE].pk).is_released


# ---------------------------------------------------------------------------------------------------------------
# A corrected month, end to end: the next edition says what changed, and by how much


def _build(row: Publication) -> Publication:
    """The real figures and workbook of the row (the PDF is the document builders' test's business)."""

    def parts(publication: Publication) -> build.Parts:
        real = build.document_parts(publication)
        real.render_pdf = lambda: b"%PDF-1.4 stub"
        return real

    return build.build_publication(row.pk, builder=parts)


@pytest.mark.embedded  # the row lock is SQLite's BEGIN IMMEDIATE there
def test_a_reopened_and_rebuilt_month_is_a_new_edition_that_says_what_changed(
    demo_users: dict[str, User], enqueued: list[int], settings: Any
) -> None:
    national, guangdong = demo_users["national"], demo_users["guangdong"]
    start = dt.datetime(MONTH.year, MONTH.month, 1, tzinfo=CHINA_TZ)
    row = Publication.objects.create(unit=unit(GD), kind=PublicationKind.MONTHLY, period=MONTH)
    first = _build(row)
    assert first.status == PublicationStatus.READY and first.edition == 1
    approved_before = first.figures["totals"]["approved"]
    signoff.signoff_sign(user=guangdong, unit=unit(GD), period=MONTH, edition=1)

    # a correction: a 广州 product approved in the month had been missed
    with clock(start + dt.timedelta(days=1)):
        version = new_product("440106")
    submit_at(version, start + dt.timedelta(days=2))
    approve_at(version, start + dt.timedelta(days=3), demo_users["reviewer"])

    signoff.signoff_reopen(user=national, unit=unit(GD), period=MONTH, reason="补记一件漏登的审核通过。", rebuild=True)
    second = _build(Publication.objects.get(pk=row.pk))
    assert (second.edition, second.figures["previous_edition"]) == (2, 1)
    changes = {c["item"]: c for c in second.figures["changes"]}
    assert changes["通过备案产品"]["before"] == approved_before
    assert changes["通过备案产品"]["after"] == approved_before + 1
    assert changes["通过备案产品"]["delta"] == "+1"

    # the publication's 更正说明 says it, and so does the port's page
    with default_storage.open(second.xlsx_file, "rb") as fh:
        book = load_workbook(BytesIO(fh.read()), read_only=True)
    sheet = [tuple(r) for r in book["更正说明"].iter_rows(values_only=True)]
    assert sheet[0] == ("项目", "上一版", "本版", "增减")
    assert ("通过备案产品", approved_before, approved_before + 1, "+1") in sheet
    client = Client()
    client.force_login(guangdong)
    page = client.get(reverse("port:month", args=[f"{MONTH:%Y-%m}"]))
    assert page.status_code == 200 and page.context["can_answer"]
    html = page.content.decode()
    assert "与上一版（第 1 版）相比" in html and "+1" in html and "补记一件漏登的审核通过。" in html
    # the port signs the new edition
    assert signoff.signoff_sign(user=guangdong, unit=unit(GD), period=MONTH, edition=2).edition == 2


# ---------------------------------------------------------------------------------------------------------------
# The pages, per role


def client_for(users: dict[str, User], who: str) -> Client:
    client = Client()
    if who != "anonymous":
        client.force_login(users[who])
    return client


def month_url(name: str = "port:month") -> str:
    return reverse(name, args=[f"{MONTH:%Y-%m}"])


def test_the_port_signs_on_its_month_page(demo_users: dict[str, User], pubs: dict[str, Publication]) -> None:
    client = client_for(demo_users, "shenzhen")
    page = client.get(month_url())
    assert page.status_code == 200 and page.context["unit"].code == SZ and page.context["can_answer"]
    answer = client.post(month_url("port:month_sign"), {"port": SZ, "edition": "1", "note": ""}, follow=True)
    assert answer.status_code == 200 and "已确认" in answer.content.decode()
    assert state(SZ).state == SignoffState.SIGNED
    assert not answer.context["can_answer"]
    # the second click (another window): 409, the page says so
    again = client.post(month_url("port:month_sign"), {"port": SZ, "edition": "1"})
    assert again.status_code == 409 and "另一操作已先完成" in again.content.decode()


def test_a_bad_answer_is_shown_with_the_input_kept(demo_users: dict[str, User], pubs: dict[str, Publication]) -> None:
    client = client_for(demo_users, "guangdong")
    empty = client.post(month_url("port:month_problem"), {"port": GD, "edition": "1", "note": ""})
    assert empty.status_code == 400 and "请说明发现的问题。" in empty.content.decode()
    long = "超" * 2001
    too_long = client.post(month_url("port:month_problem"), {"port": GD, "edition": "1", "note": long})
    assert too_long.status_code == 400 and long in too_long.content.decode()
    bad = client.post(month_url("port:month_sign"), {"port": GD, "edition": "x", "note": "备注保留"})
    assert bad.status_code == 400 and "备注保留" in bad.content.decode()
    assert not MonthSignoff.objects.filter(state__in=[SignoffState.SIGNED, SignoffState.PROBLEM]).exists()


@pytest.mark.parametrize(
    ("who", "query", "status"),
    [
        ("guangdong", "", 200),
        ("guangdong", f"?port={SZ}", 200),  # a province looks at its city port's month (read-only)
        ("shenzhen", f"?port={GD}", 404),
        ("zhejiang", f"?port={GD}", 404),
        ("ent-gz", "", 404),
        ("reviewer", "", 404),
    ],
)
def test_the_month_page_per_role(
    demo_users: dict[str, User], pubs: dict[str, Publication], who: str, query: str, status: int
) -> None:
    assert client_for(demo_users, who).get(month_url() + query).status_code == status


def test_a_province_does_not_answer_for_its_city_port(
    demo_users: dict[str, User], pubs: dict[str, Publication]
) -> None:
    client = client_for(demo_users, "guangdong")
    page = client.get(month_url() + f"?port={SZ}")
    assert page.status_code == 200 and not page.context["can_answer"] and b"sign-form" not in page.content
    assert client.post(month_url("port:month_sign"), {"port": SZ, "edition": "1"}).status_code == 404
    assert client.post(month_url("port:month_problem"), {"port": SZ, "edition": "1", "note": "x"}).status_code == 404
    assert client.post(month_url("port:month_sign"), {"port": ZJ, "edition": "1"}).status_code == 404
    assert not MonthSignoff.objects.exclude(state=SignoffState.OPEN).exists()


@pytest.mark.parametrize("value", ["2025-13", "abc", "1999-01", "2999-01"])
def test_a_month_that_is_no_month_is_no_page(demo_users: dict[str, User], value: str) -> None:
    client = client_for(demo_users, "guangdong")
    assert client.get(reverse("port:month", args=[value])).status_code == 404
    assert client.post(reverse("port:month_sign", args=[value]), {"edition": "1"}).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(pubs: dict[str, Publication]) -> None:
    for url in (month_url(), reverse("national:months")):
        answer = Client().get(url)
        assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]


def test_the_national_page_lists_every_port_and_who_has_not_signed(
    demo_users: dict[str, User], pubs: dict[str, Publication]
) -> None:
    sign(demo_users, "guangdong", GD)
    signoff.signoff_note_problem(
        user=demo_users["zhejiang"], unit=unit(ZJ), period=MONTH, edition=1, note="浙江数据少计"
    )
    client = client_for(demo_users, "national")
    page = client.get(reverse("national:months"), {"period": f"{MONTH:%Y-%m}"})
    assert page.status_code == 200
    rows = {r.unit.code: r.state for r in page.context["rows"]}
    assert rows == {GD: "signed", SZ: "open", ZJ: "problem"}
    html = page.content.decode()
    assert "浙江数据少计" in html and "尚有 2 个端口未确认" in html
    assert [r.unit.code for r in page.context["to_remind"]] == [SZ]
    # the same rows in Excel
    export = client.get(reverse("national:months_export"), {"period": f"{MONTH:%Y-%m}"})
    book = load_workbook(BytesIO(export.content), read_only=True)
    cells = [tuple(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    assert [(r[1], r[5]) for r in cells[1:]] == [(ZJ, "反馈问题"), (GD, "已确认"), (SZ, "尚未确认")]
    assert AuditEvent.objects.filter(message="month sign-off export").count() == 1
    # a bad month: 400 with the input kept
    bad = client.get(reverse("national:months"), {"period": "2025-13"})
    assert bad.status_code == 400 and 'value="2025-13"' in bad.content.decode()


@pytest.mark.parametrize("who", ["guangdong", "shenzhen", "ent-gz", "reviewer"])
def test_the_national_pages_are_the_national_office_s(
    demo_users: dict[str, User], pubs: dict[str, Publication], who: str
) -> None:
    client = client_for(demo_users, who)
    period = {"period": f"{MONTH:%Y-%m}"}
    assert client.get(reverse("national:months"), period).status_code == 404
    assert client.get(reverse("national:months_export"), period).status_code == 404
    assert client.post(reverse("national:months_remind"), period).status_code == 404
    assert client.post(reverse("national:months_release"), {**period, "edition": "1"}).status_code == 404
    reopen = reverse("national:month_reopen", args=[f"{MONTH:%Y-%m}", GD])
    assert client.post(reopen, {"reason": "x"}).status_code == 404
    assert not Notice.objects.filter(kind__startswith="provincial.month").exists()
    assert not Publication.objects.get(pk=pubs[NATIONAL_SCOPE].pk).is_released


def test_remind_confirm_then_send(demo_users: dict[str, User], pubs: dict[str, Publication]) -> None:
    client = client_for(demo_users, "national")
    confirm = client.get(reverse("national:months_remind"), {"period": f"{MONTH:%Y-%m}"})
    assert confirm.status_code == 200 and not Notice.objects.filter(kind="provincial.month_reminder").exists()
    assert [r.unit.code for r in confirm.context["to_remind"]] == [ZJ, GD, SZ]
    done = client.post(reverse("national:months_remind"), {"period": f"{MONTH:%Y-%m}"}, follow=True)
    assert done.status_code == 200 and "已提醒 3 个尚未确认的端口" in done.content.decode()
    again = client.post(reverse("national:months_remind"), {"period": f"{MONTH:%Y-%m}"})
    assert again.status_code == 409 and "另一操作已先完成" in again.content.decode()
    bad = client.post(reverse("national:months_remind"), {"period": "later"})
    assert bad.status_code == 400


def test_reopen_page_requires_a_reason_and_keeps_the_input(
    demo_users: dict[str, User], pubs: dict[str, Publication], enqueued: list[int]
) -> None:
    sign(demo_users, "guangdong", GD)
    client = client_for(demo_users, "national")
    url = reverse("national:month_reopen", args=[f"{MONTH:%Y-%m}", GD])
    assert client.get(url).status_code == 200
    empty = client.post(url, {"reason": "", "rebuild": "1"})
    assert empty.status_code == 400 and "请填写重新打开的理由。" in empty.content.decode()
    assert state(GD).state == SignoffState.SIGNED
    done = client.post(url, {"reason": "审核时间更正", "rebuild": "1"}, follow=True)
    assert done.status_code == 200 and state(GD).state == SignoffState.OPEN
    assert enqueued == [pubs[GD].pk]
    assert client.get(reverse("national:month_reopen", args=[f"{MONTH:%Y-%m}", "999999"])).status_code == 404


def test_release_on_the_page_says_how_many_have_not_signed(
    demo_users: dict[str, User], pubs: dict[str, Publication]
) -> None:
    client = client_for(demo_users, "national")
    page = client.get(reverse("national:months"), {"period": f"{MONTH:%Y-%m}"})
    assert "尚有 3 个端口未确认" in page.content.decode()
    done = client.post(reverse("national:months_release"), {"period": f"{MONTH:%Y-%m}", "edition": "1"}, follow=True)
    assert done.status_code == 200 and b'data-testid="released"' in done.content
    again = client.post(reverse("national:months_release"), {"period": f"{MONTH:%Y-%m}", "edition": "1"})
    assert again.status_code == 409
    # the port's list shows the released national publication
    listed = client_for(demo_users, "zhejiang").get(reverse("port:publications"))
    assert (NATIONAL_SCOPE, "monthly") in {(p.scope_key, p.kind) for p in listed.context["monthly"]}


def test_the_port_list_shows_each_month_s_state(demo_users: dict[str, User], pubs: dict[str, Publication]) -> None:
    sign(demo_users, "shenzhen", SZ)
    page = client_for(demo_users, "guangdong").get(reverse("port:publications"))
    states = {p.scope_key: p.signoff_state for p in page.context["monthly"]}
    assert states == {GD: "open", SZ: "signed"}
