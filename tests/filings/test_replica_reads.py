"""Reads that can go elsewhere (issue 21, part 2), against a real streaming replica.

The test starts its own pair of PostgreSQL clusters on loopback: a primary (initdb) holding a copy of this
test's database (pg_dump), and a hot standby made from it with `pg_basebackup -R`, streaming. A gunicorn
process of the platform runs with DATABASE_URL on the primary and DATABASE_REPLICA_URL on the replica, and a
pool of connections (DATABASE_POOL_MAX_SIZE). The replica's replay is paused, so what it serves is visibly
older than the primary:

- a reviewer revokes an approved product (a write, on the primary); their own public search right after it
  no longer lists the product (read your writes: pinned to the primary);
- an anonymous visitor's public search still lists it: the page was read from the replica;
- once replay resumes, the visitor's search no longer lists it either;
- a page that is not marked for the replica (the product's public page) reads the primary for everyone;
- the server never held more connections to the primary than its pool allows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from filings.models import ProductVersion
from patent_platform.models import User
from tests.processes import free_port, start_web, stop

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BIN = Path("/usr/lib/postgresql") / "15" / "bin"
POOL_MAX = 3


def _bin(name: str) -> str:
    found = shutil.which(name) or str(BIN / name)
    assert Path(found).exists(), f"{name} is part of PostgreSQL's server package"
    return found


def _as_postgres(command: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: as root, run them as the postgres user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{' '.join(command)}: {done.stdout}{done.stderr}"


def _psql(port: int, sql: str, database: str = "postgres") -> str:
    result = subprocess.run(
        [_bin("psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", database, "-Atc", sql],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.stdout.strip()


@pytest.fixture
def clusters() -> Iterator[tuple[int, int]]:
    """(primary port, replica port): two real PostgreSQL servers, the second streaming from the first."""
    base = Path(tempfile.mkdtemp(prefix="pp-replica-"))  # not under pytest's folder: postgres must reach it
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    primary, replica = base / "primary", base / "replica"
    p_port, r_port = free_port(), free_port()
    _run(_as_postgres([_bin("initdb"), "-D", str(primary), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]))
    conf = (
        f"port = {p_port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{base}'\n"
        "wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\nfsync = off\nfull_page_writes = off\n"
        "synchronous_commit = off\nshared_buffers = 32MB\nmax_connections = 40\n"
    )
    with (primary / "postgresql.conf").open("a") as f:
        f.write(conf)
    servers: list[Path] = []
    try:
        _run(_as_postgres([_bin("pg_ctl"), "-D", str(primary), "-l", str(base / "primary.log"), "-w", "start"]))
        servers.append(primary)
        _run(
            _as_postgres(
                [
                    _bin("pg_basebackup"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(p_port),
                    "-U",
                    "postgres",
                    "-D",
                    str(replica),
                    "-R",
                    "-X",
                    "stream",
                    "--no-sync",
                ]
            )
        )
        with (replica / "postgresql.auto.conf").open("a") as f:
            f.write(f"port = {r_port}\n")
        _run(_as_postgres([_bin("pg_ctl"), "-D", str(replica), "-l", str(base / "replica.log"), "-w", "start"]))
        servers.append(replica)
        assert _psql(r_port, "SELECT pg_is_in_recovery()") == "t"  # a hot standby, not a copy
        yield p_port, r_port
    finally:
        for data in reversed(servers):
            subprocess.run(
                _as_postgres([_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                check=False,
                capture_output=True,
            )
        shutil.rmtree(base, ignore_errors=True)


def _copy_test_database(p_port: int) -> None:
    """This test's database (committed rows: the test is transactional) into the primary, as `pp`."""
    db = connection.settings_dict
    _psql(p_port, "CREATE DATABASE pp")
    dump = subprocess.run(
        [
            _bin("pg_dump"),
            "-h",
            db["HOST"] or "127.0.0.1",
            "-p",
            str(db["PORT"] or 5432),
            "-U",
            db["USER"],
            "--no-owner",
            "--no-privileges",
            db["NAME"],
        ],
        check=True,
        capture_output=True,
        timeout=120,
    ).stdout
    subprocess.run(
        [
            _bin("psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(p_port),
            "-U",
            "postgres",
            "-d",
            "pp",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
        ],
        input=dump,
        check=True,
        capture_output=True,
        timeout=120,
    )


def _wait_replayed(p_port: int, r_port: int) -> None:
    """Until the replica has replayed everything the primary wrote so far."""
    target = _psql(p_port, "SELECT pg_current_wal_lsn()")
    deadline = time.monotonic() + 30
    while _psql(r_port, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn") != "t":
        assert time.monotonic() < deadline, "the replica did not catch up within 30 s"
        time.sleep(0.2)


@pytest.fixture
def reviewer_session(approved_version: ProductVersion, reviewer: User, clusters: tuple[int, int]) -> str:
    """The reviewer's session id; the test's database (an approved product, the session) copied to the
    primary and replayed on the replica."""
    login = Client()
    login.force_login(reviewer)
    _copy_test_database(clusters[0])
    _wait_replayed(*clusters)
    return login.cookies["sessionid"].value


@pytest.fixture
def server(clusters: tuple[int, int], reviewer_session: str, tmp_path: Path) -> Iterator[Callable[..., object]]:
    import requests  # a dependency of the dev tools (openapi-python-client, schemathesis)

    p_port, r_port = clusters
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "PYTEST_XDIST_WORKER")}
    env.update(
        DJANGO_SETTINGS_MODULE="patent_platform.settings.test",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{p_port}/pp",
        DATABASE_REPLICA_URL=f"postgres://postgres@127.0.0.1:{r_port}/pp",
        DATABASE_POOL_MAX_SIZE=str(POOL_MAX),
        DATABASE_POOL_MIN_SIZE="1",
        MEDIA_ROOT=str(tmp_path / "media"),
    )
    proc, address = start_web(env, args=["--threads", "4", "--timeout", "60"])

    def get(path: str, session: requests.Session | None = None, **kwargs: object) -> requests.Response:
        return (session or requests).get(address + path, timeout=30, **kwargs)  # type: ignore[arg-type]

    get.address = address  # type: ignore[attr-defined]
    try:
        yield get
    finally:
        stop([proc])


