"""Shared fixtures: reference data, one user per role, and the real-service markers.

A test marked `postgres`, `redis`, `worker` or `browser` needs that real part. Outside CI a missing
part skips the test with the reason; with CI=true it fails: CI never passes by skipping.
"""

import os
import random
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from patent_platform.choices import Role
from patent_platform.models import User
from tests import s3server, worlds

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
PASSWORD = "Demo-2026!"


def pytest_configure(config: pytest.Config) -> None:
    """One API fuzz seed for the whole run (the xdist workers inherit it): random unless FUZZ_SEED is set.
    With TEST_S3=1 the files go to a real S3 server on loopback (SeaweedFS, tests/s3server.py), started
    once for the run."""
    if not os.environ.get("FUZZ_SEED"):
        os.environ["FUZZ_SEED"] = str(random.SystemRandom().randrange(1, 2**32))
    config._s3_header = s3server.configure_session(os.environ.get("PYTEST_XDIST_WORKER", ""), CI)  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    s3server.unconfigure_session()


def pytest_report_header(config: pytest.Config) -> list[str]:
    seed = os.environ["FUZZ_SEED"]
    lines = [f"API fuzz seed: {seed} (FUZZ_SEED={seed} repeats tests/platform/test_api_fuzz.py)"]
    return [*lines, config._s3_header or "files: the local MEDIA_ROOT (TEST_S3=1: a real S3 server)"]  # type: ignore[attr-defined]


def _redis_reachable() -> bool:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        return False
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=2):
            return True
    except OSError:
        return False


def _missing(marker: str) -> str | None:
    if marker == "postgres" and connection.vendor != "postgresql":
        return "needs PostgreSQL: set DATABASE_URL=postgres://…"
    if marker == "redis" and not _redis_reachable():
        return "needs Redis: set REDIS_URL=redis://… to a running server"
    if marker == "worker":
        if connection.vendor != "postgresql":
            return "a Celery worker process needs the PostgreSQL test database (DATABASE_URL)"
        if not _redis_reachable():
            return "a Celery worker needs Redis (REDIS_URL)"
    if marker == "oidc":
        if not shutil.which(os.environ.get("NODE", "node")):
            return "needs Node.js (node) for the OpenID provider of the OIDC tests"
        if not (Path(__file__).resolve().parents[1] / "node_modules" / "oidc-provider").is_dir():
            return "needs the npm package oidc-provider: npm ci (make assets)"
    if marker == "browser" and not shutil.which(CHROMIUM):
        return f"needs Chromium at {CHROMIUM}: apt-get install chromium (see README)"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in ("postgres", "redis", "worker", "browser", "oidc"):
        if item.get_closest_marker(marker) is None:
            continue
        reason = _missing(marker)
        if reason:
            if CI:
                pytest.fail(f"CI=true and a required part is missing: {reason}", pytrace=False)
            pytest.skip(reason)
    _rebuild_a_stale_demo(item)


