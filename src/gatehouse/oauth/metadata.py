"""Authorization server metadata (RFC 8414 §2) of one customer's issuer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gatehouse.oauth.keys import ALGORITHMS
from gatehouse.verify.dpop import DPOP_ALGORITHMS

API_ROLES = (
    "owner",
    "administrator",
    "billing_administrator",
    "corpus_administrator",
    "corpus_developer",
    "viewer",
)
CORPUS_ROLES = ("owner", "administrator", "editor", "viewer")
AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105


def server_metadata(
    issuer: str,
    *,
    service_documentation: str | None = None,
    algorithms: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The metadata document; every endpoint is under the issuer (RFC 8414 §2).

    ``algorithms``: the signing algorithms of the issuer's published keys (default: every one
    Gatehouse can sign with)."""
    algs = list(algorithms) if algorithms is not None else list(ALGORITHMS)
    document: dict[str, Any] = {
        "issuer": issuer,
        "token_endpoint": f"{issuer}/oauth2/token",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "revocation_endpoint": f"{issuer}/oauth2/revoke",
        "introspection_endpoint": f"{issuer}/oauth2/introspect",
        # RFC 7591 §3: dynamic client registration with an initial access token.
        "registration_endpoint": f"{issuer}/oauth2/register",
        "grant_types_supported": ["client_credentials", TOKEN_EXCHANGE],
        "response_types_supported": [],
        "scopes_supported": list(API_ROLES),
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "id_token_signing_alg_values_supported": algs,
        "access_token_signing_alg_values_supported": algs,
        "subject_types_supported": ["public"],
        # RFC 9449 §5.1: the JWS algorithms accepted for DPoP proofs.
        "dpop_signing_alg_values_supported": list(DPOP_ALGORITHMS),
    }
    if service_documentation:
        document["service_documentation"] = service_documentation
    add_secretless_metadata(document)
    add_sender_metadata(document)
    return document


def add_sender_metadata(document: dict[str, Any]) -> None:
    """RFC 8705 §3.3 and §2.1.1/§2.2.1: certificate-bound tokens and the two TLS methods
    (docs/sender-constrained.md)."""
    document["token_endpoint_auth_methods_supported"] = [
        *document["token_endpoint_auth_methods_supported"],
        "tls_client_auth",
        "self_signed_tls_client_auth",
    ]
    document["tls_client_certificate_bound_access_tokens"] = True


# RFC 7523 §2.2 client assertions and the §2.1 grant (docs/secretless.md).
ASSERTION_SIGNING_ALGS = ["ES256", "ES384", "PS256", "RS256", "EdDSA"]


def add_secretless_metadata(document: dict[str, Any]) -> None:
    """RFC 8414 §2: private_key_jwt, its signing algorithms and the jwt-bearer grant."""
    document["grant_types_supported"] = [
        *document["grant_types_supported"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
    ]
    for endpoint in ("token_endpoint", "revocation_endpoint", "introspection_endpoint"):
        document[f"{endpoint}_auth_methods_supported"] = [
            *document[f"{endpoint}_auth_methods_supported"],
            "private_key_jwt",
        ]
        document[f"{endpoint}_auth_signing_alg_values_supported"] = ASSERTION_SIGNING_ALGS
