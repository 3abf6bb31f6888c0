"""The audit log is tamper-evident (hash chain, `verify_audit`), append-only at the database too, and
readable, filterable and exportable by the audit administrator of 三权分立 only (not by the national
administrator, whose actions it records)."""

import io
import threading
import time
from io import BytesIO

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.core import checks
from django.core.management import call_command
from django.db import connection, connections, models, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from patent_platform.audit import audit_event, verify_chain
from patent_platform.choices import AuditAction
from patent_platform.models import AuditEvent, User
from patent_platform.models.audit import HASHED_FIELDS, AppendOnlyError, content_hash

# embedded (CI runs it on SQLite too): SQLite has its own UPDATE trigger and no advisory lock
pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def _events(n: int, **extra: object) -> list[AuditEvent]:
    return [audit_event(action=AuditAction.EXPORT, object_type="test", message=f"event {i}", **extra) for i in range(n)]


def _tamper(sql: str, params: list[object]) -> None:
    """What an intruder with the database owner's rights does: switch the guard off, write, switch it on.
    Inside the test's transaction, so the DDL is rolled back with it on both vendors."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE patent_platform_auditevent DISABLE TRIGGER USER")
            cursor.execute(sql, params)
            cursor.execute("ALTER TABLE patent_platform_auditevent ENABLE TRIGGER USER")
        else:
            cursor.execute("DROP TRIGGER patent_platform_auditevent_no_update")
            cursor.execute(sql, params)


def _verify() -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_audit", stdout=out, stderr=err)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


# The chain ------------------------------------------------------------------------------------------------


def test_each_record_carries_the_hash_of_the_one_before() -> None:
    first, second, third = _events(3, changes={"score": [1.5, 2.25], "名称": ["旧", "新"]}, ip="::ffff:10.0.0.1")
    for event in (first, second, third):
        event.refresh_from_db()  # what the database gives back hashes as what was written
        assert len(event.hash) == 64
        assert event.hash == content_hash(**{f: getattr(event, f) for f in HASHED_FIELDS}, version=event.hash_version)
    assert (second.prev_hash, third.prev_hash) == (first.hash, second.hash)
    assert (
        first.prev_hash
        == AuditEvent.objects.filter(pk__lt=first.pk).order_by("-pk").values_list("hash", flat=True).first()
        or ""
    )


def test_verify_audit_prints_ok_with_the_count() -> None:
    _events(4)
    code, out, _err = _verify()
    total = AuditEvent.objects.count()
    assert code == 0
    assert out.strip() == f"OK: {total} audit records, chain intact"


def test_a_changed_record_is_named_by_verify_audit() -> None:
    events = _events(5)
    victim = events[2]
    _tamper("UPDATE patent_platform_auditevent SET message = %s WHERE id = %s", ["nothing happened", victim.pk])
    code, _out, err = _verify()
    assert code == 1
    assert f"id={victim.pk}" in err and "content" in err
    assert verify_chain().broken_id == victim.pk


def test_a_removed_record_is_noticed_at_the_next_one() -> None:
    events = _events(5)
    _tamper("DELETE FROM patent_platform_auditevent WHERE id = %s", [events[1].pk])
    code, _out, err = _verify()
    assert code == 1
    assert f"id={events[2].pk}" in err and "prev_hash" in err


def test_a_rehashed_forgery_still_breaks_the_chain_after_it() -> None:
    events = _events(4)
    victim = events[1]
    victim.message = "forged"
    forged = victim.compute_hash()  # the intruder recomputes the victim's own hash, not the rest of the chain
    _tamper(
        "UPDATE patent_platform_auditevent SET message = %s, hash = %s WHERE id = %s", ["forged", forged, victim.pk]
    )
    assert verify_chain().broken_id == events[2].pk


def test_records_cannot_be_created_in_bulk_around_the_chain() -> None:
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.bulk_create([AuditEvent(action=AuditAction.EXPORT)])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_do_not_fork_the_chain() -> None:
    """Each writer holds its transaction open after writing; without the advisory lock the second reads
    the same last hash and the unique prev_hash refuses it (or, without that too, the chain forks)."""
    writers, per_writer = 4, 5
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            barrier.wait()
            for i in range(per_writer):
                with transaction.atomic():
                    audit_event(action=AuditAction.EXPORT, object_type="race", message=f"{n}-{i}")
                    time.sleep(0.02)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert AuditEvent.objects.filter(object_type="race").count() == writers * per_writer
    report = verify_chain()
    assert report.ok, report
    assert report.count == AuditEvent.objects.count()


@pytest.mark.django_db(transaction=True)
def test_the_migration_chains_the_records_written_before_it(reference: None) -> None:
    executor = MigrationExecutor(connection)
    before = [("patent_platform", "0003_alter_auditevent_action_alter_user_role")]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("patent_platform", "AuditEvent")
    for i in range(3):
        old.objects.create(action=AuditAction.EXPORT, object_type="old", message=f"old {i}", changes={"n": i})
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    rows = list(AuditEvent.objects.order_by("id"))
    assert rows and all(len(r.hash) == 64 for r in rows)
    report = verify_chain()
    assert report.ok and report.count == len(rows)


# Append-only at the database --------------------------------------------------------------------------------


def test_the_database_refuses_a_raw_update() -> None:
    """PostgreSQL (migration 0002) and SQLite (migration 0004) both have an UPDATE trigger."""
    (event,) = _events(1)
    with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE patent_platform_auditevent SET message = 'y' WHERE id = %s", [event.pk])
    # the ORM without the application's guard (a plain QuerySet) meets the same trigger
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        models.QuerySet(AuditEvent).filter(pk=event.pk).update(message="y")
    assert AuditEvent.objects.get(pk=event.pk).message == "event 0"


@pytest.mark.postgres
def test_postgres_refuses_delete_by_raw_sql_and_by_the_orm() -> None:
    (event,) = _events(1)
    with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM patent_platform_auditevent WHERE id = %s", [event.pk])
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        models.QuerySet(AuditEvent).filter(pk=event.pk).delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_admin_offers_no_change_and_no_delete(client, demo_users: dict[str, User]) -> None:
    (event,) = _events(1)
    assert not admin.site.is_registered(AuditEvent)
    codenames = set(Permission.objects.filter(content_type__model="auditevent").values_list("codename", flat=True))
    assert codenames == {"view_auditevent"}
    root = User.objects.create_superuser("root@example.cn", "Root-Pass-2026!")
    client.force_login(root)
    base = f"/{settings.ADMIN_URL}patent_platform/auditevent/"
    for url in (base, f"{base}{event.pk}/change/", f"{base}{event.pk}/delete/"):
        assert client.get(url).status_code == 404
    assert client.post(f"{base}{event.pk}/delete/", {"post": "yes"}).status_code == 404
    assert AuditEvent.objects.get(pk=event.pk).message == "event 0"


# Retention -----------------------------------------------------------------------------------------------


def test_retention_below_180_days_is_a_configuration_error(settings) -> None:
    from patent_platform.models.audit import check_audit_retention, retention_days

    assert check_audit_retention() == [] and retention_days() >= 180
    settings.AUDIT_RETENTION_DAYS = 90
    errors = check_audit_retention()
    assert [e.id for e in errors] == ["patent_platform.E101"]
    assert retention_days() == 180
    assert any(e.id == "patent_platform.E101" for e in checks.run_checks(tags=[checks.Tags.security]))


# The audit log page ---------------------------------------------------------------------------------------


@pytest.fixture
def auditor(make_user) -> User:  # type: ignore[no-untyped-def]
    from patent_platform.choices import Role

    return make_user("auditor@example.cn", role=Role.AUDIT_ADMIN)


def test_the_audit_administrator_reads_filters_and_pages_the_log(client, demo_users: dict[str, User], auditor) -> None:
    national = auditor
    _events(60, actor=demo_users["reviewer"])
    audit_event(action=AuditAction.LOGIN_FAILED, object_repr="ent-gz@example.cn", success=False, message="bad pwd")
    client.force_login(national)
    page = client.get("/audit/")
    assert page.status_code == 200
    assert page.context["paginator"].count == AuditEvent.objects.count()
    assert len(page.context["events"]) == 50 and page.context["is_paginated"]
    by_action = client.get("/audit/", {"action": AuditAction.LOGIN_FAILED})
    assert [e.message for e in by_action.context["events"]] == ["bad pwd"]
    by_actor = client.get("/audit/", {"actor": "reviewer@", "action": AuditAction.EXPORT})
    assert by_actor.context["paginator"].count == 60
    second = client.get("/audit/", {"actor": "reviewer@", "action": AuditAction.EXPORT, "page": 2})
    assert len(second.context["events"]) == 10
    assert "actor=reviewer%40" in second.content.decode()  # the filters stay in the page links
    today = timezone.localdate(AuditEvent.objects.latest("id").at).isoformat()
    assert client.get("/audit/", {"date_from": "2000-01-01", "date_to": "2000-12-31"}).context["events"].count() == 0
    assert client.get("/audit/", {"date_from": today, "date_to": today}).context["paginator"].count > 60


def test_a_wrong_date_range_shows_the_error_and_keeps_the_input(client, auditor) -> None:
    client.force_login(auditor)
    page = client.get("/audit/", {"date_from": "2026-05-02", "date_to": "2026-05-01", "actor": "abc"})
    body = page.content.decode()
    assert page.context["filter_form"].errors["date_to"]
    assert 'data-testid="error-date_to"' in body and 'value="abc"' in body and 'value="2026-05-02"' in body


def test_the_export_holds_the_filtered_rows_and_is_itself_audited(client, demo_users: dict[str, User], auditor) -> None:
    from openpyxl import load_workbook

    client.force_login(auditor)
    _events(3, actor=demo_users["reviewer"])
    response = client.get("/audit/export/", {"actor": "reviewer@example.cn", "action": AuditAction.EXPORT})
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1 + 3
    assert {r[2] for r in rows[1:]} == {"reviewer@example.cn"}
    assert all(len(r[12]) == 64 for r in rows[1:])  # the record hash is exported too
    export = AuditEvent.objects.filter(action=AuditAction.EXPORT, object_type="patent_platform.AuditEvent").get()
    assert export.actor_email == "auditor@example.cn" and export.changes["rows"] == 3


@pytest.mark.parametrize("role", ["national", "reviewer", "guangdong", "shenzhen", "ent-gz", "expert1"])
def test_other_roles_do_not_see_the_log(client, demo_users: dict[str, User], role: str) -> None:
    client.force_login(demo_users[role])
    assert client.get("/audit/").status_code == 404
    assert client.get("/audit/export/").status_code == 404
    assert not AuditEvent.objects.filter(object_type="patent_platform.AuditEvent").exists()


def test_anonymous_visitors_are_sent_to_login(client) -> None:
    assert client.get("/audit/").status_code == 302
    assert client.get("/audit/export/").status_code == 302


def test_the_log_is_visible_only_to_the_audit_administrator(demo_users: dict[str, User], auditor) -> None:
    _events(1)
    assert AuditEvent.objects.visible_to(auditor).exists()
    assert not AuditEvent.objects.visible_to(demo_users["national"]).exists()
    assert not AuditEvent.objects.visible_to(demo_users["reviewer"]).exists()
    assert not AuditEvent.objects.visible_to(demo_users["guangdong"]).exists()
    assert not AuditEvent.objects.visible_to(demo_users["ent-gz"]).exists()


def test_the_audit_administrator_reads_the_log(client, auditor) -> None:
    """The audit administrator of 三权分立 reads and exports every record."""
    reader = auditor
    _events(2)
    client.force_login(reader)
    page = client.get("/audit/")
    assert page.status_code == 200
    assert page.context["paginator"].count == AuditEvent.objects.count() >= 2
    assert client.get("/audit/export/").status_code == 200
