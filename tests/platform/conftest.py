"""The embedded default's server for the tests that start one (test_embedded, test_parallel_actions): defined
here once, so that the steps from nothing run once per test process for all of them."""

import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.platform.test_embedded import ROOT, Embedded, embedded_env, manage
from tests.provincial.test_publication_worker import free_port


@pytest.fixture(scope="session")
def embedded_from_nothing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """`make run`'s steps on a new SQLite file, once per test process: the folder (database and media) and
    what the first load_demo printed. Each server gets a copy (the steps take ~45 s)."""
    folder = tmp_path_factory.mktemp("embedded-from-nothing")
    env = embedded_env(folder)
    manage(env, "migrate", "--noinput")
    manage(env, "load_reference")
    return folder, manage(env, "load_demo")


@pytest.fixture
def server(tmp_path: Path, embedded_from_nothing: tuple[Path, str]) -> Iterator[Embedded]:
    made, first = embedded_from_nothing
    for path in made.iterdir():  # the database (and any journal) and the media, as the steps left them
        if path.is_dir():
            shutil.copytree(path, tmp_path / path.name)
        else:
            shutil.copy2(path, tmp_path / path.name)
    env = embedded_env(tmp_path)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/accounts/login/", timeout=5).read()  # noqa: S310 (loopback)
                break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, "the development server stopped"
                assert time.monotonic() < deadline, "the development server did not answer within 60 s"
                time.sleep(0.3)
        yield Embedded(url, first, tmp_path / "db.sqlite3", env)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
