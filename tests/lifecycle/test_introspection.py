"""RFC 7662 token introspection, one test per requirement."""

from __future__ import annotations

import time

import pytest

from gatehouse.apis import Apis
from gatehouse.services import app_clients
from gatehouse.services.apis import create_api, put_grant
from gatehouse.services.app_clients import ClientChanges
from gatehouse.services.notify import UNHEARD
from tests.factories import TEST_ACTOR, claims_of
from tests.lifecycle.conftest import Lifecycle, oauth_error

INACTIVE = {"active": False}
JSON_NO_STORE = {
    "content-type": "application/json",
    "cache-control": "no-store",
    "pragma": "no-cache",
}


def test_an_active_token_comes_back_with_its_claims(lc: Lifecycle) -> None:
    app = lc.app(roles=("owner", "viewer"))
    token = lc.token(app, scope="viewer")
    response = lc.introspect(app, token)
    claims = claims_of(token)
    # RFC 7662 §2.2: active is REQUIRED; the other members describe the token.
    assert response.status_code == 200
    assert response.json() == {
        "active": True,
        "scope": "viewer",
        "client_id": app.record.client_id,
        "sub": app.record.client_id,
        "aud": "http://testserver",
        "iss": "http://testserver/customers/acme",
        "exp": claims["exp"],
        "iat": claims["iat"],
        "nbf": claims["nbf"],
        "jti": claims["jti"],
        "token_type": "Bearer",
    }
    assert {k: response.headers[k] for k in JSON_NO_STORE} == JSON_NO_STORE


def test_any_enabled_client_of_the_same_customer_may_introspect(lc: Lifecycle) -> None:
    token = lc.token(lc.app())
    resource_server = lc.app(roles=("viewer",), name="resource server")
    assert lc.introspect(resource_server, token).json()["active"] is True


def test_the_issuer_path_answers_for_its_customer(lc: Lifecycle) -> None:
    app = lc.app()
    token = lc.token(app)
    response = lc.introspect(app, token, path="/customers/acme/oauth2/introspect")
    assert response.json()["active"] is True


def test_a_token_of_another_customer_is_inactive(lc: Lifecycle) -> None:
    token = lc.token(lc.app("globex"))
    response = lc.introspect(lc.app("acme"), token)
    assert (response.status_code, response.json()) == (200, INACTIVE)
    assert response.content == b'{"active":false}'


def test_a_revoked_token_is_inactive(lc: Lifecycle) -> None:
    app = lc.app()
    token = lc.token(app)
    lc.revoke(app, token)
    assert lc.introspect(app, token).json() == INACTIVE


@pytest.mark.parametrize(
    "token", ["", "garbage", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "é" * 10]
)
def test_a_malformed_token_is_inactive(lc: Lifecycle, token: str) -> None:
    app = lc.app()
    response = lc.introspect(app, token or "x")
    assert (response.status_code, response.json()) == (200, INACTIVE)


def test_an_expired_token_is_inactive_without_leeway(lc: Lifecycle) -> None:
    app = lc.app()
    now = int(time.time())
    token = lc.sign(
        "acme",
        client_id=app.record.client_id,
        jti="expired",
        iat=now - 1000,
        nbf=now - 1000,
        exp=now - 1,
    )
    assert lc.introspect(app, token).json() == INACTIVE


def test_a_token_not_valid_yet_is_inactive(lc: Lifecycle) -> None:
    app = lc.app()
    now = int(time.time())
    token = lc.sign("acme", client_id=app.record.client_id, nbf=now + 20, exp=now + 600)
    assert lc.introspect(app, token).json() == INACTIVE


def test_a_token_signed_by_another_customers_key_is_inactive(lc: Lifecycle) -> None:
    app = lc.app()
    # globex's key, acme's issuer and customer_id: the signature fails against acme's keys.
    token = lc.sign(
        "globex",
        iss="http://testserver/customers/acme",
        customer_id="acme",
        client_id=app.record.client_id,
    )
    assert lc.introspect(app, token).json() == INACTIVE


