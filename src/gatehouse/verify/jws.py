"""JWS compact serialization and JWK public keys, verified with pyca ``cryptography`` directly.

RFC 7515 (JWS) §3.1 and §5.2, RFC 7517 (JWK) §4, RFC 7518 (JWA) §3, RFC 8037 (EdDSA). Every key is
*pinned* to exactly one algorithm, decided by the JWK itself (``alg`` if present, else its
``kty``/``crv``): a token whose header names another algorithm is rejected, which rules out
``alg: none``, HMAC keyed with a public key and RSA/PSS confusion in one comparison.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

__all__ = ["SUPPORTED_ALGORITHMS", "PinnedKey", "b64url_decode", "load_jwks"]

Verifier = Callable[[bytes, bytes], bool]

_EC_CURVES: dict[str, tuple[str, ec.EllipticCurve, hashes.HashAlgorithm, int]] = {
    "P-256": ("ES256", ec.SECP256R1(), hashes.SHA256(), 32),
    "P-384": ("ES384", ec.SECP384R1(), hashes.SHA384(), 48),
    "P-521": ("ES512", ec.SECP521R1(), hashes.SHA512(), 66),
}
_RSA_HASHES: dict[str, hashes.HashAlgorithm] = {
    "256": hashes.SHA256(),
    "384": hashes.SHA384(),
    "512": hashes.SHA512(),
}
SUPPORTED_ALGORITHMS = frozenset(
    {"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"}
)
# RFC 7518 §3.3: a key of size 2048 bits or larger MUST be used with RS*/PS*.
_MIN_RSA_BITS = 2048


@dataclass(frozen=True, slots=True)
class PinnedKey:
    """A public verification key bound to the one algorithm it may be used with."""

    kid: str
    alg: str
    verify: Verifier  # (signature, signing_input) -> bool


_URLSAFE_TO_STD = bytes.maketrans(b"-_", b"+/")
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# The bits of a segment's last character that encode no data, by the segment's length mod 4.
_SPARE_BITS = {2: 0b1111, 3: 0b11}
# Last characters whose spare bits are set: only one encoding of each byte string is accepted.
_NON_CANONICAL_TAIL = {
    rest: frozenset(c for i, c in enumerate(_ALPHABET) if i & mask)
    for rest, mask in _SPARE_BITS.items()
}


def b64url_decode(segment: str) -> bytes:
    """Decode unpadded base64url (RFC 7515 §2); raises ``ValueError`` on bad input."""
    # RFC 7515 §2: base64url without padding; "+", "/" and "=" are not part of the alphabet.
    if "+" in segment or "/" in segment or "=" in segment:
        raise ValueError("bad base64url")
    # RFC 4648 §3.5: spare bits set make a second spelling of the same bytes; refuse it.
    tail = _NON_CANONICAL_TAIL.get(len(segment) % 4)
    if tail is not None and segment[-1] in tail:
        raise ValueError("non-canonical base64url")
    try:
        data = segment.encode("ascii").translate(_URLSAFE_TO_STD)
        return binascii.a2b_base64(data + b"=" * (-len(data) % 4), strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("bad base64url") from exc


def _b64_int(value: Any) -> int:
    if not isinstance(value, str) or not value:
        raise ValueError("JWK member is not a base64url string")
    return int.from_bytes(b64url_decode(value), "big")


def _ec_verifier(jwk: Mapping[str, Any]) -> tuple[str, Verifier]:
    alg, curve, digest, size = _EC_CURVES[jwk["crv"]]
    numbers = ec.EllipticCurvePublicNumbers(_b64_int(jwk["x"]), _b64_int(jwk["y"]), curve)
    key = numbers.public_key()
    scheme = ec.ECDSA(digest)

    def verify(signature: bytes, data: bytes) -> bool:
        # RFC 7518 §3.4: the signature is the fixed-width R || S, not DER.
        if len(signature) != 2 * size:
            return False
        r = int.from_bytes(signature[:size], "big")
        s = int.from_bytes(signature[size:], "big")
        try:
            key.verify(encode_dss_signature(r, s), data, scheme)
        except InvalidSignature:
            return False
        return True

    return alg, verify


def _rsa_verifier(jwk: Mapping[str, Any], alg: str) -> Verifier:
    key = rsa.RSAPublicNumbers(_b64_int(jwk["e"]), _b64_int(jwk["n"])).public_key()
    if key.key_size < _MIN_RSA_BITS:
        raise ValueError("RSA key too small")
    digest = _RSA_HASHES[alg[2:]]
    pad: padding.AsymmetricPadding
    if alg.startswith("PS"):
        # RFC 7518 §3.5: PSS with MGF1 using the same hash, salt length = hash length.
        pad = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
    else:
        pad = padding.PKCS1v15()

    def verify(signature: bytes, data: bytes) -> bool:
        try:
            key.verify(signature, data, pad, digest)
        except InvalidSignature:
            return False
        return True

    return verify


def _ed25519_verifier(jwk: Mapping[str, Any]) -> Verifier:
    key = Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))

    def verify(signature: bytes, data: bytes) -> bool:
        try:
            key.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    return verify


def pin_key(jwk: Mapping[str, Any]) -> PinnedKey:
    """Build a :class:`PinnedKey` from one JWK; raises ``ValueError``/``KeyError`` if unusable."""
    kid, kty, declared = jwk.get("kid"), jwk.get("kty"), jwk.get("alg")
    if not isinstance(kid, str) or not kid:
        raise ValueError("JWK without kid")
    # RFC 7517 §4.2: "use" other than "sig" means the key is not for verifying signatures.
    if jwk.get("use", "sig") != "sig":
        raise ValueError("JWK not for signatures")
    ops = jwk.get("key_ops")
    # RFC 7517 §4.3: key_ops, when present, must allow "verify".
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        raise ValueError("JWK key_ops excludes verify")
    if kty == "EC":
        alg, verifier = _ec_verifier(jwk)
    elif kty == "RSA":
        # An RSA key without "alg" is pinned to RS256, the RFC 7518 §3.1 recommended default.
        alg = declared if isinstance(declared, str) else "RS256"
        if alg[:2] not in ("RS", "PS") or alg[2:] not in _RSA_HASHES:
            raise ValueError("RSA key with non-RSA alg")
        verifier = _rsa_verifier(jwk, alg)
    elif kty == "OKP" and jwk.get("crv") == "Ed25519":
        # RFC 8037 §3.1: Ed25519 keys sign with alg "EdDSA".
        alg, verifier = "EdDSA", _ed25519_verifier(jwk)
    else:
        # Symmetric ("oct") and unknown key types are never accepted for verification.
        raise ValueError("unsupported JWK kty")
    # RFC 7517 §4.4: a declared "alg" must match the algorithm the key material implies.
    if declared is not None and declared != alg:
        raise ValueError("JWK alg does not match its key type")
    return PinnedKey(kid=kid, alg=alg, verify=verifier)


def load_jwks(document: Any, algorithms: Iterable[str]) -> dict[str, PinnedKey]:
    """Parse an RFC 7517 §5 JWK Set, keeping the keys usable with one of ``algorithms``.

    Keys that are malformed, symmetric, not for signing or for a disallowed algorithm are
    skipped, not fatal: one odd key must not take the whole set down.
    """
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWK Set")
    allowed = frozenset(algorithms)
    keys: dict[str, PinnedKey] = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, dict):
            continue
        try:
            pinned = pin_key(jwk)
        except (ValueError, KeyError, TypeError):
            continue
        if pinned.alg in allowed and pinned.kid not in keys:
            keys[pinned.kid] = pinned
    return keys
