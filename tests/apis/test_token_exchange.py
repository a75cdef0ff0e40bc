"""RFC 8693 token exchange: downscoping, re-audience, nested ``act``, ``exp`` never beyond the
subject token's, refusal whenever the subject token is refused (RFC 8693 §2.2.2 errors), and
an exchanged token's standing following every client of its chain."""

from __future__ import annotations

import time
from typing import Any

import pytest

from gatehouse.services import app_clients
from gatehouse.services.app_clients import ClientChanges
from gatehouse.services.notify import UNHEARD
from gatehouse.verify.feed import RevocationFeedClient
from tests.api.conftest import claims_of, forge
from tests.apis.conftest import PAYMENTS, Api, Caller, Registry
from tests.factories import TEST_ACTOR

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"
NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}


class Chain:
    """Three clients of acme: ``front`` gets payments tokens, ``orders`` and ``ledger`` act."""

    def __init__(self, api: Api, registry: Registry) -> None:
        self.api = api
        self.registry = registry
        self.payments = registry.register()
        self.front = api.caller("viewer", name="front")
        self.orders = api.caller("viewer", "corpus_developer", name="orders")
        self.ledger = api.caller("viewer", name="ledger")
        registry.grant(self.front.record.id, self.payments["id"], "payments:read", "payments:write")
        registry.grant(
            self.orders.record.id, self.payments["id"], "payments:read", "payments:refund"
        )
        registry.grant(self.ledger.record.id, self.payments["id"], "payments:read")

    def token(self, caller: Caller, **params: str) -> str:
        response = self.registry.token(caller, **params)
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def exchange(self, caller: Caller, subject: str, **params: str) -> Any:
        return self.registry.token(
            caller,
            grant_type=EXCHANGE,
            subject_token=subject,
            subject_token_type=ACCESS,
            **params,
        )

    def exchanged(self, caller: Caller, subject: str, **params: str) -> dict[str, Any]:
        response = self.exchange(caller, subject, **params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def introspect(self, token: str) -> dict[str, Any]:
        response = self.api.client.post(
            "/customers/acme/oauth2/introspect",
            data={
                "token": token,
                "client_id": self.ledger.record.client_id,
                "client_secret": self.ledger.secret,
            },
        )
        document: dict[str, Any] = response.json()
        return document


@pytest.fixture
def chain(api: Api, registry: Registry) -> Chain:
    return Chain(api, registry)


def refused(response: Any, error: str, description: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json() == {"error": error, "error_description": description}
    assert {k: response.headers[k] for k in NO_STORE} == NO_STORE


def test_downscoping_on_the_same_api(chain: Chain) -> None:
    subject = chain.token(chain.front, resource=PAYMENTS)
    body = chain.exchanged(chain.orders, subject)
    # RFC 8693 §2.2.1: issued_token_type and token_type are in the answer.
    assert body["issued_token_type"] == ACCESS
    assert body["token_type"] == "Bearer"
    # The orders grant (read, refund) meets the subject's scope (read, write): read.
    assert body["scope"] == "payments:read"
    claims = claims_of(body["access_token"])
    before = claims_of(subject)
    assert claims["aud"] == PAYMENTS
    assert claims["sub"] == chain.front.record.client_id
    assert claims["client_id"] == chain.orders.record.client_id
    assert claims["act"] == {"sub": chain.orders.record.client_id}
    assert claims["exp"] <= before["exp"]
    assert claims["jti"] != before["jti"]


def test_re_audience_to_the_built_in_api_carries_act_and_is_accepted_there(
    chain: Chain, api: Api
) -> None:
    subject = chain.token(chain.front, resource=PAYMENTS)
    body = chain.exchanged(chain.orders, subject, resource="http://testserver")
    assert body["scope"] == "viewer corpus_developer"
    claims = claims_of(body["access_token"])
    assert claims["aud"] == "http://testserver"
    assert claims["act"] == {"sub": chain.orders.record.client_id}
    listed = api.client.get(
        "/v2/corpora", headers={"authorization": f"Bearer {body['access_token']}"}
    )
    assert listed.status_code == 200, listed.text
    assert chain.introspect(body["access_token"])["active"] is True


def test_two_hops_nest_act(chain: Chain) -> None:
    first = chain.exchanged(chain.orders, chain.token(chain.front, resource=PAYMENTS))
    second = chain.exchanged(chain.ledger, first["access_token"])
    claims = claims_of(second["access_token"])
    assert claims["sub"] == chain.front.record.client_id
    assert claims["client_id"] == chain.ledger.record.client_id
    # RFC 8693 §4.1: the current actor outermost, earlier actors nested.
    assert claims["act"] == {
        "sub": chain.ledger.record.client_id,
        "act": {"sub": chain.orders.record.client_id},
    }
    assert second["scope"] == "payments:read"
    assert claims["exp"] <= claims_of(first["access_token"])["exp"]


def test_exp_never_beyond_the_subject_tokens(chain: Chain, api: Api) -> None:
    app_clients.update_client(
        api.runtime.store,
        customer_id="acme",
        app_id=chain.front.record.id,
        changes=ClientChanges(token_lifetime_seconds=300),
        actor=TEST_ACTOR,
        notify=UNHEARD,
    )
    api.runtime.changed()
    subject = chain.token(chain.front, resource=PAYMENTS)
    body = chain.exchanged(chain.orders, subject, resource="http://testserver")
    assert claims_of(body["access_token"])["exp"] <= claims_of(subject)["exp"]
    assert body["expires_in"] <= 300


def test_scope_requests_within_the_allowed_set(chain: Chain) -> None:
    subject = chain.token(chain.front, resource=PAYMENTS)
    refused(
        chain.exchange(chain.orders, subject, scope="payments:refund"),
        "invalid_scope",
        "scope payments:refund is not granted to this client",
    )
    read_only = chain.token(chain.ledger, resource=PAYMENTS)
    narrowed = chain.exchanged(chain.front, read_only, scope="payments:read")
    assert narrowed["scope"] == "payments:read"
    refused(
        chain.exchange(chain.front, read_only, scope="payments:write"),
        "invalid_scope",
        "scope payments:write is not granted to this client",
    )


def test_nothing_left_to_grant_is_invalid_scope(chain: Chain, api: Api, registry: Registry) -> None:
    writer = api.caller("viewer", name="writer")
    registry.grant(writer.record.id, chain.payments["id"], "payments:write")
    subject = chain.token(chain.ledger, resource=PAYMENTS)  # payments:read only
    refused(
        chain.exchange(writer, subject),
        "invalid_scope",
        "no scope of the target API is both granted and held",
    )


def test_target_needs_a_grant_and_a_registered_api(chain: Chain, api: Api) -> None:
    subject = chain.token(chain.front, resource=PAYMENTS)
    stranger = api.caller("viewer", name="no grant")
    refused(
        chain.exchange(stranger, subject),
        "invalid_target",
        f"this client has no grant on {PAYMENTS}",
    )
    refused(
        chain.exchange(chain.orders, subject, resource="https://nowhere.example"),
        "invalid_target",
        "https://nowhere.example is not a registered API",
    )


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"subject_token_type": ACCESS}, "subject_token is required"),
        ({"subject_token": "x"}, "subject_token_type is required"),
        (
            {"subject_token": "x", "subject_token_type": "urn:ietf:params:oauth:token-type:jwt"},
            f"subject_token_type must be {ACCESS}",
        ),
        (
            {"subject_token": "x", "subject_token_type": ACCESS, "actor_token": "y"},
            "actor_token is not supported: the requesting client is the actor",
        ),
        (
            {
                "subject_token": "x",
                "subject_token_type": ACCESS,
                "requested_token_type": "urn:ietf:params:oauth:token-type:refresh_token",
            },
            f"requested_token_type must be {ACCESS}",
        ),
    ],
)
def test_malformed_exchange_requests_are_invalid_request(
    chain: Chain, params: dict[str, str], description: str
) -> None:
    response = chain.registry.token(chain.orders, grant_type=EXCHANGE, **params)
    refused(response, "invalid_request", description)


