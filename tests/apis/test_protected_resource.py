"""RFC 9728 protected resource metadata: the built-in API's document and challenges, the shared
authorization server metadata it points to, and ``ProtectedResource`` in the verify adapters."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from gatehouse.verify import ProtectedResource, TokenVerifier
from gatehouse.verify.resource import metadata_url
from gatehouse.verify.starlette import BearerTokenMiddleware
from tests.apis.conftest import Api
from tests.factories import no_credentials_challenge

METADATA = "http://testserver/.well-known/oauth-protected-resource"


def test_built_in_api_metadata(api: Api) -> None:
    response = api.client.get("/.well-known/oauth-protected-resource")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "resource": "http://testserver",
        "authorization_servers": ["http://testserver"],
        "scopes_supported": [
            "owner",
            "administrator",
            "billing_administrator",
            "corpus_administrator",
            "corpus_developer",
            "viewer",
        ],
        "bearer_methods_supported": ["header"],
        "resource_name": "Gatehouse API",
        "resource_documentation": "http://testserver/v2/openapi.json",
    }


def test_shared_authorization_server_metadata_lists_no_customer(api: Api) -> None:
    document = api.client.get("/.well-known/oauth-authorization-server").json()
    assert document["issuer"] == "http://testserver"
    assert document["token_endpoint"] == "http://testserver/oauth2/token"
    assert document["revocation_endpoint"] == "http://testserver/oauth2/revoke"
    assert document["introspection_endpoint"] == "http://testserver/oauth2/introspect"
    assert "jwks_uri" not in document
    assert "acme" not in str(document)


def test_built_in_api_challenges_name_the_metadata(api: Api) -> None:
    response = api.client.get("/v2/corpora")
    assert response.status_code == 401
    # RFC 9449 §7.1: without credentials, the DPoP challenge follows.
    assert response.headers["www-authenticate"] == no_credentials_challenge(METADATA)
    response = api.client.get("/v2/audit", headers={"authorization": "Bearer x.y.z"})
    assert response.headers["www-authenticate"].endswith(f'resource_metadata="{METADATA}"')


@pytest.mark.parametrize(
    ("identifier", "url"),
    [
        (
            "https://payments.example",
            "https://payments.example/.well-known/oauth-protected-resource",
        ),
        (
            "https://api.example/payments/",
            "https://api.example/.well-known/oauth-protected-resource/payments",
        ),
        ("http://127.0.0.1:9000", "http://127.0.0.1:9000/.well-known/oauth-protected-resource"),
    ],
)
def test_metadata_url_inserts_the_well_known_path_before_the_path(
    identifier: str, url: str
) -> None:
    # RFC 9728 §3.1: the well-known URI is inserted between the host and the path.
    assert metadata_url(identifier) == url


def test_protected_resource_refuses_a_non_url_identifier() -> None:
    with pytest.raises(ValueError, match="http"):
        ProtectedResource("urn:payments", "https://auth.example/customers/acme")


def test_middleware_serves_the_metadata_and_points_its_challenges_to_it() -> None:
    resource = ProtectedResource(
        "https://api.example/payments", "https://auth.example/customers/acme", ["payments:read"]
    )
    app = FastAPI()

    @app.get("/payments")
    async def payments() -> str:
        return "never without a token"

    verifier = TokenVerifier(resource.issuer, resource.identifier)
    app.add_middleware(BearerTokenMiddleware, verifier=verifier, resource=resource)
    with TestClient(app, base_url="https://api.example") as http:
        document = http.get("/.well-known/oauth-protected-resource/payments")
        assert document.status_code == 200
        assert document.json() == {
            "resource": "https://api.example/payments",
            "authorization_servers": ["https://auth.example/customers/acme"],
            "bearer_methods_supported": ["header"],
            "scopes_supported": ["payments:read"],
        }
        refused = http.get("/payments")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == no_credentials_challenge(
        "https://api.example/.well-known/oauth-protected-resource/payments"
    )
