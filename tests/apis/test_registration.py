"""Dynamic client registration (RFC 7591) and its management (RFC 7592): initial access tokens,
the registration answer, whole error bodies, and registered clients as ordinary app clients."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest

from gatehouse import registration
from gatehouse.services import registration as registration_service
from gatehouse.store.store import NotFound
from tests.apis.conftest import Api, Caller
from tests.factories import TEST_ACTOR
from tests.secretless.assertions import ASSERTION_TYPE, INVALID_CLIENT, client_assertion
from tests.secretless.keys import ec_key, public_jwks

REGISTER = "/customers/acme/oauth2/register"
NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}
CHALLENGE = 'Bearer realm="gatehouse", error="invalid_token"'


def registrar(api: Api) -> registration.Registrar:
    return registration.Registrar.of(
        api.runtime.store, api.runtime.master_key, api.runtime.settings
    )


def initial_token(api: Api, **options: Any) -> str:
    token, _record = registration_service.create_initial_token(
        registrar(api), customer_id="acme", actor=TEST_ACTOR, **options
    )
    return token


def register(api: Api, token: str | None, body: Any) -> Any:
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return api.client.post(REGISTER, content=content, headers=headers)


def refused(response: Any, status: int, error: str, description: str) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {"error": error, "error_description": description}
    assert {k: response.headers[k] for k in NO_STORE} == NO_STORE
    if status == 401:
        assert response.headers["www-authenticate"] == CHALLENGE


def test_register_then_get_tokens_read_update_delete(api: Api, owner: Caller) -> None:
    token = initial_token(api, roles=["viewer", "corpus_developer"])
    response = register(
        api,
        token,
        {
            "client_name": "partner sync",
            "token_endpoint_auth_method": "client_secret_post",
            "grant_types": ["client_credentials"],
            "scope": "viewer",
            "software_id": "partner-sync",
            "contacts": ["ops@partner.example"],
        },
    )
    # RFC 7591 §3.2.1: 201 with the client's information, never cached.
    assert response.status_code == 201, response.text
    assert {k: response.headers[k] for k in NO_STORE} == NO_STORE
    body = response.json()
    client_id = body["client_id"]
    assert body == {
        "client_id": client_id,
        "client_id_issued_at": body["client_id_issued_at"],
        "client_secret": body["client_secret"],
        "client_secret_expires_at": 0,
        "client_name": "partner sync",
        "token_endpoint_auth_method": "client_secret_post",
        "grant_types": ["client_credentials"],
        "response_types": [],
        "scope": "viewer",
        "software_id": "partner-sync",
        "contacts": ["ops@partner.example"],
        "registration_access_token": body["registration_access_token"],
        "registration_client_uri": f"http://testserver{REGISTER}/{client_id}",
    }
    assert abs(body["client_id_issued_at"] - time.time()) < 60
    assert body["client_secret"].startswith("gths_")
    assert body["registration_access_token"].startswith("ghr_")

    tokens = api.client.post(
        "/customers/acme/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": body["client_secret"],
        },
    )
    assert tokens.status_code == 200
    assert tokens.json()["scope"] == "viewer"

    # An ordinary app client, marked registered.
    listed = api.client.get("/v2/app_clients", headers=owner.headers).json()["app_clients"]
    mine = next(c for c in listed if c["client_id"] == client_id)
    assert mine["registered"] is True
    assert mine["name"] == "partner sync"
    assert (
        next(c for c in listed if c["client_id"] == owner.record.client_id)["registered"] is False
    )

    manage = {"authorization": f"Bearer {body['registration_access_token']}"}
    uri = f"{REGISTER}/{client_id}"
    read = api.client.get(uri, headers=manage)
    assert read.status_code == 200
    expected = {k: v for k, v in body.items() if k != "registration_access_token"}
    assert read.json() == expected

    # RFC 7592 §2.2: PUT replaces the metadata (software_id dropped, scope widened).
    updated = api.client.put(
        uri,
        content=orjson.dumps(
            {
                "client_id": client_id,
                "client_name": "partner sync v2",
                "scope": "viewer corpus_developer",
            }
        ),
        headers=manage,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["client_name"] == "partner sync v2"
    assert updated.json()["scope"] == "viewer corpus_developer"
    assert "software_id" not in updated.json()
    assert updated.json()["token_endpoint_auth_method"] == "client_secret_basic"
    refused(
        api.client.put(
            uri, content=orjson.dumps({"client_id": client_id, "scope": "owner"}), headers=manage
        ),
        400,
        "invalid_client_metadata",
        "scope owner is not allowed by the initial access token",
    )
    refused(
        api.client.put(uri, content=orjson.dumps({"client_name": "x"}), headers=manage),
        400,
        "invalid_client_metadata",
        "client_id must be sent and match the registered client",
    )

    # RFC 7592 §2.3: DELETE is 204; afterwards the client and its token are gone.
    deleted = api.client.delete(uri, headers=manage)
    assert deleted.status_code == 204
    assert deleted.content == b""
    refused(api.client.get(uri, headers=manage), 401, "invalid_token", registration.REFUSED)
    gone = api.client.post(
        "/customers/acme/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": body["client_secret"],
        },
    )
    assert gone.status_code == 401
    actions = [e.action for e in api.runtime.store.list_audit(customer_id="acme")]
    assert "app_client.register" in actions
    assert "app_client.delete" in actions


def test_defaults_are_the_initial_tokens_roles_and_basic(api: Api) -> None:
    body = register(api, initial_token(api), {}).json()
    assert body["scope"] == "viewer"
    assert body["client_name"] == "registered client"
    assert body["token_endpoint_auth_method"] == "client_secret_basic"


@pytest.mark.parametrize(
    ("metadata", "error", "description"),
    [
        (
            {"grant_types": ["authorization_code"]},
            "invalid_client_metadata",
            "grant_types must be exactly client_credentials",
        ),
        (
            {"grant_types": ["client_credentials", "refresh_token"]},
            "invalid_client_metadata",
            "grant_types must be exactly client_credentials",
        ),
        (
            {"token_endpoint_auth_method": "private_key_jwt"},
            "invalid_client_metadata",
            "private_key_jwt needs the client's keys: jwks or jwks_uri",
        ),
        (
            {"token_endpoint_auth_method": "none"},
            "invalid_client_metadata",
            "token_endpoint_auth_method must be client_secret_basic, client_secret_post or "
            "private_key_jwt",
        ),
        (
            {"jwks_uri": "https://a.example/jwks"},
            "invalid_client_metadata",
            "jwks and jwks_uri are for private_key_jwt clients",
        ),
        (
            {"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "http://a.example/j"},
            "invalid_client_metadata",
            "must be an absolute https URL",
        ),
        (
            {
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]},
            },
            "invalid_client_metadata",
            None,
        ),
        (
            {"scope": "viewer owner"},
            "invalid_client_metadata",
            "scope owner is not allowed by the initial access token",
        ),
        ({"scope": 5}, "invalid_client_metadata", "scope must be a space-separated string"),
        ({"client_name": ""}, "invalid_client_metadata", "client_name must be 1 to 200 characters"),
        (
            {"client_name": "a\x00b"},
            "invalid_client_metadata",
            "client_name must not contain NUL characters",
        ),
        (
            {"response_types": ["code"]},
            "invalid_client_metadata",
            "response_types must be empty: no authorization endpoint",
        ),
        (
            {"redirect_uris": ["https://a.example/cb"]},
            "invalid_redirect_uri",
            "redirect_uris must be empty: no authorization endpoint",
        ),
        (b"not json", "invalid_client_metadata", "the request body is not a JSON object"),
        (b"[1, 2]", "invalid_client_metadata", "the request body is not a JSON object"),
    ],
)
def test_bad_metadata_is_400_and_uses_nothing(
    api: Api, metadata: Any, error: str, description: str | None
) -> None:
    token = initial_token(api, max_uses=1)
    response = register(api, token, metadata)
    if description is None or description.startswith("must"):
        # The key checks of every app client (authmethods), in their own words.
        assert response.status_code == 400, response.text
        assert response.json()["error"] == error
        assert description is None or description in response.json()["error_description"]
    else:
        refused(response, 400, error, description)
    # The refused request did not use the token up.
    assert register(api, token, {}).status_code == 201


def test_no_bad_expired_used_up_or_revoked_initial_token_is_401(api: Api) -> None:
    refused(
        register(api, None, {}),
        401,
        "invalid_token",
        "an initial or registration access token is required",
    )
    refused(register(api, "ghi_wrong", {}), 401, "invalid_token", registration.REFUSED)
    once = initial_token(api, max_uses=1)
    assert register(api, once, {}).status_code == 201
    refused(register(api, once, {}), 401, "invalid_token", registration.REFUSED)
    ctx = registrar(api)
    revoked, record = registration_service.create_initial_token(
        ctx, customer_id="acme", actor=TEST_ACTOR
    )
    registration_service.revoke_initial_token(
        ctx, customer_id="acme", token_id=record.id, actor=TEST_ACTOR
    )
    refused(register(api, revoked, {}), 401, "invalid_token", registration.REFUSED)
    # A registration access token is not an initial access token.
    client = register(api, initial_token(api), {}).json()
    refused(
        register(api, client["registration_access_token"], {}),
        401,
        "invalid_token",
        registration.REFUSED,
    )
    # Another customer's initial token does not register here.
    api.customer("other")
    theirs, _ = registration_service.create_initial_token(
        ctx, customer_id="other", actor=TEST_ACTOR
    )
    refused(register(api, theirs, {}), 401, "invalid_token", registration.REFUSED)


def test_expired_initial_token_is_401(api: Api) -> None:
    token = initial_token(api, expires_in=60)
    with api.runtime.store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE initial_access_tokens SET expires_at = 1")
    refused(register(api, token, {}), 401, "invalid_token", registration.REFUSED)


def test_initial_tokens_are_stored_hashed_and_listed_with_uses(api: Api) -> None:
    token = initial_token(api, max_uses=3, roles=["viewer"])
    register(api, token, {})
    [record] = registrar(api).registrations.list_initial_tokens(customer_id="acme")
    view = registration.initial_token_view(record)
    assert view["uses"] == 1
    assert view["max_uses"] == 3
    with api.runtime.store.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT token_hash FROM initial_access_tokens").scalar_one()
        regs = conn.exec_driver_sql("SELECT access_token_hash FROM client_registrations").all()
    assert token.encode() not in bytes(stored)
    assert len(bytes(stored)) == 32
    assert len(regs) == 1
    with pytest.raises(NotFound):
        registration_service.revoke_initial_token(
            registrar(api), customer_id="acme", token_id="iat_none", actor=TEST_ACTOR
        )


def test_management_needs_the_clients_own_registration_token(api: Api, owner: Caller) -> None:
    first = register(api, initial_token(api), {}).json()
    second = register(api, initial_token(api), {}).json()
    uri = f"{REGISTER}/{first['client_id']}"
    wrong = {"authorization": f"Bearer {second['registration_access_token']}"}
    refused(api.client.get(uri, headers=wrong), 401, "invalid_token", registration.REFUSED)
    refused(api.client.delete(uri, headers=wrong), 401, "invalid_token", registration.REFUSED)
    # An app client made otherwise has no registration to manage.
    other = {"authorization": f"Bearer {first['registration_access_token']}"}
    refused(
        api.client.get(f"{REGISTER}/{owner.record.client_id}", headers=other),
        401,
        "invalid_token",
        registration.REFUSED,
    )


def test_registration_is_per_customer_only(api: Api) -> None:
    response = api.client.post(
        "/oauth2/register", content=b"{}", headers={"authorization": "Bearer ghi_x"}
    )
    assert response.status_code in (404, 405)
    response = api.client.post(
        "/customers/nobody/oauth2/register", content=b"{}", headers={"authorization": "Bearer x"}
    )
    refused(response, 401, "invalid_token", registration.REFUSED)


def test_a_private_key_jwt_client_registers_its_keys_and_gets_tokens_with_an_assertion(
    api: Api,
) -> None:
    key = ec_key("reg1")
    token = initial_token(api, roles=["viewer"])
    response = register(
        api,
        token,
        {
            "client_name": "keyed partner",
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": public_jwks(key),
        },
    )
    assert response.status_code == 201, response.text
    document = response.json()
    assert document["token_endpoint_auth_method"] == "private_key_jwt"
    assert document["jwks"] == public_jwks(key)
    # RFC 7591 §3.2.1: no secret for a client that has none.
    assert "client_secret" not in document
    client_id = document["client_id"]
    issuer = "http://testserver/customers/acme"
    issued = api.client.post(
        "/customers/acme/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion(key, client_id, issuer),
        },
    )
    assert issued.status_code == 200, issued.text
    assert issued.json()["scope"] == "viewer"
    # RFC 7592 §2.2: new keys replace the old ones; the kind of client stays.
    uri = document["registration_client_uri"].removeprefix("http://testserver")
    auth = {"authorization": f"Bearer {document['registration_access_token']}"}
    newer = ec_key("reg2")
    body = {
        "client_id": client_id,
        "client_name": "keyed partner",
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": public_jwks(newer),
    }
    assert api.client.put(uri, json=body, headers=auth).status_code == 200
    stale = api.client.post(
        "/customers/acme/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion(key, client_id, issuer),
        },
    )
    assert stale.json() == INVALID_CLIENT
    switched = api.client.put(
        uri, json={**body, "token_endpoint_auth_method": "client_secret_basic"}, headers=auth
    )
    assert switched.status_code == 400
    assert switched.json()["error"] == "invalid_client_metadata"
