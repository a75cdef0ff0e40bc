"""DPoP proofs made by a client (RFC 9449 §4.2), and the server nonces it must echo (§8, §9).

Used by :class:`gatehouse.client.ClientCredentials` with ``dpop_key=``; needs only
``cryptography``. One :class:`DPoPProver` holds one private key (EC P-256, P-384 or P-521, RSA,
or Ed25519) and the latest ``DPoP-Nonce`` each server (origin) handed out.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

__all__ = ["DPoPKey", "DPoPProver", "wants_nonce"]

DPoPKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
_CURVES = {"secp256r1": ("P-256", "ES256", 32), "secp384r1": ("P-384", "ES384", 48)}
_CURVES["secp521r1"] = ("P-521", "ES512", 66)
_HASHES = {"ES256": hashes.SHA256(), "ES384": hashes.SHA384(), "ES512": hashes.SHA512()}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _uint(number: int, size: int | None = None) -> str:
    length = size if size is not None else max(1, (number.bit_length() + 7) // 8)
    return _b64(number.to_bytes(length, "big"))


def _public_jwk(key: DPoPKey) -> tuple[str, dict[str, str]]:
    """The proof algorithm and the public JWK of ``key`` (RFC 7518 §6, RFC 8037 §2)."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        crv, alg, size = _CURVES[key.curve.name]
        numbers = key.public_key().public_numbers()
        return alg, {
            "kty": "EC",
            "crv": crv,
            "x": _uint(numbers.x, size),
            "y": _uint(numbers.y, size),
        }
    if isinstance(key, rsa.RSAPrivateKey):
        rsa_numbers = key.public_key().public_numbers()
        return "PS256", {"kty": "RSA", "e": _uint(rsa_numbers.e), "n": _uint(rsa_numbers.n)}
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "EdDSA", {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw)}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def wants_nonce(status: int, headers: Mapping[str, str], body: object) -> bool:
    """RFC 9449 §8 (token endpoint: 400 ``use_dpop_nonce``) and §9 (resource: 401 with a DPoP
    challenge naming ``use_dpop_nonce``), with a ``DPoP-Nonce`` to retry with."""
    if "dpop-nonce" not in headers:
        return False
    if status == 400:
        return isinstance(body, dict) and body.get("error") == "use_dpop_nonce"
    return status == 401 and "use_dpop_nonce" in headers.get("www-authenticate", "")


class DPoPProver:
    """Signs DPoP proofs with one key and remembers each origin's latest server nonce."""

    def __init__(self, key: DPoPKey) -> None:
        self._key = key
        self.alg, self.jwk = _public_jwk(key)
        members = {name: self.jwk[name] for name in sorted(self.jwk)}
        # RFC 7638 §3: the thumbprint the server puts in cnf.jkt.
        canonical = json.dumps(members, separators=(",", ":"))
        self.thumbprint = _b64(hashlib.sha256(canonical.encode()).digest())
        header = {"typ": "dpop+jwt", "alg": self.alg, "jwk": self.jwk}
        self._header = _b64(json.dumps(header, separators=(",", ":")).encode())
        self._nonces: dict[str, str] = {}
        self._lock = threading.Lock()

    def proof(self, method: str, url: str, *, access_token: str | None = None) -> str:
        """A fresh proof for one request (RFC 9449 §4.2); ``htu`` has no query or fragment."""
        parts = urlsplit(url)
        claims: dict[str, object] = {
            "jti": secrets.token_urlsafe(18),
            "htm": method.upper(),
            "htu": urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
            "iat": int(time.time()),
        }
        nonce = self._nonces.get(_origin(url))
        if nonce is not None:
            claims["nonce"] = nonce
        if access_token is not None:
            # RFC 9449 §4.2: ath is the base64url SHA-256 of the access token.
            claims["ath"] = _b64(hashlib.sha256(access_token.encode("ascii")).digest())
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{self._header}.{payload}".encode("ascii")
        return f"{self._header}.{payload}.{_b64(self._sign(signing_input))}"

    def remember_nonce(self, url: str, headers: Mapping[str, str]) -> None:
        """Keep the ``DPoP-Nonce`` a response carried for the next proofs to that origin."""
        nonce = headers.get("dpop-nonce")
        if nonce:
            with self._lock:
                self._nonces[_origin(url)] = nonce

    def _sign(self, data: bytes) -> bytes:
        key = self._key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            size = _CURVES[key.curve.name][2]
            r, s = decode_dss_signature(key.sign(data, ec.ECDSA(_HASHES[self.alg])))
            # RFC 7518 §3.4: R || S, fixed width.
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")
        if isinstance(key, rsa.RSAPrivateKey):
            sha256 = hashes.SHA256()
            pss = padding.PSS(mgf=padding.MGF1(sha256), salt_length=sha256.digest_size)
            return key.sign(data, pss, sha256)
        return key.sign(data)
