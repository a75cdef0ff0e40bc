"""An OpenID Connect issuer of the tests' own: a real HTTP server on loopback serving the
discovery document and a JWKS, minting tokens shaped like GitHub Actions' and Kubernetes'
(projected service-account tokens), and rotating its key."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from tests.secretless.keys import ec_key, rsa_key


class Issuer:
    """``url`` is the issuer; ``keys`` are published, ``active`` signs."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self.server = server
        host, port = server.server_address[:2]
        self.url = f"http://{host!s}:{port}"
        self.keys: list[RSAKey | ECKey] = [rsa_key("gh-1")]
        self.active = self.keys[0]
        self.requests: list[str] = []
        self.serve_issuer: str | None = None  # a wrong issuer in the discovery document
        self.pad = 0  # bytes of padding in the JWKS document (to pass the size cap)
        self.failing = False  # answer 500 to everything

    def rotate(self) -> RSAKey | ECKey:
        """A new signing key; the old one stays published (as issuers do)."""
        key = ec_key(f"gh-{len(self.keys) + 1}")
        self.keys.append(key)
        self.active = key
        return key

    def jwks(self) -> dict[str, Any]:
        document: dict[str, Any] = {"keys": [key.as_dict(private=False) for key in self.keys]}
        if self.pad:
            document["padding"] = "x" * self.pad
        return document

    def mint(
        self,
        claims: dict[str, Any],
        *,
        key: RSAKey | ECKey | None = None,
        header: dict[str, Any] | None = None,
    ) -> str:
        key = key or self.active
        alg = "RS256" if isinstance(key, RSAKey) else "ES256"
        head = {"alg": alg, "kid": key.kid, "typ": "JWT", **(header or {})}
        return jwt.encode(head, claims, key, algorithms=[head["alg"]])

    def github(self, audience: str, **overrides: Any) -> str:
        """A GitHub-Actions-shaped OIDC token for repo acme/api, main branch."""
        now = int(time.time())
        claims = {
            "jti": str(uuid.uuid4()),
            "sub": "repo:acme/api:ref:refs/heads/main",
            "aud": audience,
            "ref": "refs/heads/main",
            "repository": "acme/api",
            "repository_owner": "acme",
            "repository_owner_id": 4242,
            "job_workflow_ref": "acme/api/.github/workflows/deploy.yml@refs/heads/main",
            "event_name": "push",
            "iss": self.url,
            "nbf": now - 5,
            "iat": now - 5,
            "exp": now + 300,
        }
        claims.update(overrides)
        return self.mint({k: v for k, v in claims.items() if v is not None})

    def kubernetes(self, audience: str, namespace: str = "payments", **overrides: Any) -> str:
        """A projected service-account token (no jti, nested kubernetes.io claims)."""
        now = int(time.time())
        claims = {
            "aud": [audience],
            "exp": now + 3600,
            "iat": now,
            "nbf": now,
            "iss": self.url,
            "kubernetes.io": {
                "namespace": namespace,
                "pod": {"name": "worker-7d9f", "uid": str(uuid.uuid4())},
                "serviceaccount": {"name": "worker", "uid": str(uuid.uuid4())},
            },
            "sub": f"system:serviceaccount:{namespace}:worker",
        }
        claims.update(overrides)
        return self.mint({k: v for k, v in claims.items() if v is not None})


def _handler(issuer_ref: list[Issuer]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            issuer = issuer_ref[0]
            issuer.requests.append(self.path)
            if issuer.failing:
                self.send_error(500)
                return
            if self.path == "/.well-known/openid-configuration":
                body = orjson.dumps(
                    {
                        "issuer": issuer.serve_issuer or issuer.url,
                        "jwks_uri": f"{issuer.url}/.well-known/jwks",
                        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                    }
                )
            elif self.path == "/.well-known/jwks":
                body = orjson.dumps(issuer.jwks())
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running_issuer() -> Iterator[Issuer]:
    ref: list[Issuer] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(ref))
    ref.append(Issuer(server))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ref[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
