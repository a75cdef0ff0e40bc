"""The small JOSE pieces Gatehouse needs to sign, done with pyca/cryptography directly.

Measured in ``bench/jose_sign.py``: signing through pyca/cryptography directly with a
precomputed header is faster than PyJWT or joserfc for the same ES256 tokens, so the hot path
uses this module; the tests verify its output with PyJWT.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

_URLSAFE = bytes.maketrans(b"+/", b"-_")


def b64url(data: bytes) -> bytes:
    """Base64url without padding (RFC 7515 §2)."""
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=")


def b64url_decode(data: str | bytes) -> bytes:
    """Decode base64url with or without padding; raises ``ValueError`` on bad input."""
    raw = data.encode("ascii") if isinstance(data, str) else data
    return base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))


def b64url_uint(number: int, length: int | None = None) -> str:
    """An unsigned integer as base64url (RFC 7518 §2 "Base64urlUInt")."""
    size = length if length is not None else max(1, (number.bit_length() + 7) // 8)
    return b64url(number.to_bytes(size, "big")).decode()


def encode_segment(obj: dict[str, Any]) -> bytes:
    """One JWS segment: base64url of compact JSON."""
    return b64url(orjson.dumps(obj))
