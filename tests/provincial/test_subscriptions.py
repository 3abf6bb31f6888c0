"""Subscriptions (issue 20, part 6; provincial/subscriptions.py): due periods in China time, exactly once per
subscription and period (also two workers at once on PostgreSQL), built as the subscriber (深圳 gets 深圳 only),
the download for its owner only, a subscription whose object cannot be opened any more is deactivated and sends
nothing; the pages: subscribe, duplicate, pause, resume, delete after a confirmation, scope per role."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import threading
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.db import connections
from django.http import Http404
from django.test import Client
from openpyxl import load_workbook

from patent_platform import outbox
from patent_platform.models import Notice, User
from provincial import subscriptions
from provincial.choices import DeliveryStatus
from provincial.models import SavedAnalysis, Subscription, SubscriptionDelivery
from tests.analysis_history import build_history, clock, on_record, quarter_end

KIND = "provincial.subscription"
END_OF_DEC_2025 = quarter_end(2025, 4)
JAN_2026 = dt.date(2026, 1, 5)  # due: 2025-12 (monthly), 2026-W01 (weekly)
CITY_Q4 = {"rows": ["city"], "cols": [], "measures": ["products"], "filters": {}, "period": "2025Q4"}


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def sheet_rows(content: bytes, index: int = 0) -> list[list[Any]]:
    sheet = load_workbook(BytesIO(content), read_only=True).worksheets[index]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def shared_analysis(owner: User, definition: dict[str, Any] | None = None, shared: bool = True) -> SavedAnalysis:
    from provincial.analysis import port_of

    return SavedAnalysis.objects.create(
        owner=owner, unit=port_of(owner), name="城市分布", definition=definition or CITY_Q4, shared=shared
    )


def subscribe(
    user: User,
    *,
    analysis: SavedAnalysis | None = None,
    port: str = "",
    frequency: str = "monthly",
    file_format: str = "xlsx",
) -> Any:
    return subscriptions.subscription_create(
        owner=user,
        kind="analysis" if analysis is not None else "dashboard",
        analysis_id=analysis.pk if analysis is not None else None,
        port_code=port,
        frequency=frequency,
        file_format=file_format,
    )


def download(user: User, delivery: SubscriptionDelivery) -> tuple[str, bytes]:
    response = client_for(user).get(f"/port/subscriptions/deliveries/{delivery.pk}/")
    assert response.status_code == 200
    return response["Content-Type"], b"".join(response.streaming_content)


def pdf_lines(content: bytes, tmp_path: Path) -> list[str]:
    """The lines of a PDF as poppler's pdftotext lays them out (a table row on one line; a cell too long
    for its column goes on under its first line)."""
    path = tmp_path / "delivery.pdf"
    path.write_bytes(content)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout
    return text.splitlines()


def cell_text(value: Any) -> str:
    """An XLSX cell as Excel shows it (a float read back from the workbook: its decimal digits)."""
    if value is None:
        return ""
    if isinstance(value, float):
        value = int(value) if value.is_integer() else Decimal(str(value))
    return str(value)


def assert_pdf_holds_rows(lines: list[str], rows: list[list[Any]]) -> None:
    """Every row of the XLSX sheet is a row of the PDF's table: one line holding each number in full and the
    start of each text (a long text wraps in its column), in the row's order."""
    for row in rows:
        parts = []
        for value in row:
            text = cell_text(value)
            if isinstance(value, int | float) and not isinstance(value, bool):
                parts.append(rf"(?<![\d.]){re.escape(text)}(?![\d.])")
            elif text:
                parts.append(re.escape(re.sub(r"\s+", "", text)[:2]))
        pattern = re.compile(".*?".join(parts))
        assert any(pattern.search(re.sub(r"(?<=\D)\s+(?=\D)", "", line)) for line in lines), row


# ---------------------------------------------------------------------------------------------
# Periods


