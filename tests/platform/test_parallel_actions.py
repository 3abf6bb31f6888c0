"""Concurrency without 500s (issue 17, mechanism 5; docs/ONE_TRUTH.md §5): every state-changing action of the
filing workflow, the certification rounds, the port applications and the publications, fired twice at the
same moment, on both engines.

- PostgreSQL (`postgres`): two threads, each with its own database connection and its own signed-in client,
  released by a barrier, POST the same page or API action. Exactly one wins; the other is told that another
  action was taken first (409 on a page that shows itself again and on the API, or a redirect whose page
  says so); nothing answers 500; the transition, the audit record and the notices are written once.
- SQLite (`embedded`): the embedded default as `make run` starts it (a SQLite file, `runserver`, tasks
  in-process; the machinery of tests/platform/test_embedded.py), one server for every action: two sessions
  POST at the same moment. Before: a lost race answered 500 "database is locked" or did the action twice.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from evaluation import industry, publicity, rounds
from evaluation.choices import CandidateStatus, Stage
from evaluation.models import AdditionalInfo, Assignment, Candidate, Objection, Round
from filings import rules, workflow
from filings.choices import FilingStatus
from filings.models import Product, ProductVersion, Transition
from patent_platform.choices import AuditAction
from patent_platform.models import AuditEvent, Notice, User
from provincial import applications
from provincial.choices import ApplicationStatus, PublicationKind, PublicationStatus
from provincial.models import NATIONAL_SCOPE, ManagementUnit, PortApplication, Publication
from provincial.publications import services as publications
from tests.evaluation.conftest import INFO, SCORES, filer_of, walk_second_round
from tests.platform.test_embedded import ROOT, SERVER_GROUP, Embedded, embedded_env, sign_in

LOST = "另一操作已先完成"  # the start of every lost race's message (patent_platform/concurrency.py)
BACKEND = "django.contrib.auth.backends.ModelBackend"
S = FilingStatus


# ---------------------------------------------------------------------------------------------
# Two at once


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at the same moment, each in its own thread (its own database connection); their
    results, or the exception each raised."""
    barrier = threading.Barrier(len(calls), timeout=30)
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[i] = call()
        except BaseException as exc:
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert not any(t.is_alive() for t in threads), "an action hung"
    return results


def page(user: User) -> Client:
    client = Client(raise_request_exception=False)  # a 500 is an answer here, not an exception
    client.force_login(user, backend=BACKEND)
    return client


def api(user: User) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(user)
    return client


def body(response: Any) -> str:
    return response.content.decode(errors="replace")


def shown_after(client: Client, response: Any) -> str:
    """What the user sees: the page itself, or the page the redirect leads to (with its messages)."""
    if response.status_code == 302:
        return body(client.get(response["Location"]))
    return body(response)


def race_pages(url: str, clients: list[Client], data: dict[str, Any] | None = None) -> list[tuple[int, str]]:
    """POST `url` from each client at once: (status, what the user then sees) for each."""
    answers = at_once(*[lambda c=c: c.post(url, data or {}) for c in clients])
    for answer in answers:
        assert not isinstance(answer, BaseException), answer
    return [(a.status_code, shown_after(c, a)) for a, c in zip(answers, clients, strict=True)]


def race_api(url: str, clients: list[APIClient], data: dict[str, Any] | None = None) -> list[Any]:
    answers = at_once(*[lambda c=c: c.post(url, data or {}, format="json") for c in clients])
    for answer in answers:
        assert not isinstance(answer, BaseException), answer
    return answers


def one_won_on_pages(answers: list[tuple[int, str]], *, won: int = 302, lost: tuple[int, ...] = (409, 302)) -> None:
    """Exactly one of two page answers is the success, the other says another action was taken first."""
    codes = [code for code, _ in answers]
    assert all(code < 500 for code in codes), codes
    losers = [i for i, (_, html) in enumerate(answers) if LOST in html]
    assert len(losers) == 1, (codes, [html[:0] for _, html in answers], losers)
    (loser,) = losers
    assert answers[1 - loser][0] == won, codes
    assert answers[loser][0] in lost, codes


def one_won_on_api(answers: list[Any], won: int = 200) -> None:
    codes = sorted(a.status_code for a in answers)
    assert codes == sorted([won, 409]), [(a.status_code, a.content[:300]) for a in answers]
    (loser,) = [a for a in answers if a.status_code == 409]
    assert loser.json()["detail"].startswith(LOST), loser.json()


