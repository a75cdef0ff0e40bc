"""The revocation feed under the issuer, and TokenVerifier consuming it through
``gatehouse.verify.feed.RevocationFeedClient``."""

from __future__ import annotations

import asyncio
import time
from typing import cast

import httpx
import httpx2
import pytest

from gatehouse.revocations import SETTLE, read_feed
from gatehouse.services import app_clients
from gatehouse.services.app_clients import ClientChanges
from gatehouse.services.notify import UNHEARD
from gatehouse.verify import InvalidToken, TokenVerifier
from gatehouse.verify.feed import RevocationFeedClient, issued_at
from tests.factories import TEST_ACTOR, claims_of
from tests.lifecycle.conftest import App, Lifecycle, oauth_error

FEED = "/customers/acme/oauth2/revocations"
ISSUER = "http://testserver/customers/acme"


def feed(lc: Lifecycle, app: App, cursor: str | None = None) -> httpx2.Response:
    params = {"cursor": cursor} if cursor is not None else {}
    return lc.client.get(FEED, params=params, headers=app.auth)


def test_the_feed_needs_a_client_of_that_customer(lc: Lifecycle) -> None:
    invalid = (
        401,
        {"error": "invalid_client", "error_description": "client authentication failed"},
        "no-store",
        'Basic realm="gatehouse"',
    )
    assert oauth_error(lc.client.get(FEED)) == invalid
    assert oauth_error(feed(lc, lc.app("globex"))) == invalid
    wrong = App(lc.app().record, "wrong")
    assert oauth_error(feed(lc, wrong)) == invalid


def test_a_fresh_feed_is_empty(lc: Lifecycle) -> None:
    response = feed(lc, lc.app())
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {"cursor": "0", "revoked": [], "clients": [], "has_more": False}


def test_the_snapshot_holds_revoked_jtis_and_client_cut_offs_and_nothing_secret(
    lc: Lifecycle,
) -> None:
    reader = lc.app(name="reader")
    holder = lc.app(name="holder")
    token = lc.token(holder)
    lc.revoke(holder, token)
    cut, disabled, deleted, reduced = (lc.app(roles=("owner", "viewer")) for _ in range(4))
    store = lc.runtime.store
    app_clients.revoke_tokens(
        store, customer_id="acme", app_id=cut.record.id, actor=TEST_ACTOR, notify=UNHEARD
    )
    app_clients.update_client(
        store,
        customer_id="acme",
        app_id=disabled.record.id,
        changes=ClientChanges(enabled=False),
        actor=TEST_ACTOR,
        notify=UNHEARD,
    )
    app_clients.update_client(
        store,
        customer_id="acme",
        app_id=reduced.record.id,
        changes=ClientChanges(api_roles=["viewer"]),
        actor=TEST_ACTOR,
        notify=UNHEARD,
    )
    app_clients.delete_client(
        store, customer_id="acme", app_id=deleted.record.id, actor=TEST_ACTOR, notify=UNHEARD
    )
    # Another customer's revocations never show.
    globex = lc.app("globex")
    lc.revoke(globex, lc.token(globex))
    body = feed(lc, reader).json()
    claims = claims_of(token)
    assert body["revoked"] == [{"jti": claims["jti"], "exp": claims["exp"]}]
    entries = {e["client_id"]: e for e in body["clients"]}
    assert set(entries) == {
        cut.record.client_id,
        disabled.record.client_id,
        deleted.record.client_id,
        reduced.record.client_id,
    }
    assert all(set(e) == {"client_id", "status", "revoked_before"} for e in entries.values())
    cut_record = store.get_client(app_id=cut.record.id)
    assert entries[cut.record.client_id] == {
        "client_id": cut.record.client_id,
        "status": "active",
        "revoked_before": cut_record.tokens_revoked_before,
    }
    assert entries[disabled.record.client_id]["status"] == "disabled"
    assert entries[deleted.record.client_id]["status"] == "deleted"
    assert entries[reduced.record.client_id]["status"] == "active"
    assert entries[reduced.record.client_id]["revoked_before"] == pytest.approx(time.time(), abs=30)
    text = feed(lc, reader).text
    for app in (holder, cut, disabled, deleted, reduced, reader):
        assert app.secret not in text
    assert token not in text


def test_the_feed_is_incremental_from_its_cursor(lc: Lifecycle) -> None:
    reader = lc.app()
    first = feed(lc, reader).json()
    token = lc.token(reader)
    lc.revoke(reader, token)
    page = feed(lc, reader, first["cursor"]).json()
    assert page["revoked"] == [{"jti": claims_of(token)["jti"], "exp": claims_of(token)["exp"]}]
    # Recent changes are sent again until they settle (commit order on PostgreSQL); once
    # settled, the cursor moves past them and the next page is empty.
    later = read_feed(
        lc.runtime.store,
        customer_id="acme",
        cursor=int(first["cursor"]),
        now=time.time() + SETTLE + 1,
    )
    assert later.cursor == lc.runtime.store.latest_change_id()
    empty = read_feed(
        lc.runtime.store, customer_id="acme", cursor=later.cursor, now=time.time() + SETTLE + 1
    )
    assert (empty.revoked, empty.clients, empty.cursor) == ({}, {}, later.cursor)


