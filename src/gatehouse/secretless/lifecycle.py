"""Assertions at the revocation (RFC 7009 §2.1) and introspection (RFC 7662 §2.1) endpoints: a
``private_key_jwt`` client (or a federated workload) authenticates there as at the token
endpoint. The assertion lane authenticates the request first; the endpoint then runs as it is,
with that client in place of its secret check. Requests without an assertion never come here."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from starlette.concurrency import run_in_threadpool

from gatehouse.errors import OAuthError
from gatehouse.oauth.client_auth import ClientAuthenticator
from gatehouse.oauth.directory import ClientEntry
from gatehouse.oauth.endpoint import Response, TokenRequest, render_error
from gatehouse.secretless.endpoint import AssertionEndpoint

log = logging.getLogger("gatehouse.token")


class _Authenticated(ClientAuthenticator):
    """The client authentication step, already done by the assertion lane."""

    def __init__(self, base: ClientAuthenticator, client: ClientEntry, params: dict[str, str]):
        super().__init__(base.directory, base.hasher, base.guard)
        self._result = (client, params)

    def authenticate(self, request: TokenRequest) -> tuple[ClientEntry, dict[str, str]]:
        return self._result


class _Endpoint(Protocol):
    auth: ClientAuthenticator

    def handle(self, request: TokenRequest) -> Response: ...


E = TypeVar("E", bound=_Endpoint)


def with_assertions(
    endpoint: E, assertions: AssertionEndpoint, *, threaded: bool
) -> Callable[[TokenRequest], Awaitable[Response]]:
    """``endpoint.handle`` for a request that carries a client assertion."""

    async def handle(request: TokenRequest) -> Response:
        try:
            client, params = await assertions.authenticate(request)
        except OAuthError as error:
            log.info(
                "client assertion refused: %s (%s) from %s",
                error.error,
                error.log_detail or error.description,
                request.client_addr,
            )
            return render_error(error)
        bound = dataclasses.replace(  # type: ignore[type-var]
            endpoint, auth=_Authenticated(endpoint.auth, client, params)
        )
        if threaded:
            return await run_in_threadpool(bound.handle, request)
        return bound.handle(request)

    return handle
