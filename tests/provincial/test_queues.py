"""Queues by kind (issue 21, part 3): mail, publications, imports, legal-status work and the engine's runs
each go to a queue of their own (settings.TASK_QUEUES), so a worker of one kind never waits behind another
kind's long task: a password mail goes out while a monthly publication is still building.

The routing test reads Celery's own router; the worker test starts two real worker processes on the
PostgreSQL test database and the Redis broker, as a deployment runs them (`-Q`)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings

from patent_platform import clock, recovery
from patent_platform.celery import app
from patent_platform.models import Notice, NoticeStatus
from provincial.choices import PublicationKind as K
from provincial.choices import PublicationStatus as S
from provincial.publications import services
from tests.factories import UserFactory
from tests.processes import wait_for
from tests.provincial.test_publication_worker import open_only, temporaries

# the kind of work → the queue the issue asks for it
EXPECTED = {
    "patent_platform.deliver_notices": "mail",
    "filings.tasks.notify_transition": "mail",
    "evaluation.tasks.notify_candidates": "mail",
    "provincial.tasks.build_publication": "publications",
    "provincial.tasks.monthly_publications": "publications",
    "provincial.tasks.yearend_publications": "publications",
    "provincial.tasks.sweep_publications": "publications",
    "provincial.tasks.deliver_subscriptions": "publications",
    "filings.tasks.run_import": "imports",
    "filings.tasks.run_credit_list_import": "imports",
    "provincial.tasks.run_roster_upload": "imports",
    "filings.tasks.run_status_import": "legal_status",
    "evaluation.recheck_certificates": "legal_status",
    "evaluation.tasks.run_patent_evaluation": "evaluation",
    "provincial.tasks.rebuild_summary": "default",
}


def queue_of(task_name: str) -> str:
    return app.amqp.router.route({}, task_name)["queue"].name


def test_every_task_goes_to_a_declared_queue_and_each_kind_to_its_own() -> None:
    app.loader.import_default_modules()
    names = sorted(n for n in app.tasks if not n.startswith("celery."))
    assert len(names) >= 20
    declared = set(settings.TASK_QUEUES)
    assert {q.name for q in app.conf.task_queues} == declared  # a worker without -Q consumes them all
    assert {name: queue_of(name) for name in names if queue_of(name) not in declared} == {}
    assert {name: queue_of(name) for name in EXPECTED} == EXPECTED
    # a task sent by name (beat, send_task) is routed the same way as one sent by its function
    assert app.amqp.router.route({}, "provincial.tasks.build_publication")["queue"].name == "publications"


PAUSE = 40  # seconds the publication build waits half-way: the mail must go out within them


@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored", "ignore::RuntimeWarning")
def test_a_password_mail_goes_out_while_a_publication_is_building(
    start_worker: Callable[..., subprocess.Popen], media: Path
) -> None:
    open_only("440300")
    period = clock.previous_month()
    target = next(r for r in services.ensure_publications(K.MONTHLY, period) if r.scope_key == "440300")
    folder = f"publications/monthly/{period:%Y-%m}"  # in the storage: MEDIA_ROOT, or the object store
    # one worker of the slow kinds (its single process held by the build), one of mail, as docker-compose runs
    builder = start_worker(queues="publications,default", PUBLICATION_TEST_PAUSE=str(PAUSE))
    mailer = start_worker(queues="mail")
    app.send_task("provincial.tasks.build_publication", args=[target.pk])

    def half_way() -> bool:
        target.refresh_from_db()
        return target.status == S.BUILDING and target.progress == 90 and len(temporaries(folder)) == 2

    wait_for(half_way, "the build paused half-way", 120, [builder])

    user = UserFactory(email="forgot-queue@example.cn")
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False  # the kick goes through the broker, as in production
    try:
        assert recovery.password_reset_request(email=user.email)
    finally:
        app.conf.task_always_eager = eager
    notice = Notice.objects.get(recipient=user.email)

    def sent() -> bool:
        notice.refresh_from_db()
        return notice.status == NoticeStatus.SENT

    wait_for(sent, "the password mail sent by the mail worker", PAUSE - 10, [mailer])
    target.refresh_from_db()
    assert target.status == S.BUILDING  # the mail did not wait for the publication
    builder.kill()  # its paused build need not finish: the test's database and Redis are cleared after
    builder.wait()
