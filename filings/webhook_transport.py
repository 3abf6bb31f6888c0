"""How a webhook leaves the platform (filings/webhooks.py): which addresses may receive one, and the HTTPS POST.

- `resolve` / `validate_url`: only `https://` URLs without credentials; every address the host resolves to is
  checked, and a loopback, private, link-local, multicast or otherwise non-global one is refused unless
  WEBHOOK_ALLOW_PRIVATE_HOSTS (a closed network, docs/OPERATIONS.md). Checked at registration and again at
  every attempt.
- `post`: connects to the addresses that were checked (a DNS answer cannot switch to an internal address
  between the check and the connection), verifies TLS against the system CAs or WEBHOOK_CA_BUNDLE with the
  host name, never follows a redirect, waits WEBHOOK_TIMEOUT to connect and to read, reads at most
  MAX_RESPONSE_BYTES of the answer, and never raises for a network or TLS error (the error is the answer).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from filings.models import WebhookEndpoint

MAX_RESPONSE_BYTES = 64 * 1024  # read of an answer (a verification's challenge must be in it)


def _blocked(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def resolve(url: str) -> tuple[str, int, list[str]]:
    """The host, port and addresses of an https URL, every address allowed; ValidationError (on `url`)
    otherwise. Private addresses are allowed only with WEBHOOK_ALLOW_PRIVATE_HOSTS."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "https":
        raise ValidationError({"url": _("只接受 https:// 地址。")}, code="https_required")
    if parts.username or parts.password:
        raise ValidationError({"url": _("地址中不能包含用户名或密码。")}, code="credentials_in_url")
    host = parts.hostname or ""
    try:
        port = parts.port or 443
    except ValueError as exc:
        raise ValidationError({"url": _("端口无效。")}, code="invalid_port") from exc
    if not host:
        raise ValidationError({"url": _("请填写完整的地址。")}, code="invalid_url")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ValidationError(
            {"url": _("无法解析主机名 %(host)s。") % {"host": host}}, code="unresolvable_host"
        ) from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise ValidationError({"url": _("无法解析主机名 %(host)s。") % {"host": host}}, code="unresolvable_host")
    if not settings.WEBHOOK_ALLOW_PRIVATE_HOSTS and any(_blocked(a) for a in addresses):
        raise ValidationError({"url": _("该地址指向本机、内网或链路本地地址，不能用作接收地址。")}, code="private_host")
    return host, port, addresses


def validate_url(url: str) -> str:
    url = (url or "").strip()
    max_length = WebhookEndpoint._meta.get_field("url").max_length
    if max_length is not None and len(url) > max_length:
        raise ValidationError({"url": _("地址过长。")}, code="too_long")
    resolve(url)
    return url


@dataclass(frozen=True)
class Answer:
    status: int | None
    body: bytes
    error: str


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to addresses resolved (and checked) beforehand, tried in order, with the
    certificate checked against the host name: the DNS cannot hand the connection another address than the
    one the check saw."""

    def __init__(self, host: str, port: int, addresses: Sequence[str], **kwargs: Any) -> None:
        super().__init__(host, port, **kwargs)
        self._addresses = list(addresses)

    def connect(self) -> None:
        error: OSError | None = None
        for address in self._addresses:
            try:
                sock = socket.create_connection((address, self.port), self.timeout)
            except OSError as exc:
                error = exc
                continue
            self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]
            return
        raise error or OSError("no address to connect to")


def tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=settings.WEBHOOK_CA_BUNDLE or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def post(url: str, headers: Mapping[str, str], body: bytes) -> Answer:
    """POST `body` to `url`; never follows a redirect, never raises for network or TLS errors."""
    try:
        host, port, addresses = resolve(url)
    except ValidationError as exc:
        return Answer(None, b"", " ".join(exc.messages))
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection = _PinnedHTTPSConnection(host, port, addresses, timeout=settings.WEBHOOK_TIMEOUT, context=tls_context())
    try:
        connection.request("POST", target, body=body, headers=dict(headers))
        response = connection.getresponse()
        content = response.read(MAX_RESPONSE_BYTES)
        return Answer(response.status, content, "" if 200 <= response.status < 300 else f"HTTP {response.status}")
    except (OSError, http.client.HTTPException, ssl.SSLError, ValueError) as exc:
        return Answer(None, b"", f"{type(exc).__name__}: {exc}")
    finally:
        connection.close()
