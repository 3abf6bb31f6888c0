"""A unit's identity is proven before it files (issue 19, build 1; filings/identity.py, docs/UNITS.md).

Each rule both ways: an unverified unit cannot submit (page and API: the problem `unit_unverified`), a verified
one can; a reviewer accepts or rejects a unit's proof; a claim of a taken USCC accepted (the holder suspended
and told, its drafts kept, the claimant the unit's manager) or rejected (the claimant told why); two reviewers
deciding at once; e-mail confirmation; who may read the proofs (reviewers; an enterprise its own; else 404).
Mails are read from Django's test outbox after the platform's outbox delivered them on commit.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook
from PIL import Image
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from filings import identity, workflow
from filings.choices import FilingStatus, IdentityRequestKind, IdentityRequestStatus, VerificationMethod
from filings.identifiers import build_uscc
from filings.models import FilingUnit, IdentityRequest, ProductVersion, UnitMembership
from patent_platform.choices import AuditAction, Role
from patent_platform.models import AuditEvent, User
from tests.factories import PASSWORD, FilingUnitFactory, MemberFactory, PortAdminFactory, ProductVersionFactory

S = IdentityRequestStatus
BACKEND = "django.contrib.auth.backends.ModelBackend"
STRONG = "Claim-Owner-2026!"


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def pdf(name: str = "letter.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", "application/pdf")


def png(name: str = "licence.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), "image/png")


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user, backend=BACKEND)
    return client


def page(response: Any) -> str:
    return response.content.decode()


def shown(client: Client, response: Any) -> str:
    return page(client.get(response["Location"])) if response.status_code == 302 else page(response)


def mails_to(email: str) -> list[Any]:
    return [m for m in mail.outbox if m.to == [email]]


def link_in(message: Any) -> str:
    return urlsplit(re.search(r"https?://\S+", message.body).group(0)).path


@pytest.fixture
def unverified(reference: None) -> tuple[FilingUnit, User]:
    unit = FilingUnitFactory(verified=False)
    return unit, MemberFactory(unit=unit).user


@pytest.fixture
def reviewer(make_user: Callable[..., User]) -> User:
    return make_user("identity-reviewer@example.cn", Role.REVIEWER)


def verification(unit: FilingUnit, user: User) -> IdentityRequest:
    return identity.verification_submit(user=user, letter=pdf(), licence=png())


# ---------------------------------------------------------------------------------------------
# The rule: an unverified unit prepares drafts but submits none, on every path


def test_an_unverified_unit_keeps_its_draft_but_cannot_submit_on_the_page(
    unverified: tuple[FilingUnit, User],
) -> None:
    unit, filer = unverified
    version = ProductVersionFactory(unit=unit, user=filer)  # a draft: allowed
    client = signed_in(filer)

    home = page(client.get(reverse("enterprise:home")))
    assert 'data-testid="unit-unverified"' in home and reverse("enterprise:identity") in home
    response = client.post(reverse("enterprise:version_submit", args=[version.pk]))

    assert response.status_code == 302
    assert "本单位的身份尚未核验，暂不能提交备案" in shown(client, response)
    version.refresh_from_db()
    assert version.status == FilingStatus.DRAFT
    assert not version.transitions.exists()


def test_the_api_answers_the_problem_unit_unverified_and_a_verified_unit_submits(
    unverified: tuple[FilingUnit, User],
) -> None:
    unit, filer = unverified
    version = ProductVersionFactory(unit=unit, user=filer)
    api = APIClient()
    api.force_authenticate(filer)
    url = f"/api/v1/products/{version.product_id}/submit/"

    refused = api.post(url, {}, format="json")

    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"
    body = refused.json()
    assert body["code"] == "unit_unverified"
    assert body["type"].endswith("/problems/unit_unverified")
    assert "身份尚未核验" in body["detail"]
    english = api.post(url, {}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()["code"] == "unit_unverified"

    identity.unit_verify(unit=unit, method=VerificationMethod.REVIEW)
    accepted = api.post(url, {}, format="json")
    assert accepted.status_code == 200, accepted.content
    version.refresh_from_db()
    assert version.status == FilingStatus.SUBMITTED


def test_a_verified_unit_submits_on_the_page(reference: None) -> None:
    version = ProductVersionFactory()  # the factory's unit is verified
    filer = version.product.unit.memberships.get().user
    client = signed_in(filer)
    assert 'data-testid="unit-unverified"' not in page(client.get(reverse("enterprise:home")))

    client.post(reverse("enterprise:version_submit", args=[version.pk]))

    version.refresh_from_db()
    assert version.status == FilingStatus.SUBMITTED


def test_the_workflow_service_refuses_whoever_calls_it(unverified: tuple[FilingUnit, User]) -> None:
    """The command line, tasks and the demo loader call workflow.version_submit like the pages do."""
    unit, filer = unverified
    version = ProductVersionFactory(unit=unit, user=filer)
    with pytest.raises(identity.UnitUnverified):
        workflow.version_submit(version=version, user=filer)
    assert ProductVersion.objects.get(pk=version.pk).status == FilingStatus.DRAFT


def test_registration_makes_an_unverified_unit(client: Client, reference: None) -> None:
    from tests.filings.test_enterprise_views import registration_data

    client.post(reverse("enterprise:register"), registration_data())
    unit = FilingUnit.objects.get(name="广州注册测试科技有限公司")
    assert unit.verified_at is None and unit.verified_via == ""


# ---------------------------------------------------------------------------------------------
# Verification by a reviewer


def test_the_manager_uploads_proof_a_reviewer_rejects_with_a_reason_then_accepts_the_resubmission(
    unverified: tuple[FilingUnit, User], reviewer: User, django_capture_on_commit_callbacks: Any
) -> None:
    unit, filer = unverified
    client = signed_in(filer)
    empty = page(client.get(reverse("enterprise:identity")))
    assert 'data-status="unverified"' in empty and 'data-testid="identity-upload"' in empty

    # checked by content: a text file named .pdf is refused, with the field named
    fake = SimpleUploadedFile("letter.pdf", b"not a pdf at all", "application/pdf")
    bad = client.post(reverse("enterprise:identity"), {"letter": fake, "licence": png()})
    assert bad.status_code == 400 and 'data-testid="error-letter"' in page(bad)
    assert not IdentityRequest.objects.exists()

    sent = client.post(reverse("enterprise:identity"), {"letter": pdf(), "licence": png(), "note": "请审核"})
    assert sent.status_code == 302
    request = IdentityRequest.objects.get()
    assert (request.kind, request.status, request.applicant) == (IdentityRequestKind.VERIFICATION, S.PENDING, filer)
    assert 'data-status="pending"' in page(client.get(reverse("enterprise:identity")))

    reviewer_client = signed_in(reviewer)
    no_reason = reviewer_client.post(reverse("review:identity_decide", args=[request.pk]), {"decision": "reject"})
    assert no_reason.status_code == 400 and 'data-testid="error-reason"' in page(no_reason)
    with django_capture_on_commit_callbacks(execute=True):
        reviewer_client.post(
            reverse("review:identity_decide", args=[request.pk]),
            {"decision": "reject", "reason": "授权委托书未加盖公章"},
        )
    request.refresh_from_db()
    assert request.status == S.REJECTED and request.decided_by == reviewer
    [told] = mails_to(filer.email)
    assert "未通过" in told.subject and "授权委托书未加盖公章" in told.body
    shown_page = page(client.get(reverse("enterprise:identity")))
    assert 'data-testid="identity-rejected"' in shown_page and "授权委托书未加盖公章" in shown_page
    assert 'data-testid="identity-upload"' in shown_page  # re-submission offered
    assert FilingUnit.objects.get(pk=unit.pk).verified_at is None

    client.post(reverse("enterprise:identity"), {"letter": pdf(), "licence": png()})
    again = IdentityRequest.objects.get(status=S.PENDING)
    with django_capture_on_commit_callbacks(execute=True):
        reviewer_client.post(reverse("review:identity_decide", args=[again.pk]), {"decision": "accept"})
    unit.refresh_from_db()
    assert unit.verified_at is not None and unit.verified_via == VerificationMethod.REVIEW
    assert any("已通过" in m.subject for m in mails_to(filer.email))
    assert 'data-status="verified"' in page(client.get(reverse("enterprise:identity")))
    decisions = AuditEvent.objects.filter(action=AuditAction.TRANSITION, object_type="filings.IdentityRequest")
    assert decisions.count() == 2


def test_a_second_pending_request_is_refused(unverified: tuple[FilingUnit, User]) -> None:
    unit, filer = unverified
    verification(unit, filer)
    with pytest.raises(ValidationError, match="待审核"):
        verification(unit, filer)


# ---------------------------------------------------------------------------------------------
# Claims


@pytest.fixture
def impostor(reference: None, make_user: Callable[..., User]) -> tuple[FilingUnit, User]:
    """Somebody registered a real company's USCC and started a draft."""
    unit = FilingUnitFactory(verified=False, name="深圳真实精密制造有限公司", region_id="440305")
    user = make_user("impostor@example.cn", Role.ENTERPRISE)
    UnitMembership.objects.create(user=user, unit=unit, is_manager=True)
    ProductVersionFactory(unit=unit, user=user)
    return unit, user


