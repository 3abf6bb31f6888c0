"""Login by e-mail, lockout after five failures, password policy, idle timeout, secure headers."""

from datetime import timedelta

import pytest
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.utils import timezone

from patent_platform.choices import AuditAction
from patent_platform.middleware import SessionRenewalMiddleware
from patent_platform.models import AuditEvent, User

pytestmark = pytest.mark.django_db
PASSWORD = "Demo-2026!"


def login(client, email: str, password: str):
    return client.post("/accounts/login/", {"username": email, "password": password})


def test_login_by_email_lands_on_the_role_home(client, demo_users: dict[str, User]) -> None:
    response = login(client, "GuangDong@example.cn".lower(), PASSWORD)
    assert response.status_code == 302
    home = client.get(response["Location"], follow=True)
    assert home.redirect_chain[-1][0] == "/port/"
    assert "广东省" in home.content.decode()


def test_wrong_password_says_so_and_keeps_the_email(client, demo_users: dict[str, User]) -> None:
    response = login(client, "ent-gz@example.cn", "wrong-password")
    body = response.content.decode()
    assert response.status_code == 200
    assert "电子邮箱或密码不正确" in body and "5 次" in body
    assert 'value="ent-gz@example.cn"' in body


def test_five_failures_lock_the_account_for_thirty_minutes(client, demo_users: dict[str, User]) -> None:
    for _ in range(4):
        assert login(client, "ent-sz@example.cn", "nope-nope-1").status_code == 200
    locked = login(client, "ent-sz@example.cn", "nope-nope-1")
    assert locked.status_code == 429
    assert "账号已被锁定 30 分钟" in locked.content.decode()
    # the right password is refused while locked, and the lockout is in the audit log
    assert login(client, "ent-sz@example.cn", PASSWORD).status_code == 429
    assert AuditEvent.objects.filter(action=AuditAction.LOCKOUT, object_repr="ent-sz@example.cn").exists()
    # other accounts are not affected
    assert login(client, "ent-gz@example.cn", PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("Short-1a", False),
        ("alllowercaseletters", False),
        ("lowercase123456", False),
        ("Lower-case-12", True),
        ("UPPERlower99x", True),
    ],
)
def test_password_policy_length_and_three_classes(password: str, ok: bool) -> None:
    user = User(email="policy@example.cn")
    if ok:
        validate_password(password, user)
    else:
        with pytest.raises(ValidationError):
            validate_password(password, user)


def test_idle_session_expires_on_the_server(client, demo_users: dict[str, User]) -> None:
    assert login(client, "reviewer@example.cn", PASSWORD).status_code == 302
    assert client.get("/review/").status_code == 200
    session = Session.objects.get(session_key=client.session.session_key)
    remaining = session.expire_date - timezone.now()
    assert timedelta(minutes=29) < remaining <= timedelta(minutes=30)
    # thirty minutes without a request: the server no longer knows the session
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/review/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_idle_timeout_is_renewed_at_most_once_a_minute(client, demo_users: dict[str, User]) -> None:
    """A page view within the minute writes no session row; the first after it moves the expiry on."""
    assert login(client, "reviewer@example.cn", PASSWORD).status_code == 302
    key = client.session.session_key
    assert client.get("/review/").status_code == 200
    first = Session.objects.get(session_key=key).expire_date
    assert client.get("/review/").status_code == 200
    assert Session.objects.get(session_key=key).expire_date == first  # no write within the minute
    # the last renewal 61 seconds ago (the session as the server keeps it): the next request renews it
    session = client.session
    session[SessionRenewalMiddleware.KEY] -= 61
    session.save()
    Session.objects.filter(session_key=key).update(expire_date=first - timedelta(seconds=61))
    assert client.get("/review/").status_code == 200
    renewed = Session.objects.get(session_key=key).expire_date
    assert renewed > first and timedelta(minutes=29) < renewed - timezone.now() <= timedelta(minutes=30)
    # an anonymous visitor without a session cookie gets none
    client.logout()
    count = Session.objects.count()
    assert client.get("/").status_code == 200
    assert Session.objects.count() == count


def test_logout_deletes_the_session(client, demo_users: dict[str, User]) -> None:
    login(client, "reviewer@example.cn", PASSWORD)
    key = client.session.session_key
    assert client.post("/accounts/logout/").status_code == 302
    assert not Session.objects.filter(session_key=key).exists()


def test_password_change_applies_the_policy(client, demo_users: dict[str, User]) -> None:
    login(client, "ent-hz@example.cn", PASSWORD)
    weak = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": "abcdefghijk", "new_password2": "abcdefghijk"},
    )
    assert weak.status_code == 200 and "3 类" in weak.content.decode()
    ok = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": "New-Pass-2026", "new_password2": "New-Pass-2026"},
    )
    assert ok.status_code == 302
    assert User.objects.get(email="ent-hz@example.cn").check_password("New-Pass-2026")
    assert AuditEvent.objects.filter(action=AuditAction.PASSWORD_CHANGE, actor_email="ent-hz@example.cn").exists()


def test_pages_for_users_are_not_cached_and_carry_a_csp(client, demo_users: dict[str, User]) -> None:
    client.force_login(demo_users["national"])
    response = client.get("/national/")
    assert response["Cache-Control"] == "no-store"
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_api_token_for_enterprise_systems(demo_users: dict[str, User]) -> None:
    from rest_framework.test import APIClient

    client = APIClient()
    bad = client.post("/api/v1/auth/token/", {"email": "ent-gz@example.cn", "password": "wrong"}, format="json")
    assert bad.status_code == 400
    token = client.post("/api/v1/auth/token/", {"email": "ent-gz@example.cn", "password": PASSWORD}, format="json")
    assert token.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    rows = client.get("/api/v1/enterprises/").json()["results"]
    assert [r["name"] for r in rows] == ["广州云帆智能装备有限公司"]


def test_english_switch(client) -> None:
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Log in" in client.get("/").content.decode()
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert "登录平台" in client.get("/").content.decode()