@pytest.mark.embedded
def test_due_periods_are_the_last_complete_month_and_iso_week() -> None:
    assert subscriptions.due_period("monthly", dt.date(2026, 12, 1)) == "2026-11"
    assert subscriptions.due_period("monthly", dt.date(2026, 1, 31)) == "2025-12"
    assert subscriptions.due_period("weekly", dt.date(2026, 11, 30)) == "2026-W48"  # a Monday: last week
    assert subscriptions.due_period("weekly", dt.date(2026, 12, 6)) == "2026-W48"  # Sunday: this week not over
    assert subscriptions.due_period("weekly", dt.date(2027, 1, 4)) == "2026-W53"  # ISO year 2026 has 53 weeks
    assert subscriptions.period_label("2026-W48") == "2026年第48周"
    assert subscriptions.period_label("2026-11") == "2026年11月"


@pytest.mark.embedded
@pytest.mark.django_db
def test_the_due_period_is_counted_in_china_time(demo_users: dict[str, User]) -> None:
    monthly = subscribe(demo_users["guangdong"])
    weekly = subscribe(demo_users["guangdong"], frequency="weekly")
    # 30 November 17:00 UTC is 1 December 01:00 in China: November is complete there, and ISO week 49 began
    with clock(dt.datetime(2026, 11, 30, 17, 0, tzinfo=dt.UTC)):
        subscriptions.ensure_deliveries()
    assert SubscriptionDelivery.objects.get(subscription=monthly).period == "2026-11"
    assert SubscriptionDelivery.objects.get(subscription=weekly).period == "2026-W48"
    SubscriptionDelivery.objects.all().delete()
    with clock(dt.datetime(2026, 11, 30, 15, 59, tzinfo=dt.UTC)):  # 23:59 on 30 November in China
        subscriptions.ensure_deliveries()
    assert SubscriptionDelivery.objects.get(subscription=monthly).period == "2026-10"
    assert SubscriptionDelivery.objects.get(subscription=weekly).period == "2026-W48"


# ---------------------------------------------------------------------------------------------
# Built as the subscriber, once


@pytest.mark.embedded
@pytest.mark.django_db
def test_the_same_analysis_subscribed_by_shenzhen_gives_shenzhen_only_and_is_built_once(
    demo_users: dict[str, User],
) -> None:
    demo = on_record(END_OF_DEC_2025)  # the demo's own approvals by then (load_demo approves over two years)
    build_history()
    saved = shared_analysis(demo_users["guangdong"])
    own = shared_analysis(demo_users["shenzhen"], shared=False)  # the same definition, saved by 深圳
    sz = subscribe(demo_users["shenzhen"], analysis=own)
    gd = subscribe(demo_users["guangdong"], analysis=saved)

    counts = subscriptions.run_due(JAN_2026)
    assert counts == {DeliveryStatus.SENT: 2}
    assert subscriptions.run_due(JAN_2026) == {}  # the same period again: nothing built, nothing sent
    deliveries = {d.subscription_id: d for d in SubscriptionDelivery.objects.all()}
    assert len(deliveries) == 2 and {d.period for d in deliveries.values()} == {"2025-12"}

    # the monthly file holds December 2025's figures (the month replaces the saved 2025Q4), in the owner's area
    shenzhen = client_for(demo_users["shenzhen"])
    response = shenzhen.get(f"/port/subscriptions/deliveries/{deliveries[sz.pk].pk}/")
    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    rows = sheet_rows(content)
    assert [r[0] for r in rows[1:]] == ["深圳市", "合计"]
    sz_demo = sum(n for (city, _class), n in demo.items() if city == "440300")
    assert rows[-1][1] == 4 + sz_demo  # 深圳's approved products at the end of December 2025
    about = dict(sheet_rows(content, 1)[1:])
    assert about["期间"] == "2025年12月" and about["统计范围"] == "深圳市"
    guangdong = client_for(demo_users["guangdong"])
    gd_rows = sheet_rows(
        b"".join(guangdong.get(f"/port/subscriptions/deliveries/{deliveries[gd.pk].pk}/").streaming_content)
    )
    assert {r[0] for r in gd_rows[1:]} == {"广州市", "深圳市", "合计"} and gd_rows[-1][1] == 7 + demo.total()

    # anyone else's download: 404 (another port, the national office, the subscriber's own province)
    for name in ("guangdong", "national", "zhejiang"):
        assert (
            client_for(demo_users[name]).get(f"/port/subscriptions/deliveries/{deliveries[sz.pk].pk}/").status_code
            == 404
        )
    assert Client().get(f"/port/subscriptions/deliveries/{deliveries[sz.pk].pk}/").status_code == 302  # sign in

    # one notice each, with the link to the download page; the outbox sends it once
    notices = Notice.objects.filter(kind=KIND)
    assert sorted(notices.values_list("recipient", flat=True)) == ["guangdong@example.cn", "shenzhen@example.cn"]
    outbox.deliver()
    outbox.deliver()
    to_shenzhen = [m for m in mail.outbox if m.to == ["shenzhen@example.cn"]]
    assert len(to_shenzhen) == 1
    assert f"/port/subscriptions/deliveries/{deliveries[sz.pk].pk}/" in to_shenzhen[0].body
    assert "城市分布" in to_shenzhen[0].subject and "2025年12月" in to_shenzhen[0].subject


