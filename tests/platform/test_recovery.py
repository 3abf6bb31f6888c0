"""Accounts that can be recovered (issue 22, part 5; patent_platform/recovery.py, docs/SECURITY.md):
forgot password by e-mail, one-time recovery codes with TOTP, the security administrator's reset of a
second factor, and the lockout counted per account and address together with a per-address ceiling.

Every mail is read from Django's test outbox after the platform's outbox delivered it on commit."""

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from patent_platform import ratelimit
from patent_platform.choices import AuditAction, Role
from patent_platform.models import AuditEvent, User

# embedded: the lockout and the limiter take the SQLite and local-memory-cache paths on the embedded default
pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
PASSWORD = "Demo-2026!"
NEW_PASSWORD = "Neues-Kennwort-77"
ADDRESS = "198.51.100.20"  # documentation addresses (RFC 5737): one office gateway
OTHER = "198.51.100.21"
NOW = 1_800_000_015.0  # the middle of a 30-second TOTP step and of every limiter window used here


class FrozenTime:
    @staticmethod
    def time() -> float:
        return NOW


@pytest.fixture(autouse=True)
def frozen_clocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("django_otp.plugins.otp_totp.models.time", FrozenTime)
    monkeypatch.setattr(ratelimit, "now", lambda: NOW)


@pytest.fixture
def otp_on(settings: Any) -> None:
    settings.OTP_REQUIRED_ROLES = ["staff"]


def code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
    totp.time = NOW
    return f"{totp.token():06d}"


def login(client: Client, email: str, password: str = PASSWORD, address: str = ADDRESS) -> Any:
    return client.post("/accounts/login/", {"username": email, "password": password}, REMOTE_ADDR=address)


def mails_to(email: str) -> list[Any]:
    return [m for m in mail.outbox if m.to == [email]]


def link_in(message: Any) -> str:
    url = re.search(r"https?://\S+", message.body).group(0)
    return urlsplit(url).path


# ---------------------------------------------------------------------------------------------
# Forgot password


def test_forgot_password_by_email_end_to_end(
    client: Client, make_user: Callable[..., User], django_capture_on_commit_callbacks: Any
) -> None:
    user = make_user("filer@example.cn", Role.ENTERPRISE)
    other_device = Client()
    assert login(other_device, user.email).status_code == 302
    token = Token.objects.create(user=user)

    login_page = client.get("/accounts/login/").content.decode()
    assert 'href="/accounts/password-reset/"' in login_page
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post("/accounts/password-reset/", {"email": "Filer@example.cn"}, REMOTE_ADDR=ADDRESS)
    assert sent.status_code == 302 and sent["Location"] == "/accounts/password-reset/sent/"
    [message] = mails_to(user.email)
    assert "找回登录密码" in message.subject and "天内" in message.body
    link = link_in(message)
    assert link.startswith("/accounts/password-reset/")

    form = client.get(link, follow=True)
    assert 'data-testid="password-reset-confirm-form"' in form.content.decode()
    set_url = form.redirect_chain[-1][0]
    # the password policy and the history apply
    weak = client.post(set_url, {"new_password1": "short", "new_password2": "short"})
    assert weak.status_code == 200 and 'class="invalid-feedback"' in weak.content.decode()
    reused = client.post(set_url, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert reused.status_code == 200 and "最近" in reused.content.decode()
    done = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/accounts/password-reset/done/"

    # nobody is logged in by the link; the other session and the API token are gone
    assert client.get("/enterprise/")["Location"].startswith("/accounts/login/")
    assert other_device.get("/enterprise/")["Location"].startswith("/accounts/login/")
    assert not Token.objects.filter(pk=token.pk).exists()
    assert AuditEvent.objects.filter(
        action=AuditAction.PASSWORD_CHANGE, object_repr=str(user), message="password reset by e-mail link"
    ).exists()
    # the new password works, the old one does not, and the link is spent
    assert login(Client(), user.email).status_code == 200
    assert login(Client(), user.email, NEW_PASSWORD).status_code == 302
    assert 'data-testid="invalid-link"' in Client().get(link, follow=True).content.decode()


def test_the_same_answer_for_known_and_unknown_addresses(
    make_user: Callable[..., User], django_capture_on_commit_callbacks: Any
) -> None:
    make_user("known@example.cn")

    def ask(email: str) -> tuple[int, str, str]:
        client = Client()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/accounts/password-reset/", {"email": email}, REMOTE_ADDR=ADDRESS)
        page = client.get(response["Location"]).content.decode()
        page = re.sub(r'name="csrfmiddlewaretoken" value="\w+"', "", page)  # per-client, random
        return response.status_code, response["Location"], page

    assert ask("known@example.cn") == ask("unknown@example.cn")
    assert len(mails_to("known@example.cn")) == 1
    assert mails_to("unknown@example.cn") == []
    disabled = make_user("disabled@example.cn", is_active=False)
    assert ask(disabled.email)[1] == "/accounts/password-reset/sent/" and mails_to(disabled.email) == []


def test_forgot_password_is_limited_per_email_and_per_address(
    settings: Any, make_user: Callable[..., User], django_capture_on_commit_callbacks: Any
) -> None:
    make_user("limited@example.cn")
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        statuses = [
            client.post(
                "/accounts/password-reset/", {"email": "LIMITED@example.cn"}, REMOTE_ADDR=f"198.51.100.{i}"
            ).status_code
            for i in range(4)
        ]
    assert statuses == [302, 302, 302, 429]  # 3 an hour per e-mail, from any address
    assert len(mails_to("limited@example.cn")) == 3
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "password_reset": "2/hour"}
    per_address = [
        client.post("/accounts/password-reset/", {"email": f"n{i}@example.cn"}, REMOTE_ADDR=OTHER).status_code
        for i in range(3)
    ]
    assert per_address == [302, 302, 429]


