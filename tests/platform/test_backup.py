"""`manage.py backup` and `manage.py restore`: the demo plus an uploaded file, backed up, the database
and the stored files (MEDIA_ROOT, or the object store) emptied, restored: every model's row count and
every file's bytes are equal, and the
audit chain still verifies. Runs on SQLite and, in the PostgreSQL pass of CI, on PostgreSQL."""

import io
import json
import shutil
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from patent_platform.audit import verify_chain
from patent_platform.choices import AuditAction
from patent_platform.management.commands.backup import row_counts, stored_names
from patent_platform.models import AuditEvent, User

# embedded (CI runs it on SQLite too): backup and restore take another path per database
pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # the bytes matter, not the picture


@pytest.fixture
def installation(demo: None, media_root: str, settings) -> Path:
    """The demo with one uploaded product image, in a MEDIA_ROOT of this test's own."""
    from filings.models import ProductImage, ProductVersion

    root = Path(media_root) / "backup-test"
    shutil.rmtree(root, ignore_errors=True)
    settings.MEDIA_ROOT = str(root)
    version = ProductVersion.objects.order_by("pk").first()
    image = ProductImage(version=version, content_type="image/png", caption="备份测试")
    image.file.save("photo.png", ContentFile(PNG), save=True)
    return root


def _empty(root: Path) -> None:
    from patent_platform.management.commands.restore import constraints_checked_now

    with constraints_checked_now():
        call_command("flush", interactive=False, inhibit_post_migrate=True, verbosity=0)
    for name in stored_names(default_storage):  # the local MEDIA_ROOT, or the test's prefix on S3
        default_storage.delete(name)
    assert User.objects.count() == 0 and AuditEvent.objects.count() == 0 and not stored_names(default_storage)


def test_backup_then_restore_into_an_empty_installation(installation: Path, tmp_path: Path) -> None:
    from filings.models import ProductImage

    image = ProductImage.objects.get(caption="备份测试")
    out = io.StringIO()
    call_command("backup", output=str(tmp_path / "bk"), stdout=out)
    assert "backup written" in out.getvalue()
    before = row_counts()  # after the backup: its own audit record is in the dump
    assert before["filings.Product"] > 0 and before["patent_platform.User"] >= 11
    manifest = json.loads((tmp_path / "bk" / "manifest.json").read_text())
    assert manifest["counts"] == before
    assert manifest["files"][image.file.name]["size"] == len(PNG)

    _empty(installation)
    out = io.StringIO()
    call_command("restore", input=str(tmp_path / "bk"), stdout=out)

    after = row_counts()
    assert {k: v for k, v in after.items() if k != "patent_platform.AuditEvent"} == {
        k: v for k, v in before.items() if k != "patent_platform.AuditEvent"
    }
    # the restore records itself after the check: one audit record more, at the end of the chain
    assert after["patent_platform.AuditEvent"] == before["patent_platform.AuditEvent"] + 1
    assert AuditEvent.objects.latest("id").message == "restore"
    with default_storage.open(ProductImage.objects.get(pk=image.pk).file.name) as fh:
        assert fh.read() == PNG
    report = verify_chain()
    assert report.ok and report.count == after["patent_platform.AuditEvent"]
    assert "audit chain OK" in out.getvalue()
    # what was restored works: the demo accounts sign in again
    assert User.objects.get(email="national@example.cn").check_password("Demo-2026!")
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, object_type="backup").count() == 1


def test_restore_refuses_a_non_empty_installation_unless_forced(installation: Path, tmp_path: Path) -> None:
    call_command("backup", output=str(tmp_path / "bk"), stdout=io.StringIO())
    users = User.objects.count()
    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", input=str(tmp_path / "bk"), stdout=io.StringIO())
    assert User.objects.count() == users
    User.objects.create_user("later@example.cn", "Later-Pass-2026!")
    call_command("restore", input=str(tmp_path / "bk"), force=True, stdout=io.StringIO())
    assert not User.objects.filter(email="later@example.cn").exists()
    assert User.objects.count() == users
    assert verify_chain().ok


def test_restore_refuses_a_damaged_backup_before_touching_anything(installation: Path, tmp_path: Path) -> None:
    call_command("backup", output=str(tmp_path / "bk"), stdout=io.StringIO())
    dump = tmp_path / "bk" / "db.jsonl.gz"
    dump.write_bytes(dump.read_bytes()[:-10] + b"0123456789")
    _empty(installation)
    with pytest.raises(CommandError, match="sha256"):
        call_command("restore", input=str(tmp_path / "bk"), stdout=io.StringIO())
    assert User.objects.count() == 0


def test_restore_notices_a_count_that_differs(installation: Path, tmp_path: Path) -> None:
    call_command("backup", output=str(tmp_path / "bk"), stdout=io.StringIO())
    manifest_path = tmp_path / "bk" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["counts"]["filings.Product"] += 1
    manifest_path.write_text(json.dumps(manifest))
    _empty(installation)
    with pytest.raises(CommandError, match=r"filings\.Product"):
        call_command("restore", input=str(tmp_path / "bk"), stdout=io.StringIO())


def test_backup_refuses_a_directory_that_is_not_empty(db: None, tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_text("x")
    with pytest.raises(CommandError, match="not empty"):
        call_command("backup", output=str(tmp_path), stdout=io.StringIO())