@pytest.mark.embedded
@pytest.mark.django_db
def test_a_dashboard_subscription_is_the_port_dashboard_in_the_owners_scope(demo_users: dict[str, User]) -> None:
    build_history()
    sub = subscribe(demo_users["national"], port="440300", frequency="weekly")
    assert sub.name == "统计概览：深圳市"
    assert subscriptions.run_due(JAN_2026) == {DeliveryStatus.SENT: 1}
    delivery = SubscriptionDelivery.objects.get(subscription=sub)
    assert delivery.period == "2026-W01"
    national = client_for(demo_users["national"])
    rows = sheet_rows(b"".join(national.get(f"/port/subscriptions/deliveries/{delivery.pk}/").streaming_content))
    # the weekly file holds the figures when built: the dashboard's own export of the current state, 深圳 only
    export = sheet_rows(national.get("/port/export/", {"port": "440300", "period": "current"}).content)
    assert rows[0] == export[0]
    assert [r for r in rows if r[0] != "统计期间"] == [r for r in export if r[0] != "统计期间"]
    approved = next(r for r in rows if r[0] == "总体" and r[1] == "通过备案产品")
    assert approved[2] >= 4  # 深圳's four of the history (and any of the demo world)
    regions = {r[1] for r in rows if r[0] == "按地区"}
    assert regions and not any("广州" in str(r) for r in regions)
    # a port outside the subscriber's scope cannot be subscribed to
    with pytest.raises(Http404):
        subscribe(demo_users["shenzhen"], port="440000")