def test_staff_with_two_factor_still_give_the_code_after_a_reset(
    otp_on: None, make_user: Callable[..., User], django_capture_on_commit_callbacks: Any
) -> None:
    reviewer = make_user("rev@example.cn", Role.REVIEWER)
    TOTPDevice.objects.create(user=reviewer, name="TOTP", confirmed=True)
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/password-reset/", {"email": reviewer.email}, REMOTE_ADDR=ADDRESS)
    form = client.get(link_in(mails_to(reviewer.email)[0]), follow=True)
    set_url = form.redirect_chain[-1][0]
    assert client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}).status_code == 302
    assert login(client, reviewer.email, NEW_PASSWORD).status_code == 302
    assert client.get("/review/")["Location"].startswith("/accounts/two-factor/?next=")


# ---------------------------------------------------------------------------------------------
# Recovery codes


def enrol(client: Client, user: User) -> list[str]:
    """Log in, enrol a TOTP device, and read the recovery codes shown once after it."""
    assert login(client, user.email).status_code == 302
    client.get("/accounts/two-factor/setup/")
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    done = client.post("/accounts/two-factor/setup/", {"code": code(device), "next": "/review/"})
    assert done.status_code == 302 and done["Location"].startswith("/accounts/two-factor/recovery-codes/")
    page = client.get(done["Location"]).content.decode()
    codes = re.findall(r'<code class="user-select-all">([a-z2-7]{4}-[a-z2-7]{4})</code>', page)
    assert 'download="recovery-codes.txt"' in page and "data-print" in page
    assert 'href="/review/"' in page  # continue where the user was going
    return codes


