"""SM2 signatures of the documents the platform issues (receipts, certificates, statements), and the keyed
SM3 (HMAC-SM3) the audit chain and the access-control tags use. GB/T 39786-2021 level 3, 不可否认性 and
完整性 (docs/SECURITY.md, "National cryptography").

- SM2 (GB/T 32918 / GM/T 0003) with SM3 and the default distinguishing identifier "1234567812345678"
  (the Z_A of GM/T 0009), from `tongsuopy` (the Tongsuo project's binding of its C library; why this one:
  docs/SECURITY.md). Nothing here is hand-rolled: this module only chooses parameters and formats.
- The signing key: settings.SM2_SIGNING_KEY, a private key as 64 hex digits (production has no default and
  refuses to start without one; dev and test settings carry a fixed, public, test-only key). Its key id is
  the first 16 hex digits of SM3 over the public key's uncompressed point.
- What is signed: the document's facts as canonical JSON (sorted keys, no whitespace, UTF-8), built by the
  module that renders the document (filings/receipts.py, evaluation/certificates.py, provincial/statements.py).
- Each PDF carries an attachment `sm2-signature.json` ({"content": …, "signature": base64 DER, "key_id": …,
  "algorithm": …}); `verify_pdf` reads it back (pypdf) without the database or the network: the
  `verify_document` command and the public page /verify/signature/ use it.
"""

from __future__ import annotations

import base64
import binascii
import hmac as std_hmac
import io
import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import hashes as c_hashes
from cryptography.hazmat.primitives import hmac as c_hmac
from django.conf import settings
from django.core import checks

ALGORITHM = "SM2-with-SM3"
USER_ID = "1234567812345678"  # GM/T 0009 default distinguishing identifier (Tongsuo's default)
ATTACHMENT_NAME = "sm2-signature.json"
MAX_PAYLOAD_BYTES = 1_000_000


class SignatureError(Exception):
    """A document whose signature cannot be read or does not verify."""


# ---- canonical content -----------------------------------------------------------------------------------


def canonical_bytes(facts: dict[str, Any]) -> bytes:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8, no NaN."""
    return json.dumps(facts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


# ---- SM3 and HMAC-SM3 (the `cryptography` package) -------------------------------------------------------


def sm3_hex(data: bytes) -> str:
    digest = c_hashes.Hash(c_hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def hmac_sm3_hex(key: bytes, data: bytes) -> str:
    mac = c_hmac.HMAC(key, c_hashes.SM3())
    mac.update(data)
    return mac.finalize().hex()


def constant_time_equal(a: str, b: str) -> bool:
    return std_hmac.compare_digest(a.encode(), b.encode())


# ---- SM2 keys --------------------------------------------------------------------------------------------


def _ec() -> Any:
    from tongsuopy.crypto.asymciphers import ec

    return ec


def private_key_from_hex(hex_key: str) -> Any:
    try:
        value = int(hex_key.strip(), 16)
    except (ValueError, AttributeError) as exc:
        raise SignatureError("SM2_SIGNING_KEY is not a hexadecimal private key") from exc
    ec = _ec()
    try:
        return ec.derive_private_key(value, ec.SM2())
    except ValueError as exc:
        raise SignatureError("SM2_SIGNING_KEY is out of range for the SM2 curve") from exc


def public_key_pem(public_key: Any) -> str:
    from tongsuopy.crypto import serialization

    pem: bytes = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem.decode("ascii")


def load_public_key_pem(pem: str | bytes) -> Any:
    from tongsuopy.crypto import serialization

    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise SignatureError("not an SM2 public key in PEM") from exc
    if getattr(key.curve, "name", "") != "SM2":
        raise SignatureError("not an SM2 public key")
    return key


def key_id(public_key: Any) -> str:
    numbers = public_key.public_numbers()
    point = b"\x04" + numbers.x.to_bytes(32, "big") + numbers.y.to_bytes(32, "big")
    return sm3_hex(point)[:16]


@dataclass(frozen=True)
class SigningKey:
    private: Any
    public: Any
    key_id: str
    pem: str


@lru_cache(maxsize=4)
def _signing_key(hex_key: str) -> SigningKey:
    private = private_key_from_hex(hex_key)
    public = private.public_key()
    return SigningKey(private, public, key_id(public), public_key_pem(public))


def signing_key() -> SigningKey:
    return _signing_key(settings.SM2_SIGNING_KEY)


# ---- sign and verify -------------------------------------------------------------------------------------


def sign(data: bytes, key: SigningKey | None = None) -> bytes:
    """The SM2 signature (DER) of `data` under the platform's key (or `key`)."""
    from tongsuopy.crypto import hashes

    key = key or signing_key()
    result: bytes = key.private.sign(data, _ec().ECDSA(hashes.SM3()))
    return result