@pytest.mark.embedded
@pytest.mark.django_db
def test_a_pdf_subscription_holds_the_same_table_as_the_xlsx_in_the_subscribers_scope(
    demo_users: dict[str, User], tmp_path: Path
) -> None:
    sz_demo = on_record(END_OF_DEC_2025, "4403").total()  # the demo's own approvals in 深圳 by then
    build_history()
    sz_user = demo_users["shenzhen"]
    saved = shared_analysis(sz_user, shared=False)
    as_xlsx = subscribe(sz_user, analysis=saved)
    as_pdf = subscribe(sz_user, analysis=saved, file_format="pdf")  # the same analysis as PDF: a second one
    board_xlsx = subscribe(sz_user, frequency="weekly")
    board_pdf = subscribe(sz_user, frequency="weekly", file_format="pdf")
    assert subscriptions.run_due(JAN_2026) == {DeliveryStatus.SENT: 4}
    delivery = {d.subscription_id: d for d in SubscriptionDelivery.objects.all()}

    # the saved analysis: December 2025 in 深圳's area, the same rows in both files
    kind, xlsx = download(sz_user, delivery[as_xlsx.pk])
    assert kind.startswith("application/vnd.openxmlformats")
    kind, pdf = download(sz_user, delivery[as_pdf.pk])
    assert kind == "application/pdf" and pdf.startswith(b"%PDF-")
    lines = pdf_lines(pdf, tmp_path)
    text = re.sub(r"\s+", "", "".join(lines))
    rows = sheet_rows(xlsx)
    assert [r[0] for r in rows[1:]] == ["深圳市", "合计"] and rows[-1][1] == 4 + sz_demo
    assert all(str(h) in text for h in rows[0])
    assert_pdf_holds_rows(lines, rows[1:])
    assert "广州" not in text  # the subscriber's city only
    about = dict(sheet_rows(xlsx, 1)[1:])
    assert about["期间"] in text and about["统计范围"] == "深圳市" and "统计范围深圳市" in text

    # the dashboard: the same table in both (the rows of the current state, 深圳 only)
    _kind, xlsx = download(sz_user, delivery[board_xlsx.pk])
    _kind, pdf = download(sz_user, delivery[board_pdf.pk])
    lines = pdf_lines(pdf, tmp_path)
    text = re.sub(r"\s+", "", "".join(lines))
    rows = [r for r in sheet_rows(xlsx) if r[0] != "统计期间"]  # the moment built: a few ms apart
    assert len(rows) > 10
    assert_pdf_holds_rows(lines, rows[1:])
    approved = next(r for r in rows if r[0] == "总体" and r[1] == "通过备案产品")
    assert approved[2] >= 4 and f"通过备案产品{approved[2]}" in text
    assert "广州" not in text

    # the notice names the format; the file is named by it
    def body(sub: Subscription) -> str:
        link = f"/port/subscriptions/deliveries/{delivery[sub.pk].pk}/"
        (text,) = [n.body for n in Notice.objects.filter(kind=KIND) if link in n.body]
        return text

    assert "（PDF）" in body(board_pdf) and "（Excel）" in body(board_xlsx)
    response = client_for(sz_user).get(f"/port/subscriptions/deliveries/{delivery[board_pdf.pk].pk}/")
    assert ".pdf" in response["Content-Disposition"]


@pytest.mark.embedded
@pytest.mark.django_db
def test_a_subscription_whose_object_cannot_be_opened_is_deactivated_and_sends_nothing(
    demo_users: dict[str, User],
) -> None:
    gd = demo_users["guangdong"]
    saved = shared_analysis(gd, shared=False)
    deleted = subscribe(gd, analysis=saved)
    paused = subscribe(gd, frequency="weekly")
    subscriptions.subscription_set_active(owner=gd, subscription_id=paused.pk, active=False)
    saved.delete()
    assert subscriptions.run_due(JAN_2026) == {DeliveryStatus.SKIPPED: 1}
    deleted.refresh_from_db()
    assert not deleted.active and "已删除" in deleted.note
    delivery = SubscriptionDelivery.objects.get(subscription=deleted)
    assert delivery.status == DeliveryStatus.SKIPPED and not delivery.file
    assert not SubscriptionDelivery.objects.filter(subscription=paused).exists()  # paused: no row at all
    assert not Notice.objects.filter(kind=KIND).exists()
    assert subscriptions.run_due(JAN_2026) == {}  # deactivated: not tried again
    # the owner disabled: deactivated at the next run
    subscriptions.subscription_set_active(owner=gd, subscription_id=paused.pk, active=True)
    User.objects.filter(pk=gd.pk).update(is_active=False)
    assert subscriptions.run_due(JAN_2026) == {DeliveryStatus.SKIPPED: 1}
    assert not Subscription.objects.get(pk=paused.pk).active
    assert not Notice.objects.filter(kind=KIND).exists()
    # the page tells why
    User.objects.filter(pk=gd.pk).update(is_active=True)
    page = client_for(User.objects.get(pk=gd.pk)).get("/port/subscriptions/").content.decode()
    assert "已自动停用" in page and "未发送（订阅已停用）" in page


