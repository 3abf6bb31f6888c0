"""The offline dependency audit (scripts/audit_offline.py) finds an installed package an advisory affects."""

import importlib.util
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "audit_offline.py"
spec = importlib.util.spec_from_file_location("audit_offline", SCRIPT)
audit_offline = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
sys.modules["audit_offline"] = audit_offline  # dataclasses look their module up
spec.loader.exec_module(audit_offline)  # type: ignore[union-attr]

DJANGO = metadata.version("django")


def advisory(db: Path, package: str, ident: str, body: str) -> None:
    folder = db / "vulns" / package
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{ident}.yaml").write_text(textwrap.dedent(body), encoding="utf-8")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    (tmp_path / "vulns").mkdir()
    (tmp_path / "SNAPSHOT").write_text("test snapshot 2026-12-01\n", encoding="utf-8")
    return tmp_path


def test_an_affected_installed_version_fails_the_audit(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    advisory(
        db,
        "django",
        "PYSEC-TEST-1",
        f"""
        id: PYSEC-TEST-1
        aliases: [CVE-2099-0001]
        affected:
        - package: {{name: Django, ecosystem: PyPI}}
          ranges:
          - type: ECOSYSTEM
            events: [{{introduced: "0"}}, {{fixed: "{DJANGO}.post1"}}]
        """,
    )
    assert audit_offline.main([str(db)]) == 1
    out = capsys.readouterr().out
    assert f"VULNERABLE django {DJANGO}: PYSEC-TEST-1 (CVE-2099-0001)" in out
    assert "test snapshot 2026-12-01" in out and "1 known vulnerabilities" in out


def test_fixed_listed_elsewhere_and_withdrawn_advisories_pass(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    advisory(
        db,
        "django",
        "PYSEC-TEST-2",
        """
        id: PYSEC-TEST-2
        affected:
        - package: {name: django, ecosystem: PyPI}
          ranges:
          - type: ECOSYSTEM
            events: [{introduced: "0"}, {fixed: "1.0"}]
          versions: ["0.9"]
        """,
    )
    advisory(
        db,
        "django",
        "PYSEC-TEST-3",
        f"""
        id: PYSEC-TEST-3
        withdrawn: "2025-01-01T00:00:00Z"
        affected:
        - package: {{name: django, ecosystem: PyPI}}
          versions: ["{DJANGO}"]
        """,
    )
    assert audit_offline.main([str(db)]) == 0
    assert "0 known vulnerabilities" in capsys.readouterr().out


def test_an_exactly_listed_version_is_found(db: Path) -> None:
    advisory(
        db,
        "django",
        "PYSEC-TEST-4",
        f"""
        id: PYSEC-TEST-4
        affected:
        - package: {{name: django, ecosystem: PyPI}}
          versions: ["{DJANGO}"]
        """,
    )
    findings = audit_offline.audit(db, {"django": DJANGO})
    assert [f.advisory for f in findings] == ["PYSEC-TEST-4"]


def test_a_missing_database_is_an_error(tmp_path: Path) -> None:
    assert audit_offline.main([str(tmp_path / "nowhere")]) == 2