def _rebuild_a_stale_demo(item: pytest.Item) -> None:
    """The demo world is built once per process on the China date of that moment; after midnight in China
    it is built again before the next test that asks for it (tests/worlds.py `demo_is_stale`). Not inside
    a module world's transaction: that module keeps the world it was built with."""
    from pytest_django.plugin import blocking_manager_key

    if "demo" not in getattr(item, "fixturenames", ()) or not worlds.demo_is_stale():
        return
    with item.config.stash[blocking_manager_key].unblock():
        if connection.in_atomic_block:
            return
        worlds.restore_base()  # between tests the database holds the base world, or nothing after a flush
        worlds.take_demo()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> None:
    """Load the reference data (regions, management units, product classes) once per process and keep a
    copy of that state (the base world, tests/worlds.py)."""
    with django_db_blocker.unblock():
        call_command("load_reference", verbosity=0)
        worlds.take_base()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The demo's rows go in before any other function fixture writes: they were copied with the audit chain
    and the ids of a database holding only the base world (tests/worlds.py).

    Under `--dist loadgroup` (make test) each pytest-xdist process checks that the `xdist_group` marks took
    effect: pytest-xdist carries the group in the test's id, which pytest 9.2 no longer lets it change
    (pytest-xdist#1386): the groups were spread over the processes without a word, and every shared
    module or session fixture was built once per process."""
    if config.getoption("loadgroup", default=False):
        lost = [i.nodeid for i in items if i.get_closest_marker("xdist_group") and "@" not in i.nodeid]
        if lost:
            raise pytest.UsageError(
                f"--dist loadgroup has no effect ({len(lost)} grouped tests without their group, e.g. {lost[0]}): "
                "pytest and pytest-xdist do not work together here (pyproject.toml pins them)"
            )
    for item in items:
        names = getattr(item, "fixturenames", None)
        if not names or "demo" not in names:
            continue
        defs = item._fixtureinfo.name2fixturedefs  # type: ignore[attr-defined]
        names.remove("demo")
        first = next(
            (i for i, n in enumerate(names) if n in defs and defs[n][-1].scope == "function"),
            len(names),
        )
        names.insert(first, "demo")


def _transactional(item: pytest.Item) -> bool:
    """Whether pytest-django runs the test as a TransactionTestCase (committed, then flushed)."""
    marker = item.get_closest_marker("django_db")
    if marker is not None and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")):
        return True
    names = getattr(item, "fixturenames", ())
    return any(n in names for n in ("transactional_db", "live_server", "django_db_reset_sequences"))


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> object:
    """After a transactional test's flush, put the base world back (every test starts from it)."""
    result = yield
    # Only once the test database exists (its setup takes the base copy), and not after the last test,
    # when it is gone: the connection would point at the configured database again.
    if _transactional(item) and nextitem is not None and worlds.has_base():
        from pytest_django.plugin import blocking_manager_key

        with item.config.stash[blocking_manager_key].unblock():
            worlds.restore_base()
    return result


@pytest.fixture(autouse=True)
def _clean_cache() -> None:
    # Throttle counters live in the cache (Redis in CI): each test starts from zero.
    cache.clear()


@pytest.fixture(autouse=True)
def _default_language() -> None:
    # A request with Accept-Language: en (LocaleMiddleware) or an English test leaves English active in the
    # thread; a later test in the same process then read messages stored in English (a job's error written
    # in a task). Each test starts in the platform's default language, as a fresh process does.
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _celery_may_join() -> None:
    # Celery keeps "a task is running here, joining would block" in one process-wide flag, set and restored
    # around every eager task (Task.apply_async -> denied_join_result). Eager tasks started at once in
    # several threads (a live server's requests, the concurrency tests) restore it out of order and can
    # leave it set; a later test in the same process then gets "Never call result.get() within a task!"
    # from an eager result's get(). Each test starts with it cleared, as a fresh process has it.
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)


@pytest.fixture
def reference(db: None) -> None:
    """Reference data present even after a transactional test emptied the tables (restored from the
    base world's copy, tests/worlds.py)."""
    if not worlds.base_is_intact():
        worlds.restore_base()


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(email: str, role: str = Role.ENTERPRISE, **extra: object) -> User:
        extra.setdefault("email_confirmed_at", timezone.now())  # confirmed unless a test says otherwise
        return User.objects.create_user(email, PASSWORD, role=role, full_name=email.split("@")[0], **extra)

    return make


@pytest.fixture(scope="session")
def demo_world(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> None:
    """`load_demo` once per process, outside every test's transaction, and its rows copied (tests/worlds.py)."""
    with django_db_blocker.unblock():
        worlds.take_demo()


@pytest.fixture
def demo(demo_world: None, reference: None) -> None:
    """The demo accounts and units of `make run`: each test gets the rows of `load_demo` back from the
    copy (tests/worlds.py), rolled back with the test."""
    worlds.ensure_demo()


@pytest.fixture
def demo_users(demo: None) -> dict[str, User]:
    return {u.email.split("@")[0]: u for u in User.objects.all()}


@pytest.fixture(scope="session")
def media_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("media")
    settings.MEDIA_ROOT = str(path)
    return str(path)


ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def worker(transactional_db: None, reference: None, settings: object, tmp_path: Path) -> Iterator[subprocess.Popen]:
    """A real Celery worker process on the Redis broker, reading the PostgreSQL test database and the
    test's media folder (uploaded files are read from the same disk)."""
    media = tmp_path / "worker-media"
    settings.MEDIA_ROOT = str(media)  # type: ignore[attr-defined]
    db = settings.DATABASES["default"]  # type: ignore[attr-defined]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "patent_platform.settings.test",
        "MEDIA_ROOT": str(media),
        **s3server.process_environment(),
        # the worker must read the test database that pytest-django created, not the configured one
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
            f"/{connection.settings_dict['NAME']}"
        ),
    }
    command = [sys.executable, "-m", "celery", "-A", "patent_platform", "worker", "--pool=solo", "-l", "warning"]
    proc = subprocess.Popen(command, cwd=ROOT, env=env)
    yield proc
    proc.terminate()
    proc.wait(timeout=30)
