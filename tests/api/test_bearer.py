"""RFC 6750 on the API: §2.1 (the Authorization header), §3 and §3.1 (challenges and error codes),
and every way a token is refused, including the replica checks of SPEC §3."""

from __future__ import annotations

import hashlib
import hmac
import time

import orjson
import pytest

from gatehouse.services import app_clients
from gatehouse.services.app_clients import ClientChanges
from gatehouse.services.notify import UNHEARD
from tests.api.conftest import Api, Caller, b64, error_body, forge
from tests.factories import (
    TEST_ACTOR,
    add_customer,
    builtin_metadata_url,
    claims_of,
    no_credentials_challenge,
)

LIST = "/v2/corpora"


# RFC 9728 §5.1: the built-in API's challenges name its protected resource metadata.
METADATA = ', resource_metadata="http://testserver/.well-known/oauth-protected-resource"'
# RFC 9449 §7.1: without credentials the API names both schemes it accepts.
NO_CREDENTIALS = no_credentials_challenge(builtin_metadata_url())


def invalid_token(description: str) -> str:
    return (
        f'Bearer realm="gatehouse", error="invalid_token", error_description="{description}"'
        + METADATA
    )


def assert_invalid(api: Api, token: str, description: str) -> None:
    response = api.client.get(LIST, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == invalid_token(description)
    assert response.headers["cache-control"] == "no-store"
    error_body(response, description)


# -- RFC 6750 §2.1: the Authorization request header field --------------------------------------


def test_valid_bearer_header_is_accepted(api: Api, owner: Caller) -> None:
    response = api.client.get(LIST, headers=owner.headers)
    assert response.status_code == 200
    assert response.json() == {"corpora": [], "metadata": {"page_key": None}}


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "bEaReR"])
def test_scheme_name_is_case_insensitive(api: Api, owner: Caller, scheme: str) -> None:
    response = api.client.get(LIST, headers={"Authorization": f"{scheme} {owner.token}"})
    assert response.status_code == 200


