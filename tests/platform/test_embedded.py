"""The embedded default from nothing, as `make run` starts it on a new machine: a new SQLite file, no
DATABASE_URL and no REDIS_URL (tasks in-process, local files), `migrate`, `load_reference`, `load_demo`
(a second run changes nothing), then the development server, where the demo's national administrator
signs in and sees the national overview, and an enterprise its own unit.
"""

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.embedded

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Demo-2026!"


def embedded_env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
        and not k.startswith(("PYTEST_", "PP_TEST_"))
    }
    # `make run` keeps its database in var/db.sqlite3; here a file of the test's own, as new.
    return {**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "MEDIA_ROOT": str(tmp_path / "media")}


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    env = embedded_env(tmp_path)
    manage(env, "migrate", "--noinput")
    manage(env, "load_reference")
    first = manage(env, "load_demo")
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
        yield url, first
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    second = manage(env, "load_demo")
    count = re.search(r"demo filings: (\d+) product versions", second)
    assert count and count.group(0) in first, "a second load_demo changed the demo"


def sign_in(url: str, email: str) -> tuple[urllib.request.OpenerDirector, str]:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(f"{url}/accounts/login/", timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": email, "password": PASSWORD}).encode()
    headers = {"Referer": f"{url}/accounts/login/"}
    request = urllib.request.Request(f"{url}/accounts/login/", data=data, headers=headers)  # noqa: S310 (loopback)
    with opener.open(request, timeout=60) as answer:  # follows the redirect to the role's home
        return opener, answer.geturl()


def test_make_run_from_nothing_serves_the_demo(server: tuple[str, str]) -> None:
    url, loaded = server
    assert re.search(r"demo filings: [1-9]\d* product versions", loaded), loaded
    assert "national@example.cn" in loaded and "Demo-2026!" in loaded  # the accounts are listed
    opener, home = sign_in(url, "national@example.cn")
    assert home.endswith("/national/")
    page = opener.open(home, timeout=60).read().decode()
    assert "全国概览" in page
    opener, home = sign_in(url, "ent-gz@example.cn")
    assert home.endswith("/enterprise/")
    assert "广州云帆智能装备有限公司" in opener.open(home, timeout=60).read().decode()
    public = urllib.request.urlopen(f"{url}/", timeout=60)  # noqa: S310 (loopback)
    assert public.status == 200
