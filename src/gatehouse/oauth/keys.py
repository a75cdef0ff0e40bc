"""Signing keys of a customer: generation, JWK export (RFC 7517, RFC 7518), thumbprints
(RFC 7638), sealing at rest, and signing for the four supported algorithms.

Key states: ``next`` (published, not used), ``active`` (signs), ``retired`` (published until the
tokens it signed have expired), ``removed``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from gatehouse.oauth.jose import b64url, b64url_uint, encode_segment

Alg = Literal["ES256", "RS256", "PS256", "EdDSA"]
KeyState = Literal["next", "active", "retired", "removed"]
ALGORITHMS: tuple[Alg, ...] = ("ES256", "RS256", "PS256", "EdDSA")
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

_ECDSA = ec.ECDSA(hashes.SHA256())
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


def generate_private_key(alg: Alg) -> PrivateKey:
    """A fresh private key for ``alg``: P-256, RSA-2048 or Ed25519."""
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg in ("RS256", "PS256"):
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ed25519.Ed25519PrivateKey.generate()


def public_jwk_members(key: PrivateKey) -> dict[str, str]:
    """The required public members of the key's JWK (RFC 7518 §6, RFC 8037 §2)."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        numbers = key.public_key().public_numbers()
        return {
            "crv": "P-256",
            "kty": "EC",
            "x": b64url_uint(numbers.x, 32),
            "y": b64url_uint(numbers.y, 32),
        }
    if isinstance(key, rsa.RSAPrivateKey):
        rsa_numbers = key.public_key().public_numbers()
        return {"e": b64url_uint(rsa_numbers.e), "kty": "RSA", "n": b64url_uint(rsa_numbers.n)}
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"crv": "Ed25519", "kty": "OKP", "x": b64url(raw).decode()}


def thumbprint(members: dict[str, str]) -> str:
    """RFC 7638 §3: SHA-256 over the required members in lexicographic order, no whitespace."""
    canonical = orjson.dumps(members, option=orjson.OPT_SORT_KEYS)
    return b64url(hashlib.sha256(canonical).digest()).decode()


def private_key_to_der(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def private_key_from_der(der: bytes) -> PrivateKey:
    key = serialization.load_der_private_key(der, password=None)
    if not isinstance(
        key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
    ):
        raise ValueError("unsupported private key type")
    return key


@dataclass(frozen=True)
class PublicKey:
    """A key as published in the JWKS."""

    kid: str
    alg: Alg
    state: KeyState
    jwk_members: dict[str, str]

    def jwk(self) -> dict[str, Any]:
        return {**self.jwk_members, "kid": self.kid, "alg": self.alg, "use": "sig"}


class Signer:
    """Signs JWTs with one private key; the header segment and the signing method are fixed once."""

    def __init__(self, *, kid: str, alg: Alg, key: PrivateKey, typ: str = "at+jwt") -> None:
        self.kid = kid
        self.alg = alg
        # RFC 9068 §2.1: the header must carry typ "at+jwt"; the kid names the key, never chance.
        self._header = encode_segment({"alg": alg, "kid": kid, "typ": typ}) + b"."
        self.sign: Callable[[bytes], bytes] = _signing_function(alg, key)

    def sign_jwt(self, claims: dict[str, Any]) -> str:
        """A compact JWS (RFC 7515 §7.1) of ``claims``."""
        signing_input = self.signing_input(claims)
        return assemble_jws(signing_input, self.sign(signing_input))

    def signing_input(self, claims: dict[str, Any]) -> bytes:
        """``header.payload``, the bytes the signature covers (RFC 7515 §5.1)."""
        return self._header + encode_segment(claims)


def assemble_jws(signing_input: bytes, signature: bytes) -> str:
    """The compact serialization: ``header.payload.signature`` (RFC 7515 §7.1)."""
    return (signing_input + b"." + b64url(signature)).decode("ascii")


def _signing_function(alg: Alg, key: PrivateKey) -> Callable[[bytes], bytes]:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        ec_sign = key.sign

        def sign_es256(data: bytes) -> bytes:
            # RFC 7518 §3.4: ES256 signatures are R || S, each 32 bytes, not DER.
            r, s = decode_dss_signature(ec_sign(data, _ECDSA))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")

        return sign_es256
    if isinstance(key, rsa.RSAPrivateKey):
        rsa_key = key
        pad = _PSS if alg == "PS256" else padding.PKCS1v15()
        sha256 = hashes.SHA256()
        return lambda data: rsa_key.sign(data, pad, sha256)
    return key.sign
