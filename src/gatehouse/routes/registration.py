"""RFC 7591 / RFC 7592 web adapter: ``POST {issuer}/oauth2/register`` with an initial access
token, and ``GET``/``PUT``/``DELETE {issuer}/oauth2/register/{client_id}`` with the client's
registration access token. Per customer only; errors are RFC 7591 §3.2.2 JSON bodies."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gatehouse import registration
from gatehouse.errors import OAuthError, ServerError
from gatehouse.oauth.customer_ids import CUSTOMER_ID
from gatehouse.oauth.registration import MAX_BODY, InvalidClientMetadata, InvalidToken, bearer_token
from gatehouse.routes.responses import error_response, no_store_json
from gatehouse.runtime import Runtime
from gatehouse.services import registration as service

log = logging.getLogger(__name__)


def registration_routes(runtime: Runtime) -> list[BaseRoute]:
    ctx = registration.Registrar.of(runtime.store, runtime.master_key, runtime.settings)

    async def answer(
        request: Request, work: Callable[[str, str, bytes], Any], status: int
    ) -> Response:
        customer_id = request.path_params["customer_id"]
        try:
            if CUSTOMER_ID.fullmatch(customer_id) is None or not runtime.replica.has_customer(
                customer_id
            ):
                raise InvalidToken(registration.REFUSED)
            token = bearer_token(request.headers.getlist("authorization"))
            body = await request.body()
            if len(body) > MAX_BODY:
                raise InvalidClientMetadata(f"the request body is larger than {MAX_BODY} bytes")
            document = await run_in_threadpool(work, customer_id, token, body)
        except OAuthError as error:
            return error_response(error)
        except Exception:
            log.exception("registration request failed")
            return error_response(ServerError("the server could not complete the registration"))
        return no_store_json(document, status=status)

    def source(request: Request) -> str | None:
        return request.client.host if request.client else None

    async def register(request: Request) -> Response:
        def work(customer_id: str, token: str, body: bytes) -> Any:
            return service.register_client(
                ctx,
                customer_id=customer_id,
                initial_token=token,
                body=body,
                source=source(request),
                notify=runtime,
            )

        # RFC 7591 §3.2.1: a successful registration is 201 Created.
        return await answer(request, work, 201)

    async def manage(request: Request) -> Response:
        client_id = request.path_params["client_id"]
        if request.method == "GET":

            def read(customer_id: str, token: str, _body: bytes) -> Any:
                return service.read_client(
                    ctx, customer_id=customer_id, client_id=client_id, access_token=token
                )

            return await answer(request, read, 200)
        if request.method == "PUT":

            def put(customer_id: str, token: str, body: bytes) -> Any:
                return service.update_client(
                    ctx,
                    customer_id=customer_id,
                    client_id=client_id,
                    access_token=token,
                    body=body,
                    source=source(request),
                    notify=runtime,
                )

            return await answer(request, put, 200)

        def remove(customer_id: str, token: str, _body: bytes) -> Any:
            service.delete_client(
                ctx,
                customer_id=customer_id,
                client_id=client_id,
                access_token=token,
                source=source(request),
                notify=runtime,
            )
            return None

        # RFC 7592 §2.3: a successful deletion is 204 No Content.
        return await answer(request, remove, 204)

    return [
        Route("/customers/{customer_id}/oauth2/register", register, methods=["POST"]),
        Route(
            "/customers/{customer_id}/oauth2/register/{client_id}",
            manage,
            methods=["GET", "PUT", "DELETE"],
        ),
    ]
