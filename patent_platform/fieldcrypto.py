"""Personal data encrypted at rest, field by field (密评 GB/T 39786-2021 level 3, data-at-rest
confidentiality; issue 22 part 1; docs/SECURITY.md).

- Cipher: SM4 (GB/T 32907) in GCM, an authenticated mode, from the `cryptography` package (OpenSSL's SM4;
  nothing hand-rolled). Every value gets a fresh 96-bit nonce; the 128-bit tag authenticates the ciphertext
  and, as associated data, the token's version and key id, so a value cannot be moved under another key id.
- Stored form, a versioned text token: ``sm4g1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>``.
  The empty string is stored as the empty string (that a field is blank is not personal data).
- Keys: ``settings.FIELD_ENCRYPTION_KEYS``, a list of ``<key id>:<base64 of 16 bytes>``; the first encrypts,
  all of them decrypt (rotation: put a new key first, run ``manage.py rotate_field_keys``, then remove the
  old one). A deployment that keeps its keys in a KMS names a callable in
  ``settings.FIELD_ENCRYPTION_KEY_PROVIDER`` (dotted path) returning that same list.
- Exact-match look-ups go through a blind index: HMAC-SM3 (GB/T 32905) under a separate key,
  ``settings.FIELD_BLIND_INDEX_KEY``, over the normalised value (an e-mail lower-cased, a phone number's
  digits), hex. See patent_platform/encrypted_fields.py for the model fields built on this module.
"""

import base64
import binascii
import functools
import os
import re
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

VERSION = "sm4g1"
PREFIX = VERSION + ":"
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 16  # SM4 has a 128-bit key
KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


class FieldCryptoError(Exception):
    """A stored value cannot be decrypted: its key is not configured any more, or it was altered."""


class Keyring:
    def __init__(self, entries: Sequence[str]) -> None:
        self.keys: dict[str, bytes] = {}
        self.ciphers: dict[str, algorithms.SM4] = {}  # made once per key (a fifth of a value's decryption)
        self.current = ""
        for entry in entries:
            kid, sep, material = str(entry).strip().partition(":")
            if not sep or not KEY_ID.match(kid):
                raise ImproperlyConfigured(
                    "FIELD_ENCRYPTION_KEYS: each entry is '<key id>:<base64 key>', the key id of letters, "
                    f"digits, '.', '_' or '-' (entry {entry[:8]!r}…)"
                )
            try:
                key = base64.b64decode(material, validate=True)
            except binascii.Error as exc:
                raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS: key {kid!r} is not base64") from exc
            if len(key) != KEY_BYTES:
                raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS: key {kid!r} must be {KEY_BYTES} bytes (SM4)")
            if kid in self.keys:
                raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS: key id {kid!r} is listed twice")
            self.keys[kid] = key
            self.ciphers[kid] = algorithms.SM4(key)
            self.current = self.current or kid
        if not self.current:
            raise ImproperlyConfigured(
                "FIELD_ENCRYPTION_KEYS is empty: personal data is stored encrypted and needs a key "
                "(docs/SECURITY.md, 'Personal data at rest')"
            )


@functools.lru_cache(maxsize=8)
def _keyring_for(entries: tuple[str, ...]) -> Keyring:
    return Keyring(entries)


def keyring() -> Keyring:
    provider = getattr(settings, "FIELD_ENCRYPTION_KEY_PROVIDER", "")
    entries = import_string(provider)() if provider else getattr(settings, "FIELD_ENCRYPTION_KEYS", [])
    return _keyring_for(tuple(entries))


@functools.lru_cache(maxsize=8)
def _blind_key_for(material: str) -> bytes:
    try:
        key = base64.b64decode(material, validate=True)
    except binascii.Error as exc:
        raise ImproperlyConfigured("FIELD_BLIND_INDEX_KEY is not base64") from exc
    if len(key) < 16:
        raise ImproperlyConfigured("FIELD_BLIND_INDEX_KEY: at least 16 bytes (base64), and not an encryption key")
    return key