class Written:
    """The rows an action writes, counted from a moment on: audit records per (action, object) and notices
    per (kind, recipient) — each written once, whatever the race."""

    def __init__(self) -> None:
        self.audit = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        self.notices = Notice.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    def events(self, obj: Any, action: str = AuditAction.TRANSITION) -> int:
        return AuditEvent.objects.filter(
            pk__gt=self.audit, action=action, object_type=obj._meta.label, object_id=str(obj.pk)
        ).count()

    def notices_once(self) -> None:
        rows = Notice.objects.filter(pk__gt=self.notices).values_list("kind", "recipient")
        twice = [key for key, n in Counter(rows).items() if n > 1]
        assert not twice, twice


# ---------------------------------------------------------------------------------------------
# PostgreSQL: threads with their own connections


def _draft() -> ProductVersion:
    for version in ProductVersion.objects.filter(status=S.DRAFT).select_related("product__unit").order_by("pk"):
        if not rules.version_rule_errors(version):
            return version
    raise AssertionError("the demo has no submittable draft")


def _approvable() -> ProductVersion:
    pending = ProductVersion.objects.filter(status__in=[S.SUBMITTED, S.RESUBMITTED]).order_by("pk")
    for version in pending.select_related("product__unit"):
        if not rules.version_findings(version):
            return version
    raise AssertionError("the demo has no filing to approve")


@pytest.mark.postgres
def test_filing_actions_twice_at_once_on_postgres(
    transactional_db: None, demo: None, demo_users: dict[str, User]
) -> None:
    reviewer, national = demo_users["reviewer"], demo_users["national"]
    version = _draft()
    filer = filer_of(version)
    filers = [page(filer), page(filer)]
    reviewers = [page(reviewer), page(national)]

    # submit (the filer's page, two sessions): a redirect each, one of them says the other came first
    written = Written()
    answers = race_pages(reverse("enterprise:version_submit", args=[version.pk]), filers)
    one_won_on_pages(answers, lost=(302,))
    assert Transition.objects.filter(version=version, action="submit").count() == 1
    assert written.events(version) == 1
    written.notices_once()

    # return (the review page): one redirect, one page again with 409
    written = Written()
    url = reverse("review:return", args=[version.pk])
    one_won_on_pages(race_pages(url, reviewers, {"reason_general": "请补充产品图片。"}))
    assert Transition.objects.filter(version=version, action="return").count() == 1
    assert version.return_reasons.count() == 1
    assert written.events(version) == 1
    written.notices_once()

    # resubmit (the API), approve (the review page), then revoke (the API) and approve again … withdraw
    written = Written()
    pid = version.product_id
    one_won_on_api(race_api(f"/api/v1/products/{pid}/submit/", [api(filer), api(filer)]))
    assert Transition.objects.filter(version=version, action="resubmit").count() == 1
    assert written.events(version) == 1

    written = Written()
    one_won_on_pages(race_pages(reverse("review:approve", args=[version.pk]), reviewers))
    assert Transition.objects.filter(version=version, action="approve").count() == 1
    assert written.events(version) == 1
    assert written.events(Product.objects.get(pk=pid), AuditAction.UPDATE) == 1  # one filing number
    written.notices_once()

    written = Written()
    data = {"reason": "产品停产"}
    one_won_on_pages(race_pages(reverse("enterprise:version_withdraw", args=[version.pk]), filers, data), lost=(302,))
    assert Transition.objects.filter(version=version, action="withdraw").count() == 1
    assert written.events(version) == 1

    # another filing: approved on the API, revoked on the review page
    other = _approvable()
    written = Written()
    one_won_on_api(race_api(f"/api/v1/products/{other.product_id}/approve/", [api(reviewer), api(national)]))
    assert Transition.objects.filter(version=other, action="approve").count() == 1
    assert written.events(other) == 1
    written.notices_once()
    written = Written()
    url = reverse("review:revoke", args=[other.pk])
    one_won_on_pages(race_pages(url, reviewers, {"reason": "专利已失效"}))
    assert Transition.objects.filter(version=other, action="revoke").count() == 1
    assert written.events(other) == 1
    written.notices_once()

    # the yearly update of an approved product (its data of the year before last): one new draft
    single = ProductVersion.objects.filter(status=S.APPROVED).exclude(pk=other.pk).select_related("product")
    approved = next(v for v in single.order_by("pk") if v.product.versions.count() == 1)
    ProductVersion.objects.filter(pk=approved.pk).update(data_year=workflow.default_data_year() - 1)
    product = approved.product
    owner = filer_of(product.versions.first())
    count = product.versions.count()
    url = reverse("enterprise:product_yearly_update", args=[product.pk])
    answers = race_pages(url, [page(owner), page(owner)])
    assert all(code < 500 for code, _ in answers) and sum(LOST in html for _, html in answers) == 1, answers
    assert product.versions.count() == count + 1

    # the opt-in: the same choice twice is one change (both answers say it is chosen), one audit record
    latest = ProductVersion.objects.filter(status=S.APPROVED, certification_opt_in=False).first()
    owner = filer_of(latest)
    written = Written()
    url = reverse("enterprise:version_opt_in", args=[latest.pk])
    answers = race_pages(url, [page(owner), page(owner)], {"opt_in": "1"})
    assert [code for code, _ in answers] == [302, 302]
    assert ProductVersion.objects.get(pk=latest.pk).certification_opt_in
    assert written.events(latest, AuditAction.UPDATE) == 1


