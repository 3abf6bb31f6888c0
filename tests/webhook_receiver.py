"""A real HTTPS receiver of webhooks on loopback, as an enterprise's system would run one (issue 24).

http.server in a thread behind TLS, with a self-signed certificate made for the test and trusted through
WEBHOOK_CA_BUNDLE (WEBHOOK_ALLOW_PRIVATE_HOSTS lets the platform post to 127.0.0.1). It checks every
request's Standard Webhooks signature with the endpoint's secret and answers 401 to a bad one. The fixtures
`webhook_receiver_server` (one per module) and `receiver` are registered in tests/filings/conftest.py.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1 and its key, made with `cryptography`."""
    cert, key = folder / "receiver.pem", folder / "receiver.key"
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(private, hashes.SHA256())
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert, key


def signature_ok(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The receiver's check, written from the Standard Webhooks text (not with the platform's code)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [part.split(",", 1)[1] for part in headers["webhook-signature"].split() if part.startswith("v1,")]
    return any(hmac.compare_digest(expected, g) for g in given)


class Receiver:
    """What the enterprise's system saw; `script` holds the status codes of the next answers (then 200);
    `echo` whether a verification is answered with its challenge."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[int] = []
        self.echo = True
        self.secret = ""
        self.url = ""

    def reset(self) -> None:
        self.requests.clear()
        self.script.clear()
        self.echo = True
        self.secret = ""

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.requests if event_type is None or r["json"]["type"] == event_type]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            ok = bool(receiver.secret) and signature_ok(receiver.secret, headers, body)
            payload = json.loads(body)
            receiver.requests.append({"headers": headers, "body": body, "json": payload, "signature_ok": ok})
            status = 401 if not ok else receiver.script.pop(0) if receiver.script else 200
            answer = b"ok"
            if payload["type"] == "webhook.verification" and receiver.echo:
                answer = json.dumps({"challenge": payload["data"]["challenge"]}).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (http.server's signature)
            pass

    return Handler


@pytest.fixture(scope="module")
def webhook_receiver_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Receiver, Path]]:
    cert, key = _self_signed(tmp_path_factory.mktemp("tls"))
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    receiver.url = f"https://localhost:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver, cert
    server.shutdown()
    server.server_close()


@pytest.fixture
def receiver(webhook_receiver_server: tuple[Receiver, Path], settings: Any) -> Receiver:
    server, cert = webhook_receiver_server
    server.reset()
    settings.WEBHOOK_CA_BUNDLE = str(cert)
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    return server
