"""What an unauthenticated caller can make the bearer check keep: nothing. Its memos hold
verified tokens only, bounded in bytes, and an over-long value is refused before any of them."""

from __future__ import annotations

import secrets

from starlette.routing import Route

from gatehouse.api.bearer import Bearer
from gatehouse.api.context import ApiContext
from gatehouse.app import GatehouseApp
from gatehouse.oauth.inspect import MEMO_BYTES
from tests.api.conftest import Api, Caller, error_body, forge

LIST = "/v2/corpora"


def api_context(api: Api) -> ApiContext:
    app = api.client.app
    assert isinstance(app, GatehouseApp)
    for route in app.inner.routes:
        if isinstance(route, Route) and route.path == "/v2/{path:path}":
            context: ApiContext = route.app.app.state.context  # type: ignore[attr-defined]
            return context
    raise AssertionError("no API route")


def memo_sizes(bearer: Bearer) -> tuple[int, int, int]:
    return len(bearer._tokens), len(bearer._principals), len(bearer.checker._customers)


def test_a_flood_of_long_invalid_bearer_values_leaves_every_memo_empty(
    api: Api, owner: Caller
) -> None:
    bearer = api_context(api).bearer
    head, payload, _signature = owner.token.split(".")
    for i in range(60):
        long_value = secrets.token_urlsafe(45_000)  # 60 KB
        response = api.client.get(LIST, headers={"Authorization": f"Bearer {long_value}"})
        assert response.status_code == 401
        error_body(response, "the token is too large")
        # Well-formed, of the right customer, just under the limit, with a wrong signature.
        forged = f"{head}.{payload}.{secrets.token_urlsafe(6000)}{i}"
        response = api.client.get(LIST, headers={"Authorization": f"Bearer {forged}"})
        assert response.status_code == 401
    assert memo_sizes(bearer) == (0, 0, 0)
    assert api.client.get(LIST, headers=owner.headers).status_code == 200
    assert memo_sizes(bearer) == (1, 1, 1)


def test_the_memos_of_verified_tokens_are_bounded_in_bytes(api: Api, owner: Caller) -> None:
    bearer = api_context(api).bearer
    # Valid tokens of 6 KB each: more of them than the byte budget holds.
    padded = [
        forge(api.runtime, owner.token, claims={"pad": secrets.token_hex(2200)})
        for _ in range(MEMO_BYTES // 6000 + 50)
    ]
    assert all(6000 <= len(token) <= 8192 for token in padded)
    for token in padded:
        response = api.client.get(LIST, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
    assert 0 < len(bearer._tokens) < len(padded)
    assert bearer._tokens.bytes <= MEMO_BYTES
    assert bearer._principals.bytes <= MEMO_BYTES
    assert bearer.checker._customers.bytes <= MEMO_BYTES
