"""Secretless client authentication for ``gatehouse.client``: :class:`PrivateKeyJWT` (RFC 7523
§2.2, a client assertion signed with the client's own key) and :class:`FederatedToken` (an
outside token — a Kubernetes projected token, a CI job's OIDC token — as the client assertion,
or through the RFC 7523 §2.1 JWT bearer grant). Both are :class:`ClientCredentials` with the
same caching, renewal and 401 retry; only the token request differs. Imported through
``gatehouse.client``; needs only ``cryptography`` and ``httpx``.
"""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from gatehouse.client import ClientCredentials

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | Ed25519PrivateKey
_EC_ALGS = {
    "secp256r1": ("ES256", hashes.SHA256(), 32),
    "secp384r1": ("ES384", hashes.SHA384(), 48),
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def load_private_key(key: PrivateKey | str | bytes | os.PathLike[str]) -> PrivateKey:
    """A private key object, PEM text or bytes, or the path of a PEM file."""
    if isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | Ed25519PrivateKey):
        return key
    if isinstance(key, os.PathLike) or (isinstance(key, str) and "-----BEGIN" not in key):
        key = Path(key).read_bytes()
    data = key.encode() if isinstance(key, str) else key
    loaded = serialization.load_pem_private_key(data, password=None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | Ed25519PrivateKey):
        raise ValueError("use an EC (P-256, P-384), RSA or Ed25519 private key")
    return loaded


class _Signer:
    """Compact JWS signing (RFC 7515) with one private key and its algorithm."""

    def __init__(self, key: PrivateKey, alg: str | None) -> None:
        self.key = key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            if key.curve.name not in _EC_ALGS:
                raise ValueError("EC keys must be P-256 or P-384")
            self.alg, self._hash, self._size = _EC_ALGS[key.curve.name]
        elif isinstance(key, rsa.RSAPrivateKey):
            self.alg, self._hash, self._size = alg or "RS256", hashes.SHA256(), 0
            if self.alg not in ("RS256", "PS256"):
                raise ValueError("RSA keys sign with RS256 or PS256")
        else:
            self.alg, self._hash, self._size = "EdDSA", hashes.SHA256(), 0
        if alg is not None and alg != self.alg:
            raise ValueError(f"this key signs with {self.alg}, not {alg}")

    def sign(self, header: dict[str, Any], claims: dict[str, Any]) -> str:
        head = _b64(json.dumps({"alg": self.alg, **header}, separators=(",", ":")).encode())
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        data = f"{head}.{body}".encode("ascii")
        key = self.key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            r, s = decode_dss_signature(key.sign(data, ec.ECDSA(self._hash)))
            # RFC 7518 §3.4: the signature is R || S, each of the curve's fixed size.
            signature = r.to_bytes(self._size, "big") + s.to_bytes(self._size, "big")
        elif isinstance(key, rsa.RSAPrivateKey):
            pad: padding.AsymmetricPadding = (
                padding.PSS(mgf=padding.MGF1(self._hash), salt_length=32)
                if self.alg == "PS256"
                else padding.PKCS1v15()
            )
            signature = key.sign(data, pad, self._hash)
        else:
            signature = key.sign(data)
        return f"{head}.{body}.{_b64(signature)}"


class PrivateKeyJWT(ClientCredentials):
    """Tokens for a ``private_key_jwt`` client: each token request carries a fresh assertion
    (``iss`` = ``sub`` = the client id, ``aud`` = the token URL, a new ``jti``, 60 s life)."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        private_key: PrivateKey | str | bytes | os.PathLike[str],
        kid: str | None = None,
        *,
        alg: str | None = None,
        assertion_audience: str | None = None,
        assertion_lifetime: int = 60,
        scope: str | Iterable[str] | None = None,
        audience: str | None = None,
        resource: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__(
            token_url, client_id, "", scope=scope, audience=audience, resource=resource, **options
        )
        self._signer = _Signer(load_private_key(private_key), alg)
        self.kid = kid
        self.assertion_audience = assertion_audience or token_url
        self.assertion_lifetime = assertion_lifetime

    def make_assertion(self) -> str:
        now = int(time.time())
        claims = {
            # RFC 7523 §3: iss and sub are the client_id, aud the token endpoint, exp required.
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.assertion_audience,
            "iat": now,
            "exp": now + self.assertion_lifetime,
            "jti": uuid.uuid4().hex,
        }
        return self._signer.sign({"kid": self.kid} if self.kid else {}, claims)

    def _token_request(self) -> tuple[dict[str, str], dict[str, str]]:
        form, headers = self._grant_form()
        form["client_assertion_type"] = ASSERTION_TYPE
        form["client_assertion"] = self.make_assertion()
        return form, headers

    def _grant_form(self) -> tuple[dict[str, str], dict[str, str]]:
        form = {"grant_type": "client_credentials"}
        for name in ("scope", "audience", "resource"):
            value = getattr(self, name)
            if value is not None:
                form[name] = value
        return form, {"Accept": "application/json"}


class FederatedToken(PrivateKeyJWT):
    """Tokens for a client that trusts an outside issuer: ``token`` is a callable returning the
    outside token, or the path of a file re-read at each renewal (a Kubernetes projected
    service-account token). ``grant="jwt-bearer"`` uses the RFC 7523 §2.1 grant instead of a
    client assertion."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        token: Callable[[], str] | str | os.PathLike[str],
        *,
        grant: Literal["client_assertion", "jwt-bearer"] = "client_assertion",
        scope: str | Iterable[str] | None = None,
        audience: str | None = None,
        resource: str | None = None,
        **options: Any,
    ) -> None:
        ClientCredentials.__init__(
            self,
            token_url,
            client_id,
            "",
            scope=scope,
            audience=audience,
            resource=resource,
            **options,
        )
        if grant not in ("client_assertion", "jwt-bearer"):
            raise ValueError(f"unsupported grant {grant!r}")
        self.grant = grant
        self._source = token

    def outside_token(self) -> str:
        source = self._source
        text = source() if callable(source) else Path(source).read_text()
        return text.strip()

    def _token_request(self) -> tuple[dict[str, str], dict[str, str]]:
        form, headers = self._grant_form()
        # The outside token cannot name the client: client_id is always sent.
        form["client_id"] = self.client_id
        if self.grant == "jwt-bearer":
            form["grant_type"] = JWT_BEARER
            form["assertion"] = self.outside_token()  # RFC 7523 §2.1
        else:
            form["client_assertion_type"] = ASSERTION_TYPE
            form["client_assertion"] = self.outside_token()
        return form, headers
