"""Production settings pass `check --deploy`; development settings run without services."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        # collectstatic hashes every vendored asset: seconds alone, minutes on a loaded 2-core machine
        timeout=600,
    )


def production_env(**extra: str) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "patent_platform.settings.production",
        "SECRET_KEY": "k3$y-for-checks-only-" + "x" * 40,
        "DATABASE_URL": "sqlite:///unused",
        "ALLOWED_HOSTS": "filing.example.cn",
        "FIELD_ENCRYPTION_KEYS": "k2026:MDEyMzQ1Njc4OWFiY2RlZg==",
        "FIELD_BLIND_INDEX_KEY": "YmxpbmQtaW5kZXgta2V5LWZvci1jaGVja3M=",
        **extra,
    }


def test_production_settings_pass_check_deploy() -> None:
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env=production_env(DATABASE_URL="postgres://platform@127.0.0.1:5432/platform"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = run_manage(
        "check",
        env={
            "DJANGO_SETTINGS_MODULE": "patent_platform.settings.production",
            "ALLOWED_HOSTS": "x",
            "DATABASE_URL": "sqlite:///x",
        },
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_collectstatic_with_the_production_manifest_storage(tmp_path: Path) -> None:
    """The Docker image runs this at build time; a missing asset (e.g. a source map) fails it."""
    result = run_manage(
        "collectstatic",
        "--noinput",
        env=production_env(STATIC_ROOT=str(tmp_path)),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "staticfiles.json").exists()
    assert list((tmp_path / "vendor" / "htmx").glob("htmx.min.*.js"))
