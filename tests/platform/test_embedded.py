"""The embedded default from nothing, as `make run` starts it on a new machine: a new SQLite file, no
DATABASE_URL and no REDIS_URL (tasks in-process, local files), `migrate`, `load_reference`, `load_demo`
(a second run changes nothing), then the development server, where the demo's national administrator
signs in and sees the national overview, and an enterprise its own unit.
"""

import http.cookiejar
import os
import re
import sqlite3
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from patent_platform import fieldcrypto

pytestmark = pytest.mark.embedded
# the tests that start a server here and in test_parallel_actions share one process (one `make run` from nothing)
SERVER_GROUP = pytest.mark.xdist_group("embedded-server")

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Demo-2026!"


def embedded_env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
        and not k.startswith(("PYTEST_", "PP_TEST_", "OBJECT_STORE_", "TEST_S3"))
    }
    # `make run` keeps its database in var/db.sqlite3; here a file of the test's own, as new.
    return {**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "MEDIA_ROOT": str(tmp_path / "media")}


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@dataclass
class Embedded:
    url: str
    loaded: str  # what the first load_demo printed
    db: Path
    env: dict[str, str]


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


@SERVER_GROUP
def test_make_run_from_nothing_serves_the_demo(server: Embedded) -> None:
    url, loaded = server.url, server.loaded
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
    second = manage(server.env, "load_demo")
    count = re.search(r"demo filings: (\d+) product versions", second)
    assert count and count.group(0) in loaded, "a second load_demo changed the demo"


def race(url: str, referer: str, clients: list[tuple[urllib.request.OpenerDirector, str]]) -> list[int]:
    """POST `url` from each (opener, CSRF token) at the same moment; the status codes answered."""
    barrier = threading.Barrier(len(clients))
    answers: list[int] = []

    def click(opener: urllib.request.OpenerDirector, token: str) -> None:
        data = urllib.parse.urlencode({"csrfmiddlewaretoken": token}).encode()
        request = urllib.request.Request(url, data=data, headers={"Referer": referer})  # noqa: S310 (loopback)
        barrier.wait()
        try:
            with opener.open(request, timeout=60) as answer:
                answers.append(answer.status)
        except urllib.error.HTTPError as exc:
            answers.append(exc.code)

    threads = [threading.Thread(target=click, args=pair) for pair in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    return answers


@SERVER_GROUP
def test_two_simultaneous_submissions_never_answer_500(server: Embedded) -> None:
    """Two clicks at once on the embedded default (issue 17, mechanism 5): the same filing submitted by two
    sessions of its filer at the same moment, for every draft or returned version of the demo. SQLite
    answered "database is locked" (500) to the loser of such a race; with write transactions that take the
    lock up front (`transaction_mode` IMMEDIATE) the loser waits, then finds the filing submitted."""
    with sqlite3.connect(server.db) as db:
        candidates = db.execute(
            "SELECT v.id, u.email FROM filings_productversion v JOIN filings_product p ON p.id = v.product_id "
            "JOIN filings_unitmembership m ON m.unit_id = p.unit_id JOIN patent_platform_user u ON u.id = m.user_id "
            "WHERE v.status IN ('draft', 'returned') ORDER BY v.id"
        ).fetchall()
    assert len(candidates) >= 2
    raced = 0
    for version_id, stored in candidates:
        email = fieldcrypto.decrypt(stored)  # stored encrypted; the demo runs with the dev (= test) keys
        openers = [sign_in(server.url, email)[0] for _ in range(2)]
        page = f"{server.url}/enterprise/versions/{version_id}/"
        tokens = []
        for opener in openers:
            form = opener.open(page, timeout=60).read().decode()
            tokens.append(re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1))
        with sqlite3.connect(server.db) as db:
            before = db.execute("SELECT COALESCE(MAX(id), 0) FROM filings_transition").fetchone()[0]
        answers = race(f"{page}submit/", page, list(zip(openers, tokens, strict=True)))
        assert len(answers) == 2 and all(code < 500 for code in answers), (version_id, answers)
        with sqlite3.connect(server.db) as db:
            submitted = db.execute(
                "SELECT COUNT(*) FROM filings_transition WHERE version_id = ? AND action IN ('submit', 'resubmit')"
                " AND id > ?",
                [version_id, before],
            ).fetchone()[0]
            status = db.execute("SELECT status FROM filings_productversion WHERE id = ?", [version_id]).fetchone()[0]
        if status in ("submitted", "resubmitted"):
            assert submitted == 1, (version_id, submitted)  # the action happened once
            raced += 1
    assert raced >= 1
