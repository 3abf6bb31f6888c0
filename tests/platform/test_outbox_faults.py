"""Nothing lost when Redis is down (issue 25): filings submitted and decided while the broker is stopped
are all saved, and once Redis is back every due notice is sent exactly once by a real Celery worker process
(the beat sweep's task, sent as beat sends it). Before the outbox (f6f3c7a, the same steps): 0 of 5
"已通过备案" notices ever arrived, while an approval made after recovery was mailed.

A real redis-server of the test's own (stopped and started again), a real worker process on the
PostgreSQL test database, the web pages through Django's test client."""

import email
import email.header
import email.message
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from filings.choices import FilingStatus
from filings.models import ProductVersion
from patent_platform.choices import Role
from patent_platform.models import Notice, NoticeStatus
from patent_platform.tasks import deliver_notices
from tests.factories import FilingUnitFactory, MemberFactory, ProductVersionFactory, UserFactory
from tests.provincial.test_publication_worker import broker, free_port, start_redis

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.worker,
    pytest.mark.postgres,
    pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored", "ignore::RuntimeWarning"),
]
APPROVALS = 5


def start_worker(redis_url: str, mail_dir: Path) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.platform.outbox_worker_settings",
        "OUTBOX_TEST_MAIL_DIR": str(mail_dir),
        "REDIS_URL": redis_url,
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
            f"/{db['NAME']}"
        ),
    }
    command = [sys.executable, "-m", "celery", "-A", "patent_platform", "worker", "--pool=solo", "-l", "warning"]
    return subprocess.Popen([*command, "-n", f"outbox-{os.getpid()}@%h"], cwd=ROOT, env=env)


def sent_messages(mail_dir: Path) -> list[email.message.Message]:
    """Every message the worker wrote (the file backend writes one file per connection)."""
    messages = []
    for path in sorted(mail_dir.glob("*.log")):
        for chunk in path.read_text(encoding="utf-8").split("-" * 79):
            if chunk.strip():
                messages.append(email.message_from_string(chunk.strip() + "\n"))
    return messages


def subject(message: email.message.Message) -> str:
    return str(email.header.make_header(email.header.decode_header(message["Subject"])))


def test_filings_and_decisions_while_redis_is_down_are_saved_and_each_notice_is_sent_once_after_recovery(
    transactional_db: None, reference: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    reviewer = UserFactory(role=Role.REVIEWER)
    unit = FilingUnitFactory(contact_email="")
    filer = MemberFactory(unit=unit).user
    versions = [ProductVersionFactory(unit=unit, user=filer) for _ in range(APPROVALS + 1)]
    returned = versions.pop()
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    server = start_redis(port)
    worker = None
    try:
        with broker(url):
            server.terminate()  # our own Redis, not the machine's
            server.wait(timeout=20)
            web_filer, client = Client(), Client()
            web_filer.force_login(filer)
            client.force_login(reviewer)
            with caplog.at_level(logging.ERROR, logger="patent_platform.celery"):
                for version in [*versions, returned]:  # the filer submits on the web
                    response = web_filer.post(reverse("enterprise:version_submit", args=[version.pk]))
                    assert response.status_code == 302, response.content.decode()[:500]
                for version in versions:  # the reviewer approves five
                    started = time.monotonic()
                    response = client.post(reverse("review:approve", args=[version.pk]))
                    assert response.status_code == 302, response.content.decode()[:500]
                    assert time.monotonic() - started < 15  # not held up by the broker
                response = client.post(reverse("review:return", args=[returned.pk]), {"reason_sales": "请核对销售额。"})
                assert response.status_code == 302, response.content.decode()[:500]
            assert "could not enqueue task patent_platform.deliver_notices" in caplog.text
            decided = ProductVersion.objects.filter(pk__in=[v.pk for v in versions], status=FilingStatus.APPROVED)
            assert decided.count() == APPROVALS  # all saved
            assert ProductVersion.objects.get(pk=returned.pk).status == FilingStatus.RETURNED
            due = Notice.objects.filter(kind="filings.transition")
            assert due.count() == APPROVALS + 1
            assert set(due.values_list("status", flat=True)) == {NoticeStatus.PENDING}

            server = start_redis(port)  # Redis is back
            worker = start_worker(url, mail_dir)
            assert deliver_notices.delay() is not None  # what beat sends every minute
            deadline = time.monotonic() + 60
            while due.filter(status=NoticeStatus.SENT).count() < APPROVALS + 1:
                assert worker.poll() is None, "the worker died"
                assert time.monotonic() < deadline, list(due.values("status", "attempts", "last_error"))
                time.sleep(0.3)
            # the sweep again (a minute later), twice: nothing more is sent
            for _ in range(2):
                deliver_notices.delay().get(timeout=30, disable_sync_subtasks=False)
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            worker.wait(timeout=30)
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=20)
    messages = sent_messages(mail_dir)
    expected = [f"【专利产品备案】{v.name}：已通过备案" for v in versions] + [
        f"【专利产品备案】{returned.name}：已退回修改"
    ]
    assert sorted(subject(m) for m in messages) == sorted(expected)  # one each, none twice
    assert {m["To"] for m in messages} == {filer.email}
