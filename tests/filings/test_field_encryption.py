"""Personal data encrypted at rest (issue 22 part 1; patent_platform/fieldcrypto.py, docs/SECURITY.md):
a database dump shows none of it, exact look-ups still find it, key rotation re-encrypts everything."""

import re
import shutil
import subprocess
from collections.abc import Callable

import pytest
from django.core.exceptions import FieldError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from filings.models import FilingUnit, ProductVersion
from patent_platform import fieldcrypto
from patent_platform.choices import Role
from patent_platform.management.commands.rotate_field_keys import key_census
from patent_platform.models import User
from provincial.choices import RosterCategory, UnitKind
from provincial.models import ManagementUnit, PortContact, Roster, RosterEntry

OLD = "dev1:ZGV2LW9ubHktc200LWtleQ=="  # the test settings' key
NEW = "k2027:bmV3LXNtNC1rZXktMjAyNw=="  # b"new-sm4-key-2027"
LOST = "gone:bG9zdC1zbTQta2V5LTAwMA=="  # b"lost-sm4-key-000"


def _personal_world(make_user: Callable[..., User], unit: FilingUnit) -> dict[str, str]:
    """A user, a unit's contact and a port contact with values found nowhere else."""
    values = {
        "user_email": "zhao.dumptest@example.cn",
        "user_phone": "13987650123",
        "unit_contact": "赵测密",
        "unit_phone": "020-87654321",
        "unit_email": "contact.dumptest@example.cn",
        "port_contact": "钱测密",
        "port_mobile": "13700001111",
        "port_email": "port.dumptest@example.cn",
        "roster_contact": "孙名单",
        "roster_phone": "138-0000-9911",
        "roster_email": "roster.dumptest@example.cn",
    }
    make_user(values["user_email"], Role.ENTERPRISE, phone=values["user_phone"])
    unit.contact_name, unit.contact_phone, unit.contact_email = (
        values["unit_contact"],
        values["unit_phone"],
        values["unit_email"],
    )
    unit.save()
    port = ManagementUnit.objects.create(code="DUMP01", name="测试端口", kind=UnitKind.PROVINCE)
    PortContact.objects.create(
        unit=port, name=values["port_contact"], mobile=values["port_mobile"], email=values["port_email"]
    )
    roster = Roster.objects.create(category=RosterCategory.LITTLE_GIANT, year=2026, title="密评名单", owner=port)
    RosterEntry.objects.create(
        roster=roster,
        uscc=unit.uscc,
        name=unit.name,
        province_code=unit.province_code,
        contact_name=values["roster_contact"],
        contact_phone=values["roster_phone"],
        contact_email=values["roster_email"],
    )
    return values


def _copy_sections(dump: str) -> dict[str, str]:
    """The dump's data, table by table (COPY … FROM stdin; … \\.)."""
    return {
        m.group(1): m.group(2)
        for m in re.finditer(r"^COPY public\.(\w+) .*? FROM stdin;\n(.*?)^\\\.$", dump, re.M | re.S)
    }


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_database_dump_shows_no_plaintext_personal_data(
    make_user: Callable[..., User],
    unit_a: FilingUnit,
    filer_a: User,
    new_version: Callable[..., ProductVersion],
) -> None:
    pg_dump = shutil.which("pg_dump")
    assert pg_dump, "pg_dump (postgresql-client) is needed"
    values = _personal_world(make_user, unit_a)
    new_version(unit_a, filer_a, name="密评转储测试产品")
    db = connection.settings_dict
    dump = subprocess.run(
        [
            pg_dump,
            "--data-only",
            "-h",
            db["HOST"] or "127.0.0.1",
            "-p",
            str(db["PORT"] or 5432),
            "-U",
            db["USER"] or "postgres",
            db["NAME"],
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"PGPASSWORD": db["PASSWORD"] or "", "PATH": "/usr/bin:/bin"},
    ).stdout
    assert "密评转储测试产品" in dump  # the dump is real: non-personal data is there in clear
    sections = _copy_sections(dump)
    for name, value in values.items():
        assert value not in dump, f"{name} ({value}) in plaintext in {[t for t, r in sections.items() if value in r]}"
    # the tokens are there instead, and the rows still read back in clear
    assert "sm4g1:dev1:" in dump
    assert User.objects.get(email=values["user_email"].upper()).phone == values["user_phone"]
    # the acting filer's e-mail stays only in the audit log's snapshot of who acted (docs/SECURITY.md)
    assert [t for t, rows in sections.items() if filer_a.email in rows] == ["patent_platform_auditevent"]