def test_recovery_codes_are_shown_once_and_each_works_once(
    otp_on: None, make_user: Callable[..., User], django_capture_on_commit_callbacks: Any
) -> None:
    reviewer = make_user("rev@example.cn", Role.REVIEWER)
    first = Client()
    codes = enrol(first, reviewer)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert "user-select-all" not in first.get("/accounts/two-factor/recovery-codes/").content.decode()

    # a lost phone: a recovery code at the 2FA step instead of the TOTP code
    lost = Client()
    assert login(lost, reviewer.email).status_code == 302
    assert "/accounts/two-factor/recovery/" in lost.get("/accounts/two-factor/?next=/review/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        ok = lost.post("/accounts/two-factor/recovery/", {"code": codes[0].upper(), "next": "/review/"})
    assert ok.status_code == 302 and ok["Location"] == "/review/"
    assert lost.get("/review/").status_code == 200
    [message] = mails_to(reviewer.email)
    assert "恢复码" in message.subject and "剩余恢复码 9 个" in message.body
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN, actor_email=reviewer.email, message="recovery code")

    # the same code a second time: refused, and a failed login
    again = Client()
    login(again, reviewer.email)
    refused = again.post("/accounts/two-factor/recovery/", {"code": codes[0], "next": "/review/"})
    assert refused.status_code == 200 and "验证码不正确" in refused.content.decode()
    assert again.get("/review/")["Location"].startswith("/accounts/two-factor/")
    assert AccessAttempt.objects.get(username=reviewer.email).failures_since_start == 1

    # regenerating voids the old codes
    regenerated = lost.post("/accounts/two-factor/recovery-codes/", {"action": "regenerate"})
    new_codes = re.findall(r'<code class="user-select-all">([a-z2-7-]{9})</code>', regenerated.content.decode())
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)
    assert StaticToken.objects.filter(device__user=reviewer).count() == 10
    third = Client()
    login(third, reviewer.email)
    StaticDevice.objects.filter(user=reviewer).update(throttling_failure_timestamp=None, throttling_failure_count=0)
    assert third.post("/accounts/two-factor/recovery/", {"code": codes[1], "next": "/"}).status_code == 200
    StaticDevice.objects.filter(user=reviewer).update(throttling_failure_timestamp=None, throttling_failure_count=0)
    assert third.post("/accounts/two-factor/recovery/", {"code": new_codes[1], "next": "/"}).status_code == 302


# ---------------------------------------------------------------------------------------------
# The security administrator resets a second factor


def test_security_administrator_resets_a_second_factor_and_the_user_must_enrol_again(
    make_user: Callable[..., User], django_capture_on_commit_callbacks: Any
) -> None:
    """An enterprise user, for whom 2FA is optional (and the test settings require it of nobody): after the
    reset the next login must still enrol a new device."""
    security = make_user("security@example.cn", Role.SECURITY_ADMIN)
    user = make_user("filer@example.cn", Role.ENTERPRISE)
    device = TOTPDevice.objects.create(user=user, name="TOTP", confirmed=True)
    static = StaticDevice.objects.create(user=user, name="recovery", confirmed=True)
    static.token_set.create(token="abcd2345")
    session = Client()
    login(session, user.email)
    session.post("/accounts/two-factor/", {"code": code(device)})
    assert session.get("/enterprise/").status_code == 200

    admin = Client()
    admin.force_login(security)
    url = f"/security/accounts/{user.pk}/"
    assert 'data-testid="reset-two-factor"' in admin.get(url).content.decode()
    confirm = admin.post(url, {"action": "reset_two_factor"})
    assert confirm.status_code == 200 and 'data-testid="confirm-two-factor-reset"' in confirm.content.decode()
    assert TOTPDevice.objects.filter(user=user).exists()  # nothing happens before the confirmation
    with django_capture_on_commit_callbacks(execute=True):
        done = admin.post(url, {"action": "reset_two_factor", "confirm": "yes"})
    assert done.status_code == 302
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not StaticDevice.objects.filter(user=user).exists()
    assert AuditEvent.objects.filter(
        action=AuditAction.PERMISSION, actor_email=security.email, object_repr=str(user), message="two-factor reset"
    ).exists()
    [message] = mails_to(user.email)
    assert "双因素认证已重置" in message.subject

    # the old session is over; the next login goes to enrolment before any page
    assert session.get("/enterprise/")["Location"].startswith("/accounts/login/")
    fresh = Client()
    login(fresh, user.email)
    step = fresh.get("/enterprise/")
    assert step["Location"].startswith("/accounts/two-factor/?next=")
    assert fresh.get(step["Location"])["Location"].startswith("/accounts/two-factor/setup/")
    assert fresh.get("/accounts/two-factor/setup/").status_code == 200
    new_device = TOTPDevice.objects.get(user=user, confirmed=False)
    enrolled = fresh.post("/accounts/two-factor/setup/", {"code": code(new_device), "next": "/enterprise/"})
    assert enrolled.status_code == 302
    assert not User.objects.get(pk=user.pk).otp_enrolment_required