@pytest.mark.parametrize("change", ["delete", "disable", "revoke_tokens", "remove_role"])
def test_a_token_whose_client_lost_its_standing_is_inactive(lc: Lifecycle, change: str) -> None:
    holder = lc.app(roles=("owner", "viewer"))
    caller = lc.app()
    token = lc.token(holder)
    assert lc.introspect(caller, token).json()["active"] is True
    store, app_id = lc.runtime.store, holder.record.id
    if change == "delete":
        app_clients.delete_client(
            store, customer_id="acme", app_id=app_id, actor=TEST_ACTOR, notify=UNHEARD
        )
    elif change == "revoke_tokens":
        app_clients.revoke_tokens(
            store, customer_id="acme", app_id=app_id, actor=TEST_ACTOR, notify=UNHEARD
        )
    else:
        changes = (
            ClientChanges(enabled=False)
            if change == "disable"
            else ClientChanges(api_roles=["viewer"])
        )
        app_clients.update_client(
            store,
            customer_id="acme",
            app_id=app_id,
            changes=changes,
            actor=TEST_ACTOR,
            notify=UNHEARD,
        )
    lc.runtime.changed()
    assert lc.introspect(caller, token).json() == INACTIVE


def test_revoke_tokens_leaves_tokens_issued_after_it_active(lc: Lifecycle) -> None:
    app = lc.app()
    before = lc.token(app)
    app_clients.revoke_tokens(
        lc.runtime.store,
        customer_id="acme",
        app_id=app.record.id,
        actor=TEST_ACTOR,
        notify=UNHEARD,
    )
    lc.runtime.changed()
    after = lc.token(app)
    assert lc.introspect(app, before).json() == INACTIVE
    assert lc.introspect(app, after).json()["active"] is True


def test_a_token_for_another_audience_is_active_with_that_aud(lc: Lifecycle) -> None:
    app = lc.app()
    ctx = Apis.of(lc.runtime.store, lc.runtime.settings.default_audience)
    api = create_api(
        ctx,
        customer_id=app.record.customer_id,
        identifier="https://api.example.com/",
        name="other",
        scopes=["read"],
        actor=TEST_ACTOR,
        notify=UNHEARD,
    )
    put_grant(ctx, client=app.record, api=api, scopes=["read"], actor=TEST_ACTOR, notify=UNHEARD)
    lc.runtime.changed()
    token = lc.token(app, resource="https://api.example.com/")
    body = lc.introspect(app, token).json()
    assert (body["active"], body["aud"]) == (True, "https://api.example.com/")


@pytest.mark.parametrize("hint", ["access_token", "refresh_token", "unknown"])
def test_token_type_hint_is_optional_and_ignored(lc: Lifecycle, hint: str) -> None:
    app = lc.app()
    token = lc.token(app)
    assert lc.introspect(app, token, token_type_hint=hint).json()["active"] is True


def test_a_missing_token_parameter_is_invalid_request(lc: Lifecycle) -> None:
    app = lc.app()
    response = lc.client.post(
        "/oauth2/introspect", data={"token_type_hint": "access_token"}, headers=app.auth
    )
    assert oauth_error(response) == (
        400,
        {"error": "invalid_request", "error_description": "the token parameter is required"},
        "no-store",
        None,
    )


@pytest.mark.parametrize("who", ["no credentials", "wrong secret", "disabled client"])
def test_an_unauthenticated_caller_gets_401_invalid_client(lc: Lifecycle, who: str) -> None:
    app = lc.app()
    token = lc.token(app)
    data = {"token": token}
    if who == "wrong secret":
        data |= {"client_id": app.record.client_id, "client_secret": "wrong"}
    elif who == "disabled client":
        app_clients.update_client(
            lc.runtime.store,
            customer_id="acme",
            app_id=app.record.id,
            changes=ClientChanges(enabled=False),
            actor=TEST_ACTOR,
            notify=UNHEARD,
        )
        lc.runtime.changed()
        data |= {"client_id": app.record.client_id, "client_secret": app.secret}
    response = lc.client.post("/oauth2/introspect", data=data)
    # RFC 7662 §2.1: the endpoint requires authorization; invalid credentials get 401.
    assert oauth_error(response) == (
        401,
        {"error": "invalid_client", "error_description": "client authentication failed"},
        "no-store",
        'Basic realm="gatehouse"',
    )


def test_a_client_of_another_customer_on_the_issuer_path_is_invalid_client(
    lc: Lifecycle,
) -> None:
    token = lc.token(lc.app("acme"))
    response = lc.introspect(lc.app("globex"), token, path="/customers/acme/oauth2/introspect")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_get_is_405(lc: Lifecycle) -> None:
    response = lc.client.get("/oauth2/introspect")
    assert (response.status_code, response.headers["allow"]) == (405, "POST")