def blind_index_key() -> bytes:
    material = getattr(settings, "FIELD_BLIND_INDEX_KEY", "")
    if not material:
        raise ImproperlyConfigured("FIELD_BLIND_INDEX_KEY is empty: exact-match look-ups of personal data need it")
    return _blind_key_for(material)


def _aad(kid: str) -> bytes:
    return f"{VERSION}:{kid}".encode("ascii")


def is_token(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def key_id(value: str) -> str | None:
    """The key id of a stored token; None for a value that is not one (empty, or plaintext not yet migrated)."""
    if not is_token(value):
        return None
    return value.split(":", 2)[1]


def encrypt(plaintext: str, nonce: bytes | None = None) -> str:
    """The token for `plaintext` under the current key; '' stays ''. The nonce comes from the OS; `nonce` is
    for reproducible synthetic data only (seed_scale), never for real data (a nonce reused under one key
    breaks GCM)."""
    if plaintext == "":
        return ""
    ring = keyring()
    kid = ring.current
    nonce = nonce if nonce is not None and len(nonce) == NONCE_BYTES else os.urandom(NONCE_BYTES)
    encryptor = Cipher(ring.ciphers[kid], modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(_aad(kid))
    body = encryptor.update(plaintext.encode("utf-8")) + encryptor.finalize()
    payload = base64.urlsafe_b64encode(nonce + body + encryptor.tag).decode("ascii")
    return f"{PREFIX}{kid}:{payload}"


def decrypt(value: str) -> str:
    """The plaintext of a token. A value that is not a token (the empty string, or a row written before the
    column was encrypted and not migrated yet) is returned as it is; `rotate_field_keys --check` counts them."""
    if not is_token(value):
        return value
    try:
        _version, kid, payload = value.split(":", 2)
        raw = base64.urlsafe_b64decode(payload.encode("ascii"))
    except (ValueError, binascii.Error) as exc:
        raise FieldCryptoError("malformed encrypted value") from exc
    cipher = keyring().ciphers.get(kid)
    if cipher is None:
        raise FieldCryptoError(
            f"encrypted value under key id {kid!r}, which FIELD_ENCRYPTION_KEYS no longer holds "
            "(put the key back, or the value is lost)"
        )
    if len(raw) < NONCE_BYTES + TAG_BYTES:
        raise FieldCryptoError("malformed encrypted value")
    nonce, body, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:-TAG_BYTES], raw[-TAG_BYTES:]
    decryptor = Cipher(cipher, modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(_aad(kid))
    try:
        return (decryptor.update(body) + decryptor.finalize()).decode("utf-8")
    except InvalidTag as exc:
        raise FieldCryptoError(f"encrypted value under key id {kid!r} fails authentication (altered?)") from exc


def is_valid_token(value: str) -> bool:
    """Whether `value` is a token that decrypts under the configured keys (a forged or altered one does not:
    without the key nobody makes a tag that authenticates)."""
    try:
        decrypt(value)
    except FieldCryptoError:
        return False
    return True


def normalise(value: str, kind: str) -> str:
    value = (value or "").strip()
    if kind == "email":
        return value.lower()
    if kind == "phone":
        return "".join(ch for ch in value if ch.isdigit())
    return value


def blind_index(value: str, kind: str = "text") -> str:
    """HMAC-SM3 (hex) of the normalised value; '' for an empty one (blank fields are not indexed)."""
    norm = normalise(value, kind)
    if not norm:
        return ""
    mac = hmac.HMAC(blind_index_key(), hashes.SM3())
    mac.update(f"{kind}:{norm}".encode())
    return mac.finalize().hex()


def new_key() -> str:
    """A fresh key, base64 (for FIELD_ENCRYPTION_KEYS and FIELD_BLIND_INDEX_KEY; `rotate_field_keys --new-key`)."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")


@checks.register(checks.Tags.security)
def check_field_keys(app_configs: object = None, **kwargs: object) -> list[checks.CheckMessage]:
    """The keys load (`manage.py check`, and so every start of the servers): a wrong key refuses to start."""
    try:
        keyring()
        blind_index_key()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), hint="docs/SECURITY.md, 'Personal data at rest'", id="patent_platform.E120")]
    return []
