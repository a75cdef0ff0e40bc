"""The endpoint table (gatehouse.endpoints): one list of protocol endpoints that the Starlette
routes mount and the fast lane matches, with the one customer-id shape."""

from __future__ import annotations

from typing import Any, cast

from starlette.routing import Route
from starlette.testclient import TestClient

from gatehouse.endpoints import Endpoint, EndpointTable, path_pattern
from gatehouse.oauth.customer_ids import CUSTOMER_ID
from gatehouse.oauth.request import TokenRequest
from gatehouse.oauth.response import Response
from gatehouse.routes.asgi import EndpointASGI
from gatehouse.runtime import Runtime


def _answer(_request: TokenRequest) -> Response:
    return Response(200, (), b"")


def test_the_fast_lane_matches_the_fast_entries_only() -> None:
    table = EndpointTable(
        (
            Endpoint("/oauth2/token", _answer, fast=True),
            Endpoint("/oauth/token", _answer, json_allowed=True, fast=True),
            Endpoint("/customers/{customer_id}/oauth2/token", _answer, fast=True),
            Endpoint("/oauth2/revoke", _answer, threaded=True),
        )
    )
    assert table.fast.match(b"/oauth2/token") == (None, False)
    assert table.fast.match(b"/oauth/token") == (None, True)
    assert table.fast.match(b"/customers/acme-1/oauth2/token") == ("acme-1", False)
    assert table.fast.match(b"/oauth2/revoke") is None
    assert table.fast.match(b"/customers/a/oauth2/token") is None  # one character: no customer
    assert table.fast.match(b"/customers/Acme/oauth2/token") is None
    assert table.fast.match(b"/customers/acme/oauth2/token/x") is None


def test_a_customer_path_matches_exactly_the_customer_id_shape() -> None:
    pattern = path_pattern("/customers/{customer_id}/oauth2/token")
    for customer in ("acme", "00", "a-b", "x" * 63):
        assert CUSTOMER_ID.fullmatch(customer)
        found = pattern.fullmatch(f"/customers/{customer}/oauth2/token".encode())
        assert found is not None
        assert found.group(1) == customer.encode()
    for customer in ("-acme", "x" * 64, "a.b", "a"):
        assert CUSTOMER_ID.fullmatch(customer) is None
        assert pattern.fullmatch(f"/customers/{customer}/oauth2/token".encode()) is None


def test_every_entry_is_mounted_once_and_the_token_paths_are_the_fast_ones(
    oauth_app: tuple[TestClient, Runtime],
) -> None:
    client, runtime = oauth_app
    table = runtime.endpoints
    mounted = {
        route.path: route.app.endpoint
        for route in client.app.inner.routes  # type: ignore[attr-defined]
        if isinstance(route, Route) and isinstance(route.app, EndpointASGI)
    }
    assert mounted == {entry.path: entry for entry in table.entries}
    assert {entry.path for entry in table.entries if entry.fast} == {
        "/oauth2/token",
        "/oauth/token",
        "/customers/{customer_id}/oauth2/token",
    }
    # One token endpoint, one client authenticator behind every entry.
    token = runtime.token_endpoint
    assert {entry.handle for entry in table.entries if entry.fast} == {token.handle}
    owners: list[Any] = [cast(Any, entry.handle).__self__ for entry in table.entries]
    authenticators = {id(owner.auth) for owner in owners}
    assert authenticators == {id(token.auth)}
