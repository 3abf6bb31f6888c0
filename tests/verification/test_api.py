"""The verification API for the offices that pay on the filing data (issue 19, part 4), end to end: a client
registered on the national office's page gets a token by client credentials and verifies a filing, a
certificate and a statement; the region limit, expiry, suspension, scopes and quota refuse what they should;
every call shows on the client's usage page and in the audit log."""

from __future__ import annotations

import base64
import datetime as dt
import re
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from evaluation.models import Candidate
from filings.models import FilingUnit, Product
from patent_platform.clock import china_today
from patent_platform.models import AuditEvent, Region, User
from provincial import statements
from tests.problems import fields, problem
from verification import services
from verification.choices import ClientStatus
from verification.models import ClientCall, VerificationClient

TOKEN = "/api/v1/verify/token/"
GD_FILING = "BA202644000001"  # 广州云帆 (广东, demo)
ZJ_FILING = "BA202633000001"  # 杭州西溪 (浙江, demo)
GD_CERTIFICATE = "RD202500002"
ZJ_CERTIFICATE = "RD202500003"
ALL_SCOPES = ["verify:filings", "verify:certificates", "read:statistics"]


def token_request(api: Client, client_id: str, secret: str, **form: str) -> Any:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return api.post(
        TOKEN,
        data=urlencode({"grant_type": "client_credentials", **form}),
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )


def bearer(api: Client, client_id: str, secret: str) -> str:
    response = token_request(api, client_id, secret)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    return f"Bearer {body['access_token']}"


def register(national: User, *, region: str | None = None, **data: Any) -> services.Issued:
    values = {
        "name": "测试核验客户端",
        "organisation": "某省财政厅",
        "contact": "",
        "scopes": ALL_SCOPES,
        "region": Region.objects.get(code=region) if region else None,
        "per_minute": 60,
        "per_day": 1000,
        "valid_until": china_today() + dt.timedelta(days=30),
        "note": "",
        **data,
    }
    return services.client_create(user=national, data=values)


@pytest.fixture
def national(demo_users: dict[str, User]) -> User:
    return demo_users["national"]


