"""The endpoint table (``gatehouse.endpoints``) as Starlette routes: each entry a raw ASGI app
(no Request object: the token endpoint is the hot path), whatever the endpoint."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from gatehouse.endpoints import Endpoint, EndpointTable
from gatehouse.oauth.params import MAX_BODY
from gatehouse.oauth.request import request_from
from gatehouse.peers import CLIENT_CERT
from gatehouse.secretless.endpoint import may_carry_assertion


async def read_body(receive: Receive, limit: int) -> bytes:
    """The request body, cut off just past ``limit`` bytes (enough to know it is too large)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        if size <= limit:
            chunks.append(chunk)
            size += len(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class EndpointASGI:
    """One entry of the endpoint table as a raw ASGI app; every method reaches the endpoint,
    which answers what it does not serve with a JSON 405 (RFC 6749 §5.2)."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.endpoint
        body = await read_body(receive, MAX_BODY)
        client = scope.get("client")
        request = request_from(
            scope["method"],
            scope["headers"],
            body,
            client[0] if client else "",
            scope.get("path_params", {}).get("customer_id"),
            endpoint.json_allowed,
            scope["path"],
        )
        request.client_cert = scope.get(CLIENT_CERT)  # RFC 8705 §2: the TLS or proxy cert
        request.query = scope.get("query_string", b"").decode("latin-1")
        if endpoint.with_assertion is not None and may_carry_assertion(body):
            response = await endpoint.with_assertion(request)  # docs/secretless.md
        elif endpoint.deferred is not None:
            response = await endpoint.deferred(request)
        elif endpoint.threaded:
            response = await run_in_threadpool(endpoint.handle, request)
        else:
            response = endpoint.handle(request)
        headers = [(k.encode(), v.encode()) for k, v in response.headers]
        headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})


def endpoint_routes(table: EndpointTable) -> list[BaseRoute]:
    return [Route(entry.path, EndpointASGI(entry)) for entry in table.entries]
