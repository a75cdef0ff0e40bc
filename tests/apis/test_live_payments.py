"""A team puts its own API behind Gatehouse, end to end against a real server process: the CLI
registers "payments" with three scopes and grants a client two of them; the server (another
process) learns of it through the change feed; the client's tokens verify with PyJWT and with
``gatehouse.verify`` for the payments audience, and everything else is refused."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from gatehouse.verify import InvalidToken, TokenVerifier
from tests.factories import LiveServer, start_server

PAYMENTS = "https://payments.example"
DEADLINE = 15.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("payments"))
    try:
        yield live
    finally:
        live.stop()


def token_response(server: LiveServer, client: dict[str, str], **params: str) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/customers/demo/oauth2/token",
        data={"grant_type": "client_credentials", **params},
        auth=(client["client_id"], client["client_secret"]),
    )


def until_ok(server: LiveServer, client: dict[str, str], **params: str) -> httpx.Response:
    """The server applies the CLI's writes from the change feed: wait for them, with a deadline."""
    deadline = time.monotonic() + DEADLINE
    while True:
        response = token_response(server, client, **params)
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


def test_payments_api_registered_granted_and_verified(server: LiveServer, tmp_path: Path) -> None:
    api = server.cli(
        "apis",
        "create",
        "--customer",
        "demo",
        "--identifier",
        PAYMENTS,
        "--name",
        "payments",
        "--scope",
        "payments:read Read payments",
        "--scope",
        "payments:write",
        "--scope",
        "payments:refund",
    )
    assert api["identifier"] == PAYMENTS
    assert [s["value"] for s in api["scopes"]] == [
        "payments:read",
        "payments:write",
        "payments:refund",
    ]
    assert api["scopes"][0]["description"] == "Read payments"
    listed = server.cli("apis", "list", "--customer", "demo")
    assert [a["identifier"] for a in listed["apis"]] == [server.base_url, PAYMENTS]
    assert server.cli("apis", "show", PAYMENTS, "--customer", "demo")["id"] == api["id"]
    client = server.cli(
        "clients", "create", "--customer", "demo", "--name", "billing", "--role", "viewer"
    )
    grant = server.cli(
        "clients",
        "grant",
        client["id"],
        "--customer",
        "demo",
        "--api",
        PAYMENTS,
        "--scope",
        "payments:read",
        "--scope",
        "payments:write",
    )
    assert grant == {
        "api_id": api["id"],
        "api_identifier": PAYMENTS,
        "scopes": ["payments:read", "payments:write"],
    }

    response = until_ok(server, client, resource=PAYMENTS, scope="payments:read")
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert response.json()["scope"] == "payments:read"
    issuer = f"{server.base_url}/customers/demo"
    keys = jwt.PyJWKClient(f"{issuer}/.well-known/jwks.json")
    claims = jwt.decode(
        token,
        keys.get_signing_key_from_jwt(token).key,
        algorithms=["ES256"],
        audience=PAYMENTS,
        issuer=issuer,
    )
    assert claims["aud"] == PAYMENTS
    assert claims["scope"] == "payments:read"
    verifier = TokenVerifier(issuer, PAYMENTS)
    assert verifier.verify(token)["client_id"] == client["client_id"]
    with pytest.raises(InvalidToken):
        TokenVerifier(issuer, server.base_url).verify(token)

    # Refused: a scope outside the grant, an unregistered resource.
    refused = token_response(
        server, client, resource=PAYMENTS, scope="payments:write payments:refund"
    )
    assert refused.status_code == 400
    assert refused.json() == {
        "error": "invalid_scope",
        "error_description": "scope payments:refund is not granted to this client",
    }
    refused = token_response(server, client, resource="https://ledger.example")
    assert refused.json() == {
        "error": "invalid_target",
        "error_description": "https://ledger.example is not a registered API",
    }
    # The built-in API still gives the client its roles.
    assert token_response(server, client).json()["scope"] == "viewer"

    # Ungranted: new requests are refused once the server has applied the change.
    server.cli("clients", "ungrant", client["id"], "--customer", "demo", "--api", PAYMENTS)
    deadline = time.monotonic() + DEADLINE
    while token_response(server, client, resource=PAYMENTS).status_code == 200:
        assert time.monotonic() < deadline, "the server did not apply the ungrant"
        time.sleep(0.05)
    assert token_response(server, client, resource=PAYMENTS).json() == {
        "error": "invalid_target",
        "error_description": f"this client has no grant on {PAYMENTS}",
    }
    server.cli("apis", "delete", api["id"], "--customer", "demo")
    assert [a["identifier"] for a in server.cli("apis", "list", "--customer", "demo")["apis"]] == [
        server.base_url
    ]


def test_two_hop_exchange_with_the_client_helper(server: LiveServer) -> None:
    """gatehouse.client's exchange helper against the real server: a token of ``front`` for
    the built-in API is exchanged by ``orders``, then by ``ledger``; ``act`` nests."""
    from gatehouse.client import ClientCredentials

    token_url = f"{server.base_url}/customers/demo/oauth2/token"
    made = [
        server.cli("clients", "create", "--customer", "demo", "--name", name, "--role", "viewer")
        for name in ("front", "orders", "ledger")
    ]
    front, orders, ledger = (
        ClientCredentials(token_url, c["client_id"], c["client_secret"]) for c in made
    )
    for client in made:  # each is known to the server once it can get a token
        until_ok(server, client)
    subject = front.get_token()
    first = orders.exchange(subject)
    assert first.issued_token_type == "urn:ietf:params:oauth:token-type:access_token"
    second = ledger.exchange(first.access_token, scope="viewer")
    assert second.scope == "viewer"
    issuer = f"{server.base_url}/customers/demo"
    claims = TokenVerifier(issuer, server.base_url).verify(second.access_token)
    assert claims["sub"] == made[0]["client_id"]
    assert claims["client_id"] == made[2]["client_id"]
    assert claims["act"] == {"sub": made[2]["client_id"], "act": {"sub": made[1]["client_id"]}}
    listed = httpx.get(
        f"{server.base_url}/v2/corpora",
        headers={"authorization": f"Bearer {second.access_token}"},
    )
    assert listed.status_code == 200
    # Deleting the subject's client refuses the exchanged token (the replica of the server).
    server.cli("clients", "delete", made[0]["id"], "--customer", "demo")
    deadline = time.monotonic() + DEADLINE
    while (
        httpx.get(
            f"{server.base_url}/v2/corpora",
            headers={"authorization": f"Bearer {second.access_token}"},
        ).status_code
        == 200
    ):
        assert time.monotonic() < deadline, "the deletion did not reach the server"
        time.sleep(0.05)
    from gatehouse.client import TokenRequestError

    with pytest.raises(TokenRequestError) as refused:
        ledger.exchange(first.access_token)
    assert refused.value.error == "invalid_grant"
