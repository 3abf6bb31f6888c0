"""Production settings pass `check --deploy`; development settings run without services."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
        and not k.startswith("OBJECT_STORE_")  # the S3 pass's object store: each test says its own
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
        "SM2_SIGNING_KEY": "5c1e6a2f2a7fbc6bd1d3f3e0c1a2b4d5e6f708192a3b4c5d6e7f8091a2b3c4d5",
        "AUDIT_CHAIN_KEY": "audit-chain-key-for-checks-only-" + "y" * 32,
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


@pytest.mark.parametrize("name", ["SM2_SIGNING_KEY", "AUDIT_CHAIN_KEY"])
def test_production_refuses_to_start_without_its_national_cryptography_keys(name: str) -> None:
    env = production_env()
    del env[name]
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert name in result.stderr


def test_production_refuses_a_signing_key_that_is_no_sm2_private_key() -> None:
    result = run_manage("check", env=production_env(SM2_SIGNING_KEY="not-hex"))
    assert result.returncode != 0
    assert "SM2_SIGNING_KEY" in result.stdout + result.stderr


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


STORAGE_OF = (
    "from django.core.files.storage import storages; s = storages['default']; "
    "print(type(s).__name__, getattr(s, 'bucket_name', ''), getattr(s, 'endpoint_url', ''), s.location)"
)


def test_files_go_to_the_object_store_when_one_is_configured_and_to_media_root_otherwise(tmp_path: Path) -> None:
    """Several machines share no disk: with OBJECT_STORE_BUCKET every file goes to the S3 store (docs/DEPLOY.md);
    without it, the embedded default's local MEDIA_ROOT."""
    store = {
        "OBJECT_STORE_BUCKET": "platform-files",
        "OBJECT_STORE_ENDPOINT_URL": "http://objects:8333",
        "OBJECT_STORE_ACCESS_KEY_ID": "key",
        "OBJECT_STORE_SECRET_ACCESS_KEY": "secret",
        "OBJECT_STORE_PREFIX": "files",
    }
    result = run_manage("shell", "-c", STORAGE_OF, env=production_env(**store))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == [
        "S3Storage",
        "platform-files",
        "http://objects:8333",
        "files",
    ]
    result = run_manage("shell", "-c", STORAGE_OF, env=production_env(MEDIA_ROOT=str(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == ["FileSystemStorage", str(tmp_path)]
