"""A tiny real issuer for the verifier tests: keys, signing, RFC 8414 metadata and a JWKS.

Served by uvicorn on 127.0.0.1 in a background thread; one process-wide server hosts any number
of independent issuers (one per customer id), so each test gets a fresh one.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from gatehouse.verify import TokenVerifier

AUDIENCE = "https://api.example.test"
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def _int_b64(value: int, size: int | None = None) -> str:
    return b64url(value.to_bytes(size or (value.bit_length() + 7) // 8, "big"))


@dataclass
class SigningKey:
    alg: str
    private: PrivateKey
    jwk: dict[str, str] = field(default_factory=dict)

    @property
    def kid(self) -> str:
        return self.jwk["kid"]

    def sign(self, data: bytes, alg: str | None = None) -> bytes:
        alg = alg or self.alg
        if isinstance(self.private, ec.EllipticCurvePrivateKey):
            r, s = decode_dss_signature(self.private.sign(data, ec.ECDSA(hashes.SHA256())))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        if isinstance(self.private, rsa.RSAPrivateKey):
            if alg.startswith("PS"):
                pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
                return self.private.sign(data, pss, hashes.SHA256())
            return self.private.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return self.private.sign(data)

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def make_key(alg: str = "ES256") -> SigningKey:
    """A fresh key with its public JWK; kid is the RFC 7638 thumbprint."""
    private: PrivateKey
    if alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
        nums = private.public_key().public_numbers()
        jwk = {"crv": "P-256", "kty": "EC", "x": _int_b64(nums.x, 32), "y": _int_b64(nums.y, 32)}
    elif alg in ("RS256", "PS256"):
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        rnums = private.public_key().public_numbers()
        jwk = {"e": _int_b64(rnums.e), "kty": "RSA", "n": _int_b64(rnums.n)}
    else:
        private = ed25519.Ed25519PrivateKey.generate()
        raw = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        jwk = {"crv": "Ed25519", "kty": "OKP", "x": b64url(raw)}
    thumbprint = hashlib.sha256(json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode())
    jwk |= {"kid": b64url(thumbprint.digest()), "alg": alg, "use": "sig"}
    return SigningKey(alg=alg, private=private, jwk=jwk)


def sign_token(
    key: SigningKey,
    claims: dict[str, Any],
    *,
    header: dict[str, Any] | None = None,
    sign_alg: str | None = None,
) -> str:
    """Compact JWS; ``header`` entries override the defaults (``None`` removes one)."""
    merged: dict[str, Any] = {"alg": key.alg, "typ": "at+jwt", "kid": key.kid} | (header or {})
    merged = {k: v for k, v in merged.items() if v is not None}
    signing_input = f"{b64json(merged)}.{b64json(claims)}"
    return f"{signing_input}.{b64url(key.sign(signing_input.encode(), sign_alg))}"


def hs256_token(secret: bytes, claims: dict[str, Any], kid: str) -> str:
    """The classic confusion attack: HMAC keyed with the issuer's *public* key bytes."""
    signing_input = f"{b64json({'alg': 'HS256', 'typ': 'at+jwt', 'kid': kid})}.{b64json(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


@dataclass
class FakeIssuer:
    """One customer's issuer: published keys and request counters."""

    base_url: str
    customer_id: str
    keys: list[SigningKey] = field(default_factory=list)
    metadata_issuer: str | None = None  # override to test RFC 8414 §3.3
    metadata_hits: int = 0
    jwks_hits: int = 0
    jwks_delay: float = 0.0
    down: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/customers/{self.customer_id}"

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": "client-abc",
            "client_id": "client-abc",
            "aud": AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + 1800,
            "jti": secrets.token_hex(8),
            "scope": "viewer corpus_developer",
            "customer_id": self.customer_id,
            "token_use": "access",
        }
        claims |= overrides
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, key: SigningKey | None = None, **overrides: Any) -> str:
        return sign_token(key or self.keys[0], self.claims(**overrides))

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.metadata_issuer or self.issuer,
            "token_endpoint": f"{self.issuer}/oauth2/token",
            "jwks_uri": f"{self.issuer}/.well-known/jwks.json",
            "grant_types_supported": ["client_credentials"],
        }


MakeVerifier = Callable[..., TokenVerifier]


class IssuerRegistry:
    def __init__(self) -> None:
        self.base_url = ""
        self.issuers: dict[str, FakeIssuer] = {}

    def new(self, *algs: str) -> FakeIssuer:
        issuer = FakeIssuer(self.base_url, "c" + secrets.token_hex(6))
        issuer.keys = [make_key(alg) for alg in algs or ("ES256",)]
        self.issuers[issuer.customer_id] = issuer
        return issuer

    def _get(self, request: Request) -> FakeIssuer | None:
        issuer = self.issuers.get(request.path_params["cid"])
        return None if issuer is None or issuer.down else issuer

    async def metadata(self, request: Request) -> Response:
        issuer = self._get(request)
        if issuer is None:
            return JSONResponse({"error": "not_found"}, status_code=404)
        with issuer.lock:
            issuer.metadata_hits += 1
        return JSONResponse(issuer.metadata())

    async def jwks(self, request: Request) -> Response:
        issuer = self._get(request)
        if issuer is None:
            return JSONResponse({"error": "not_found"}, status_code=404)
        with issuer.lock:
            issuer.jwks_hits += 1
        if issuer.jwks_delay:
            await asyncio.sleep(issuer.jwks_delay)  # a slow issuer, to pile up concurrent verifiers
        return JSONResponse({"keys": [k.jwk for k in issuer.keys]})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/oauth-authorization-server/customers/{cid}", self.metadata),
                Route("/customers/{cid}/.well-known/oauth-authorization-server", self.metadata),
                Route("/customers/{cid}/.well-known/openid-configuration", self.metadata),
                Route("/customers/{cid}/.well-known/jwks.json", self.jwks),
            ]
        )


@contextmanager
def serve(app: ASGIApp) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free 127.0.0.1 port in a thread; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", lifespan="off", loop="asyncio", http="h11", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


class FakeClock:
    """A settable clock for ``TokenVerifier(clock=..., monotonic=...)``."""

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
