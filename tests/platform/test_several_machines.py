"""Several machines, for real (issue 21 part 4): two gunicorn web processes and two Celery workers, each
in a working directory of its own with a MEDIA_ROOT of its own (nothing is shared on a disk), on one
PostgreSQL database, one Redis and one S3 bucket (a real SeaweedFS on loopback, tests/s3server.py).

Walked with HTTP clients: a port's progress report with a PDF attachment uploaded on web A is downloaded
byte for byte from web B; the port's monthly publication built by worker 2 (a queue only it listens to)
is downloaded from web A; a filing receipt rendered on web A is verified on web B (the public page its
QR code and URL point to)."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings
from django.core.files.storage import storages
from django.test import Client
from django.urls import reverse
from storages.backends.s3 import S3Storage

from filings.models import ProductVersion
from patent_platform import clock
from patent_platform.celery import app
from patent_platform.models import User
from provincial.choices import PublicationKind, PublicationStatus
from provincial.models import ProgressReport, Publication
from provincial.publications import services as publications
from tests import s3server
from tests.factories import PortAdminFactory
from tests.filings.conftest import (  # noqa: F401  (fixtures)
    add_right,
    approved_version,
    filer_a,
    make_unit,
    new_version,
    product_class,
    reviewer,
    unit_a,
)
from tests.processes import database_url, start_web, stop, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]

ROOT = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + os.urandom(2048).hex().encode()


@pytest.fixture
def object_store(settings: Any, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment that puts a process on the test's S3 prefix: the session's S3 server when the run
    has one (TEST_S3=1), else one started for this test (and the test process on it too)."""
    if isinstance(storages["default"], S3Storage):
        yield {k: v for k, v in os.environ.items() if k.startswith("OBJECT_STORE_")} | s3server.process_environment()
        return
    server = s3server.start(tmp_path / "s3")
    try:
        server.create_bucket("several-machines")
        env = server.environment("several-machines") | {"OBJECT_STORE_PREFIX": "walk"}
        entry = s3server.object_store_entry(env)
        settings.STORAGES = {**settings.STORAGES, "default": entry}
        yield env
    finally:
        server.stop()


class Machines:
    def __init__(self, store: dict[str, str], tmp: Path) -> None:
        self.store, self.tmp, self.procs = store, tmp, []

    def env(self, name: str) -> tuple[dict[str, str], Path]:
        home = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.tmp))  # its own working directory
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("OBJECT_STORE_")},
            **self.store,
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "tests.provincial.publication_worker_settings",  # tasks go to the broker
            "OTP_REQUIRED_ROLES": "",  # as in the test settings (this module's name is not "test")
            "DATABASE_URL": database_url(),
            "MEDIA_ROOT": str(home / "media"),  # its own, never written (the check at the end)
        }
        return env, home

    def web(self, name: str) -> str:
        env, home = self.env(name)
        args = ["--timeout", "60", "--control-socket", str(home / "gunicorn.ctl")]  # not the shared default
        proc, address = start_web(env, cwd=home, args=args)
        self.procs.append(proc)
        return address

    def worker(self, name: str, queues: str) -> None:
        env, home = self.env(name)
        command = [sys.executable, "-m", "celery", "-A", "patent_platform", "worker", "--pool=solo", "-Q", queues]
        command += ["-n", f"{name}-{os.getpid()}@%h", "-l", "warning"]
        self.procs.append(subprocess.Popen(command, cwd=home, env=env))

    def media_roots_untouched(self) -> list[Path]:
        return sorted(p for p in self.tmp.rglob("media") if p.exists())


def signed_in(user: User) -> requests.Session:
    """A browser's session of `user` (the session row is in the shared database: any web process knows it)."""
    client = Client()
    client.force_login(user)
    session = requests.Session()
    session.cookies.set(settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value)
    return session


def csrf(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=30, allow_redirects=False)
    assert page.status_code == 200, (url, page.status_code, page.headers.get("Location"))
    return session.cookies[settings.CSRF_COOKIE_NAME]


def test_two_web_processes_and_two_workers_share_no_disk(
    transactional_db: None,
    reference: None,
    approved_version: ProductVersion,  # noqa: F811
    filer_a: User,  # noqa: F811
    object_store: dict[str, str],
    tmp_path: Path,
) -> None:
    port_admin = PortAdminFactory(port_code="440000").user
    machines = Machines(object_store, tmp_path / "machines")
    machines.tmp.mkdir()
    try:
        machines.worker("worker1", "celery")
        machines.worker("worker2", "celery,machine2")
        web_a, web_b = machines.web("webA"), machines.web("webB")
        port = signed_in(port_admin)

        # 1. an upload on web A, downloaded from web B
        token = csrf(port, web_a + reverse("port:report_new"))
        answer = port.post(
            web_a + reverse("port:report_new"),
            data={"csrfmiddlewaretoken": token, "category": "problem", "title": "多机报送", "body": "正文"},
            files={"attachments": ("说明.pdf", PDF, "application/pdf")},
            headers={"Referer": web_a + reverse("port:report_new")},
            timeout=60,
            allow_redirects=False,
        )
        assert answer.status_code == 302, answer.text[:2000]
        assert "/reports/" in answer.headers["Location"], answer.headers["Location"]
        attachment = ProgressReport.objects.get(title="多机报送").attachments.get()
        download = port.get(web_b + reverse("port:report_attachment", args=[attachment.pk]), timeout=30)
        assert download.status_code == 200 and download.content == PDF

        # 2. a publication built by worker 2, downloaded from web A
        rows = publications.ensure_publications(PublicationKind.MONTHLY, clock.previous_month())
        row = next(r for r in rows if r.scope_key == "440000")
        app.send_task("provincial.tasks.build_publication", args=[row.pk], queue="machine2")
        wait_for(
            lambda: Publication.objects.get(pk=row.pk).status == PublicationStatus.READY,
            "worker 2 built the publication",
            180,
            machines.procs,
        )
        row.refresh_from_db()
        pdf = port.get(web_a + reverse("port:publication_download", args=[row.pk, "pdf"]), timeout=30)
        assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
        assert hashlib.sha256(pdf.content).hexdigest() == row.pdf_sha256

        # 3. a receipt rendered on web A, verified on web B through the address it prints
        filer = signed_in(filer_a)
        product = approved_version.product
        product.refresh_from_db()
        receipt = filer.get(web_a + reverse("documents:receipt", args=[product.pk]), timeout=120)
        assert receipt.status_code == 200 and receipt.content[:5] == b"%PDF-"
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=receipt.content, capture_output=True, check=True, timeout=60
        ).stdout.decode()
        printed = re.search(re.escape(web_a) + r"(/\S+)", text)
        assert printed, text
        public = requests.get(web_b + printed.group(1), timeout=30)
        assert public.status_code == 200 and product.filing_number in public.text
    finally:
        stop(machines.procs)
    # nothing went to a local disk: no process made its MEDIA_ROOT
    assert machines.media_roots_untouched() == []
