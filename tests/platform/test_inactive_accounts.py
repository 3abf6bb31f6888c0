"""Stale accounts (等保 L3-CES1-07): unused for 180 days, disabled by a daily task; disabling ends access."""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from rest_framework.authtoken.models import Token

from patent_platform.choices import AuditAction, Role
from patent_platform.models import AuditEvent, User
from patent_platform.tasks import disable_inactive_accounts

pytestmark = pytest.mark.django_db


def aged(user: User, *, last_login_days: int | None, joined_days: int) -> User:
    now = timezone.now()
    User.objects.filter(pk=user.pk).update(
        last_login=None if last_login_days is None else now - timedelta(days=last_login_days),
        date_joined=now - timedelta(days=joined_days),
    )
    return User.objects.get(pk=user.pk)


def sessions_of(user: User) -> int:
    return sum(1 for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(user.pk))


def test_the_daily_task_disables_exactly_the_stale_accounts(make_user: Any) -> None:
    stale_login = make_user("stale-login@example.cn")
    stale_never = make_user("stale-never@example.cn", Role.EXPERT)
    stale_reviewer = make_user("stale-rev@example.cn", Role.REVIEWER)
    fresh_login = make_user("fresh-login@example.cn")
    fresh_never = make_user("fresh-never@example.cn")
    make_user("national@example.cn", Role.NATIONAL_ADMIN)
    # each stale account is logged in somewhere (sessions outlive logins), and holds a token
    clients = {}
    for user in (stale_login, stale_reviewer, fresh_login):
        clients[user.email] = Client()
        clients[user.email].force_login(user)
        Token.objects.create(user=user)
    aged(stale_login, last_login_days=181, joined_days=400)
    aged(stale_never, last_login_days=None, joined_days=181)
    aged(stale_reviewer, last_login_days=200, joined_days=900)
    aged(fresh_login, last_login_days=179, joined_days=900)
    aged(fresh_never, last_login_days=None, joined_days=10)

    result = disable_inactive_accounts.delay().get()

    stale = {"stale-login@example.cn", "stale-never@example.cn", "stale-rev@example.cn"}
    assert set(result["accounts"]) == stale and result["disabled"] == 3
    assert set(User.objects.filter(is_active=False).values_list("email", flat=True)) == stale
    for email in ("stale-login@example.cn", "stale-rev@example.cn"):
        user = User.objects.get(email=email)
        assert sessions_of(user) == 0 and not Token.objects.filter(user=user).exists()
    assert clients["stale-rev@example.cn"].get("/review/")["Location"].startswith("/accounts/login/")
    assert sessions_of(fresh_login) == 1 and Token.objects.filter(user=fresh_login).exists()
    audited = AuditEvent.objects.filter(action=AuditAction.UPDATE, message__startswith="inactive:")
    assert set(audited.values_list("object_repr", flat=True)) == {str(User.objects.get(email=e)) for e in stale}
    # a second run finds nothing left to do
    assert disable_inactive_accounts.delay().get()["disabled"] == 0


def test_the_last_active_national_administrator_stays(make_user: Any) -> None:
    older = aged(make_user("nat-old@example.cn", Role.NATIONAL_ADMIN), last_login_days=400, joined_days=900)
    newer = aged(make_user("nat-new@example.cn", Role.NATIONAL_ADMIN), last_login_days=200, joined_days=900)
    assert disable_inactive_accounts.delay().get()["accounts"] == ["nat-old@example.cn"]
    assert not User.objects.get(pk=older.pk).is_active and User.objects.get(pk=newer.pk).is_active
    # with another national administrator in use, the stale one goes too
    make_user("nat-active@example.cn", Role.NATIONAL_ADMIN)
    assert disable_inactive_accounts.delay().get()["accounts"] == ["nat-new@example.cn"]


def test_the_period_is_configurable(make_user: Any, settings: Any) -> None:
    aged(make_user("month@example.cn"), last_login_days=40, joined_days=400)
    assert disable_inactive_accounts.delay().get()["disabled"] == 0
    settings.INACTIVE_ACCOUNT_DAYS = 30
    assert disable_inactive_accounts.delay().get()["accounts"] == ["month@example.cn"]


def test_disabling_an_account_anywhere_ends_its_sessions_and_tokens(make_user: Any) -> None:
    user = make_user("leaver@example.cn", Role.REVIEWER)
    colleague = make_user("stays@example.cn", Role.REVIEWER)
    browser, phone, other = Client(), Client(), Client()
    browser.force_login(user)
    phone.force_login(user)
    other.force_login(colleague)
    Token.objects.create(user=user)
    Token.objects.create(user=colleague)
    assert sessions_of(user) == 2 and browser.get("/review/").status_code == 200

    user.is_active = False
    user.save()

    assert sessions_of(user) == 0 and not Token.objects.filter(user=user).exists()
    assert browser.get("/review/")["Location"].startswith("/accounts/login/")
    assert sessions_of(colleague) == 1 and Token.objects.filter(user=colleague).exists()
    assert other.get("/review/").status_code == 200
    # saving an already disabled account again, or an active one, ends nothing
    colleague.full_name = "改名"
    colleague.save()
    assert sessions_of(colleague) == 1


def test_the_task_is_scheduled_daily() -> None:
    periodic = PeriodicTask.objects.get(task="patent_platform.disable_inactive_accounts")
    assert periodic.enabled
    crontab = periodic.crontab
    assert (crontab.minute, crontab.hour, crontab.day_of_month, crontab.day_of_week) == ("30", "3", "*", "*")
    assert str(crontab.timezone) == "Asia/Shanghai"
