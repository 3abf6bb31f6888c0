"""The second factor (等保 L3-CES1-04): TOTP required for staff roles, optional for enterprise users.

The test settings switch it off (as `make run` does); these tests switch it on with OTP_REQUIRED_ROLES."""

import re
from base64 import b32encode
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from patent_platform.choices import AuditAction, Role
from patent_platform.models import AuditEvent, User
from tests.platform.test_settings import production_env, run_manage

pytestmark = pytest.mark.django_db
PASSWORD = "Demo-2026!"
NOW = 1_800_000_015.0  # the middle of a 30-second step: no step boundary is crossed during a test


class FrozenTime:
    @staticmethod
    def time() -> float:
        return NOW


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """django-otp reads the clock in its TOTP model: freeze it so that codes one step off are exact."""
    monkeypatch.setattr("django_otp.plugins.otp_totp.models.time", FrozenTime)


@pytest.fixture
def otp_on(settings: Any) -> None:
    settings.OTP_REQUIRED_ROLES = ["staff"]


def code(device: TOTPDevice, steps: int = 0) -> str:
    """The code an authenticator app shows `steps` steps from now (a phone clock that is off)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
    totp.time = NOW + steps * device.step
    return f"{totp.token():06d}"


def login(client: Client, email: str, password: str = PASSWORD) -> Any:
    return client.post("/accounts/login/", {"username": email, "password": password})


def device_for(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="TOTP", confirmed=True)


def wait_out_backoff(device: TOTPDevice) -> None:
    """django-otp refuses any code for 2^(n-1) seconds after n wrong ones: the user waits that long."""
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)


def test_required_role_enrols_before_any_page(otp_on: None, client: Client, make_user: Any) -> None:
    reviewer = make_user("rev@example.cn", Role.REVIEWER)
    landing = client.get(login(client, "rev@example.cn")["Location"])
    # every page sends to the 2FA step, which sends a user without a device to enrolment
    assert landing.status_code == 302 and landing["Location"].startswith("/accounts/two-factor/?next=")
    assert client.get("/review/")["Location"] == "/accounts/two-factor/?next=%2Freview%2F"
    enrol = client.get("/accounts/two-factor/?next=/review/")
    assert enrol.status_code == 302 and enrol["Location"].startswith("/accounts/two-factor/setup/")
    assert client.get("/api/v1/products/").status_code == 403
    page = client.get(enrol["Location"])
    body = page.content.decode()
    device = TOTPDevice.objects.get(user=reviewer)
    assert not device.confirmed
    assert 'src="data:image/svg+xml' in body
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', body).group(1)
    assert secret.replace(" ", "") == b32encode(device.bin_key).decode()
    # a wrong code does not enrol; the right one does and opens the page asked for
    assert client.post(enrol["Location"], {"code": "000000", "next": "/review/"}).status_code == 200
    device.refresh_from_db()
    assert not device.confirmed
    too_soon = client.post(enrol["Location"], {"code": code(device), "next": "/review/"})
    assert too_soon.status_code == 200 and "尝试过于频繁" in too_soon.content.decode()
    wait_out_backoff(device)
    done = client.post(enrol["Location"], {"code": code(device), "next": "/review/"})
    # the recovery codes are shown once (tests/platform/test_recovery.py), then the page asked for
    assert done.status_code == 302 and done["Location"] == "/accounts/two-factor/recovery-codes/?next=%2Freview%2F"
    assert TOTPDevice.objects.get(user=reviewer).confirmed
    assert client.get("/review/").status_code == 200


def test_an_enrolled_account_gives_its_code_after_the_password(otp_on: None, client: Client, make_user: Any) -> None:
    expert = make_user("exp@example.cn", Role.EXPERT)
    device = device_for(expert)
    response = login(client, "exp@example.cn")
    assert client.get(response["Location"])["Location"].startswith("/accounts/two-factor/?next=")
    form = client.get("/accounts/two-factor/?next=/")
    assert form.status_code == 200 and "动态验证码" in form.content.decode()
    ok = client.post("/accounts/two-factor/", {"code": code(device), "next": "/"})
    assert ok.status_code == 302 and ok["Location"] == "/"
    assert not client.get("/")["Location"].startswith("/accounts/two-factor/")
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN, actor_email=expert.email, message="totp").exists()
    # the same code cannot be used twice (another session replaying it)
    other = Client()
    login(other, "exp@example.cn")
    assert other.post("/accounts/two-factor/", {"code": code(device), "next": "/"}).status_code == 200


def test_a_wrong_code_is_a_login_failure(otp_on: None, client: Client, make_user: Any) -> None:
    make_user("port@example.cn", Role.PORT_ADMIN)
    device_for(User.objects.get(email="port@example.cn"))
    login(client, "port@example.cn")
    wrong = client.post("/accounts/two-factor/", {"code": "123456"})
    assert wrong.status_code == 200 and "验证码不正确" in wrong.content.decode()
    assert AccessAttempt.objects.get(username="port@example.cn").failures_since_start == 1
    assert AuditEvent.objects.filter(
        action=AuditAction.LOGIN_FAILED, object_repr="port@example.cn", success=False
    ).exists()
    assert client.get("/")["Location"].startswith("/accounts/two-factor/")


def test_five_wrong_codes_lock_the_account_like_passwords(otp_on: None, client: Client, make_user: Any) -> None:
    national = make_user("nat@example.cn", Role.NATIONAL_ADMIN)
    device = device_for(national)
    login(client, "nat@example.cn")
    for _ in range(4):
        assert client.post("/accounts/two-factor/", {"code": "111111"}).status_code == 200
    locked = client.post("/accounts/two-factor/", {"code": "111111"})
    assert locked.status_code == 429 and "账号已被锁定 30 分钟" in locked.content.decode()
    # the half-done session is ended; neither the password nor a right code gets in while locked
    assert client.get("/national/")["Location"].startswith("/accounts/login/")
    assert login(client, "nat@example.cn").status_code == 429
    assert client.post("/accounts/two-factor/", {"code": code(device)})["Location"].startswith("/accounts/login/")
    assert AuditEvent.objects.filter(action=AuditAction.LOCKOUT, object_repr="nat@example.cn").exists()


@pytest.mark.parametrize(("steps", "accepted"), [(-1, True), (1, True), (-2, False), (2, False)])
def test_codes_are_accepted_one_step_either_side(
    otp_on: None, client: Client, make_user: Any, steps: int, accepted: bool
) -> None:
    reviewer = make_user("clock@example.cn", Role.REVIEWER)
    device = device_for(reviewer)
    login(client, "clock@example.cn")
    response = client.post("/accounts/two-factor/", {"code": code(device, steps), "next": "/review/"})
    assert (response.status_code == 302) is accepted
    assert (client.get("/review/").status_code == 200) is accepted


def test_enterprise_users_may_enrol_and_then_must_use_it(otp_on: None, client: Client, make_user: Any) -> None:
    user = make_user("ent@example.cn")
    login(client, "ent@example.cn")
    assert not client.get("/")["Location"].startswith("/accounts/two-factor/")  # optional: no second step
    assert client.get("/accounts/two-factor/setup/").status_code == 200
    device = TOTPDevice.objects.get(user=user)
    assert client.post("/accounts/two-factor/setup/", {"code": code(device)}).status_code == 302
    assert "已启用" in client.get("/accounts/two-factor/setup/").content.decode()
    client.post("/accounts/logout/")
    login(client, "ent@example.cn")
    assert client.get("/")["Location"].startswith("/accounts/two-factor/")


def test_no_api_token_for_staff_and_staff_tokens_are_refused(settings: Any, make_user: Any) -> None:
    reviewer = make_user("api-rev@example.cn", Role.REVIEWER)
    make_user("api-port@example.cn", Role.PORT_ADMIN)
    make_user("api-ent@example.cn")
    old = Token.objects.create(user=reviewer)  # issued while 2FA was off
    settings.OTP_REQUIRED_ROLES = ["staff"]
    api = APIClient()
    staff = api.post("/api/v1/auth/token/", {"email": "api-port@example.cn", "password": PASSWORD}, format="json")
    assert staff.status_code == 403 and "API 令牌仅供企业系统使用" in staff.json()["detail"]
    assert not Token.objects.filter(user__email="api-port@example.cn").exists()
    for scheme in ("Token", "Bearer"):  # either spelling of the header: refused alike
        api.credentials(HTTP_AUTHORIZATION=f"{scheme} {old.key}")
        answer = api.get("/api/v1/products/")
        assert answer.status_code == 403 and answer.json()["code"] == "permission_denied", scheme
    enterprise = APIClient()
    token = enterprise.post("/api/v1/auth/token/", {"email": "api-ent@example.cn", "password": PASSWORD}, format="json")
    assert token.status_code == 200
    enterprise.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    assert enterprise.get("/api/v1/products/").status_code == 200


def test_when_off_staff_are_told_after_login(client: Client, make_user: Any) -> None:
    make_user("off@example.cn", Role.NATIONAL_ADMIN)
    make_user("off-ent@example.cn")
    page = client.get(login(client, "off@example.cn")["Location"], follow=True)
    assert "双因素认证未启用" in page.content.decode()
    other = Client()
    page = other.get(login(other, "off-ent@example.cn")["Location"], follow=True)
    assert "双因素认证未启用" not in page.content.decode()


def test_production_requires_it_for_all_staff_and_dev_does_not() -> None:
    show = ("shell", "-c", "from patent_platform import security; print(sorted(security.required_roles()))")
    production = run_manage(*show, env=production_env())
    assert production.returncode == 0, production.stderr
    roles = set(eval(production.stdout.strip().splitlines()[-1]))  # noqa: S307 (our own printed list)
    assert roles == {role for role in Role.values if role != Role.ENTERPRISE}
    dev = run_manage(*show, env={"DJANGO_SETTINGS_MODULE": "patent_platform.settings.dev"})
    assert dev.returncode == 0, dev.stderr
    assert dev.stdout.strip().splitlines()[-1] == "[]"
