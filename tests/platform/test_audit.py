"""The audit log: who, when, what, before → after, from which address; append-only."""

import pytest
from django.db import connection, transaction

from patent_platform.audit import audit_event
from patent_platform.choices import AuditAction
from patent_platform.models import AuditEvent, User
from patent_platform.models.audit import AppendOnlyError

# embedded (CI runs it on SQLite too): audit rows written without PostgreSQL's lock and trigger
pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def test_logins_and_failures_are_recorded_with_the_address(client, demo_users: dict[str, User]) -> None:
    client.post("/accounts/login/", {"username": "ent-gz@example.cn", "password": "bad"}, REMOTE_ADDR="10.1.2.3")
    client.post("/accounts/login/", {"username": "ent-gz@example.cn", "password": "Demo-2026!"}, REMOTE_ADDR="10.1.2.4")
    failed = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    assert (failed.object_repr, failed.ip, failed.success) == ("ent-gz@example.cn", "10.1.2.3", False)
    ok = AuditEvent.objects.get(action=AuditAction.LOGIN)
    assert (ok.actor_email, ok.ip, ok.success) == ("ent-gz@example.cn", "10.1.2.4", True)


def test_a_change_records_before_and_after(demo_users: dict[str, User]) -> None:
    user = demo_users["reviewer"]
    user.full_name = "张审核"
    user.save()
    event = AuditEvent.objects.filter(action=AuditAction.UPDATE, object_id=str(user.pk)).latest("id")
    assert event.changes == {"full_name": ["平台审核员（演示）", "张审核"]}
    assert "password" not in AuditEvent.objects.filter(object_id=str(user.pk)).latest("id").changes


def test_region_grants_are_recorded(demo_users: dict[str, User]) -> None:
    grants = AuditEvent.objects.filter(action=AuditAction.PERMISSION)
    assert grants.filter(object_id="440000", object_repr__contains="guangdong@example.cn").exists()


def test_no_update_or_delete_path_in_the_application() -> None:
    event = audit_event(action=AuditAction.EXPORT, object_type="test", message="x")
    event.message = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(message="rewritten")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).message == "x"


@pytest.mark.postgres
def test_postgres_refuses_raw_update_and_delete() -> None:
    event = audit_event(action=AuditAction.EXPORT, object_type="test", message="x")
    for sql in (
        "UPDATE patent_platform_auditevent SET message = 'y' WHERE id = %s",
        "DELETE FROM patent_platform_auditevent WHERE id = %s",
    ):
        with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).message == "x"


def test_behind_a_proxy_the_client_address_comes_from_x_forwarded_for(client, demo_users, settings) -> None:
    settings.PROXY_COUNT = 1
    client.post(
        "/accounts/login/",
        {"username": "ent-hz@example.cn", "password": "bad"},
        REMOTE_ADDR="172.18.0.5",  # the proxy
        HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.9",  # a forged entry, then what the proxy saw
    )
    assert AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED).ip == "203.0.113.9"


def test_changes_to_filing_units_and_ports_are_recorded(demo_users, client) -> None:
    from django.db.models import ProtectedError

    from filings.identifiers import build_uscc
    from filings.models import FilingUnit

    unit = FilingUnit.objects.get(city_code="440300")
    assert AuditEvent.objects.filter(
        action=AuditAction.CREATE, object_type="filings.FilingUnit", object_id=str(unit.pk)
    ).exists()
    client.force_login(demo_users["ent-sz"])
    client.get("/enterprise/", REMOTE_ADDR="10.9.8.7")  # the request context carries actor and address
    unit.address = "深圳市南山区科技园"
    unit.save()
    event = AuditEvent.objects.filter(action=AuditAction.UPDATE, object_id=str(unit.pk)).latest("id")
    assert event.changes == {"address": ["", "深圳市南山区科技园"]}
    # a unit with filings is protected; one without is deleted, and the deletion is recorded
    with pytest.raises(ProtectedError):
        unit.delete()
    spare = FilingUnit.objects.create(
        uscc=build_uscc(region_code="440305", org_body="MA5DEL01"), name="待删除", region_id="440305"
    )
    spare_id = spare.pk
    spare.delete()
    assert AuditEvent.objects.filter(action=AuditAction.DELETE, object_id=str(spare_id)).exists()


def test_create_national_admin_command(db, monkeypatch) -> None:
    import io

    from django.core.management import CommandError, call_command

    monkeypatch.setattr("sys.stdin", io.StringIO("weakpassword\n"))
    with pytest.raises(CommandError, match="3"):
        call_command("create_national_admin", email="weak@example.cn", password_stdin=True)
    monkeypatch.setattr("sys.stdin", io.StringIO("Strong-Pass-2026\n"))
    call_command("create_national_admin", email="Chief@Example.cn", password_stdin=True, stdout=io.StringIO())
    chief = User.objects.get(email="chief@example.cn")
    assert chief.is_national and chief.check_password("Strong-Pass-2026")
    assert not User.objects.filter(email="weak@example.cn").exists()