def open_claim(unit: FilingUnit, email: str = "owner@real.example.cn") -> tuple[User, IdentityRequest]:
    return identity.claim_open(
        uscc=unit.uscc,
        user_data={"email": email, "full_name": "真实法人", "phone": "13800000000", "password": STRONG},
        letter=pdf(),
        licence=png(),
    )


def test_the_registration_refusal_offers_the_claim_and_the_claim_page_opens_one(
    client: Client, impostor: tuple[FilingUnit, User], django_capture_on_commit_callbacks: Any
) -> None:
    from tests.filings.test_enterprise_views import registration_data

    unit, _holder = impostor
    data = registration_data(uscc=unit.uscc, email="second@real.example.cn")
    refused = client.post(reverse("enterprise:register"), data)
    body = page(refused)
    assert "该统一社会信用代码已注册" in body and 'data-testid="claim-link"' in body
    claim_url = re.search(r'href="([^"]*/enterprise/claim/[^"]*)"', body).group(1).replace("&amp;", "&")
    form = page(client.get(claim_url))
    assert f'value="{unit.uscc}"' in form

    with django_capture_on_commit_callbacks(execute=True):
        opened = client.post(
            reverse("enterprise:claim"),
            {
                "uscc": unit.uscc,
                "email": "owner@real.example.cn",
                "full_name": "真实法人",
                "phone": "13800000000",
                "password1": STRONG,
                "password2": STRONG,
                "letter": pdf(),
                "licence": png(),
            },
        )
    assert opened.status_code == 302
    claim = IdentityRequest.objects.get(kind=IdentityRequestKind.CLAIM)
    assert claim.unit == unit and claim.applicant.email == "owner@real.example.cn"
    assert claim.applicant.email_confirmed_at is None
    [confirm] = mails_to("owner@real.example.cn")
    assert "确认" in confirm.subject


