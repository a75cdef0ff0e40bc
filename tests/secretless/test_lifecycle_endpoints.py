"""A private_key_jwt client authenticates at revocation (RFC 7009 §2.1) and introspection
(RFC 7662 §2.1) with an assertion, as at the token endpoint; the metadata says so."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api, Caller
from tests.secretless.assertions import (
    ASSERTION_TYPE,
    INVALID_CLIENT,
    client_assertion,
    token_with_assertion,
)
from tests.secretless.keys import ec_key, public_jwks

ISSUER = "http://testserver/customers/acme"


def signer(api: Api, owner: Caller) -> tuple[Any, str]:
    key = ec_key()
    response = api.client.post(
        "/v2/app_clients",
        json={
            "name": "signer",
            "api_roles": ["viewer"],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": public_jwks(key),
        },
        headers=owner.headers,
    )
    return key, response.json()["client_id"]


def post(api: Api, path: str, assertion: str, token: str) -> Any:
    return api.client.post(
        f"/customers/acme/oauth2/{path}",
        data={
            "token": token,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
    )


def test_introspect_and_revoke_with_an_assertion(api: Api, owner: Caller) -> None:
    key, cid = signer(api, owner)
    token = token_with_assertion(api, "acme", client_assertion(key, cid, ISSUER)).json()
    access = token["access_token"]
    introspected = post(api, "introspect", client_assertion(key, cid, ISSUER), access)
    assert introspected.status_code == 200, introspected.text
    assert introspected.json()["active"] is True
    assert introspected.json()["client_id"] == cid
    revoked = post(api, "revoke", client_assertion(key, cid, ISSUER), access)
    assert revoked.status_code == 200, revoked.text
    again = post(api, "introspect", client_assertion(key, cid, ISSUER), access)
    assert again.json() == {"active": False}
    # A replayed assertion is refused here too.
    assertion = client_assertion(key, cid, ISSUER)
    assert post(api, "introspect", assertion, access).status_code == 200
    replay = post(api, "introspect", assertion, access)
    assert (replay.status_code, replay.json()) == (401, INVALID_CLIENT)


def test_metadata_lists_private_key_jwt_everywhere(api: Api) -> None:
    document = api.client.get(f"{ISSUER}/.well-known/oauth-authorization-server").json()
    for endpoint in ("token_endpoint", "revocation_endpoint", "introspection_endpoint"):
        assert "private_key_jwt" in document[f"{endpoint}_auth_methods_supported"]
        assert "none" not in document[f"{endpoint}_auth_signing_alg_values_supported"]
    assert "urn:ietf:params:oauth:grant-type:jwt-bearer" in document["grant_types_supported"]
