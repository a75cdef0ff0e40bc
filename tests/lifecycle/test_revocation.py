"""RFC 7009 token revocation of access tokens, one test per requirement."""

from __future__ import annotations

import time

import pytest

from gatehouse.revocations import revoked_until
from gatehouse.services import app_clients
from gatehouse.services.app_clients import ClientChanges
from gatehouse.services.notify import UNHEARD
from tests.factories import claims_of, wrong_secret
from tests.lifecycle.conftest import NO_STORE, Lifecycle, oauth_error

INVALID_CLIENT = (
    401,
    {"error": "invalid_client", "error_description": "client authentication failed"},
    "no-store",
    'Basic realm="gatehouse"',
)


def test_revoking_its_own_token_answers_200_with_an_empty_uncached_body(lc: Lifecycle) -> None:
    app = lc.app()
    token = lc.token(app)
    response = lc.revoke(app, token)
    # RFC 7009 §2.2: HTTP 200; the content of the body is ignored by the client.
    assert response.status_code == 200
    assert response.content == b""
    assert {k: response.headers[k] for k in NO_STORE} == NO_STORE


def test_a_revoked_token_is_refused_by_the_api_at_once(lc: Lifecycle) -> None:
    app = lc.app()
    token, other = lc.token(app), lc.token(app)
    assert lc.api_status(token) == 200
    assert lc.revoke(app, token).status_code == 200
    response = lc.client.get("/v2/corpora", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == (
        'Bearer realm="gatehouse", error="invalid_token", '
        'error_description="the token has been revoked", '
        'resource_metadata="http://testserver/.well-known/oauth-protected-resource"'
    )
    # Only that token: the client's other tokens keep working.
    assert lc.api_status(other) == 200


def test_the_revoked_jti_is_kept_on_the_deny_list_until_the_tokens_exp(lc: Lifecycle) -> None:
    app = lc.app()
    token = lc.token(app)
    lc.revoke(app, token)
    claims = claims_of(token)
    assert revoked_until(lc.runtime.store) == {claims["jti"]: float(claims["exp"])}
    assert lc.runtime.replica.is_jti_revoked(claims["jti"])


def test_the_issuer_path_revokes_for_a_client_of_that_customer(lc: Lifecycle) -> None:
    app = lc.app()
    token = lc.token(app)
    assert lc.revoke(app, token, path="/customers/acme/oauth2/revoke").status_code == 200
    assert lc.api_status(token) == 401


def test_the_issuer_path_of_another_customer_is_invalid_client(lc: Lifecycle) -> None:
    app = lc.app()
    token = lc.token(app)
    response = lc.revoke(app, token, path="/customers/globex/oauth2/revoke")
    assert oauth_error(response) == INVALID_CLIENT
    assert lc.api_status(token) == 200


def test_client_secret_post_authenticates_as_at_the_token_endpoint(lc: Lifecycle) -> None:
    app = lc.app()
    token = lc.token(app)
    response = lc.client.post(
        "/oauth2/revoke",
        data={"token": token, "client_id": app.record.client_id, "client_secret": app.secret},
    )
    assert response.status_code == 200
    assert lc.api_status(token) == 401


@pytest.mark.parametrize(
    "credentials",
    ["wrong secret", "no credentials", "unknown client"],
)
def test_failed_client_authentication_is_invalid_client_and_revokes_nothing(
    lc: Lifecycle, credentials: str
) -> None:
    app = lc.app()
    token = lc.token(app)
    data = {"token": token}
    if credentials == "wrong secret":
        data |= {"client_id": app.record.client_id, "client_secret": wrong_secret(app.secret)}
    elif credentials == "unknown client":
        data |= {"client_id": "nobody", "client_secret": app.secret}
    response = lc.client.post("/oauth2/revoke", data=data)
    # RFC 7009 §2.1: the server first validates the client credentials.
    assert oauth_error(response) == INVALID_CLIENT
    assert lc.api_status(token) == 200


def test_a_disabled_client_cannot_revoke(lc: Lifecycle) -> None:
    from tests.factories import TEST_ACTOR

    app, other = lc.app(), lc.app()
    token = lc.token(other)
    app_clients.update_client(
        lc.runtime.store,
        customer_id="acme",
        app_id=app.record.id,
        changes=ClientChanges(enabled=False),
        actor=TEST_ACTOR,
        notify=UNHEARD,
    )
    lc.runtime.changed()
    assert oauth_error(lc.revoke(app, token)) == INVALID_CLIENT


def test_a_token_issued_to_another_client_is_refused_with_400_and_stays_valid(
    lc: Lifecycle,
) -> None:
    owner, intruder = lc.app(), lc.app()
    token = lc.token(owner)
    response = lc.revoke(intruder, token)
    # RFC 7009 §2.1: the token was not issued to the requesting client: the request is refused.
    assert oauth_error(response) == (
        400,
        {
            "error": "unauthorized_client",
            "error_description": "the token was issued to another client",
        },
        "no-store",
        None,
    )
    assert lc.api_status(token) == 200
    assert lc.introspect(intruder, token).json()["active"] is True


def test_a_token_of_another_customer_is_refused_and_stays_valid(lc: Lifecycle) -> None:
    foreign = lc.app("globex")
    token = lc.token(foreign)
    response = lc.revoke(lc.app("acme"), token)
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"
    assert lc.introspect(lc.app("globex"), token).json()["active"] is True


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        "a.b.c",
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
        "x" * 5000,
    ],
)
def test_an_unknown_or_malformed_token_gets_200(lc: Lifecycle, token: str) -> None:
    app = lc.app()
    # RFC 7009 §2.2: invalid tokens do not cause an error response.
    response = lc.revoke(app, token)
    assert (response.status_code, response.content) == (200, b"")
    assert revoked_until(lc.runtime.store) == {}