@pytest.mark.postgres
def test_round_actions_twice_at_once_on_postgres(
    transactional_db: None, demo: None, demo_users: dict[str, User]
) -> None:
    national = demo_users["national"]
    rnd = walk_second_round(national, Stage.PATENT)
    admins = [page(national), page(national)]
    action = lambda name: reverse("certification:round_action", args=[rnd.pk, name])  # noqa: E731
    today = workflow.china_today()

    written = Written()
    due = {"info_due": (today + dt.timedelta(days=10)).isoformat()}
    one_won_on_pages(race_pages(action("request-information"), admins, due))
    assert Round.objects.get(pk=rnd.pk).stage == Stage.INFO
    assert written.events(rnd) == 1
    written.notices_once()

    # the filer's information, twice at once: the same answer is one change
    candidates = list(rnd.candidates.filter(status=CandidateStatus.INFO_REQUESTED).select_related("version"))
    first = candidates[0]
    written = Written()
    answers = at_once(
        *[lambda: rounds.information_submit(candidate_id=first.pk, user=filer_of(first.version), data=INFO)] * 2
    )
    assert not [a for a in answers if isinstance(a, BaseException)], answers
    info = AdditionalInfo.objects.get(candidate=first)
    assert written.events(info, AuditAction.CREATE) + written.events(info, AuditAction.UPDATE) == 1
    for candidate in candidates[1:]:
        rounds.information_submit(candidate_id=candidate.pk, user=filer_of(candidate.version), data=INFO)

    written = Written()
    one_won_on_api(
        race_api(
            f"/api/v1/evaluation/rounds/{rnd.pk}/start-industry-evaluation/",
            [api(national)] * 2,
            {"confirm": True, "reason": "全部企业已提交补充材料，提前开始。"},
        )
    )
    assert Round.objects.get(pk=rnd.pk).stage == Stage.INDUSTRY
    assert written.events(rnd) == 1
    assigned = Assignment.objects.filter(candidate__round=rnd).count()
    assert assigned == rnd.experts_per_product * Candidate.objects.filter(round=rnd, status="expert_review").count()

    # an expert's score, twice at once: one change
    assignments = list(Assignment.objects.filter(candidate__round=rnd).select_related("expert").order_by("pk"))
    one = assignments[0]
    written = Written()
    comments = "技术先进，专利支撑作用明显。"
    answers = at_once(
        *[lambda: industry.score_submit(assignment_id=one.pk, user=one.expert, scores=SCORES, comments=comments)] * 2
    )
    assert not [a for a in answers if isinstance(a, BaseException)], answers
    assert written.events(one, AuditAction.SCORE) == 1
    for assignment in assignments[1:]:
        industry.score_submit(assignment_id=assignment.pk, user=assignment.expert, scores=SCORES, comments=comments)

    # publicity that ended yesterday, so that the round can be finalised now
    written = Written()
    data = {"days": 1, "start": (today - dt.timedelta(days=1)).isoformat()}
    one_won_on_pages(race_pages(action("start-publicity"), admins, data))
    assert Round.objects.get(pk=rnd.pk).stage == Stage.PUBLICITY
    assert written.events(rnd) == 1

    candidate = rnd.candidates.filter(status=CandidateStatus.PROPOSED).first()
    Round.objects.filter(pk=rnd.pk).update(publicity_end=today)  # open for one objection
    objection = publicity.objection_lodge(
        candidate_id=candidate.pk, name="某企业", contact="010-1", reasons="核心专利已被宣告无效。"
    )
    Round.objects.filter(pk=rnd.pk).update(publicity_end=today - dt.timedelta(days=1))
    written = Written()
    url = reverse("certification:objection_decide", args=[objection.pk])
    decision = {"uphold": "0", "decision": "经核实，该专利仍有效，异议不成立。"}
    one_won_on_pages(race_pages(url, admins, decision))
    assert Objection.objects.get(pk=objection.pk).status == "dismissed"
    assert written.events(objection, AuditAction.UPDATE) == 1

    written = Written()
    one_won_on_pages(race_pages(action("finalize"), admins))
    rnd.refresh_from_db()
    assert rnd.stage == Stage.FINAL
    certified = list(
        rnd.candidates.filter(status=CandidateStatus.CERTIFIED).values_list("certificate_number", flat=True)
    )
    assert certified and len(set(certified)) == len(certified)
    assert written.events(rnd) == 1
    written.notices_once()