def verify(data: bytes, signature: bytes, public_key: Any = None) -> bool:
    """Whether `signature` (DER) is an SM2 signature of `data` under `public_key` (default: the platform's)."""
    from tongsuopy.crypto import hashes
    from tongsuopy.crypto.exceptions import InvalidSignature

    public_key = public_key if public_key is not None else signing_key().public
    try:
        public_key.verify(signature, data, _ec().ECDSA(hashes.SM3()))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


# ---- the signed document: built, embedded in the PDF, read back -----------------------------------------


@dataclass(frozen=True)
class SignedFacts:
    facts: dict[str, Any]
    signature: bytes
    key_id: str
    algorithm: str = ALGORITHM
    valid: bool | None = None  # set by verify_pdf / check
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def signature_b64(self) -> str:
        return base64.b64encode(self.signature).decode("ascii")

    def payload(self) -> bytes:
        return canonical_bytes(
            {"algorithm": self.algorithm, "content": self.facts, "key_id": self.key_id, "signature": self.signature_b64}
        )


def sign_facts(facts: dict[str, Any]) -> SignedFacts:
    key = signing_key()
    return SignedFacts(facts=facts, signature=sign(canonical_bytes(facts), key), key_id=key.key_id)


def attachment(signed: SignedFacts) -> Any:
    """The WeasyPrint attachment that carries the signed facts inside the PDF."""
    import weasyprint

    return weasyprint.Attachment(
        string=signed.payload(),
        name=ATTACHMENT_NAME,
        description=f"{ALGORITHM} signature, key {signed.key_id}",
    )


def write_signed_pdf(document: Any, signed: SignedFacts) -> bytes:
    """`document` (a weasyprint.HTML) as PDF bytes with the signed facts attached."""
    result: bytes = document.write_pdf(attachments=[attachment(signed)])
    return result


def read_pdf(pdf: bytes) -> SignedFacts:
    """The signed facts embedded in a PDF (not verified yet); SignatureError if there are none or they
    cannot be read."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(pdf))
        found = reader.attachments.get(ATTACHMENT_NAME)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError, binascii.Error) as exc:
        raise SignatureError(f"the PDF cannot be read: {exc}") from exc
    except Exception as exc:
        raise SignatureError(f"the PDF cannot be read: {type(exc).__name__}") from exc
    if not found:
        raise SignatureError(f"the PDF carries no {ATTACHMENT_NAME}")
    raw = found[0]
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise SignatureError("the embedded signature is too large")
    try:
        payload = json.loads(raw.decode("utf-8"))
        facts = payload["content"]
        signature = base64.b64decode(payload["signature"], validate=True)
        kid = str(payload.get("key_id", ""))
        algorithm = str(payload.get("algorithm", ""))
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise SignatureError("the embedded signature is not readable") from exc
    if not isinstance(facts, dict):
        raise SignatureError("the embedded content is not a document's facts")
    return SignedFacts(facts=facts, signature=signature, key_id=kid, algorithm=algorithm)


def verify_pdf(pdf: bytes, public_key: Any = None) -> SignedFacts:
    """Read the signed facts of a PDF and verify them with `public_key` (default: the platform's).

    Returns the facts with `valid` and `reason`; a PDF with nothing readable raises SignatureError."""
    signed = read_pdf(pdf)
    public_key = public_key if public_key is not None else signing_key().public
    if signed.algorithm != ALGORITHM:
        return SignedFacts(signed.facts, signed.signature, signed.key_id, signed.algorithm, False, "algorithm")
    ok = verify(canonical_bytes(signed.facts), signed.signature, public_key)
    reason = "" if ok else ("key" if signed.key_id != key_id(public_key) else "signature")
    return SignedFacts(signed.facts, signed.signature, signed.key_id, signed.algorithm, ok, reason)


# ---- settings check --------------------------------------------------------------------------------------


@checks.register(checks.Tags.security)
def check_signing_key(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        signing_key()
    except SignatureError as exc:
        return [checks.Error(f"{exc} (settings.SM2_SIGNING_KEY)", id="patent_platform.E120")]
    return []


__all__ = [
    "ALGORITHM",
    "ATTACHMENT_NAME",
    "USER_ID",
    "SignatureError",
    "SignedFacts",
    "canonical_bytes",
    "hmac_sm3_hex",
    "key_id",
    "load_public_key_pem",
    "read_pdf",
    "sign",
    "sign_facts",
    "signing_key",
    "sm3_hex",
    "verify",
    "verify_pdf",
    "write_signed_pdf",
]