def test_an_accepted_claim_suspends_the_holder_keeps_its_drafts_and_makes_the_claimant_manager(
    impostor: tuple[FilingUnit, User], reviewer: User, django_capture_on_commit_callbacks: Any
) -> None:
    unit, holder = impostor
    holder_session = signed_in(holder)
    token = Token.objects.create(user=holder)
    claimant, claim = open_claim(unit)
    # the holder may not read the claim against its unit, nor its papers
    assert holder_session.get(reverse("documents:identity_proof", args=[claim.pk, "letter"])).status_code == 404

    reviewer_client = signed_in(reviewer)
    detail = page(reviewer_client.get(reverse("review:identity_detail", args=[claim.pk])))
    assert holder.email in detail and 'data-testid="proof-letter"' in detail
    with django_capture_on_commit_callbacks(execute=True):
        reviewer_client.post(reverse("review:identity_decide", args=[claim.pk]), {"decision": "accept"})

    holder.refresh_from_db()
    assert not holder.is_active
    assert not Token.objects.filter(pk=token.pk).exists()
    assert holder_session.get(reverse("enterprise:home")).status_code == 302  # signed out: to the login page
    refused = Client().post(reverse("login"), {"username": holder.email, "password": PASSWORD})
    assert refused.status_code == 200 and "_auth_user_id" not in refused.client.session
    assert ProductVersion.objects.filter(product__unit=unit).count() == 1  # the drafts stay, for the audit
    membership = UnitMembership.objects.get(user=claimant)
    assert membership.unit == unit and membership.is_manager
    unit.refresh_from_db()
    assert unit.verified_via == VerificationMethod.CLAIM
    [suspended] = mails_to(holder.email)
    assert "停用" in suspended.subject and unit.uscc in suspended.body and "保留" in suspended.body
    assert any("认领申请已通过" in m.subject for m in mails_to(claimant.email))
    assert AuditEvent.objects.filter(
        object_type="patent_platform.User", object_id=str(holder.pk), message__startswith="suspended"
    ).exists()

    # the claimant (once its address is confirmed) files for the unit and sees the holder's draft
    User.objects.filter(pk=claimant.pk).update(email_confirmed_at=claim.submitted_at)
    claimant.refresh_from_db()
    home = page(signed_in(claimant).get(reverse("enterprise:home")))
    assert unit.name in home and 'data-testid="unit-unverified"' not in home