def test_a_client_registered_on_the_page_verifies_a_filing_a_certificate_and_a_statement(
    client: Client, national: User
) -> None:
    client.force_login(national)
    page = client.post(
        "/national/verification-clients/new/",
        {
            "name": "浙江省专项资金系统",
            "organisation": "浙江省财政厅",
            "scopes": ALL_SCOPES,
            "region": "",
            "per_minute": "60",
            "per_day": "1000",
            "valid_until": (china_today() + dt.timedelta(days=365)).isoformat(),
        },
    )
    assert page.status_code == 200, page.content.decode()[:2000]
    html = page.content.decode()
    client_id = re.search(r'data-testid="client-id">([^<]+)<', html).group(1)  # type: ignore[union-attr]
    secret = re.search(r'data-testid="client-secret">([^<]+)<', html).group(1)  # type: ignore[union-attr]
    registered = VerificationClient.objects.get(name="浙江省专项资金系统")
    assert registered.application.client_secret != secret  # stored hashed only
    assert secret not in client.get(f"/national/verification-clients/{registered.pk}/").content.decode()
    unit = FilingUnit.objects.get(name="广州云帆智能装备有限公司")
    statement = statements.statement_issue(unit=unit, user=national)

    api = Client()
    auth = bearer(api, client_id, secret)

    filing = api.get(f"/api/v1/verify/filings/{GD_FILING}/", HTTP_AUTHORIZATION=auth)
    assert filing.status_code == 200, filing.content
    body = filing.json()
    assert body["valid"] is True and body["as_of"] == china_today().isoformat()
    assert body["unit"]["uscc"] == unit.uscc
    assert body["patents"] and {p["legal_status"] for p in body["patents"]} == {"valid"}
    assert body["open_flags"] == []
    assert filing["Cache-Control"] == "no-store"
    # before the platform existed the filing was not valid
    earlier = api.get(f"/api/v1/verify/filings/{GD_FILING}/?as_of=2001-01-01", HTTP_AUTHORIZATION=auth)
    assert earlier.status_code == 200 and earlier.json()["valid"] is False

    certificate = api.get(f"/api/v1/verify/certificates/{GD_CERTIFICATE.lower()}/", HTTP_AUTHORIZATION=auth)
    assert certificate.status_code == 200, certificate.content
    assert certificate.json()["valid"] is True
    assert (
        certificate.json()["filing_number"]
        == Candidate.objects.get(certificate_number=GD_CERTIFICATE).product.filing_number
    )

    checked = api.get(f"/api/v1/verify/statements/{statement.number}/", HTTP_AUTHORIZATION=auth)
    assert checked.status_code == 200, checked.content
    answer = checked.json()
    assert (answer["valid"], answer["intact"], answer["changed_since_issued"]) == (True, True, False)
    assert checked.json()["totals"]["filed_products"] == 2
    yesterday = (china_today() - dt.timedelta(days=1)).isoformat()
    assert (
        api.get(f"/api/v1/verify/statements/{statement.number}/?as_of={yesterday}", HTTP_AUTHORIZATION=auth).json()[
            "valid"
        ]
        is False
    )  # not issued yet then

    products = api.get(f"/api/v1/verify/units/{unit.uscc}/products/", HTTP_AUTHORIZATION=auth)
    assert products.status_code == 200, products.content
    listed = products.json()
    assert listed["filed_products"] == Product.objects.public().filter(unit=unit).count() == 2
    assert listed["certified_products"] == 1
    assert any(c["certificate_number"] == GD_CERTIFICATE for p in listed["products"] for c in p["certificates"])

    unknown = api.get("/api/v1/verify/filings/BA209999999999/", HTTP_AUTHORIZATION=auth)
    problem(unknown, 404, "not_found")

    # the national office sees each call on the client's usage page, and the audit log names the client
    usage = client.get(f"/national/verification-clients/{registered.pk}/usage/")
    assert usage.status_code == 200
    shown = {(m[0], m[1]) for m in re.findall(r'data-endpoint="(\w+)" data-status="(\d+)"', usage.content.decode())}
    assert {("token", "200"), ("filing", "200"), ("certificate", "200"), ("statement", "200"), ("unit", "200")} <= shown
    assert ("filing", "404") in shown
    assert ClientCall.objects.filter(client=registered).count() == 8
    audited = AuditEvent.objects.filter(object_type="verification.call", actor_email__contains="浙江省专项资金系统")
    assert audited.count() == 8
    assert audited.filter(object_id=GD_FILING, success=True).exists()
    export = client.get(f"/national/verification-clients/{registered.pk}/usage/?export=xlsx")
    assert export.status_code == 200 and export["Content-Type"].startswith("application/vnd.openxmlformats")


def test_a_client_limited_to_zhejiang_gets_404_for_a_guangdong_filing(national: User) -> None:
    issued = register(national, region="330000")
    api = Client()
    auth = bearer(api, issued.client.client_id, issued.secret)
    assert api.get(f"/api/v1/verify/filings/{ZJ_FILING}/", HTTP_AUTHORIZATION=auth).json()["valid"] is True
    problem(api.get(f"/api/v1/verify/filings/{GD_FILING}/", HTTP_AUTHORIZATION=auth), 404, "not_found")
    assert api.get(f"/api/v1/verify/certificates/{ZJ_CERTIFICATE}/", HTTP_AUTHORIZATION=auth).status_code == 200
    problem(api.get(f"/api/v1/verify/certificates/{GD_CERTIFICATE}/", HTTP_AUTHORIZATION=auth), 404)
    gd_unit = FilingUnit.objects.get(name="广州云帆智能装备有限公司")
    problem(api.get(f"/api/v1/verify/units/{gd_unit.uscc}/products/", HTTP_AUTHORIZATION=auth), 404)
    gd_statement = statements.statement_issue(unit=gd_unit, user=national)
    problem(api.get(f"/api/v1/verify/statements/{gd_statement.number}/", HTTP_AUTHORIZATION=auth), 404)
    # its statistics are the province's only
    figures = api.get("/api/v1/verify/statistics/", HTTP_AUTHORIZATION=auth)
    assert figures.status_code == 200, figures.content
    assert figures.json()["totals"]["approved"] == Product.objects.public().filter(province_code="330000").count()


