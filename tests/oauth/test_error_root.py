"""One error root (gatehouse.errors): every error the server renders is a GatehouseError that
knows its status, its headers (never cached) and its body in its surface's shape."""

from __future__ import annotations

import orjson

from gatehouse import errors
from gatehouse.errors import (
    NO_STORE,
    ApiError,
    BearerError,
    GatehouseError,
    InvalidClient,
    InvalidInput,
    MethodNotAllowed,
    OAuthError,
    TemporarilyUnavailable,
)
from gatehouse.oauth.registration import InvalidToken


def test_every_oauth_error_renders_the_rfc_6749_shape_and_is_never_cached() -> None:
    found = [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, OAuthError)
    ]
    assert len(found) > 15
    for kind in found:
        error = (
            kind("what happened", nonce="n")  # type: ignore[call-arg]
            if kind.__name__ == "UseDPoPNonce"
            else kind("what happened", retry_after=3)  # type: ignore[call-arg]
            if kind.__name__ == "TooManyRequests"
            else kind("what happened")
        )
        assert isinstance(error, GatehouseError)
        assert orjson.loads(error.body()) == {
            "error": kind.error,
            "error_description": "what happened",
        }
        assert error.headers()[:2] == list(NO_STORE)


def test_the_rfc_6750_shape_carries_its_bearer_challenge() -> None:
    error = InvalidToken("an initial or registration access token is required")
    assert isinstance(error, BearerError)
    assert (error.status_code, error.headers()) == (
        401,
        [*NO_STORE, ("www-authenticate", 'Bearer realm="gatehouse", error="invalid_token"')],
    )


def test_the_v2_shape_and_invalid_input_as_its_400() -> None:
    error = InvalidInput({"name": "is required", "roles": "is empty"})
    assert isinstance(error, ApiError)
    assert isinstance(error, ValueError)  # what the CLI and the console catch
    assert str(error) == "name: is required; roles: is empty"
    assert error.document("r1") == {
        "messages": ["The request is invalid"],
        "request_id": "r1",
        "field_errors": {"name": "is required", "roles": "is empty"},
    }
    missing = ApiError(404, "corpus c1 not found", resource_id="c1")
    assert missing.document("r2") == {
        "messages": ["corpus c1 not found"],
        "request_id": "r2",
        "id": "c1",
    }
    assert ApiError(409, "taken", headers={"x-a": "b"}).headers() == [*NO_STORE, ("x-a", "b")]


def test_status_and_headers_belong_to_the_error() -> None:
    assert MethodNotAllowed("GET only", allow="GET").headers()[-1] == ("allow", "GET")
    assert InvalidClient("no").headers()[-1] == ("www-authenticate", 'Basic realm="gatehouse"')
    busy = TemporarilyUnavailable("the store is away", retry_after=0)
    assert (busy.status_code, busy.headers()[-1]) == (503, ("retry-after", "1"))
