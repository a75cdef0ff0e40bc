"""The token endpoint against registered APIs and grants (RFC 8707 resource indicators):
``aud`` is the registered identifier, ``scope`` within the grant, lifetime within the API's
cap; every refusal is a whole RFC 6749 §5.2 body."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from tests.apis.conftest import PAYMENTS, Api, Caller, Registry

NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}


def verified(api: Api, token: str, audience: str) -> dict[str, Any]:
    """PyJWT over the JWKS the issuer publishes, with the audience the API expects."""
    jwks = api.client.get("/customers/acme/.well-known/jwks.json").json()
    key = jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(token)["kid"]]
    claims: dict[str, Any] = jwt.decode(
        token,
        key.key,
        algorithms=["ES256"],
        audience=audience,
        issuer="http://testserver/customers/acme",
    )
    return claims


def refused(response: Any, error: str, description: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json() == {"error": error, "error_description": description}
    assert {k: response.headers[k] for k in NO_STORE} == NO_STORE


@pytest.fixture
def payments(registry: Registry) -> dict[str, Any]:
    return registry.register()


@pytest.fixture
def granted(api: Api, registry: Registry, payments: dict[str, Any]) -> Caller:
    """A viewer client granted two of the three payments scopes."""
    caller = api.caller("viewer", name="payments caller")
    registry.grant(caller.record.id, payments["id"], "payments:read", "payments:write")
    return caller


@pytest.mark.parametrize("parameter", ["resource", "audience"])
def test_token_for_a_granted_api_has_its_aud_and_the_grant(
    api: Api, registry: Registry, granted: Caller, parameter: str
) -> None:
    response = registry.token(granted, **{parameter: PAYMENTS})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scope"] == "payments:read payments:write"
    claims = verified(api, body["access_token"], PAYMENTS)
    assert claims["aud"] == PAYMENTS
    assert claims["scope"] == "payments:read payments:write"
    assert claims["sub"] == claims["client_id"] == granted.record.client_id
    # Not a token for the built-in API.
    with pytest.raises(jwt.InvalidAudienceError):
        verified(api, body["access_token"], "http://testserver")
    response = api.client.get(
        "/v2/corpora", headers={"authorization": f"Bearer {body['access_token']}"}
    )
    assert response.status_code == 401


def test_scheme_and_host_match_case_insensitively_aud_is_the_registered_identifier(
    api: Api, registry: Registry, granted: Caller
) -> None:
    response = registry.token(granted, resource="HTTPS://PAYMENTS.example/api")
    assert response.status_code == 200, response.text
    assert verified(api, response.json()["access_token"], PAYMENTS)["aud"] == PAYMENTS
    refused(
        registry.token(granted, resource="https://payments.example/API"),
        "invalid_target",
        "https://payments.example/API is not a registered API",
    )


def test_a_subset_of_the_grant_may_be_asked_for(registry: Registry, granted: Caller) -> None:
    response = registry.token(granted, resource=PAYMENTS, scope="payments:read")
    assert response.json()["scope"] == "payments:read"


@pytest.mark.parametrize(
    ("scope", "description"),
    [
        ("payments:refund", "scope payments:refund is not granted to this client"),
        ("payments:read viewer", "scope viewer is not granted to this client"),
        ("payments:admin", "scope payments:admin is not granted to this client"),
    ],
)
def test_scope_beyond_the_grant_is_invalid_scope(
    registry: Registry, granted: Caller, scope: str, description: str
) -> None:
    refused(registry.token(granted, resource=PAYMENTS, scope=scope), "invalid_scope", description)


def test_the_grant_does_not_reach_the_built_in_api(registry: Registry, granted: Caller) -> None:
    refused(
        registry.token(granted, scope="payments:read"),
        "invalid_scope",
        "scope payments:read is not granted to this client",
    )
    assert registry.token(granted).json()["scope"] == "viewer"


def test_unregistered_resource_and_no_grant_are_invalid_target(
    api: Api, registry: Registry, granted: Caller, payments: dict[str, Any]
) -> None:
    refused(
        registry.token(granted, resource="https://evil.example"),
        "invalid_target",
        "https://evil.example is not a registered API",
    )
    refused(
        registry.token(granted, audience="payments"),
        "invalid_target",
        "payments is not a registered API",
    )
    other = api.caller("owner", name="not granted")
    refused(
        registry.token(other, resource=PAYMENTS),
        "invalid_target",
        f"this client has no grant on {PAYMENTS}",
    )
    # Another customer's API of the same identifier is not this customer's.
    api.customer("other")
    theirs = api.caller("owner", customer_id="other")
    response = api.client.post(
        "/customers/other/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": theirs.record.client_id,
            "client_secret": theirs.secret,
            "resource": PAYMENTS,
        },
    )
    refused(response, "invalid_target", f"{PAYMENTS} is not a registered API")


def test_two_resources_are_invalid_target_and_resource_with_audience_invalid_request(
    api: Api, granted: Caller
) -> None:
    creds = f"client_id={granted.record.client_id}&client_secret={granted.secret}"
    form = {"content-type": "application/x-www-form-urlencoded"}
    two = f"grant_type=client_credentials&{creds}&resource={PAYMENTS}&resource=http://testserver"
    response = api.client.post("/customers/acme/oauth2/token", content=two, headers=form)
    refused(response, "invalid_target", "send one resource: a token is for one API")
    both = f"grant_type=client_credentials&{creds}&resource={PAYMENTS}&audience={PAYMENTS}"
    response = api.client.post("/customers/acme/oauth2/token", content=both, headers=form)
    refused(response, "invalid_request", "send resource or audience, not both")


def test_the_built_in_identifier_is_the_built_in_api(
    api: Api, registry: Registry, granted: Caller
) -> None:
    for value in ("http://testserver", "HTTP://TESTSERVER"):
        response = registry.token(granted, resource=value)
        assert response.status_code == 200
        claims = verified(api, response.json()["access_token"], "http://testserver")
        assert claims["scope"] == "viewer"


def test_api_lifetime_caps_the_client_lifetime(api: Api, registry: Registry) -> None:
    capped = registry.register("https://short.example", token_lifetime_seconds=300)
    caller = api.caller("viewer")
    registry.grant(caller.record.id, capped["id"], "payments:read")
    response = registry.token(caller, resource="https://short.example")
    assert response.json()["expires_in"] == 300
    claims = verified(api, response.json()["access_token"], "https://short.example")
    assert claims["exp"] - claims["iat"] == 300
    # The built-in API keeps the client's lifetime.
    assert registry.token(caller).json()["expires_in"] == 1800


def test_introspection_follows_the_grant(
    api: Api, registry: Registry, granted: Caller, payments: dict[str, Any], owner: Caller
) -> None:
    token = registry.token(granted, resource=PAYMENTS).json()["access_token"]

    def introspect() -> dict[str, Any]:
        response = api.client.post(
            "/customers/acme/oauth2/introspect",
            data={
                "token": token,
                "client_id": owner.record.client_id,
                "client_secret": owner.secret,
            },
        )
        assert response.status_code == 200
        document: dict[str, Any] = response.json()
        return document

    active = introspect()
    assert active["active"] is True
    assert active["aud"] == PAYMENTS
    assert active["scope"] == "payments:read payments:write"
    # Narrowing the grant refuses the tokens that carry more.
    registry.grant(granted.record.id, payments["id"], "payments:read")
    assert introspect() == {"active": False}


def test_deleting_the_api_refuses_its_tokens_and_new_requests(
    api: Api, registry: Registry, granted: Caller, payments: dict[str, Any], owner: Caller
) -> None:
    api.client.delete(f"/v2/apis/{payments['id']}", headers=owner.headers)
    refused(
        registry.token(granted, resource=PAYMENTS),
        "invalid_target",
        f"{PAYMENTS} is not a registered API",
    )


def test_issued_tokens_are_audited_with_their_api(
    api: Api, registry: Registry, granted: Caller
) -> None:
    registry.token(granted, resource=PAYMENTS)
    api.runtime.audit.flush()
    event = api.runtime.store.list_audit(customer_id="acme", action="token.issue")[0]
    assert event.actor == granted.record.client_id
    assert event.detail["aud"] == PAYMENTS
    assert event.detail["scope"] == "payments:read payments:write"