@pytest.mark.embedded
@pytest.mark.django_db
def test_a_delivery_held_by_a_dead_worker_is_taken_over_after_its_lease_and_sent_once(
    demo_users: dict[str, User],
) -> None:
    sub = subscribe(demo_users["shenzhen"])
    (pk,) = subscriptions.ensure_deliveries(JAN_2026)
    dead = subscriptions._claim(pk, None)  # a worker took it and died
    assert dead is not None
    assert subscriptions.run_due(JAN_2026) == {}  # its lease is live: nobody else builds it
    assert subscriptions.build_delivery(pk) is None
    SubscriptionDelivery.objects.filter(pk=pk).update(lease_until=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert subscriptions.run_due(JAN_2026) == {DeliveryStatus.SENT: 1}
    row = SubscriptionDelivery.objects.get(pk=pk)
    assert (row.status, row.attempts, row.subscription_id) == (DeliveryStatus.SENT, 2, sub.pk)
    assert subscriptions.build_delivery(pk, claim=dead) is None  # the dead attempt's retry: nothing to do
    assert Notice.objects.filter(kind=KIND).count() == 1


# ---------------------------------------------------------------------------------------------
# Pages


@pytest.mark.embedded
@pytest.mark.django_db
def test_subscribe_pause_resume_and_delete_from_the_pages(demo_users: dict[str, User]) -> None:
    gd = client_for(demo_users["guangdong"])
    saved = shared_analysis(demo_users["guangdong"])
    analysis_page = gd.get("/port/analysis/").content.decode()
    assert f"/port/subscriptions/new/?analysis={saved.pk}" in analysis_page
    assert "/port/subscriptions/new/?dashboard=1" in gd.get("/port/").content.decode()
    assert "还没有订阅" in gd.get("/port/subscriptions/").content.decode()

    form = gd.get("/port/subscriptions/new/", {"analysis": saved.pk})
    assert form.status_code == 200 and "城市分布" in form.content.decode()
    assert '<option value="pdf"' in form.content.decode() and '<option value="xlsx"' in form.content.decode()
    response = gd.post("/port/subscriptions/new/", {"analysis": saved.pk, "frequency": "weekly", "format": "xlsx"})
    assert response.status_code == 302
    sub = Subscription.objects.get(owner=demo_users["guangdong"])
    assert (sub.kind, sub.frequency, sub.analysis_id, sub.active) == ("analysis", "weekly", saved.pk, True)
    # the same again: refused with the message, the input kept
    again = gd.post("/port/subscriptions/new/", {"analysis": saved.pk, "frequency": "weekly", "format": "xlsx"})
    assert again.status_code == 400 and "您已订阅过此内容" in again.content.decode()
    as_pdf = gd.post("/port/subscriptions/new/", {"analysis": saved.pk, "frequency": "weekly", "format": "pdf"})
    assert as_pdf.status_code == 302  # the same as PDF too: a second subscription
    pdf_sub = Subscription.objects.get(owner=demo_users["guangdong"], format="pdf")
    assert "PDF" in gd.get("/port/subscriptions/").content.decode()
    unknown = gd.post("/port/subscriptions/new/", {"analysis": saved.pk, "frequency": "weekly", "format": "doc"})
    assert unknown.status_code == 400
    gd.post(f"/port/subscriptions/{pdf_sub.pk}/delete/")
    bad = gd.post("/port/subscriptions/new/", {"dashboard": "1", "frequency": "daily", "format": "xlsx"})
    assert bad.status_code == 400 and 'name="frequency"' in bad.content.decode()
    assert (
        gd.post("/port/subscriptions/new/", {"dashboard": "1", "frequency": "monthly", "format": "xlsx"}).status_code
        == 302
    )
    assert Subscription.objects.filter(owner=demo_users["guangdong"]).count() == 2

    # others: 404 for what they may not open or do not own
    zj = client_for(demo_users["zhejiang"])
    assert zj.get("/port/subscriptions/new/", {"analysis": saved.pk}).status_code == 404
    assert zj.get("/port/subscriptions/new/", {"dashboard": "1", "port": "440000"}).status_code == 404
    assert zj.post(f"/port/subscriptions/{sub.pk}/active/", {"active": "0"}).status_code == 404
    assert zj.get(f"/port/subscriptions/{sub.pk}/delete/").status_code == 404
    assert zj.post(f"/port/subscriptions/{sub.pk}/delete/").status_code == 404
    assert "城市分布" not in zj.get("/port/subscriptions/").content.decode()
    for name in ("ent-sz", "reviewer"):
        assert client_for(demo_users[name]).get("/port/subscriptions/").status_code == 404

    # pause, resume
    assert gd.post(f"/port/subscriptions/{sub.pk}/active/", {"active": "0"}).status_code == 302
    assert not Subscription.objects.get(pk=sub.pk).active
    assert "已暂停" in gd.get("/port/subscriptions/").content.decode()
    assert gd.post(f"/port/subscriptions/{sub.pk}/active/", {"active": "1"}).status_code == 302
    assert Subscription.objects.get(pk=sub.pk).active

    # delete: a confirmation page first, then gone with its deliveries
    subscriptions.run_due(JAN_2026)
    assert "delivery-download" in gd.get("/port/subscriptions/").content.decode()
    export = gd.get("/port/subscriptions/export/")
    assert export.status_code == 200 and sheet_rows(export.content)[1][0] in {"城市分布", "统计概览：广东省"}
    confirm = gd.get(f"/port/subscriptions/{sub.pk}/delete/")
    assert confirm.status_code == 200 and "确定删除订阅" in confirm.content.decode()
    assert Subscription.objects.filter(pk=sub.pk).exists()
    assert gd.post(f"/port/subscriptions/{sub.pk}/delete/").status_code == 302
    assert not Subscription.objects.filter(pk=sub.pk).exists()
    assert not SubscriptionDelivery.objects.filter(subscription_id=sub.pk).exists()


# ---------------------------------------------------------------------------------------------
# Two workers at once


@pytest.mark.postgres
def test_two_workers_at_once_build_and_mail_each_delivery_once(
    transactional_db: None, demo: None, demo_users: dict[str, User], settings: Any
) -> None:
    from django.core.files.storage import storages

    build_history()
    saved = shared_analysis(demo_users["guangdong"])
    subs = [subscribe(demo_users["guangdong"], analysis=saved), subscribe(demo_users["shenzhen"], port="")]
    barrier = threading.Barrier(2, timeout=30)
    results: list[Any] = [None, None]

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = subscriptions.run_due(JAN_2026)
        except BaseException as exc:
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(isinstance(r, BaseException) for r in results), results
    built = sum(r.get(DeliveryStatus.SENT, 0) for r in results)
    deliveries = SubscriptionDelivery.objects.filter(subscription__in=subs)
    assert deliveries.count() == 2 and set(deliveries.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    assert set(deliveries.values_list("attempts", flat=True)) == {1}  # each claimed once
    assert built == 2  # each delivery built by one of the two; the other found it taken or done
    assert Notice.objects.filter(kind=KIND).count() == 2
    for sub in subs:
        folder = f"subscriptions/{sub.owner_id}/{sub.pk}"
        assert len(storages["default"].listdir(folder)[1]) == 1  # one file: the loser wrote none

    # the same delivery claimed by two workers at the same moment: one builds it, the other gets nothing
    (pk,) = subscriptions.ensure_deliveries(dt.date(2026, 2, 2))[:1]
    barrier = threading.Barrier(2, timeout=30)

    def build(i: int) -> None:
        try:
            barrier.wait()
            results[i] = subscriptions.build_delivery(pk)
        except BaseException as exc:
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=build, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(r is None for r in results) == [False, True], results
    row = SubscriptionDelivery.objects.get(pk=pk)
    assert row.status == DeliveryStatus.SENT and row.attempts == 1
    assert Notice.objects.filter(kind=KIND).count() == 3
