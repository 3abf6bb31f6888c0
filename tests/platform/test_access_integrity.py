"""Integrity of access-control data (issue 22, GB/T 39786-2021 level 3): an account's role carries an HMAC-SM3
tag; a role changed by raw SQL is refused on the next request (page and API token), audited, and listed by
`check_access_integrity` until the account is saved again through the application."""

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from patent_platform.choices import AuditAction, Role
from patent_platform.models import AuditEvent, User

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def _check() -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("check_access_integrity", stdout=out, stderr=err)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue() + err.getvalue()
    return 0, out.getvalue() + err.getvalue()


def _raw_role(user: User, role: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE patent_platform_user SET role = %s WHERE id = %s", [role, user.pk])


def test_a_role_changed_by_raw_sql_is_caught_on_the_next_request_and_by_the_check(client, make_user) -> None:
    user = make_user("filer@example.cn", Role.ENTERPRISE)
    other = make_user("other@example.cn", Role.ENTERPRISE)
    assert user.access_tag and user.access_tag != other.access_tag  # bound to the account, not only the role
    assert _check()[0] == 0
    client.force_login(user)
    page = reverse("password_change")
    assert client.get(page).status_code == 200
    token = Token.objects.create(user=user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/api/v1/products/").status_code == 200

    _raw_role(user, Role.NATIONAL_ADMIN)  # an intruder with database access promotes the account

    response = client.get(page)
    assert response.status_code == 403
    assert "完整性校验" in response.content.decode()
    assert client.get(page).status_code == 302  # the session was ended: back to the login page
    assert api.get("/api/v1/products/").status_code == 401
    event = AuditEvent.objects.filter(action=AuditAction.PERMISSION, object_id=str(user.pk), success=False).first()
    assert event is not None and "HMAC-SM3" in event.message
    code, output = _check()
    assert code == 1 and "filer@example.cn" in output and "other@example.cn" not in output

    # copying another account's tag does not help either: the tag covers the e-mail
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE patent_platform_user SET role = %s, access_tag = %s WHERE id = %s",
            [Role.ENTERPRISE, other.access_tag, user.pk],
        )
    assert _check()[0] == 1

    # the security administrator corrects the account through the application: tagged again
    user.refresh_from_db()
    user.role = Role.ENTERPRISE
    user.save(update_fields=["role"])
    assert _check()[0] == 0
    client.force_login(user)
    assert client.get(page).status_code == 200