def test_an_expired_or_suspended_client_is_refused(client: Client, national: User) -> None:
    issued = register(national)
    api = Client()
    auth = bearer(api, issued.client.client_id, issued.secret)
    assert api.get(f"/api/v1/verify/filings/{GD_FILING}/", HTTP_AUTHORIZATION=auth).status_code == 200

    # past its date: the token it holds is refused, and it gets no new one
    VerificationClient.objects.filter(pk=issued.client.pk).update(valid_until=china_today() - dt.timedelta(days=1))
    refused = api.get(f"/api/v1/verify/filings/{GD_FILING}/", HTTP_AUTHORIZATION=auth)
    body = problem(refused, 401, "authentication_failed")
    assert "有效期" in body["detail"] and refused["WWW-Authenticate"].startswith("Bearer")
    again = token_request(api, issued.client.client_id, issued.secret)
    assert problem(again, 401)["error"] == "invalid_client"
    assert "有效期" in again.json()["detail"]
    en = token_request(Client(HTTP_ACCEPT_LANGUAGE="en"), issued.client.client_id, issued.secret)
    assert en.status_code == 401

    # suspended on the page (confirmed): refused likewise
    VerificationClient.objects.filter(pk=issued.client.pk).update(valid_until=china_today())
    auth = bearer(api, issued.client.client_id, issued.secret)  # in date again (today is the last day)
    client.force_login(national)
    confirm = client.get(f"/national/verification-clients/{issued.client.pk}/suspend/")
    assert confirm.status_code == 200 and 'data-testid="confirm-form"' in confirm.content.decode()
    assert (
        client.post(f"/national/verification-clients/{issued.client.pk}/suspend/", {"reason": "合同到期"}).status_code
        == 302
    )
    assert VerificationClient.objects.get(pk=issued.client.pk).status == ClientStatus.SUSPENDED
    problem(api.get(f"/api/v1/verify/filings/{GD_FILING}/", HTTP_AUTHORIZATION=auth), 401)
    assert "暂停" in token_request(api, issued.client.client_id, issued.secret).json()["detail"]
    # a wrong secret says nothing about the client's state
    wrong = token_request(api, issued.client.client_id, "x" * 40)
    assert problem(wrong, 401)["error"] == "invalid_client" and "暂停" not in wrong.json()["detail"]
    usage = client.get(f"/national/verification-clients/{issued.client.pk}/usage/").content.decode()
    assert 'data-endpoint="filing" data-status="401"' in usage and 'data-endpoint="token" data-status="401"' in usage