def test_a_forged_token_naming_the_client_is_not_put_on_the_deny_list(lc: Lifecycle) -> None:
    app = lc.app()
    real = lc.token(app)
    header, payload, signature = real.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    assert lc.revoke(app, forged).status_code == 200
    assert revoked_until(lc.runtime.store) == {}
    assert lc.api_status(real) == 200


def test_an_expired_token_gets_200_and_no_deny_list_entry(lc: Lifecycle) -> None:
    app = lc.app()
    now = int(time.time())
    expired = lc.sign(
        "acme",
        client_id=app.record.client_id,
        sub=app.record.client_id,
        iat=now - 4000,
        nbf=now - 4000,
        exp=now - 2000,
    )
    assert lc.revoke(app, expired).status_code == 200
    assert revoked_until(lc.runtime.store) == {}


@pytest.mark.parametrize("hint", ["access_token", "refresh_token", "something_else"])
def test_token_type_hint_is_optional_and_any_hint_still_finds_the_access_token(
    lc: Lifecycle, hint: str
) -> None:
    app = lc.app()
    token = lc.token(app)
    # RFC 7009 §2.1: with a wrong or unknown hint the server extends its search to all types.
    assert lc.revoke(app, token, token_type_hint=hint).status_code == 200
    assert lc.api_status(token) == 401


def test_a_missing_token_parameter_is_invalid_request(lc: Lifecycle) -> None:
    app = lc.app()
    response = lc.client.post("/oauth2/revoke", data={"x": "1"}, headers=app.auth)
    assert oauth_error(response) == (
        400,
        {"error": "invalid_request", "error_description": "the token parameter is required"},
        "no-store",
        None,
    )


def test_a_repeated_token_parameter_is_invalid_request(lc: Lifecycle) -> None:
    app = lc.app()
    token = lc.token(app)
    response = lc.client.post(
        "/oauth2/revoke",
        content=f"token={token}&token={token}",
        headers={**app.auth, "content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "parameter token is repeated",
    }
    assert lc.api_status(token) == 200


def test_a_json_body_is_invalid_request(lc: Lifecycle) -> None:
    app = lc.app()
    token = lc.token(app)
    response = lc.client.post("/oauth2/revoke", json={"token": token}, headers=app.auth)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_get_is_405_with_allow_post(lc: Lifecycle) -> None:
    response = lc.client.get("/oauth2/revoke")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "this endpoint takes POST",
    }


def test_revoking_twice_is_200_both_times_and_audited_once_without_the_token(
    lc: Lifecycle,
) -> None:
    app = lc.app()
    token = lc.token(app)
    assert lc.revoke(app, token).status_code == 200
    assert lc.revoke(app, token).status_code == 200
    lc.runtime.audit.flush()
    events = lc.runtime.store.list_audit(customer_id="acme", action="token.revoke")
    assert len(events) == 1
    event = events[0]
    assert (event.actor, event.target, event.detail) == (
        app.record.client_id,
        app.record.id,
        {"jti": claims_of(token)["jti"]},
    )
    assert event.source == "testclient"
    assert token not in repr(events)
