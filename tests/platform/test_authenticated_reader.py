"""`authenticated_reader`: the narrowing of a reader that the role-reading `visible_to` overrides use. It
answers exactly what `getattr(user, "is_authenticated", False)` answers: a user (active or not) and a task's
Principal pass, an anonymous visitor and nobody do not."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import AnonymousUser

from patent_platform.models import User
from patent_platform.scoping import EVERYTHING, NOTHING, authenticated_reader, principal_for

pytestmark = pytest.mark.django_db


def test_nobody_and_anonymous_visitors_are_not_readers() -> None:
    assert authenticated_reader(None) is None
    assert authenticated_reader(AnonymousUser()) is None


def test_users_pass_whether_active_or_not(make_user: Callable[..., User]) -> None:
    user = make_user("reader@example.cn")
    assert authenticated_reader(user) is user
    user.is_active = False
    assert authenticated_reader(user) is user  # `is_active` is each override's own question


def test_task_principals_pass() -> None:
    for principal in (principal_for(EVERYTHING, label="national"), principal_for(NOTHING, label="port")):
        assert authenticated_reader(principal) is principal
