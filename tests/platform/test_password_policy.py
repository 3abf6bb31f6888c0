"""Password age and reuse (等保 L3-CES1-01, periodic change): configurable, default 90 days and the last 5."""

import itertools
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.hashers import check_password
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from patent_platform.choices import Role
from patent_platform.models import PasswordHistory, User

pytestmark = pytest.mark.django_db
PASSWORD = "Demo-2026!"


def login(client: Client, email: str, password: str = PASSWORD) -> Any:
    return client.post("/accounts/login/", {"username": email, "password": password})


def change(client: Client, old: str, new: str) -> Any:
    return client.post("/accounts/password/", {"old_password": old, "new_password1": new, "new_password2": new})


def test_a_password_older_than_90_days_must_be_changed_first(client: Client, make_user: Any) -> None:
    user = make_user("old@example.cn", Role.REVIEWER)
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=91))
    page = client.get(login(client, "old@example.cn")["Location"], follow=True)
    assert page.redirect_chain[-1][0] == "/accounts/password/"
    assert "密码已使用超过 90 天" in page.content.decode()
    assert client.get("/review/")["Location"] == "/accounts/password/"
    assert change(client, PASSWORD, "Fresh-Pass-2027").status_code == 302
    assert client.get("/review/").status_code == 200
    changed = User.objects.get(pk=user.pk).password_changed_at
    assert timezone.now() - changed < timedelta(minutes=1)


def test_a_password_younger_than_the_limit_or_no_limit_is_not_asked(
    client: Client, make_user: Any, settings: Any
) -> None:
    user = make_user("young@example.cn", Role.REVIEWER)
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=89))
    assert client.get(login(client, "young@example.cn")["Location"])["Location"] == "/review/"
    settings.PASSWORD_MAX_AGE_DAYS = 0  # the national office relaxed the rule
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=400))
    other = Client()
    assert other.get(login(other, "young@example.cn")["Location"])["Location"] == "/review/"


def test_an_account_older_than_the_field_counts_from_joining(client: Client, make_user: Any) -> None:
    user = make_user("legacy@example.cn", Role.PORT_ADMIN)
    User.objects.filter(pk=user.pk).update(password_changed_at=None, date_joined=timezone.now() - timedelta(days=120))
    assert client.get(login(client, "legacy@example.cn")["Location"])["Location"] == "/accounts/password/"


def test_the_last_five_passwords_are_refused(client: Client, make_user: Any) -> None:
    user = make_user("reuse@example.cn")
    login(client, "reuse@example.cn")
    same = change(client, PASSWORD, PASSWORD)
    assert same.status_code == 200 and "不能使用最近 5 次用过的密码" in same.content.decode()
    passwords = [PASSWORD] + [f"Rotate-{i}-Pass" for i in range(1, 6)]
    for old, new in itertools.pairwise(passwords[:5]):
        assert change(client, old, new).status_code == 302
    # now: Rotate-4 (current), 3, 2, 1 and the first one are the last five
    back = change(client, "Rotate-4-Pass", PASSWORD)
    assert back.status_code == 200 and "不能使用最近 5 次用过的密码" in back.content.decode()
    assert change(client, "Rotate-4-Pass", "Rotate-5-Pass").status_code == 302
    # the first has dropped out of the last five
    assert change(client, "Rotate-5-Pass", PASSWORD).status_code == 302
    # hashes only, and only as many as the policy needs
    history = list(PasswordHistory.objects.filter(user=user).values_list("password", flat=True))
    assert len(history) == 5
    assert all(PASSWORD not in h and h.count("$") >= 2 for h in history)
    assert check_password(PASSWORD, history[0])


def test_accounts_older_than_the_history_refuse_their_current_password(make_user: Any) -> None:
    user = make_user("nohistory@example.cn")
    PasswordHistory.objects.filter(user=user).delete()
    with pytest.raises(ValidationError, match="最近 5 次"):
        validate_password(PASSWORD, user)
    validate_password("Another-Pass-9", user)


def test_the_activation_form_refuses_a_recent_password(client: Client, make_user: Any) -> None:
    user = make_user("activate@example.cn")
    url = (
        f"/accounts/activate/{urlsafe_base64_encode(force_bytes(user.pk))}/{default_token_generator.make_token(user)}/"
    )
    form_url = client.get(url)["Location"]
    refused = client.post(form_url, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert refused.status_code == 200 and "不能使用最近 5 次用过的密码" in refused.content.decode()
    assert (
        client.post(form_url, {"new_password1": "Brand-New-2027", "new_password2": "Brand-New-2027"}).status_code == 302
    )
    assert User.objects.get(pk=user.pk).check_password("Brand-New-2027")


def test_no_history_when_switched_off(make_user: Any, settings: Any) -> None:
    settings.PASSWORD_HISTORY = 0
    user = make_user("nohist@example.cn")
    assert not PasswordHistory.objects.filter(user=user).exists()
    validate_password(PASSWORD, user)