def test_a_client_over_its_quota_gets_429_with_retry_after(client: Client, national: User) -> None:
    issued = register(national, per_minute=2)
    api = Client()
    auth = bearer(api, issued.client.client_id, issued.secret)
    for _ in range(2):
        assert api.get(f"/api/v1/verify/filings/{GD_FILING}/", HTTP_AUTHORIZATION=auth).status_code == 200
    over = api.get(f"/api/v1/verify/filings/{GD_FILING}/", HTTP_AUTHORIZATION=auth)
    body = problem(over, 429, "throttled")
    assert 1 <= int(over["Retry-After"]) <= 60 and "2" in body["detail"]
    english = api.get(f"/api/v1/verify/filings/{GD_FILING}/", HTTP_AUTHORIZATION=auth, HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 429

    daily = register(national, name="每日上限客户端", per_day=1)
    auth = bearer(api, daily.client.client_id, daily.secret)
    assert api.get(f"/api/v1/verify/filings/{GD_FILING}/", HTTP_AUTHORIZATION=auth).status_code == 200
    refused = api.get(f"/api/v1/verify/filings/{GD_FILING}/", HTTP_AUTHORIZATION=auth)
    problem(refused, 429)
    assert int(refused["Retry-After"]) <= 86400

    client.force_login(national)
    usage = client.get(f"/national/verification-clients/{issued.client.pk}/usage/").content.decode()
    assert 'data-endpoint="filing" data-status="429"' in usage


def test_scopes_and_parameters(national: User) -> None:
    issued = register(national, scopes=["verify:filings"])
    api = Client()
    asked = token_request(api, issued.client.client_id, issued.secret, scope="read:statistics")
    assert problem(asked, 400)["error"] == "invalid_scope"
    auth = bearer(api, issued.client.client_id, issued.secret)
    problem(
        api.get(f"/api/v1/verify/certificates/{GD_CERTIFICATE}/", HTTP_AUTHORIZATION=auth), 403, "permission_denied"
    )
    problem(api.get("/api/v1/verify/statistics/", HTTP_AUTHORIZATION=auth), 403)
    # without the certificates scope, a unit's products come without their certificates
    unit = FilingUnit.objects.get(name="广州云帆智能装备有限公司")
    listed = api.get(f"/api/v1/verify/units/{unit.uscc}/products/", HTTP_AUTHORIZATION=auth).json()
    assert all(p["certificates"] is None for p in listed["products"])

    bad = api.get(f"/api/v1/verify/filings/{GD_FILING}/?as_of=2026-13-40", HTTP_AUTHORIZATION=auth)
    assert "as_of" in fields(bad) and bad.status_code == 400
    future = (china_today() + dt.timedelta(days=1)).isoformat()
    assert "as_of" in fields(api.get(f"/api/v1/verify/filings/{GD_FILING}/?as_of={future}", HTTP_AUTHORIZATION=auth))
    malformed = api.get("/api/v1/verify/units/123/products/", HTTP_AUTHORIZATION=auth)
    problem(malformed, 400, "validation")
    problem(api.get(f"/api/v1/verify/filings/{GD_FILING}/"), 401, "not_authenticated")
    problem(api.get(f"/api/v1/verify/filings/{GD_FILING}/", HTTP_AUTHORIZATION="Bearer nonsense"), 401)
    # an enterprise API token is no verification token
    problem(api.get(f"/api/v1/verify/filings/{GD_FILING}/", HTTP_AUTHORIZATION="Token abc"), 401)
    problem(api.post(TOKEN, data="grant_type=password", content_type="application/x-www-form-urlencoded"), 400)


@pytest.mark.parametrize(
    ("who", "expected"),
    [("national", 200), ("guangdong", 404), ("reviewer", 404), ("ent-gz", 404), ("expert1", 404), ("audit", 404)],
)
def test_only_the_national_administrator_manages_clients(
    client: Client, demo_users: dict[str, User], who: str, expected: int
) -> None:
    issued = register(demo_users["national"])
    client.force_login(demo_users[who])
    pk = issued.client.pk
    for url in (
        "/national/verification-clients/",
        "/national/verification-clients/new/",
        f"/national/verification-clients/{pk}/",
        f"/national/verification-clients/{pk}/usage/",
        f"/national/verification-clients/{pk}/delete/",
    ):
        assert client.get(url).status_code == expected, url
    assert client.post(f"/national/verification-clients/{pk}/delete/").status_code == (302 if expected == 200 else 404)
    assert VerificationClient.objects.filter(pk=pk).exists() is (expected != 200)


def test_anonymous_visitors_are_sent_to_login(client: Client, national: User) -> None:
    response = client.get("/national/verification-clients/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_list_the_edit_the_new_secret_and_the_empty_state(client: Client, national: User) -> None:
    client.force_login(national)
    empty = client.get("/national/verification-clients/")
    assert 'data-testid="clients-empty"' in empty.content.decode()
    issued = register(national, region="330000")
    listed = client.get("/national/verification-clients/").content.decode()
    assert "测试核验客户端" in listed and "浙江省" in listed
    assert client.get("/national/verification-clients/?export=xlsx").status_code == 200
    # a bad edit names the field; a good one is saved and audited
    form = {
        "name": "测试核验客户端",
        "organisation": "浙江省财政厅",
        "scopes": ["verify:filings"],
        "region": "330100",
        "per_minute": "0",
        "per_day": "100",
        "valid_until": china_today().isoformat(),
    }
    bad = client.post(f"/national/verification-clients/{issued.client.pk}/", form)
    assert bad.status_code == 400 and 'data-testid="error-per_minute"' in bad.content.decode()
    saved = client.post(f"/national/verification-clients/{issued.client.pk}/", form | {"per_minute": "5"})
    assert saved.status_code == 302
    changed = VerificationClient.objects.get(pk=issued.client.pk)
    assert (changed.per_minute, changed.region_id, changed.scopes) == (5, "330100", ["verify:filings"])
    assert AuditEvent.objects.filter(object_type="verification.VerificationClient", object_id=str(changed.pk)).exists()
    # a new secret: the old one stops working
    api = Client()
    old_auth = bearer(api, issued.client.client_id, issued.secret)
    page = client.post(f"/national/verification-clients/{issued.client.pk}/secret/").content.decode()
    secret = re.search(r'data-testid="client-secret">([^<]+)<', page).group(1)  # type: ignore[union-attr]
    assert token_request(api, issued.client.client_id, issued.secret).status_code == 401
    problem(api.get(f"/api/v1/verify/filings/{ZJ_FILING}/", HTTP_AUTHORIZATION=old_auth), 401)
    assert (
        api.get(
            f"/api/v1/verify/filings/{ZJ_FILING}/", HTTP_AUTHORIZATION=bearer(api, issued.client.client_id, secret)
        ).status_code
        == 200
    )


def test_the_schema_documents_the_verification_api(client: Client, national: User) -> None:
    client.force_login(national)
    schema = client.get("/api/verify/schema/?format=json").json()
    assert set(schema["paths"]) == {
        "/api/v1/verify/filings/{filing_number}/",
        "/api/v1/verify/certificates/{number}/",
        "/api/v1/verify/statements/{number}/",
        "/api/v1/verify/units/{uscc}/products/",
        "/api/v1/verify/statistics/",
    }
    assert client.get("/api/verify/docs/").status_code == 200
    enterprise = client.get("/api/schema/?format=json").json()  # the enterprise API's document leaves them out
    assert not [p for p in enterprise["paths"] if p.startswith("/api/v1/verify/")]
    assert "verificationClient" not in enterprise["components"].get("securitySchemes", {})
    operation = schema["paths"]["/api/v1/verify/filings/{filing_number}/"]["get"]
    assert operation["tags"] == ["verification"]
    assert {"400", "401", "403", "404", "429"} <= set(operation["responses"])
    assert operation["security"] == [{"verificationClient": ["verify:filings"]}]
    flows = schema["components"]["securitySchemes"]["verificationClient"]["flows"]
    assert flows["clientCredentials"]["tokenUrl"] == TOKEN


def test_a_unit_on_a_credit_list_is_flagged_from_the_moment_it_was_listed(national: User) -> None:
    """The flags of filings.checks reach the offices that pay: a listing recorded now shows on today's answer,
    not on an answer as of yesterday; removed, it no longer shows today."""
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from filings.choices import CreditListKind
    from filings.models import CreditListEntry, CreditListImport

    unit = FilingUnit.objects.get(name="广州云帆智能装备有限公司")
    source = CreditListImport.objects.create(
        kind=CreditListKind.ABNORMAL, file=ContentFile(b"x", name="l.csv"), original_name="l.csv", created_by=national
    )
    entry = CreditListEntry.objects.create(kind=CreditListKind.ABNORMAL, uscc=unit.uscc, listed_by=source)
    issued = register(national)
    api = Client()
    auth = bearer(api, issued.client.client_id, issued.secret)
    url = f"/api/v1/verify/filings/{GD_FILING}/"

    def credit_flags(**params: str) -> list[dict[str, Any]]:
        answer = api.get(url, params, HTTP_AUTHORIZATION=auth)
        assert answer.status_code == 200, answer.content
        return [f for f in answer.json()["open_flags"] if f["kind"] == "credit_list"]

    [flag] = credit_flags()
    assert flag["code"] == CreditListKind.ABNORMAL and "经营异常名录" in flag["message"]
    assert credit_flags(as_of=(china_today() - dt.timedelta(days=1)).isoformat()) == []
    CreditListEntry.objects.filter(pk=entry.pk).update(removed_at=timezone.now(), removed_by=source)
    assert credit_flags() == []