def _listed(response: object, filing_number: str) -> bool:
    """The search's results link to the product's page (the query itself is echoed in the search box)."""
    assert response.status_code == 200, response.status_code  # type: ignore[attr-defined]
    return f'href="/products/{filing_number}/"' in response.text  # type: ignore[attr-defined]


def test_heavy_pages_read_the_replica_and_a_writer_reads_its_own_writes(
    approved_version: ProductVersion, clusters: tuple[int, int], reviewer_session: str, server: Callable[..., object]
) -> None:
    import requests

    p_port, r_port = clusters
    product = approved_version.product
    number = product.filing_number
    assert number
    get = server
    search = f"/products/?q={number}"
    assert _listed(get(search), number)  # before anything: both agree

    _psql(r_port, "SELECT pg_wal_replay_pause()")
    try:
        session = requests.Session()
        session.cookies.set("sessionid", reviewer_session)
        token = "a" * 32
        session.cookies.set("csrftoken", token)
        revoked = session.post(
            f"{get.address}/review/versions/{approved_version.pk}/revoke/",  # type: ignore[attr-defined]
            data={"reason": "专利权已转让（副本测试）"},
            headers={"X-CSRFToken": token},
            timeout=30,
            allow_redirects=False,
        )
        assert revoked.status_code in (302, 303), revoked.status_code
        status = f"SELECT status FROM filings_productversion WHERE id = {int(approved_version.pk)}"  # noqa: S608
        assert _psql(p_port, status, "pp") == "revoked"
        assert _psql(r_port, status, "pp") == "approved"  # the replica is behind: replay paused

        # the reviewer reads their own write (pinned to the primary by the answer's cookie)
        assert not _listed(get(search, session), number)
        # an anonymous visitor's search is served by the replica: still listed there
        assert _listed(get(search), number)
        # a page not marked for the replica reads the primary for everyone: the product's page says it ended
        assert get(f"/products/{number}/").status_code == 410
    finally:
        _psql(r_port, "SELECT pg_wal_replay_resume()")
    _wait_replayed(p_port, r_port)
    assert not _listed(get(search), number)

    # the pool: never more connections to the primary than DATABASE_POOL_MAX_SIZE (plus this query's own)
    held = int(_psql(p_port, "SELECT count(*) FROM pg_stat_activity WHERE datname = 'pp'", "pp"))
    assert 1 <= held - 1 <= POOL_MAX