def test_a_rejected_claim_tells_the_claimant_why_and_leaves_the_holder_alone(
    impostor: tuple[FilingUnit, User], reviewer: User, django_capture_on_commit_callbacks: Any
) -> None:
    unit, holder = impostor
    claimant, claim = open_claim(unit)
    with django_capture_on_commit_callbacks(execute=True):
        identity.identity_request_decide(request=claim, user=reviewer, accept=False, reason="营业执照名称与单位不符")

    holder.refresh_from_db()
    assert holder.is_active
    assert not UnitMembership.objects.filter(user=claimant).exists()
    [rejected] = [m for m in mails_to(claimant.email) if "认领" in m.subject]
    assert "未通过" in rejected.subject and "营业执照名称与单位不符" in rejected.body
    assert not mails_to(holder.email)
    # the claimant sees its claim and the reason on its home page
    User.objects.filter(pk=claimant.pk).update(email_confirmed_at=claim.submitted_at)
    claimant.refresh_from_db()
    home = page(signed_in(claimant).get(reverse("enterprise:home")))
    assert 'data-testid="my-claim"' in home and "营业执照名称与单位不符" in home


def test_a_claim_needs_a_registered_code_a_new_e_mail_and_valid_proof(impostor: tuple[FilingUnit, User]) -> None:
    _unit, holder = impostor
    free = build_uscc(region_code="440106", org_body="MA5FRE01")
    with pytest.raises(ValidationError) as caught:
        identity.claim_open(
            uscc=free,
            user_data={"email": holder.email, "password": STRONG},
            letter=SimpleUploadedFile("x.pdf", b"plain text"),
            licence=None,
        )
    errors = caught.value.message_dict
    assert set(errors) == {"uscc", "email", "letter", "licence"}
    assert not User.objects.filter(email="owner@real.example.cn").exists()


def test_a_second_decision_is_told_who_decided_first_never_a_500(
    impostor: tuple[FilingUnit, User], reviewer: User, make_user: Callable[..., User]
) -> None:
    unit, _holder = impostor
    _claimant, claim = open_claim(unit)
    other = make_user("second-reviewer@example.cn", Role.REVIEWER)
    first, second = signed_in(reviewer), signed_in(other)
    second.get(reverse("review:identity_detail", args=[claim.pk]))  # both had the page open
    first.post(reverse("review:identity_decide", args=[claim.pk]), {"decision": "accept"})

    late = second.post(reverse("review:identity_decide", args=[claim.pk]), {"decision": "reject", "reason": "x"})

    assert late.status_code == 302
    assert "另一操作已先完成" in shown(second, late)
    claim.refresh_from_db()
    assert claim.status == S.ACCEPTED and claim.decided_by == reviewer


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_reviewers_deciding_at_the_same_moment_one_wins(
    reference: None, make_user: Callable[..., User], settings: Any, tmp_path: Any
) -> None:
    unit = FilingUnitFactory(verified=False)
    holder = MemberFactory(unit=unit).user
    _claimant, claim = open_claim(unit)
    reviewers = [make_user(f"race-{i}@example.cn", Role.REVIEWER) for i in range(2)]
    clients = [Client(raise_request_exception=False) for _ in reviewers]
    for client, user in zip(clients, reviewers, strict=True):
        client.force_login(user, backend=BACKEND)
    barrier = threading.Barrier(2, timeout=30)
    answers: list[Any] = [None, None]
    data = [{"decision": "accept"}, {"decision": "reject", "reason": "材料不符"}]

    def run(i: int) -> None:
        try:
            barrier.wait()
            answers[i] = clients[i].post(reverse("review:identity_decide", args=[claim.pk]), data[i])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert all(a is not None and a.status_code == 302 for a in answers), answers
    told = [shown(c, a) for c, a in zip(clients, answers, strict=True)]
    assert sum("另一操作已先完成" in html for html in told) == 1
    claim.refresh_from_db()
    assert claim.status in (S.ACCEPTED, S.REJECTED)
    decisions = AuditEvent.objects.filter(object_type="filings.IdentityRequest", action=AuditAction.TRANSITION)
    assert decisions.count() == 1
    holder.refresh_from_db()
    assert holder.is_active == (claim.status == S.REJECTED)