@pytest.mark.parametrize("cursor", ["-1", "abc", "1" * 40, "1.5"])
def test_a_cursor_not_from_the_feed_is_invalid_request(lc: Lifecycle, cursor: str) -> None:
    response = feed(lc, lc.app(), cursor)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "cursor must be a value returned by this feed",
    }


def test_post_to_the_feed_is_405_with_allow_get(lc: Lifecycle) -> None:
    response = lc.client.post(FEED, headers=lc.app().auth)
    assert (response.status_code, response.headers["allow"]) == (405, "GET")


def test_issued_at_reads_the_microseconds_of_the_jti(lc: Lifecycle) -> None:
    claims = claims_of(lc.token(lc.app()))
    assert issued_at(claims) == pytest.approx(time.time(), abs=5)
    assert claims["iat"] <= issued_at(claims) < claims["iat"] + 1
    assert issued_at({"jti": "short", "iat": 7}) == 7.0


def verifier_with_feed(lc: Lifecycle, reader: App) -> tuple[TokenVerifier, RevocationFeedClient]:
    # The TestClient (an httpx2 client) stands in for httpx.Client: same interface, in-process.
    http = cast(httpx.Client, lc.client)
    feed_client = RevocationFeedClient(
        ISSUER, reader.record.client_id, reader.secret, http_client=http
    )
    verifier = TokenVerifier(ISSUER, "http://testserver", http_client=http, is_revoked=feed_client)
    return verifier, feed_client


def test_token_verifier_rejects_a_revoked_token_after_the_next_poll(lc: Lifecycle) -> None:
    reader, holder = lc.app(), lc.app()
    verifier, feed_client = verifier_with_feed(lc, reader)
    assert feed_client.poll()
    token, other = lc.token(holder), lc.token(holder)
    assert verifier.verify(token)["client_id"] == holder.record.client_id
    lc.revoke(holder, token)
    assert verifier.verify(token)  # offline: still valid until the feed is read
    assert feed_client.poll()
    with pytest.raises(InvalidToken, match="revoked"):
        verifier.verify(token)
    assert verifier.verify(other)["jti"] == claims_of(other)["jti"]


@pytest.mark.parametrize("change", ["revoke_tokens", "disable", "delete", "remove_role"])
def test_token_verifier_rejects_tokens_of_a_client_cut_off(lc: Lifecycle, change: str) -> None:
    reader = lc.app()
    holder = lc.app(roles=("owner", "viewer"))
    verifier, feed_client = verifier_with_feed(lc, reader)
    assert feed_client.poll()
    token = lc.token(holder)
    verifier.verify(token)
    store, app_id = lc.runtime.store, holder.record.id
    if change == "revoke_tokens":
        app_clients.revoke_tokens(
            store, customer_id="acme", app_id=app_id, actor=TEST_ACTOR, notify=UNHEARD
        )
    elif change == "delete":
        app_clients.delete_client(
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
    assert feed_client.poll()
    with pytest.raises(InvalidToken, match="revoked"):
        verifier.verify(token)
    if change in ("revoke_tokens", "remove_role"):
        # The cut-off is exact: a token issued right after it is accepted.
        verifier.verify(lc.token(holder, scope="viewer"))


def test_a_fresh_feed_client_starts_from_the_snapshot(lc: Lifecycle) -> None:
    holder = lc.app()
    token = lc.token(holder)
    lc.revoke(holder, token)
    verifier, feed_client = verifier_with_feed(lc, lc.app())
    with feed_client:
        assert feed_client.cursor is not None
        with pytest.raises(InvalidToken, match="revoked"):
            verifier.verify(token)


def test_the_feed_client_keeps_its_state_when_the_issuer_is_unreachable(lc: Lifecycle) -> None:
    holder = lc.app()
    token = lc.token(holder)
    lc.revoke(holder, token)
    _verifier, feed_client = verifier_with_feed(lc, lc.app())
    assert feed_client.poll()
    feed_client.feed_url = "http://testserver/customers/acme/oauth2/nothing-here"
    assert feed_client.poll() is False
    assert feed_client.is_revoked(claims_of(token))


def test_the_async_feed_client_polls_with_httpx_async(lc: Lifecycle) -> None:
    holder, reader = lc.app(), lc.app()
    token = lc.token(holder)
    lc.revoke(holder, token)
    transport = httpx.ASGITransport(app=lc.client.app)

    async def run() -> bool:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            feed_client = RevocationFeedClient(
                ISSUER,
                reader.record.client_id,
                reader.secret,
                async_http_client=http,
                interval=0.05,
            )
            async with feed_client:
                await asyncio.sleep(0.1)
            return feed_client.is_revoked(claims_of(token))

    assert asyncio.run(run()) is True
