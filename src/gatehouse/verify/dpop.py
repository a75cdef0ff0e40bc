"""DPoP proofs (RFC 9449): checking one, the key thumbprint it binds to, and single use.

RFC 9449 §4.2 (the proof JWT), §4.3 (checking a proof), §6.1 (``cnf.jkt``), §7.1 (``ath``),
§11.1 (replay); RFC 7638 (JWK thumbprints). Framework-free and server-free: the token endpoint
(``gatehouse.oauth.dpop``) and every resource server (:class:`~gatehouse.verify.TokenVerifier`)
check proofs with :func:`check_proof`, which raises :class:`ProofError` with a client-facing
description. Nothing about a proof is ever cached: each one is verified anew.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from gatehouse.verify.jws import SUPPORTED_ALGORITHMS, PinnedKey, b64url_decode, pin_key

json_loads: Callable[[bytes], Any]
try:  # optional accelerator (a server dependency); the stdlib parser is the fallback
    from orjson import loads as json_loads
except ImportError:  # pragma: no cover - exercised by the import-isolation test
    from json import loads as json_loads

__all__ = [
    "DPOP_ALGORITHMS",
    "DPOP_ALGS",
    "DPoPContext",
    "DPoPProof",
    "MemoryReplayCache",
    "ProofError",
    "ReplayCache",
    "access_token_hash",
    "check_proof",
    "jwk_thumbprint",
    "normalize_htu",
]

# Asymmetric algorithms only (RFC 9449 §4.2: MUST NOT be none or a MAC), all of them known to
# the JWS verifier.
DPOP_ALGORITHMS: tuple[str, ...] = ("ES256", "ES384", "ES512", "PS256", "RS256", "EdDSA")
assert frozenset(DPOP_ALGORITHMS) <= SUPPORTED_ALGORITHMS
# RFC 9449 §7.1: the algs parameter of a DPoP challenge.
DPOP_ALGS = " ".join(DPOP_ALGORITHMS)
# RFC 9449 §4.3: iat within an acceptable window; the window is also how long a jti is kept.
PROOF_WINDOW = 60
MAX_PROOF_LENGTH = 8192
_MAX_JTI = 256
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_THUMBPRINT_MEMBERS = {
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
    "OKP": ("crv", "kty", "x"),
}
_DEFAULT_PORTS = {"http": 80, "https": 443}


class ProofError(ValueError):
    """A proof that must be refused; ``str(error)`` is a client-facing description."""


@dataclass(frozen=True, slots=True)
class DPoPContext:
    """The DPoP side of one request: the ``DPoP`` header (None if absent), the HTTP method and
    the request URL as the client addressed it (query and fragment are ignored)."""

    proof: str | None
    method: str
    url: str


@dataclass(frozen=True, slots=True)
class DPoPProof:
    """A proof that passed every check of :func:`check_proof`."""

    jkt: str  # RFC 7638 thumbprint of the proof's public key
    jti: str
    iat: float
    nonce: str | None
    # With check_proof(defer_signature=True): (key, signature, signing input), still unchecked.
    unverified: tuple[PinnedKey, bytes, bytes] | None = None

    def signature_valid(self) -> bool:
        """RFC 9449 §4.3 (6), for a proof whose signature check was deferred."""
        return self.unverified is None or self.unverified[0].verify(*self.unverified[1:])


class ReplayCache(Protocol):
    """Remembers proof ``jti`` values; ``first_use`` is True only the first time one is seen."""

    def first_use(self, key: str, ttl: float) -> bool: ...


class MemoryReplayCache:
    """A per-process :class:`ReplayCache`, bounded; entries are dropped when their window ends."""

    def __init__(self, *, max_entries: int = 100_000, clock: Any = time.monotonic) -> None:
        self._seen: dict[str, float] = {}
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()

    def first_use(self, key: str, ttl: float) -> bool:
        now = self._clock()
        with self._lock:
            expires = self._seen.get(key)
            if expires is not None and expires > now:
                return False
            if len(self._seen) >= self._max:
                self._prune(now)
            self._seen[key] = now + ttl
            return True

    def _prune(self, now: float) -> None:
        self._seen = {k: v for k, v in self._seen.items() if v > now}
        while len(self._seen) >= self._max:  # still full of live entries: drop the oldest
            del self._seen[next(iter(self._seen))]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 §3: SHA-256 of the required members, sorted, without whitespace."""
    members = _THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if members is None:
        raise ProofError("the proof's jwk has an unsupported key type")
    required = {name: jwk.get(name) for name in members}
    if not all(isinstance(value, str) for value in required.values()):
        raise ProofError("the proof's jwk lacks a required member")
    canonical = json.dumps(required, sort_keys=True, separators=(",", ":"))
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def access_token_hash(token: str) -> str:
    """RFC 9449 §4.2: ``ath`` is the base64url SHA-256 of the ASCII access token."""
    return _b64url(hashlib.sha256(token.encode("ascii")).digest())


