"""Webhooks of a filing unit (issue 24, "told, not polled"; filings/webhooks.py).

A real HTTPS receiver runs on loopback (http.server in a thread behind TLS, a self-signed certificate made
for the test, trusted through WEBHOOK_CA_BUNDLE; WEBHOOK_ALLOW_PRIVATE_HOSTS lets the platform post to
127.0.0.1). The receiver checks every request's Standard Webhooks signature with the endpoint's secret, as an
enterprise's system would, and answers 401 to a bad one. Time moves forward by passing `now` to the sender,
never by sleeping.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from filings import drift, webhooks, workflow
from filings.choices import LegalStatus
from filings.models import (
    FilingUnit,
    PatentRight,
    ProductVersion,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEndpointStatus,
)
from patent_platform.choices import AuditAction, Role
from patent_platform.models import AuditEvent, User
from tests.factories import PortAdminFactory
from tests.webhook_receiver import Receiver

BACKEND = "django.contrib.auth.backends.ModelBackend"
D = WebhookDeliveryStatus
E = WebhookEndpointStatus


def register(receiver: Receiver, unit: FilingUnit, user: User, **kwargs: Any) -> WebhookEndpoint:
    endpoint = webhooks.endpoint_create(unit=unit, user=user, url=kwargs.pop("url", receiver.url), **kwargs)
    receiver.secret = endpoint.secret
    return endpoint


@pytest.fixture
def active_endpoint(receiver: Receiver, unit_a: FilingUnit, filer_a: User) -> WebhookEndpoint:
    endpoint = register(receiver, unit_a, filer_a)
    assert webhooks.deliver_due() == {"delivered": 1, "retrying": 0, "dead": 0}
    endpoint.refresh_from_db()
    assert endpoint.status == E.ACTIVE and endpoint.verified_at is not None
    receiver.requests.clear()
    return endpoint


@pytest.fixture
def submitted(new_version: Callable[..., ProductVersion], unit_a: FilingUnit, filer_a: User) -> ProductVersion:
    version = new_version(unit_a, filer_a)
    workflow.version_submit(version=version, user=filer_a)
    return version


def page(user: User) -> Client:
    client = Client()
    client.force_login(user, backend=BACKEND)
    return client


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# ---------------------------------------------------------------------------------------------
# Delivery


def test_the_signature_follows_the_standard_webhooks_test_vector() -> None:
    # the published vector of the specification's libraries
    body = b'{"test": 2432232314}'
    assert (
        webhooks.sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )
    secret = webhooks.new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32


def test_an_approval_is_delivered_signed_after_failing_twice(
    receiver: Receiver,
    active_endpoint: WebhookEndpoint,
    submitted: ProductVersion,
    reviewer: User,
    settings: Any,
) -> None:
    workflow.version_approve(version=submitted, user=reviewer)
    submitted.refresh_from_db()
    delivery = WebhookDelivery.objects.get(endpoint=active_endpoint, event_type="filing.approved")
    receiver.script = [500, 500]

    t0 = timezone.now()
    assert webhooks.deliver_due(now=t0)["retrying"] == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (D.RETRYING, 1, 500)
    assert delivery.next_attempt_at == t0 + dt.timedelta(minutes=1)
    assert webhooks.deliver_due(now=t0 + dt.timedelta(seconds=59)) == {"delivered": 0, "retrying": 0, "dead": 0}

    t1 = t0 + dt.timedelta(minutes=1)
    assert webhooks.deliver_due(now=t1)["retrying"] == 1
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.next_attempt_at) == (2, t1 + dt.timedelta(minutes=5))

    assert webhooks.deliver_due(now=t1 + dt.timedelta(minutes=5))["delivered"] == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (D.DELIVERED, 3, 200)
    assert delivery.delivered_at is not None and delivery.last_error == ""

    sent = receiver.events("filing.approved")
    assert len(sent) == 3 and all(r["signature_ok"] for r in sent)
    assert len({r["headers"]["webhook-id"] for r in sent}) == 1 == len({r["body"] for r in sent})
    assert sent[0]["headers"]["webhook-id"] == str(delivery.event_id)
    assert [int(r["headers"]["webhook-timestamp"]) for r in sent] == [
        int(t.timestamp()) for t in (t0, t1, t1 + dt.timedelta(minutes=5))
    ]
    data = sent[0]["json"]["data"]
    assert data["filing_number"] == submitted.product.filing_number and data["status"] == "approved"
    assert (data["product_name"], data["data_year"], data["version_id"]) == (
        submitted.name,
        submitted.data_year,
        submitted.pk,
    )
    assert "@" not in sent[0]["body"].decode()  # no personal data (e-mail addresses, names of people)


def test_a_delivery_is_dead_after_the_last_attempt(
    receiver: Receiver, active_endpoint: WebhookEndpoint, submitted: ProductVersion, reviewer: User, settings: Any
) -> None:
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    workflow.version_approve(version=submitted, user=reviewer)
    receiver.script = [503, 503]
    now = timezone.now()
    webhooks.deliver_due(now=now)
    assert webhooks.deliver_due(now=now + dt.timedelta(minutes=1))["dead"] == 1
    delivery = WebhookDelivery.objects.get(event_type="filing.approved")
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (D.DEAD, 2, None)
    assert webhooks.deliver_due(now=now + dt.timedelta(days=1))["delivered"] == 0


def test_return_revoke_and_flag_are_events_with_their_reasons(
    receiver: Receiver,
    active_endpoint: WebhookEndpoint,
    submitted: ProductVersion,
    reviewer: User,
    filer_a: User,
) -> None:
    workflow.version_return(version=submitted, user=reviewer, reasons={"sales": "销售额与发票不符"})
    workflow.version_submit(version=submitted, user=filer_a)
    workflow.version_approve(version=submitted, user=reviewer)
    patent = PatentRight.objects.get(links__version=submitted).patent
    with transaction.atomic():
        drift.legal_status_apply(
            rows=[drift.Row(number=2, patent=patent.number, status=LegalStatus.LAPSED)], source=None, user=reviewer
        )
    workflow.version_revoke(version=submitted, user=reviewer, reason="专利失效")
    webhooks.deliver_due()
    by_type = {r["json"]["type"]: r["json"]["data"] for r in receiver.requests}
    assert list(by_type) == ["filing.returned", "filing.approved", "filing.flagged", "filing.revoked"]
    assert by_type["filing.returned"]["reasons"] == [{"field": "sales", "message": "销售额与发票不符"}]
    assert by_type["filing.flagged"]["patent_number"] == patent.number
    assert by_type["filing.flagged"]["legal_status"] == LegalStatus.LAPSED
    assert by_type["filing.revoked"]["reason"] == "专利失效" and by_type["filing.revoked"]["status"] == "revoked"
    assert all(r["signature_ok"] for r in receiver.requests)


def test_a_certificate_is_an_event_for_the_units_endpoints_only(
    receiver: Receiver,
    active_endpoint: WebhookEndpoint,
    submitted: ProductVersion,
    reviewer: User,
    new_version: Callable[..., ProductVersion],
    unit_b: FilingUnit,
    filer_b: User,
) -> None:
    # evaluation/rounds.py `finalize` hands its certificates over like this (its walk needs the demo world:
    # tests/evaluation/test_rounds.py runs it)
    workflow.version_approve(version=submitted, user=reviewer)
    other = new_version(unit_b, filer_b)
    now = timezone.now()
    items = [
        webhooks.Certified(candidate_id=n, round_id=9, version=v, certificate_number=f"RD2025{n:05d}", certified_at=now)
        for n, v in ((1, submitted), (2, other))
    ]
    with transaction.atomic():
        assert webhooks.emit_certified(items) == 1  # unit B has no endpoint
    webhooks.deliver_due()
    (event,) = receiver.events("product.certified")
    assert event["signature_ok"]
    assert event["json"]["data"]["certificate_number"] == "RD202500001"
    assert event["json"]["data"]["version_id"] == submitted.pk


def test_only_subscribed_events_are_recorded(
    receiver: Receiver, unit_a: FilingUnit, filer_a: User, submitted: ProductVersion, reviewer: User
) -> None:
    endpoint = register(receiver, unit_a, filer_a, events=["filing.revoked"])
    webhooks.deliver_due()
    workflow.version_approve(version=submitted, user=reviewer)
    assert not WebhookDelivery.objects.filter(endpoint=endpoint).exclude(event_type="webhook.verification").exists()


# ---------------------------------------------------------------------------------------------
# Verification and the transaction


def test_a_pending_endpoint_receives_nothing_and_one_that_does_not_echo_stays_pending(
    receiver: Receiver, unit_a: FilingUnit, filer_a: User, submitted: ProductVersion, reviewer: User
) -> None:
    receiver.echo = False  # answers 200 "ok" without the challenge
    endpoint = register(receiver, unit_a, filer_a)
    assert endpoint.status == E.PENDING
    workflow.version_approve(version=submitted, user=reviewer)  # before any verification: not recorded
    assert webhooks.deliver_due()["dead"] == 1
    endpoint.refresh_from_db()
    assert endpoint.status == E.PENDING and endpoint.verified_at is None
    verification = WebhookDelivery.objects.get(endpoint=endpoint)
    assert verification.event_type == "webhook.verification" and verification.last_status_code == 200
    assert "challenge" in verification.last_error
    assert [r["json"]["type"] for r in receiver.requests] == ["webhook.verification"]
    assert receiver.requests[0]["signature_ok"]

    # verify again, with a receiver that now echoes the challenge: active
    receiver.echo = True
    response = api(filer_a).post(reverse("webhook-verify", args=[endpoint.pk]))
    assert response.status_code == 202
    webhooks.deliver_due()
    endpoint.refresh_from_db()
    assert endpoint.status == E.ACTIVE and endpoint.verified_at is not None
    challenges = [r["json"]["data"]["challenge"] for r in receiver.requests]
    assert len(set(challenges)) == 2  # a new challenge each time


def test_a_disabled_endpoint_records_nothing_and_enabling_verifies_again(
    receiver: Receiver, active_endpoint: WebhookEndpoint, submitted: ProductVersion, reviewer: User, filer_a: User
) -> None:
    response = page(filer_a).post(reverse("webhooks:disable", args=[active_endpoint.pk]))
    assert response.status_code == 302
    workflow.version_approve(version=submitted, user=reviewer)
    assert not WebhookDelivery.objects.filter(event_type="filing.approved").exists()
    page(filer_a).post(reverse("webhooks:enable", args=[active_endpoint.pk]))
    active_endpoint.refresh_from_db()
    assert active_endpoint.status == E.PENDING
    webhooks.deliver_due()
    active_endpoint.refresh_from_db()
    assert active_endpoint.status == E.ACTIVE
    assert AuditEvent.objects.filter(
        action=AuditAction.UPDATE, object_id=str(active_endpoint.pk), message="webhook endpoint disabled"
    ).exists()


def test_a_rolled_back_approval_leaves_no_delivery_and_a_committed_one_asks_for_delivery(
    receiver: Receiver,
    active_endpoint: WebhookEndpoint,
    submitted: ProductVersion,
    reviewer: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        workflow.version_approve(version=submitted, user=reviewer)
        assert WebhookDelivery.objects.filter(event_type="filing.approved").count() == 1
        raise RuntimeError("the request fails after the approval")
    assert not WebhookDelivery.objects.filter(event_type="filing.approved").exists()
    submitted.refresh_from_db()
    assert submitted.status != "approved"

    with django_capture_on_commit_callbacks() as callbacks:
        workflow.version_approve(version=submitted, user=reviewer)
    assert WebhookDelivery.objects.filter(event_type="filing.approved").count() == 1
    assert webhooks._kick in callbacks  # the worker is asked for once the approval commits


# ---------------------------------------------------------------------------------------------
# Replay, pages and API


def test_a_replay_resends_the_same_event_with_the_same_webhook_id(
    receiver: Receiver,
    active_endpoint: WebhookEndpoint,
    submitted: ProductVersion,
    reviewer: User,
    filer_a: User,
) -> None:
    workflow.version_approve(version=submitted, user=reviewer)
    webhooks.deliver_due()
    delivery = WebhookDelivery.objects.get(event_type="filing.approved")
    assert delivery.status == D.DELIVERED

    response = api(filer_a).post(reverse("webhook-replay", args=[active_endpoint.pk, delivery.pk]))
    assert response.status_code == 202 and response.json()["status"] == "pending"
    webhooks.deliver_due()
    response = page(filer_a).post(reverse("webhooks:replay", args=[active_endpoint.pk, delivery.pk]))
    assert response.status_code == 302
    webhooks.deliver_due()

    sent = receiver.events("filing.approved")
    assert len(sent) == 3 and all(r["signature_ok"] for r in sent)
    assert {r["headers"]["webhook-id"] for r in sent} == {str(delivery.event_id)}
    delivery.refresh_from_db()
    assert delivery.status == D.DELIVERED and delivery.replayed_at is not None
    assert (
        AuditEvent.objects.filter(object_id=str(delivery.pk), message__startswith="webhook delivery replayed").count()
        == 2
    )

    log = api(filer_a).get(reverse("webhook-deliveries", args=[active_endpoint.pk]))
    assert log.status_code == 200
    assert [d["event_type"] for d in log.json()["results"]] == ["filing.approved", "webhook.verification"]
    detail = page(filer_a).get(reverse("webhooks:detail", args=[active_endpoint.pk]))
    assert detail.status_code == 200
    text = detail.content.decode()
    assert active_endpoint.secret in text and str(delivery.event_id) in text


def test_register_over_the_api_shows_the_secret_once_and_the_pages_manage_it(
    receiver: Receiver, unit_a: FilingUnit, filer_a: User
) -> None:
    response = api(filer_a).post(
        reverse("webhook-list"), {"url": receiver.url, "events": ["filing.approved"]}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_") and body["status"] == "pending" and body["events"] == ["filing.approved"]
    endpoint = WebhookEndpoint.objects.get(pk=body["id"])
    assert "secret" not in api(filer_a).get(reverse("webhook-detail", args=[endpoint.pk])).json()
    assert AuditEvent.objects.filter(action=AuditAction.CREATE, object_id=str(endpoint.pk)).exists()

    client = page(filer_a)
    listing = client.get(reverse("webhooks:list"))
    assert listing.status_code == 200 and receiver.url in listing.content.decode()
    # the same address twice is refused on the field
    again = client.post(reverse("webhooks:list"), {"url": receiver.url, "events": ["filing.approved"]})
    assert again.status_code == 400 and 'data-testid="error-url"' in again.content.decode()

    assert client.get(reverse("webhooks:delete", args=[endpoint.pk])).status_code == 200  # the confirm step
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert client.post(reverse("webhooks:delete", args=[endpoint.pk])).status_code == 302
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert AuditEvent.objects.filter(action=AuditAction.DELETE, object_id=str(endpoint.pk)).exists()


def test_at_most_a_handful_of_endpoints_per_unit(
    receiver: Receiver, unit_a: FilingUnit, filer_a: User, settings: Any
) -> None:
    settings.WEBHOOK_MAX_ENDPOINTS = 2
    register(receiver, unit_a, filer_a)
    register(receiver, unit_a, filer_a, url=receiver.url + "?n=2")
    response = api(filer_a).post(reverse("webhook-list"), {"url": receiver.url + "?n=3"}, format="json")
    assert response.status_code == 400
    assert WebhookEndpoint.objects.filter(unit=unit_a).count() == 2


def test_only_the_units_own_users_see_its_endpoints(
    receiver: Receiver,
    active_endpoint: WebhookEndpoint,
    filer_b: User,
    reviewer: User,
    make_user: Callable[..., User],
    submitted: ProductVersion,
) -> None:
    workflow.version_approve(version=submitted, user=reviewer)
    delivery = WebhookDelivery.objects.get(event_type="filing.approved")
    port = PortAdminFactory(port_code="440000").user
    national = make_user("national-wh@example.cn", Role.NATIONAL_ADMIN)
    pk = active_endpoint.pk
    for user in (filer_b, reviewer, port, national):
        client = page(user)
        for name, args in (
            ("webhooks:detail", [pk]),
            ("webhooks:delete", [pk]),
        ):
            assert client.get(reverse(name, args=args)).status_code == 404, (user.email, name)
        for name, args in (
            ("webhooks:verify", [pk]),
            ("webhooks:disable", [pk]),
            ("webhooks:enable", [pk]),
            ("webhooks:delete", [pk]),
            ("webhooks:replay", [pk, delivery.pk]),
        ):
            assert client.post(reverse(name, args=args)).status_code == 404, (user.email, name)
        listing = client.get(reverse("webhooks:list"))
        assert listing.status_code == (200 if user == filer_b else 404)
        assert active_endpoint.url not in listing.content.decode()

        rest = api(user)
        assert rest.get(reverse("webhook-list")).json()["results"] == []
        assert rest.get(reverse("webhook-detail", args=[pk])).status_code == 404
        assert rest.get(reverse("webhook-deliveries", args=[pk])).status_code == 404
        assert rest.post(reverse("webhook-verify", args=[pk])).status_code == 404
        assert rest.post(reverse("webhook-replay", args=[pk, delivery.pk])).status_code == 404
        assert rest.delete(reverse("webhook-detail", args=[pk])).status_code == 404
        created = rest.post(reverse("webhook-list"), {"url": receiver.url}, format="json")
        assert created.status_code == (201 if user == filer_b else 403), (user.email, created.content)
    active_endpoint.refresh_from_db()
    assert active_endpoint.status == E.ACTIVE
    delivery.refresh_from_db()
    assert delivery.replayed_at is None


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://example.cn/hook", False),
        ("https://127.0.0.1/hook", False),
        ("https://localhost:8443/hook", False),
        ("https://[::1]/hook", False),
        ("https://169.254.169.254/latest", False),
        ("https://10.1.2.3/hook", False),
        ("https://10.1.2.3/hook", True),
    ],
)
def test_only_https_and_no_internal_hosts_without_the_setting(
    url: str, allowed: bool, unit_a: FilingUnit, filer_a: User, settings: Any
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = allowed
    response = api(filer_a).post(reverse("webhook-list"), {"url": url}, format="json")
    if allowed:
        assert response.status_code == 201
        return
    assert response.status_code == 400 and b"url" in response.content
    form = page(filer_a).post(reverse("webhooks:list"), {"url": url, "events": ["filing.approved"]})
    assert form.status_code == 400 and 'data-testid="error-url"' in form.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_sender_refuses_an_address_that_turned_internal(
    receiver: Receiver, active_endpoint: WebhookEndpoint, submitted: ProductVersion, reviewer: User, settings: Any
) -> None:
    workflow.version_approve(version=submitted, user=reviewer)
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False  # the host name now resolves to an internal address
    webhooks.deliver_due()
    delivery = WebhookDelivery.objects.get(event_type="filing.approved")
    assert delivery.status == D.RETRYING and delivery.last_status_code is None and delivery.last_error
    assert receiver.events("filing.approved") == []


@pytest.mark.embedded  # SKIP LOCKED on PostgreSQL; only the conditional UPDATE on the lease on SQLite
def test_two_senders_never_take_the_same_delivery(
    receiver: Receiver, active_endpoint: WebhookEndpoint, submitted: ProductVersion, reviewer: User
) -> None:
    workflow.version_approve(version=submitted, user=reviewer)
    now = timezone.now()
    token, ids = webhooks._claim(now, 10)
    assert len(ids) == 1
    assert webhooks._claim(now, 10)[1] == []  # leased: another sender finds nothing
    assert webhooks._claim(now + webhooks.LEASE + dt.timedelta(seconds=1), 10)[1] == ids  # a lease runs out
    assert WebhookDelivery.objects.filter(pk__in=ids).exclude(claim=token).count() == 1