# ---------------------------------------------------------------------------------------------
# The identity-provider hook (OIDC is issue 22)


def test_a_trusted_identity_provider_asserting_the_uscc_verifies_at_once(
    unverified: tuple[FilingUnit, User], settings: Any
) -> None:
    unit, filer = unverified
    settings.TRUSTED_IDENTITY_PROVIDERS = ["gov-idp"]
    pending = verification(unit, filer)

    with pytest.raises(PermissionDenied):
        identity.unit_verify_by_identity_provider(
            unit=unit, asserted_uscc=unit.uscc, provider="someone-else", user=filer
        )
    other = build_uscc(region_code="440106", org_body="MA5QTH01")
    with pytest.raises(ValidationError, match="不一致"):
        identity.unit_verify_by_identity_provider(unit=unit, asserted_uscc=other, provider="gov-idp", user=filer)
    assert FilingUnit.objects.get(pk=unit.pk).verified_at is None

    assert identity.unit_verify_by_identity_provider(
        unit=unit, asserted_uscc=unit.uscc.lower(), provider="gov-idp", user=filer
    )
    unit.refresh_from_db()
    assert unit.verified_via == VerificationMethod.IDENTITY_PROVIDER
    pending.refresh_from_db()
    assert pending.status == S.WITHDRAWN
    assert not identity.unit_verify_by_identity_provider(unit=unit, asserted_uscc=unit.uscc, provider="gov-idp")  # once


# ---------------------------------------------------------------------------------------------
# Who reads what


def test_proofs_reviewers_read_all_an_enterprise_its_own_others_404(
    unverified: tuple[FilingUnit, User], reviewer: User, reference: None
) -> None:
    unit, filer = unverified
    request = verification(unit, filer)
    url = reverse("documents:identity_proof", args=[request.pk, "letter"])
    other_filer = MemberFactory().user
    port = PortAdminFactory(port_code="440000").user  # the unit's own province: still not its papers

    own = signed_in(filer).get(url)
    assert own.status_code == 200 and own["Content-Type"] == "application/pdf"
    assert b"".join(own.streaming_content).startswith(b"%PDF-")
    assert signed_in(reviewer).get(url).status_code == 200
    assert signed_in(other_filer).get(url).status_code == 404
    assert signed_in(port).get(url).status_code == 404
    assert Client().get(url).status_code == 302  # to the login page
    assert signed_in(reviewer).get(reverse("documents:identity_proof", args=[request.pk, "other"])).status_code == 404
    # the queue and detail: reviewers only
    assert signed_in(filer).get(reverse("review:identity")).status_code == 404
    assert signed_in(port).get(reverse("review:identity_detail", args=[request.pk])).status_code == 404
    assert AuditEvent.objects.filter(action=AuditAction.DOWNLOAD, object_type="filings.IdentityRequest").count() == 2