@functools.lru_cache(maxsize=1024)
def normalize_htu(url: str) -> str:
    """The URL without query and fragment, scheme and host lower-cased, no default port
    (RFC 9449 §4.3 with the RFC 3986 §6.2.2 and §6.2.3 normalizations)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ProofError("the proof's htu is not a URL") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return urlunsplit((scheme, host, parts.path or "/", "", ""))


def _segment_json(segment: str, what: str) -> dict[str, Any]:
    try:
        value = json_loads(b64url_decode(segment))
    except ValueError:
        raise ProofError(f"the DPoP proof's {what} is not base64url JSON") from None
    if not isinstance(value, dict):
        raise ProofError(f"the DPoP proof's {what} is not a JSON object")
    return value


# The header of a client's proofs is the same every time (typ, alg, its public key): its parse,
# thumbprint and key object are remembered by the header's exact text.
@functools.lru_cache(maxsize=1024)
def _header_key(segment: str, algorithms: tuple[str, ...]) -> tuple[str, PinnedKey]:
    header = _segment_json(segment, "header")
    # RFC 9449 §4.3 (4): typ is dpop+jwt.
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() != "dpop+jwt":
        raise ProofError("the DPoP proof's typ must be dpop+jwt")
    alg = header.get("alg")
    # RFC 9449 §4.3 (5): alg is an asymmetric algorithm the server supports.
    if not isinstance(alg, str) or alg not in algorithms:
        raise ProofError("the DPoP proof's alg is not accepted")
    jwk = header.get("jwk")
    # RFC 9449 §4.3 (7): the jwk header is a public key; it must not hold a private key.
    if not isinstance(jwk, dict) or _PRIVATE_MEMBERS & jwk.keys():
        raise ProofError("the DPoP proof's jwk must be a public key")
    if "crit" in header:
        raise ProofError("the DPoP proof uses unsupported critical header parameters")
    jkt = jwk_thumbprint(jwk)
    try:
        # An RSA key serves RS* and PS* alike: the header's alg picks the scheme.
        declared = {"alg": alg} if jwk.get("kty") == "RSA" and "alg" not in jwk else {}
        key = pin_key({**jwk, **declared, "kid": jkt})
    except (ValueError, KeyError, TypeError):
        raise ProofError("the DPoP proof's jwk is not a usable public key") from None
    # RFC 9449 §4.3 (5): the key must be one for the algorithm the header names.
    if key.alg != alg:
        raise ProofError("the DPoP proof's alg does not match its jwk")
    return jkt, key


def check_proof(
    proof: str,
    *,
    method: str,
    url: str,
    algorithms: Iterable[str] = DPOP_ALGORITHMS,
    access_token: str | None = None,
    now: float | None = None,
    window: float = PROOF_WINDOW,
    defer_signature: bool = False,
) -> DPoPProof:
    """Every check of RFC 9449 §4.3 but the nonce and replay, which the caller owns.

    ``url`` is the expected ``htu`` (any form; it is normalized). With ``access_token`` the
    proof must carry its ``ath`` (RFC 9449 §7.1). Raises :class:`ProofError`.
    ``defer_signature``: the caller verifies it later with :meth:`DPoPProof.signature_valid`
    (the token endpoint verifies a batch's signatures back to back).
    """
    # RFC 9449 §4.3 (1): one well-formed JWT.
    if len(proof) > MAX_PROOF_LENGTH:
        raise ProofError("the DPoP proof is too large")
    segments = proof.split(".")
    if len(segments) != 3:
        raise ProofError("the DPoP proof is not a compact JWS")
    allowed = algorithms if isinstance(algorithms, tuple) else tuple(algorithms)
    jkt, key = _header_key(segments[0], allowed)
    try:
        signature = b64url_decode(segments[2])
    except ValueError:
        raise ProofError("the DPoP proof's signature is not base64url") from None
    signing_input = proof[: len(proof) - len(segments[2]) - 1].encode("ascii")
    # RFC 9449 §4.3 (6): the signature verifies with the public key of the jwk header.
    if not defer_signature and not key.verify(signature, signing_input):
        raise ProofError("the DPoP proof's signature is invalid")
    claims = _segment_json(segments[1], "payload")
    jti, htm, htu, iat = claims.get("jti"), claims.get("htm"), claims.get("htu"), claims.get("iat")
    # RFC 9449 §4.2: jti, htm, htu and iat are required.
    if not isinstance(jti, str) or not jti or len(jti) > _MAX_JTI:
        raise ProofError("the DPoP proof has no valid jti")
    if type(iat) not in (int, float):
        raise ProofError("the DPoP proof has no valid iat")
    issued = float(iat)  # type: ignore[arg-type]
    # RFC 9449 §4.3 (8): htm matches the method of the request.
    if htm != method.upper():
        raise ProofError("the DPoP proof's htm does not match the request method")
    # RFC 9449 §4.3 (9): htu matches the request URI, ignoring query and fragment.
    if not isinstance(htu, str) or normalize_htu(htu) != normalize_htu(url):
        raise ProofError("the DPoP proof's htu does not match the request URL")
    current = time.time() if now is None else now
    # RFC 9449 §4.3 (11): iat is within an acceptable window.
    if not abs(current - issued) <= window:
        raise ProofError("the DPoP proof's iat is outside the accepted window")
    # RFC 9449 §4.3 (12): with an access token, ath is the hash of that token.
    if access_token is not None and claims.get("ath") != access_token_hash(access_token):
        raise ProofError("the DPoP proof's ath does not match the access token")
    nonce = claims.get("nonce")
    return DPoPProof(
        jkt=jkt,
        jti=jti,
        iat=issued,
        nonce=nonce if isinstance(nonce, str) else None,
        unverified=(key, signature, signing_input) if defer_signature else None,
    )
