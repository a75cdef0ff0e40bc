"""Authorization server metadata (RFC 8414) and the key set (RFC 7517), on both lanes."""

from __future__ import annotations

from typing import Any

import pytest
from tests.oauth.conftest import Lane

from gatehouse.keyring import rotate_keys

# RFC 7517 §9.3, RFC 7518 §6.2.2, §6.3.2, RFC 8037 §2: members that carry private key material.
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
ROLES = [
    "owner",
    "administrator",
    "billing_administrator",
    "corpus_administrator",
    "corpus_developer",
    "viewer",
]


def _expected_metadata(issuer: str, algs: tuple[str, ...] = ("ES256",)) -> dict[str, Any]:
    auth_methods = ["client_secret_basic", "client_secret_post"]
    assertion_algs = ["ES256", "ES384", "PS256", "RS256", "EdDSA"]
    return {
        "issuer": issuer,
        "token_endpoint": f"{issuer}/oauth2/token",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "revocation_endpoint": f"{issuer}/oauth2/revoke",
        "introspection_endpoint": f"{issuer}/oauth2/introspect",
        "registration_endpoint": f"{issuer}/oauth2/register",
        "grant_types_supported": [
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:token-exchange",
            "urn:ietf:params:oauth:grant-type:jwt-bearer",
        ],
        "response_types_supported": [],
        "scopes_supported": ROLES,
        "token_endpoint_auth_methods_supported": [
            *auth_methods,
            "private_key_jwt",
            "tls_client_auth",
            "self_signed_tls_client_auth",
        ],
        "token_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "revocation_endpoint_auth_methods_supported": [*auth_methods, "private_key_jwt"],
        "revocation_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "introspection_endpoint_auth_methods_supported": [*auth_methods, "private_key_jwt"],
        "introspection_endpoint_auth_signing_alg_values_supported": assertion_algs,
        # Only the algorithms of the issuer's own keys.
        "id_token_signing_alg_values_supported": list(algs),
        "access_token_signing_alg_values_supported": list(algs),
        "subject_types_supported": ["public"],
        "dpop_signing_alg_values_supported": ["ES256", "ES384", "ES512", "PS256", "RS256", "EdDSA"],
        "tls_client_certificate_bound_access_tokens": True,
    }


@pytest.mark.parametrize(
    "path",
    [
        "{issuer}/.well-known/oauth-authorization-server",
        "{base}/.well-known/oauth-authorization-server/customers/{customer}",
        "{issuer}/.well-known/openid-configuration",
    ],
)
def test_metadata_is_served_at_every_well_known_location(lane: Lane, path: str) -> None:
    customer = lane.add_customer()
    issuer = lane.issuer(customer)
    response = lane.http.get(path.format(issuer=issuer, base=lane.base_url, customer=customer))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    # RFC 8414 §3.3: the issuer in the document is identical to the issuer the URL was built from.
    assert response.json() == _expected_metadata(issuer)


def test_metadata_endpoints_are_under_the_issuer_and_work(lane: Lane) -> None:
    customer = lane.add_customer()
    creds = lane.add_client(customer)
    document = lane.http.get(
        f"{lane.issuer(customer)}/.well-known/oauth-authorization-server"
    ).json()
    for member in ("token_endpoint", "jwks_uri", "revocation_endpoint", "introspection_endpoint"):
        assert document[member].startswith(document["issuer"] + "/")
    assert lane.post_token(creds, url=document["token_endpoint"]).status_code == 200
    assert lane.http.get(document["jwks_uri"]).status_code == 200


@pytest.mark.parametrize(
    ("path", "customer"),
    [
        ("/customers/{c}/.well-known/oauth-authorization-server", "no-such-customer"),
        ("/.well-known/oauth-authorization-server/customers/{c}", "no-such-customer"),
        ("/customers/{c}/.well-known/openid-configuration", "no-such-customer"),
        ("/customers/{c}/.well-known/jwks.json", "no-such-customer"),
        ("/customers/{c}/.well-known/jwks.json", "UPPER_case"),
        ("/customers/{c}/.well-known/oauth-authorization-server", "x"),
    ],
)
def test_unknown_customer_discovery_is_404_json(lane: Lane, path: str, customer: str) -> None:
    response = lane.http.get(lane.base_url + path.format(c=customer))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "error": "not_found",
        "error_description": f"no customer {customer}",
    }


def test_jwks_members_are_public_signature_keys(lane: Lane) -> None:
    customer = lane.add_customer()
    response = lane.http.get(f"{lane.issuer(customer)}/.well-known/jwks.json")
    assert response.status_code == 200
    # RFC 7517 §8.5: the JWK Set media type.
    assert response.headers["content-type"] == "application/jwk-set+json"
    document = response.json()
    assert set(document) == {"keys"}
    (key,) = document["keys"]
    assert key == {
        "kty": "EC",
        "crv": "P-256",
        "x": key["x"],
        "y": key["y"],
        "kid": key["kid"],
        "alg": "ES256",
        "use": "sig",
    }


@pytest.mark.parametrize(
    ("alg", "members"),
    [
        ("ES256", {"kty", "crv", "x", "y", "kid", "alg", "use"}),
        ("RS256", {"kty", "n", "e", "kid", "alg", "use"}),
        ("PS256", {"kty", "n", "e", "kid", "alg", "use"}),
        ("EdDSA", {"kty", "crv", "x", "kid", "alg", "use"}),
    ],
)
def test_jwks_never_holds_private_members(lane: Lane, alg: str, members: set[str]) -> None:
    customer = lane.add_customer(alg)  # type: ignore[arg-type]
    for key in lane.jwks(customer)["keys"]:
        assert set(key) == members
        assert not PRIVATE_MEMBERS & set(key)
        assert key["use"] == "sig"
        assert key["alg"] == alg


def test_jwks_after_rotation_has_unique_kids_and_signs_with_the_new_key(lane: Lane) -> None:
    customer = lane.add_customer()
    creds = lane.add_client(customer)
    old_kid = lane.jwks(customer)["keys"][0]["kid"]
    new_kid = rotate_keys(
        lane.runtime.store, lane.runtime.master_key, customer_id=customer, alg="ES256"
    )
    lane.runtime.changed()
    lane._wait(lambda: _jwks_response_with(lane, customer, 2))
    keys = lane.jwks(customer)["keys"]
    kids = [key["kid"] for key in keys]
    assert sorted(kids) == sorted({old_kid, new_kid})
    assert len(set(kids)) == len(kids)
    for key in keys:
        assert not PRIVATE_MEMBERS & set(key)
    import jwt

    token = lane.post_token(creds).json()["access_token"]
    assert jwt.get_unverified_header(token)["kid"] == new_kid


class _Status:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


def _jwks_response_with(lane: Lane, customer: str, count: int) -> _Status:
    response = lane.http.get(f"{lane.issuer(customer)}/.well-known/jwks.json")
    keys = response.json().get("keys", []) if response.status_code == 200 else []
    return _Status(200 if len(keys) == count else 404)
