"""Client identifiers and client secrets (SPEC §1).

A secret looks like ``gths_`` + 43 base62 characters (256 bits of randomness) + a 6-character
base62 CRC-32 checksum, 54 characters in all, matched by :data:`SECRET_PATTERN`::

    gths_[0-9A-Za-z]{49}

The checksum lets a secret scanner confirm a match, and lets the token endpoint reject a mistyped
secret without any lookup. The server verifies secrets with HMAC-SHA256 under a key derived from
the master key (a fast keyed hash: the secret is high-entropy, so a slow hash only costs
throughput), and can keep an AES-GCM sealed copy for "Copy secret".
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
SECRET_PREFIX = "gths_"  # noqa: S105 - the documented public prefix, not a secret
SECRET_PATTERN = re.compile(r"gths_[0-9A-Za-z]{49}")
_BODY_CHARS = 43  # 62**43 > 2**256
_CHECKSUM_CHARS = 6  # 62**6 > 2**32
CLIENT_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
CLIENT_ID_LENGTH = 26  # 36**26 ≈ 2**134


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rest = divmod(number, 62)
        digits.append(BASE62[rest])
    return "".join(reversed(digits))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), _CHECKSUM_CHARS)


def generate_secret() -> str:
    """A new client secret: prefix, 256 random bits in base62, checksum."""
    body = SECRET_PREFIX + "".join(secrets.choice(BASE62) for _ in range(_BODY_CHARS))
    return body + _checksum(body)


def is_well_formed(secret: str) -> bool:
    """True when ``secret`` has the documented shape and a correct checksum."""
    if len(secret) != len(SECRET_PREFIX) + _BODY_CHARS + _CHECKSUM_CHARS:
        return False
    if SECRET_PATTERN.fullmatch(secret) is None:
        return False
    body = secret[:-_CHECKSUM_CHARS]
    return hmac.compare_digest(secret[-_CHECKSUM_CHARS:], _checksum(body))


def hash_secret(secret: str, *, key: bytes) -> bytes:
    """The keyed hash stored for verification: HMAC-SHA256(key, secret)."""
    return SecretHasher(key)(secret)


_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


class SecretHasher:
    """HMAC-SHA256 (RFC 2104) under one key, keyed once: each call copies the keyed inner and
    outer hash states, which is all that differs between secrets (the token path)."""

    def __init__(self, key: bytes) -> None:
        if len(key) > 64:
            key = hashlib.sha256(key).digest()
        block = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(block.translate(_IPAD))
        self._outer = hashlib.sha256(block.translate(_OPAD))

    def __call__(self, secret: str) -> bytes:
        inner = self._inner.copy()
        inner.update(secret.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


def generate_client_id() -> str:
    """A new public client identifier: 26 lowercase letters and digits."""
    return "".join(secrets.choice(CLIENT_ID_ALPHABET) for _ in range(CLIENT_ID_LENGTH))


def generate_app_id() -> str:
    """A new application client resource id, ``app_`` + 16 base62 characters."""
    return "app_" + "".join(secrets.choice(BASE62) for _ in range(16))