def test_the_queue_filters_by_status_kind_province_and_date_and_exports(
    impostor: tuple[FilingUnit, User], unverified: tuple[FilingUnit, User], reviewer: User
) -> None:
    claimed, _holder = impostor  # 深圳 (广东)
    unit, filer = unverified  # 广州 (广东)
    zhejiang = FilingUnitFactory(verified=False, region_id="330106")
    zj_filer = MemberFactory(unit=zhejiang).user
    _c, claim = open_claim(claimed)
    verification(unit, filer)
    zj = verification(zhejiang, zj_filer)
    client = signed_in(reviewer)

    def rows(**query: str) -> set[int]:
        html = page(client.get(reverse("review:identity"), query))
        return {int(pk) for pk in re.findall(r'data-testid="identity-row" data-request="(\d+)"', html)}

    assert len(rows()) == 3  # pending by default
    assert rows(kind="claim") == {claim.pk}
    assert rows(province="330000") == {zj.pk}
    assert rows(since="2000-01-01", until="2000-01-31") == set()
    identity.identity_request_decide(request=zj, user=reviewer, accept=True)
    assert zj.pk not in rows()
    assert zj.pk in rows(status="accepted")
    assert zj.pk in rows(status="all")
    empty = page(client.get(reverse("review:identity"), {"status": "rejected"}))
    assert 'data-testid="identity-empty"' in empty

    export = client.get(reverse("review:identity_export"), {"status": "all"})
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.content)).active
    values = [row for row in sheet.iter_rows(values_only=True)]
    usccs = {row[1] for row in values[1:]}
    assert {claimed.uscc, unit.uscc, zhejiang.uscc} <= usccs
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, object_type="filings.IdentityRequest").exists()


# ---------------------------------------------------------------------------------------------
# E-mail confirmation


def test_a_new_account_confirms_its_address_before_it_can_act(
    client: Client, reference: None, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.filings.test_enterprise_views import registration_data

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("enterprise:register"), registration_data())
    user = User.objects.get(email="founder@reg.example.cn")
    assert user.email_confirmed_at is None
    [first] = mails_to(user.email)
    assert "确认" in first.subject and "天内" in first.body

    held = client.get(reverse("enterprise:patents"))
    assert held.status_code == 302 and held["Location"] == reverse("email_unconfirmed")
    waiting = page(client.get(held["Location"]))
    assert user.email in waiting and 'data-testid="resend-confirmation"' in waiting
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("email_unconfirmed"))
    assert len(mails_to(user.email)) == 2
    # the API refuses the account too: no token, and a token issued before answers the problem
    from tests.filings.test_enterprise_views import STRONG as REGISTERED

    token = APIClient().post("/api/v1/auth/token/", {"email": user.email, "password": REGISTERED}, format="json")
    assert token.status_code == 403 and token.json()["code"] == "email_unconfirmed"
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {Token.objects.create(user=user).key}")
    refused = api.get("/api/v1/products/")
    assert refused.status_code == 403 and refused.json()["code"] == "email_unconfirmed"

    link = link_in(first)
    assert 'data-testid="confirm-email"' in page(client.get(link))
    done = client.post(link)
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.email_confirmed_at is not None
    assert client.get(reverse("enterprise:patents")).status_code == 200
    assert api.get("/api/v1/products/").status_code == 200
    assert 'data-testid="invalid-link"' in page(client.get(link))  # spent
    assert client.post(link).status_code == 400


def test_an_invitation_link_confirms_the_address(reference: None, django_capture_on_commit_callbacks: Any) -> None:
    from filings import services

    unit = FilingUnitFactory()
    manager = MemberFactory(unit=unit).user
    with django_capture_on_commit_callbacks(execute=True):
        colleague = services.unit_member_add(manager=manager, unit=unit, email="colleague@example.cn")
    assert colleague.email_confirmed_at is None
    [invitation] = mails_to("colleague@example.cn")
    client = Client()
    form = client.get(link_in(invitation), follow=True)
    set_url = form.redirect_chain[-1][0]
    client.post(set_url, {"new_password1": STRONG, "new_password2": STRONG})
    colleague.refresh_from_db()
    assert colleague.email_confirmed_at is not None
    assert client.get(reverse("enterprise:home")).status_code == 200


def test_the_demo_units_are_verified_and_its_accounts_confirmed(demo: None) -> None:
    """`load_demo` verifies its units and confirms its accounts, so the demo files and acts as before."""
    assert FilingUnit.objects.exists()
    assert not FilingUnit.objects.filter(verified_at__isnull=True).exists()
    assert not User.objects.filter(email_confirmed_at__isnull=True).exists()