def test_only_the_security_administrator_resets_a_second_factor(make_user: Callable[..., User]) -> None:
    user = make_user("filer@example.cn", Role.ENTERPRISE)
    TOTPDevice.objects.create(user=user, name="TOTP", confirmed=True)
    national = Client()
    national.force_login(make_user("nat@example.cn", Role.NATIONAL_ADMIN))
    response = national.post(f"/security/accounts/{user.pk}/", {"action": "reset_two_factor", "confirm": "yes"})
    assert response.status_code == 404
    assert TOTPDevice.objects.filter(user=user).exists()


# ---------------------------------------------------------------------------------------------
# Lockout per account and address; the per-address ceiling


def test_two_users_behind_one_address_one_failing_the_other_still_logs_in(make_user: Callable[..., User]) -> None:
    """The bug of issue 22: another official's failures from the office gateway answered 429 to the
    security administrator's correct password."""
    make_user("clumsy@example.cn", Role.REVIEWER)
    make_user("security@example.cn", Role.SECURITY_ADMIN)
    clumsy = Client()
    statuses = [login(clumsy, "clumsy@example.cn", "wrong-password-1").status_code for _i in range(8)]
    assert statuses[:4] == [200] * 4 and set(statuses[4:]) == {429}  # locked after 5, from this address
    assert AuditEvent.objects.filter(action=AuditAction.LOCKOUT, object_repr="clumsy@example.cn").exists()
    assert login(clumsy, "clumsy@example.cn").status_code == 429  # the right password too, from here
    # another colleague mistypes a few times (not locked): a dozen failures from the gateway in all
    make_user("typo@example.cn", Role.EXPERT)
    assert [login(Client(), "typo@example.cn", "Demo-2O26!").status_code for _i in range(3)] == [200] * 3

    # the colleague at the same address logs in with the right password
    colleague = Client()
    assert login(colleague, "security@example.cn").status_code == 302
    assert colleague.get("/security/accounts/").status_code == 200
    # the lockout is of the account from that address: from another address its owner gets in (its 10th
    # attempt this minute: RATE_LIMITS["login_account"] still caps attempts on one account from anywhere)
    assert login(Client(), "clumsy@example.cn", address=OTHER).status_code == 302


def test_the_per_address_ceiling_stops_spraying_across_many_accounts(
    settings: Any, make_user: Callable[..., User]
) -> None:
    """One password tried on many accounts from one address: no account reaches its lockout, the address
    reaches its ceiling (RATE_LIMITS["login"], failed logins only) and then even a right password waits."""
    ceiling = ratelimit.parse_rate(settings.RATE_LIMITS["login"])
    assert ceiling.count > settings.AXES_FAILURE_LIMIT
    make_user("victim@example.cn")
    for _i in range(3):  # the office's own logins from the address do not use up the ceiling
        assert login(Client(), "victim@example.cn").status_code == 302
    sprayer = Client()
    for i in range(ceiling.count):
        assert login(sprayer, f"user{i}@example.cn", "Spring-2026!").status_code == 200, i
    limited = login(sprayer, "victim@example.cn")
    assert limited.status_code == 429 and 'data-testid="rate-limited"' in limited.content.decode()
    assert 1 <= int(limited["Retry-After"]) <= ceiling.seconds
    assert not AccessAttempt.objects.filter(failures_since_start__gte=2).exists()  # no account was locked
    # other addresses are not affected
    assert login(Client(), "victim@example.cn", address=OTHER).status_code == 302


def test_successful_logins_do_not_count_against_the_address(settings: Any, make_user: Callable[..., User]) -> None:
    ceiling = ratelimit.parse_rate(settings.RATE_LIMITS["login"])
    make_user("busy@example.cn")
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_account": ""}
    for _i in range(ceiling.count + 5):
        assert login(Client(), "busy@example.cn").status_code == 302