def test_bad_expired_revoked_or_foreign_subject_tokens_are_invalid_grant(
    chain: Chain, api: Api
) -> None:
    grant_error = "the subject token is invalid, expired or revoked"
    subject = chain.token(chain.front)
    refused(chain.exchange(chain.orders, "not.a.token"), "invalid_grant", grant_error)
    expired = forge(api.runtime, subject, claims={"exp": int(time.time()) - 120})
    refused(chain.exchange(chain.orders, expired), "invalid_grant", grant_error)
    revoked = api.client.post(
        "/customers/acme/oauth2/revoke",
        data={
            "token": subject,
            "client_id": chain.front.record.client_id,
            "client_secret": chain.front.secret,
        },
    )
    assert revoked.status_code == 200
    refused(chain.exchange(chain.orders, subject), "invalid_grant", grant_error)
    api.customer("other")
    theirs = api.caller("owner", customer_id="other")
    foreign = api.token_for(theirs.record, theirs.secret)
    refused(chain.exchange(chain.orders, foreign), "invalid_grant", grant_error)


def test_a_wrong_secret_is_invalid_client_before_the_subject_is_read(chain: Chain) -> None:
    response = chain.api.client.post(
        "/customers/acme/oauth2/token",
        data={
            "grant_type": EXCHANGE,
            "client_id": chain.orders.record.client_id,
            "client_secret": "gths_wrong",
            "subject_token": "x",
            "subject_token_type": ACCESS,
        },
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize("change", ["disable_subject", "delete_subject", "revoke_actor"])
def test_the_exchanged_token_falls_with_any_client_of_its_chain(
    chain: Chain, api: Api, change: str
) -> None:
    first = chain.exchanged(chain.orders, chain.token(chain.front, resource=PAYMENTS))
    token = chain.exchanged(chain.ledger, first["access_token"], resource="http://testserver")
    bearer = {"authorization": f"Bearer {token['access_token']}"}
    assert api.client.get("/v2/corpora", headers=bearer).status_code == 200
    store = api.runtime.store
    if change == "disable_subject":
        app_clients.update_client(
            store,
            customer_id="acme",
            app_id=chain.front.record.id,
            changes=ClientChanges(enabled=False),
            actor=TEST_ACTOR,
            notify=UNHEARD,
        )
    elif change == "delete_subject":
        app_clients.delete_client(
            store,
            customer_id="acme",
            app_id=chain.front.record.id,
            actor=TEST_ACTOR,
            notify=UNHEARD,
        )
    else:
        app_clients.revoke_tokens(
            store,
            customer_id="acme",
            app_id=chain.orders.record.id,
            actor=TEST_ACTOR,
            notify=UNHEARD,
        )
    api.runtime.changed()
    assert chain.introspect(token["access_token"]) == {"active": False}
    response = api.client.get("/v2/corpora", headers=bearer)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    # And a token of the chain cannot be exchanged any more.
    refused(
        chain.exchange(chain.ledger, first["access_token"]),
        "invalid_grant",
        "the subject token is invalid, expired or revoked",
    )


def test_the_verify_feed_applies_the_chain_rule() -> None:
    feed = RevocationFeedClient("https://auth.example/customers/acme", "id", "secret")
    now = time.time()
    feed._apply(
        {
            "cursor": "1",
            "revoked": [],
            "clients": [{"client_id": "front", "status": "disabled", "revoked_before": now}],
            "has_more": False,
        }
    )
    claims = {
        "jti": "j",
        "iat": int(now) - 10,
        "sub": "front",
        "client_id": "ledger",
        "act": {"sub": "ledger", "act": {"sub": "orders"}},
    }
    assert feed.is_revoked(claims)
    assert not feed.is_revoked({**claims, "sub": "ledger", "act": {"sub": "orders"}})
