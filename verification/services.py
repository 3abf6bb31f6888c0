"""The national office's actions on verification clients, and the record of each API call.

Every action is one transaction, re-reads its row through the scoping rule with a lock (`lock_visible`: only
national administrators see clients; anyone else gets 404), and is audited: the client's fields before → after
by the audit signal (apps.py), the secret's (re)issue and the suspension by an explicit event. The secret is
generated here, handed back once to be shown once, and stored only hashed (django-oauth-toolkit hashes it on
save); a new secret and a suspension also delete the client's access tokens.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import AccessToken, get_application_model

from patent_platform import audit, clock
from patent_platform.choices import AuditAction, Role
from patent_platform.models import Region, User
from patent_platform.roles import require_role
from patent_platform.scoping import lock_visible
from verification.choices import ClientScope, ClientStatus
from verification.models import ClientCall, VerificationClient

FIELDS = ("name", "organisation", "contact", "scopes", "region", "per_minute", "per_day", "valid_until", "note")


@dataclass(frozen=True)
class Issued:
    client: VerificationClient
    secret: str  # shown once, never stored in clear


def _check(data: dict[str, Any], *, creating: bool) -> None:
    errors: dict[str, list[str]] = {}
    scopes = list(data.get("scopes") or [])
    if not scopes:
        errors["scopes"] = [_("请至少选择一项权限。")]
    elif not set(scopes) <= set(ClientScope.values):
        errors["scopes"] = [_("权限范围无效。")]
    region: Region | None = data.get("region")
    if region is not None and region.level not in ("province", "city"):
        errors["region"] = [_("数据范围须为全国、一个省级或一个地级行政区。")]
    valid_until = data.get("valid_until")
    if creating and isinstance(valid_until, dt.date) and valid_until < clock.china_today():
        errors["valid_until"] = [_("有效期不能早于今天。")]
    if errors:
        raise ValidationError(errors)


def client_create(*, user: User, data: dict[str, Any]) -> Issued:
    """Register an outside system: its OAuth2 application (client credentials, confidential) and its record."""
    require_role(user, Role.NATIONAL_ADMIN)
    _check(data, creating=True)
    secret = generate_client_secret()
    with transaction.atomic():
        if VerificationClient.objects.filter(name=data["name"]).exists():
            raise ValidationError({"name": [_("已有同名的客户端。")]})
        Application = get_application_model()
        application = Application.objects.create(
            name=data["name"][:255],
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
            client_secret=secret,
            hash_client_secret=True,
            redirect_uris="",
        )
        client = VerificationClient(
            application=application, created_by=user, secret_issued_at=timezone.now(), **{f: data[f] for f in FIELDS}
        )
        client.full_clean()
        client.save()
    return Issued(client=client, secret=secret)


def client_update(*, user: User, client_id: int, data: dict[str, Any]) -> VerificationClient:
    require_role(user, Role.NATIONAL_ADMIN)
    _check(data, creating=False)
    with transaction.atomic():
        client: VerificationClient = lock_visible(VerificationClient.objects, user, client_id)
        if VerificationClient.objects.filter(name=data["name"]).exclude(pk=client.pk).exists():
            raise ValidationError({"name": [_("已有同名的客户端。")]})
        for field in FIELDS:
            setattr(client, field, data[field])
        client.full_clean()
        client.save()  # audited field by field (apps.py)
        application = client.application
        if application.name != client.name:
            application.name = client.name[:255]
            application.save(update_fields=["name"])
    return client


def _drop_tokens(client: VerificationClient) -> int:
    deleted: int = AccessToken.objects.filter(application_id=client.application_id).delete()[0]
    return deleted


def client_set_status(*, user: User, client_id: int, status: str, reason: str = "") -> VerificationClient:
    """Suspend (its tokens are deleted and refused from the next call) or reactivate a client."""
    require_role(user, Role.NATIONAL_ADMIN)
    if status not in ClientStatus.values:
        raise ValidationError({"status": [_("状态无效。")]})
    with transaction.atomic():
        client: VerificationClient = lock_visible(VerificationClient.objects, user, client_id)
        if client.status == status:
            return client
        client.status = status
        client.save(update_fields=["status"])
        if status == ClientStatus.SUSPENDED:
            _drop_tokens(client)
        audit.audit_event(
            action=AuditAction.UPDATE,
            obj=client,
            actor=user,
            changes={"status": status},
            message=f"verification client {status}" + (f": {reason}" if reason else ""),
        )
    return client


def client_new_secret(*, user: User, client_id: int) -> Issued:
    """A new secret (the old one stops working at once, its tokens are deleted); shown once."""
    require_role(user, Role.NATIONAL_ADMIN)
    secret = generate_client_secret()
    with transaction.atomic():
        client: VerificationClient = lock_visible(VerificationClient.objects, user, client_id)
        application = client.application
        application.client_secret = secret
        application.save(update_fields=["client_secret"])
        dropped = _drop_tokens(client)
        client.secret_issued_at = timezone.now()
        client.save(update_fields=["secret_issued_at"])
        audit.audit_event(
            action=AuditAction.UPDATE,
            obj=client,
            actor=user,
            changes={"secret": "reissued", "tokens_deleted": dropped},
            message="verification client secret reissued",
        )
    return Issued(client=client, secret=secret)


def client_delete(*, user: User, client_id: int) -> None:
    """Delete the client, its OAuth2 application and tokens, and its usage rows (the audit log keeps the calls)."""
    require_role(user, Role.NATIONAL_ADMIN)
    with transaction.atomic():
        client: VerificationClient = lock_visible(VerificationClient.objects, user, client_id)
        application = client.application
        ClientCall.objects.filter(client=client).delete()
        client.delete()  # audited (apps.py)
        application.delete()  # its tokens with it


# ---------------------------------------------------------------------------------------------------------------
# Calls


def client_actor(client: VerificationClient) -> SimpleNamespace:
    """Who acted, for the audit log: the client by its name and OAuth2 client id (not a user account)."""
    return SimpleNamespace(
        is_authenticated=True, pk=None, email=f"核验客户端:{client.name} ({client.application.client_id})"[:254]
    )


def record_call(
    *, client: VerificationClient, endpoint: str, status_code: int, subject: str = "", ip: str | None = None
) -> ClientCall:
    """One answered call: its usage row and its audit record, with the client's name."""
    now = timezone.now()
    with transaction.atomic():
        call = ClientCall.objects.create(
            client=client,
            at=now,
            day=timezone.localtime(now, clock.CHINA_TZ).date(),
            endpoint=endpoint,
            status_code=status_code,
            subject=subject[:40],
        )
        audit.audit_event(
            action=AuditAction.EXPORT,
            object_type="verification.call",
            object_id=subject[:64],
            object_repr=f"{endpoint} {subject}"[:200],
            changes={"endpoint": endpoint, "status": status_code, "client": client.name},
            message=f"verification API: {client.name} {endpoint} {subject} → {status_code}",
            success=status_code < 400,
            actor=client_actor(client),
            ip=ip,
        )
    return call
