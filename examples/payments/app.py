"""An example service protected by Gatehouse: "payments", with its own API and scopes.

Register it and grant a client (once)::

    gatehouse apis create --customer demo --identifier http://127.0.0.1:9000 --name payments \\
        --scope "payments:read Read payments" --scope "payments:write Make payments"
    gatehouse clients grant APP_ID --customer demo --api http://127.0.0.1:9000 \\
        --scope payments:read

Run it (``PAYMENTS_IDENTIFIER`` is the API's identifier, where it is served)::

    export GATEHOUSE_ISSUER=http://127.0.0.1:8000/customers/demo
    PAYMENTS_IDENTIFIER=http://127.0.0.1:9000 \\
        uvicorn --factory examples.payments.app:create_app --port 9000

A client asks Gatehouse for a token with ``resource=http://127.0.0.1:9000``; this service
accepts only tokens whose ``aud`` is its identifier, checks scopes per route, and serves its
RFC 9728 metadata at ``/.well-known/oauth-protected-resource`` (its 401 challenges point there).
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import Depends, FastAPI

from gatehouse.verify import ProtectedResource
from gatehouse.verify.starlette import (
    BearerAuth,
    BearerAuthError,
    bearer_error_handler,
    protected_resource_route,
)

SCOPES = ("payments:read", "payments:write")


def create_app() -> FastAPI:
    resource = ProtectedResource(
        os.environ["PAYMENTS_IDENTIFIER"],
        os.environ["GATEHOUSE_ISSUER"],
        SCOPES,
        resource_name="Payments",
    )
    auth = BearerAuth(resource.verifier(), resource=resource)
    app = FastAPI(title="Payments")
    app.add_exception_handler(BearerAuthError, bearer_error_handler)
    app.router.routes.append(protected_resource_route(resource))
    payments: list[dict[str, Any]] = []

    @app.get("/payments")
    async def list_payments(
        claims: dict[str, Any] = Depends(auth.require_roles("payments:read")),
    ) -> dict[str, Any]:
        return {"payments": payments, "caller": claims["client_id"]}

    @app.post("/payments", status_code=201)
    async def make_payment(
        payment: dict[str, Any],
        claims: dict[str, Any] = Depends(auth.require_roles("payments:write")),
    ) -> dict[str, Any]:
        payments.append({**payment, "by": claims["client_id"]})
        return payments[-1]

    return app
