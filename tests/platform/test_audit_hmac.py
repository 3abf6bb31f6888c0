"""The audit chain under HMAC-SM3 (issue 22, GB/T 39786-2021 level 3): new records are keyed, a rewrite of
the whole table without the key is caught, and the plain-sha256 records written before migration 0014 stay
verifiable under the seal that migration appends, which a later rewrite of them breaks."""

from importlib import import_module
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection

from patent_platform.audit import audit_event, verify_chain
from patent_platform.choices import AuditAction
from patent_platform.models import AuditEvent
from patent_platform.models.audit import HASHED_FIELDS, HMAC_SM3, content_hash
from patent_platform.signing import hmac_sm3_hex, sm3_hex

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

UPDATE = (
    "UPDATE patent_platform_auditevent SET message = %s, prev_hash = %s, hash = %s, hash_version = %s WHERE id = %s"
)


def _tamper(sql: str, params: list[object]) -> None:
    """An intruder with the database owner's rights (as test_audit_chain's, and repeatable on SQLite)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE patent_platform_auditevent DISABLE TRIGGER USER")
            cursor.execute(sql, params)
            cursor.execute("ALTER TABLE patent_platform_auditevent ENABLE TRIGGER USER")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS patent_platform_auditevent_no_update")
            cursor.execute(sql, params)


def _events(n: int, object_type: str = "test") -> list[AuditEvent]:
    return [audit_event(action=AuditAction.EXPORT, object_type=object_type, message=f"event {i}") for i in range(n)]


def _fields(event: AuditEvent) -> dict[str, object]:
    return {name: getattr(event, name) for name in HASHED_FIELDS}


def _rewrite(rows: list[AuditEvent], version: int | None) -> None:
    """What an intruder without the key does: rewrite rows and recompute their chain with plain sha256."""
    prev = rows[0].prev_hash
    for event in rows:
        event.prev_hash, event.hash_version = prev, version
        event.hash = content_hash(**_fields(event))
        _tamper(UPDATE, [event.message, event.prev_hash, event.hash, version, event.pk])
        prev = event.hash


def test_hmac_sm3_is_rfc_2104_over_sm3() -> None:
    key, message = b"audit-chain-key", "审计记录".encode()
    block = key.ljust(64, b"\0")  # SM3's block is 64 bytes
    inner = bytes.fromhex(sm3_hex(bytes(b ^ 0x36 for b in block) + message))
    assert hmac_sm3_hex(key, message) == sm3_hex(bytes(b ^ 0x5C for b in block) + inner)


def test_new_records_are_keyed_by_the_configured_key(settings) -> None:
    (event,) = _events(1)
    event.refresh_from_db()
    assert event.hash_version == HMAC_SM3
    assert event.hash == content_hash(**_fields(event), version=HMAC_SM3)
    assert event.hash != content_hash(**_fields(event))  # not the plain sha256 of the same text
    assert verify_chain().ok
    settings.AUDIT_CHAIN_KEY = "another-key-of-at-least-32-characters-0000"
    assert not verify_chain().ok  # the chain verifies only under the key it was written with


def test_a_rewrite_of_the_chain_without_the_key_is_caught() -> None:
    events = _events(3)
    events[1].message = "forged"
    _rewrite(events[1:], HMAC_SM3)  # every hash after the change recomputed, the version marker kept
    report = verify_chain()
    assert report.broken_id == events[1].pk and "content" in report.reason


def test_a_downgrade_to_plain_hashes_is_caught() -> None:
    events = _events(3)
    events[2].message = "forged"
    _rewrite(events[2:], None)  # marked as a legacy row, so that its plain hash would fit
    report = verify_chain()
    assert report.broken_id == events[2].pk and "downgraded" in report.reason


def test_legacy_rows_verify_under_the_seal_and_a_later_rewrite_of_them_breaks_it() -> None:
    _tamper("DELETE FROM patent_platform_auditevent", [])  # an installation whose log predates 0014 ...
    legacy = _events(3, object_type="legacy")
    _rewrite(legacy, None)  # ... holds plain-sha256 rows
    report = verify_chain()
    assert not report.ok and "seal" in report.reason  # a plain hash chain alone proves nothing

    editor = SimpleNamespace(connection=connection)  # all the migration's function reads of its schema editor
    import_module("patent_platform.migrations.0014_audit_hmac_sm3").seal_and_tag(apps, editor)  # what 0014 does
    seal = AuditEvent.objects.order_by("-id").first()
    assert seal.hash_version == HMAC_SM3 and seal.prev_hash == legacy[-1].hash
    _events(1)  # the application carries on after the seal
    report = verify_chain()
    assert report.ok and report.count == 5

    legacy[1].message = "forged"
    _rewrite(legacy[1:], None)  # the legacy hashes after the change recomputed: no key needed for those
    report = verify_chain()
    assert report.broken_id == seal.pk and "prev_hash" in report.reason