def test_credentials_that_are_not_a_b64token_are_invalid_token(api: Api) -> None:
    response = api.client.get(LIST, headers={"Authorization": "Bearer a,b c"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == invalid_token("the bearer token is malformed")


def test_token_in_query_string_is_not_accepted(api: Api, owner: Caller) -> None:
    # RFC 6750 §2.3 is optional; this API does not accept it, so the request has no credentials.
    response = api.client.get(LIST, params={"access_token": owner.token})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == NO_CREDENTIALS


# -- RFC 6750 §3.1: error codes --------------------------------------------------------------------


def test_no_credentials_gets_401_challenge_without_error_code(api: Api) -> None:
    response = api.client.get(LIST)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == NO_CREDENTIALS
    error_body(response, "a bearer token is required")


def test_other_auth_scheme_counts_as_no_credentials(api: Api) -> None:
    response = api.client.get(LIST, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == NO_CREDENTIALS


def test_two_authorization_headers_are_invalid_request(api: Api, owner: Caller) -> None:
    headers = [("authorization", f"Bearer {owner.token}"), ("authorization", "Bearer x")]
    response = api.client.get(LIST, headers=headers)
    assert response.status_code == 400
    description = "the request has more than one Authorization header"
    assert response.headers["www-authenticate"] == (
        f'Bearer realm="gatehouse", error="invalid_request", error_description="{description}"'
        + METADATA
    )


def test_missing_role_is_403_insufficient_scope(api: Api) -> None:
    viewer = api.caller("viewer")
    response = api.client.post(LIST, json={"key": "docs"}, headers=viewer.headers)
    assert response.status_code == 403
    description = (
        "creating a corpus requires one of the roles: "
        "administrator corpus_administrator corpus_developer owner"
    )
    assert response.headers["www-authenticate"] == (
        f'Bearer realm="gatehouse", error="insufficient_scope", error_description="{description}"'
        + METADATA
    )
    error_body(response, description)


# -- rejected tokens -------------------------------------------------------------------------------


def test_garbage_token_is_rejected(api: Api) -> None:
    assert_invalid(api, "not-a-jwt", "the token is not a compact JWS")


def test_tampered_payload_is_rejected(api: Api, owner: Caller) -> None:
    header, _payload, signature = owner.token.split(".")
    claims = claims_of(owner.token)
    claims["scope"] = "owner administrator"
    tampered = f"{header}.{b64(orjson.dumps(claims))}.{signature}"
    assert_invalid(api, tampered, "the token signature is invalid")


def test_tampered_signature_is_rejected(api: Api, owner: Caller) -> None:
    header, payload, signature = owner.token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert_invalid(api, f"{header}.{payload}.{flipped}", "the token signature is invalid")


def test_expired_token_is_rejected(api: Api, owner: Caller) -> None:
    past = int(time.time()) - 3600
    token = forge(api.runtime, owner.token, claims={"iat": past, "nbf": past, "exp": past + 60})
    assert_invalid(api, token, "the token has expired")


def test_wrong_issuer_is_rejected(api: Api, owner: Caller) -> None:
    token = forge(api.runtime, owner.token, claims={"iss": "https://evil.example/customers/acme"})
    assert_invalid(api, token, "the token was issued by another issuer")


def test_wrong_audience_is_rejected(api: Api, owner: Caller) -> None:
    token = forge(api.runtime, owner.token, claims={"aud": "https://other-api.example"})
    assert_invalid(api, token, "the token is not intended for this audience")


def test_token_requested_for_another_resource_is_rejected(api: Api, owner: Caller) -> None:
    created = api.client.post(
        "/v2/apis",
        json={
            "identifier": "https://other-api.example",
            "name": "other",
            "scopes": [{"value": "x"}],
        },
        headers=owner.headers,
    ).json()
    api.client.put(
        f"/v2/app_clients/{owner.record.id}/grants/{created['id']}",
        json={"scopes": ["x"]},
        headers=owner.headers,
    )
    response = api.client.post(
        "/customers/acme/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": owner.record.client_id,
            "client_secret": owner.secret,
            "resource": "https://other-api.example",
        },
    )
    assert response.status_code == 200
    assert_invalid(
        api, response.json()["access_token"], "the token is not intended for this audience"
    )


def test_alg_none_is_rejected(api: Api, owner: Caller) -> None:
    signer = api.runtime.replica.signer_for("acme")
    assert signer is not None
    header = {"alg": "none", "typ": "at+jwt", "kid": signer.kid}
    token = f"{b64(orjson.dumps(header))}.{owner.token.split('.')[1]}.AA"
    assert_invalid(api, token, "the token's signing algorithm is not accepted")


def test_hs256_keyed_with_the_public_key_is_rejected(api: Api, owner: Caller) -> None:
    keys = api.runtime.replica.key_set("acme")
    assert keys is not None
    public = keys.public_keys[0]
    header = {"alg": "HS256", "typ": "at+jwt", "kid": public.kid}
    signing_input = f"{b64(orjson.dumps(header))}.{owner.token.split('.')[1]}"
    mac = hmac.new(orjson.dumps(public.jwk()), signing_input.encode(), hashlib.sha256).digest()
    assert_invalid(
        api, f"{signing_input}.{b64(mac)}", "the token's signing algorithm is not accepted"
    )


@pytest.mark.parametrize("typ", ["JWT", "jwt", "at+jwe"])
def test_typ_other_than_at_jwt_is_rejected(api: Api, owner: Caller, typ: str) -> None:
    token = forge(api.runtime, owner.token, header={"typ": typ})
    assert_invalid(api, token, "the token is not an access token (typ must be at+jwt)")


def test_unknown_kid_is_rejected(api: Api, owner: Caller) -> None:
    token = forge(api.runtime, owner.token, header={"kid": "no-such-key"})
    assert_invalid(api, token, "the token is signed with an unknown key")


def test_token_of_unknown_customer_is_rejected(api: Api, owner: Caller) -> None:
    token = forge(api.runtime, owner.token, claims={"customer_id": "nobody"})
    assert_invalid(api, token, "the token was issued by another issuer")


def test_token_signed_by_another_customers_key_is_rejected(api: Api, owner: Caller) -> None:
    add_customer(api.runtime, "globex")
    token = forge(api.runtime, owner.token, customer_id="globex")
    assert_invalid(api, token, "the token is signed with an unknown key")


# -- customer-id header ----------------------------------------------------------------------------


def test_matching_customer_id_header_is_accepted(api: Api, owner: Caller) -> None:
    response = api.client.get(LIST, headers={**owner.headers, "customer-id": "acme"})
    assert response.status_code == 200


def test_customer_id_header_disagreeing_with_token_is_401(api: Api, owner: Caller) -> None:
    add_customer(api.runtime, "globex")
    response = api.client.get(LIST, headers={**owner.headers, "customer-id": "globex"})
    assert response.status_code == 401
    description = "the customer-id header does not match the token"
    assert response.headers["www-authenticate"] == invalid_token(description)
    error_body(response, description)


# -- SPEC §3: changes to the client take effect at once --------------------------------------------


def test_deleted_clients_tokens_fail_at_once(api: Api, owner: Caller) -> None:
    victim = api.caller("viewer", name="victim")
    assert api.client.get(LIST, headers=victim.headers).status_code == 200
    response = api.client.delete(f"/v2/app_clients/{victim.record.id}", headers=owner.headers)
    assert response.status_code == 204
    assert_invalid(api, victim.token, "the token's client no longer exists")


def test_disabled_clients_tokens_fail_at_once(api: Api, owner: Caller) -> None:
    victim = api.caller("viewer", name="victim")
    assert api.client.get(LIST, headers=victim.headers).status_code == 200
    response = api.client.patch(
        f"/v2/app_clients/{victim.record.id}", json={"enabled": False}, headers=owner.headers
    )
    assert response.status_code == 200
    assert_invalid(api, victim.token, "the token's client is disabled")


def test_removing_a_role_the_token_carries_fails_it_at_once(api: Api, owner: Caller) -> None:
    victim = api.caller("corpus_developer", "viewer", name="victim")
    response = api.client.patch(
        f"/v2/app_clients/{victim.record.id}", json={"api_roles": ["viewer"]}, headers=owner.headers
    )
    assert response.status_code == 200
    assert_invalid(api, victim.token, "the token carries a role its client no longer has")
    fresh = api.token_for(victim.record, victim.secret)
    assert api.client.get(LIST, headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_change_made_directly_in_the_store_fails_tokens_after_replica_refresh(
    api: Api, owner: Caller
) -> None:
    # A change made by another process reaches this one through the change feed.
    app_clients.update_client(
        api.runtime.store,
        customer_id="acme",
        app_id=owner.record.id,
        changes=ClientChanges(enabled=False),
        actor=TEST_ACTOR,
        notify=UNHEARD,
    )
    api.runtime.replica.refresh()
    assert_invalid(api, owner.token, "the token's client is disabled")


def test_revoke_tokens_rejects_earlier_tokens_and_none_issued_after(
    api: Api, owner: Caller
) -> None:
    victim = api.caller("viewer", name="victim")
    # Several tokens within the same second, before and after the call.
    before = [api.token_for(victim.record, victim.secret) for _ in range(3)]
    response = api.client.post(
        f"/v2/app_clients/{victim.record.id}/revoke_tokens", headers=owner.headers
    )
    assert response.status_code == 204
    assert response.content == b""
    after = [api.token_for(victim.record, victim.secret) for _ in range(3)]
    for token in [victim.token, *before]:
        assert_invalid(api, token, "the token has been revoked")
    for token in after:
        assert api.client.get(LIST, headers={"Authorization": f"Bearer {token}"}).status_code == 200