@pytest.mark.postgres
def test_application_and_publication_actions_twice_at_once_on_postgres(
    transactional_db: None, demo: None, demo_users: dict[str, User], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from tests.provincial.test_applications import contacts, scan

    national = demo_users["national"]
    admins = [page(national), page(national)]
    apps = []
    for code in ("330100", "330200"):
        unit = ManagementUnit.objects.get(code=code)
        apps.append(
            applications.submit_application(
                unit=unit,
                office_name=f"{unit.name}知识产权局",
                person_in_charge="黄局长",
                applicant_email=f"office-{code}@example.cn",
                form_scan=scan(),
                contacts=contacts(
                    {"name": "林管理", "mobile": "13800000001", "email": f"admin-{code}@example.cn", "is_admin": True}
                ),
            )
        )

    written = Written()
    one_won_on_pages(race_pages(reverse("national:application_approve", args=[apps[0].pk]), admins))
    assert PortApplication.objects.get(pk=apps[0].pk).status == ApplicationStatus.APPROVED
    assert ManagementUnit.objects.get(code="330100").contacts.count() == 1
    assert written.events(apps[0]) == 1
    written.notices_once()

    written = Written()
    url = reverse("national:application_return", args=[apps[1].pk])
    one_won_on_pages(race_pages(url, admins, {"reason": "申请表未盖章。"}))
    assert PortApplication.objects.get(pk=apps[1].pk).status == ApplicationStatus.RETURNED
    assert written.events(apps[1]) == 1
    written.notices_once()

    # a rebuild of the national publication of last month: one new edition, one build
    enqueued: list[int] = []
    monkeypatch.setattr(publications, "_enqueue_builds", lambda ids: enqueued.extend(ids))
    month = (workflow.china_today().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    row = Publication.objects.create(
        unit=None,
        scope_key=NATIONAL_SCOPE,
        kind=PublicationKind.MONTHLY,
        period=month,
        status=PublicationStatus.READY,
        built_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    written = Written()
    data = {"kind": "monthly", "period": f"{month:%Y-%m}", "port": NATIONAL_SCOPE}
    answers = race_pages(reverse("national:publications_rebuild"), admins, data)
    assert all(code < 500 for code, _ in answers), answers
    assert sum(LOST in html for _, html in answers) == 1, [code for code, _ in answers]
    row.refresh_from_db()
    assert row.revision == 1 and row.status == PublicationStatus.PENDING
    assert enqueued == [row.pk]
    assert written.events(row) == 1


# ---------------------------------------------------------------------------------------------
# SQLite: the embedded default, one server for every action

SETUP = r"""
import datetime as dt
from django.core.files.uploadedfile import SimpleUploadedFile
from evaluation.choices import Stage
from evaluation.models import Round
from filings import workflow
from filings.models import ProductVersion
from patent_platform.models import User
from provincial import applications
from provincial.models import ManagementUnit
from tests.evaluation.conftest import walk_second_round

national = User.objects.get(email="national@example.cn")
rnd = walk_second_round(national, Stage.PUBLICITY, objections=1)
today = workflow.china_today()
ended = {"publicity_start": today - dt.timedelta(days=9), "publicity_end": today - dt.timedelta(days=2)}
Round.objects.filter(pk=rnd.pk).update(**ended)
pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
ids = []
for code in ("330100", "330200"):
    unit = ManagementUnit.objects.get(code=code)
    ids.append(applications.submit_application(
        unit=unit, office_name=unit.name, person_in_charge="黄局长", applicant_email=f"office-{code}@example.cn",
        form_scan=SimpleUploadedFile("a.pdf", pdf, content_type="application/pdf"),
        contacts=[{"name": "林管理", "post": "", "office_phone": "", "mobile": "13800000001",
                   "email": f"admin-{code}@example.cn", "is_admin": True}],
    ).pk)
from filings.rules import version_findings
pending = [v.pk for v in ProductVersion.objects.filter(status__in=["submitted", "resubmitted"]).order_by("pk")
           if not version_findings(v)]
print("ROUND", rnd.pk, "APPS", *ids, "FILINGS", *pending[:2])
"""


def _shell(env: dict[str, str], code: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _csrf(opener: urllib.request.OpenerDirector, url: str) -> str:
    html = opener.open(url, timeout=60).read().decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def _race_http(
    url: str, referer: str, sessions: list[urllib.request.OpenerDirector], data: dict[str, str]
) -> list[tuple[int, str]]:
    """POST from each session at the same moment; (status, the page then shown) for each."""
    tokens = [_csrf(s, referer) for s in sessions]
    barrier = threading.Barrier(len(sessions), timeout=30)
    answers: list[tuple[int, str]] = [(0, "")] * len(sessions)

    def click(i: int) -> None:
        form = urllib.parse.urlencode({"csrfmiddlewaretoken": tokens[i], **data}).encode()
        request = urllib.request.Request(url, data=form, headers={"Referer": referer})  # noqa: S310 (loopback)
        barrier.wait()
        try:
            with sessions[i].open(request, timeout=120) as answer:  # follows a redirect: the page with the message
                answers[i] = (answer.status, answer.read().decode(errors="replace"))
        except urllib.error.HTTPError as exc:
            answers[i] = (exc.code, exc.read().decode(errors="replace"))

    threads = [threading.Thread(target=click, args=(i,)) for i in range(len(sessions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=150)
    return answers


def _one_won(answers: list[tuple[int, str]], what: str) -> None:
    codes = [code for code, _ in answers]
    assert all(code < 500 for code in codes), (what, codes, [html[:300] for _, html in answers])
    assert sum(LOST in html for _, html in answers) == 1, (what, codes)


@pytest.mark.embedded
@SERVER_GROUP
def test_every_action_twice_at_once_on_the_embedded_default(server: Embedded, tmp_path: Any) -> None:
    """The reported defect: two approvals of a port application, or two finalisations of a round, at the same
    moment on the embedded default — one answered 500 "database is locked". Now one wins and the other is
    told; and so for the filing workflow's actions."""
    env = embedded_env(tmp_path)
    ids = _shell(env, SETUP).split()
    round_id, apps = ids[ids.index("ROUND") + 1], ids[ids.index("APPS") + 1 : ids.index("FILINGS")]
    pending = ids[ids.index("FILINGS") + 1 :]
    db = sqlite3.connect(server.db)
    url = server.url

    def count(sql: str, *params: Any) -> int:
        return db.execute(sql, params).fetchone()[0]

    national = [sign_in(url, "national@example.cn")[0] for _ in range(2)]
    reviewer = [sign_in(url, "reviewer@example.cn")[0], national[0]]

    # the port application: approve one, return the other
    for app_id, action, data in ((apps[0], "approve", {}), (apps[1], "return", {"reason": "申请表未盖章。"})):
        detail = f"{url}/national/applications/{app_id}/"
        _one_won(_race_http(f"{detail}{action}/", detail, national, data), f"application {action}")
    assert (
        count(
            "SELECT COUNT(*) FROM provincial_portcontact pc JOIN provincial_managementunit u ON u.id = pc.unit_id"
            " WHERE u.code = '330100'"
        )
        == 1
    )

    # the round: the objection decided, then the final list
    objection = count(
        "SELECT o.id FROM evaluation_objection o JOIN evaluation_candidate c ON c.id = o.candidate_id"
        " WHERE c.round_id = ?",
        round_id,
    )
    detail = f"{url}/certification/rounds/{round_id}/"
    decision = {"uphold": "0", "decision": "经核实，该专利仍有效，异议不成立。"}
    _one_won(_race_http(f"{url}/certification/objections/{objection}/decide/", detail, national, decision), "objection")
    _one_won(_race_http(f"{detail}actions/finalize/", detail, national, {}), "finalize")
    assert count("SELECT stage = 'final' FROM evaluation_round WHERE id = ?", round_id) == 1
    assert (
        count(
            "SELECT COUNT(*) FROM patent_platform_auditevent WHERE object_type = 'evaluation.Round' AND object_id = ?"
            " AND message = '公布认定结果'",
            round_id,
        )
        == 1
    )

    # the filings: approve and return a submitted filing each, then revoke the approved one
    assert len(pending) == 2, pending
    reasons = {"approve": {}, "return": {"reason_general": "请补充图片。"}, "revoke": {"reason": "专利已失效"}}
    for version_id, action in ((pending[0], "approve"), (pending[1], "return"), (pending[0], "revoke")):
        detail = f"{url}/review/versions/{version_id}/"
        before = count("SELECT COALESCE(MAX(id), 0) FROM filings_transition")
        _one_won(_race_http(f"{detail}{action}/", detail, reviewer, reasons[action]), f"filing {action}")
        sql = "SELECT COUNT(*) FROM filings_transition WHERE version_id = ? AND action = ? AND id > ?"
        assert count(sql, version_id, action, before) == 1, action
    db.close()


# ---------------------------------------------------------------------------------------------
# SQLite busy: the bounded retry of BEGIN IMMEDIATE, and 503 instead of 500


def test_begin_is_retried_a_few_times_while_sqlite_is_locked_and_only_then() -> None:
    from django.db import OperationalError

    from patent_platform.concurrency import BEGIN_ATTEMPTS, begin_with_retry

    calls: list[int] = []
    pauses: list[float] = []

    def locked_twice() -> None:
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("database is locked")

    begin_with_retry(locked_twice, sleep=pauses.append)
    assert len(calls) == 3 and len(pauses) == 2 and all(0 < p < 1 for p in pauses)

    always: list[int] = []

    def locked() -> None:
        always.append(1)
        raise OperationalError("database is locked")

    with pytest.raises(OperationalError):
        begin_with_retry(locked, sleep=lambda _s: None)
    assert len(always) == BEGIN_ATTEMPTS  # bounded

    other: list[int] = []

    def broken() -> None:
        other.append(1)
        raise OperationalError("no such table: x")

    with pytest.raises(OperationalError):
        begin_with_retry(broken, sleep=lambda _s: None)
    assert other == [1]  # only "database is locked" is retried


def test_a_sqlite_connection_waits_out_a_writer_longer_than_its_timeout(tmp_path: Any, django_db_blocker: Any) -> None:
    """A real SQLite file held by another writer for longer than the busy timeout: BEGIN IMMEDIATE fails
    once, then the retry gets the lock (every SQLite connection has the retry: `connection_created`)."""
    from django.db import OperationalError
    from django.db.utils import ConnectionHandler

    path = tmp_path / "busy.sqlite3"
    sqlite3.connect(path).close()
    options = {"timeout": 0.05, "transaction_mode": "IMMEDIATE"}
    handler = ConnectionHandler(
        {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path), "OPTIONS": options}}
    )
    conn = handler["default"]  # a handler of its own: the test database is not touched
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.12, lambda: holder.execute("COMMIT"))
    with django_db_blocker.unblock():
        conn.ensure_connection()
        try:
            with pytest.raises(OperationalError):  # Django's own BEGIN, without the retry, fails at once
                type(conn)._start_transaction_under_autocommit(conn)
            release.start()
            conn._start_transaction_under_autocommit()  # with the retry: waits out the writer
            conn.connection.execute("ROLLBACK")
        finally:
            release.cancel()
            holder.close()
            conn.close()


def test_a_view_that_meets_a_busy_sqlite_answers_503_not_500(rf: Any) -> None:
    from django.db import OperationalError

    from patent_platform.concurrency import BusyDatabaseMiddleware

    middleware = BusyDatabaseMiddleware(lambda request: None)  # type: ignore[arg-type, return-value]
    page = middleware.process_exception(rf.post("/review/versions/1/approve/"), OperationalError("database is locked"))
    assert page is not None and page.status_code == 503 and page["Retry-After"]
    answer = middleware.process_exception(
        rf.post("/api/v1/products/1/approve/"), OperationalError("database is locked")
    )
    assert answer is not None and answer.status_code == 503
    assert json.loads(answer.content)["code"] == "database_busy"
    assert middleware.process_exception(rf.get("/"), OperationalError("no such table")) is None