def test_exact_lookups_go_through_the_blind_index_and_others_are_refused(
    make_user: Callable[..., User], unit_a: FilingUnit
) -> None:
    values = _personal_world(make_user, unit_a)
    user = User.objects.get(email__iexact=" ZHAO.dumptest@EXAMPLE.cn ".strip())
    assert user.phone == values["user_phone"]
    assert list(User.objects.filter(email__in=[values["user_email"], "nobody@example.cn"])) == [user]
    assert PortContact.objects.get(email=values["port_email"]).name == values["port_contact"]
    assert FilingUnit.objects.filter(pk=unit_a.pk).exclude(contact_email="").exists()
    with pytest.raises(FieldError, match="encrypted at rest"):
        User.objects.filter(email__icontains="dumptest").exists()
    with pytest.raises(FieldError, match="encrypted at rest"):
        FilingUnit.objects.filter(contact_name="赵测密").exists()  # no blind index: no look-up by value


def test_rotation_re_encrypts_everything_and_the_old_key_then_fails(
    make_user: Callable[..., User], unit_a: FilingUnit
) -> None:
    values = _personal_world(make_user, unit_a)
    with override_settings(FIELD_ENCRYPTION_KEYS=[LOST]):
        orphan = fieldcrypto.encrypt("孙丢失")  # a value under a key about to be lost
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW, OLD]):
        with pytest.raises(CommandError, match="not under the current key 'k2027'"):
            call_command("rotate_field_keys", "--check")
        call_command("rotate_field_keys", "--batch-size", "7")
        census = key_census()
        assert census["patent_platform.User.email"]["k2027"] >= 1
        assert not [name for name, counts in census.items() if set(counts) - {"k2027"}], census
        call_command("rotate_field_keys", "--check")  # nothing left under another key: exits 0
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW]):  # the old key removed: everything still reads
        unit = FilingUnit.objects.get(pk=unit_a.pk)
        assert (unit.contact_name, unit.contact_phone, unit.contact_email) == (
            values["unit_contact"],
            values["unit_phone"],
            values["unit_email"],
        )
        assert User.objects.get(email=values["user_email"]).phone == values["user_phone"]
        assert PortContact.objects.get(email=values["port_email"]).mobile == values["port_mobile"]
        # a value still under a removed key fails, saying which key is missing
        with pytest.raises(fieldcrypto.FieldCryptoError, match=r"key id 'gone'.*no longer holds"):
            fieldcrypto.decrypt(orphan)
    # and the old key alone reads nothing any more
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD]), pytest.raises(fieldcrypto.FieldCryptoError, match="k2027"):
        User.objects.get(email=values["user_email"])


def test_a_tampered_value_fails_authentication() -> None:
    token = fieldcrypto.encrypt("13800001234")
    prefix, payload = token.rsplit(":", 1)
    flipped = payload[:-3] + ("A" if payload[-3] != "A" else "B") + payload[-2:]
    with pytest.raises(fieldcrypto.FieldCryptoError, match="fails authentication"):
        fieldcrypto.decrypt(f"{prefix}:{flipped}")
    # the key id is authenticated too: the same body under another key id does not decrypt
    both = [OLD, "dev2:ZGV2LW9ubHktc200LWtleQ=="]
    with override_settings(FIELD_ENCRYPTION_KEYS=both), pytest.raises(fieldcrypto.FieldCryptoError):
        fieldcrypto.decrypt(token.replace(":dev1:", ":dev2:"))
