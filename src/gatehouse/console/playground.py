"""The API Playground (``/playground``): open to anyone, signed in or not. The page's script
gets a token from the token endpoint, reads the served OpenAPI document and sends the calls."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gatehouse.console.pages import Pages
from gatehouse.console.sessions import load_session, session_cookie

# Where the API serves its OpenAPI document; the script uses the first that answers.
OPENAPI_URLS = ("/v2/openapi.json", "/openapi.json")


def playground_routes(pages: Pages) -> list[BaseRoute]:
    runtime = pages.runtime
    settings = runtime.settings

    async def playground(request: Request) -> Response:
        session_id = session_cookie(request, settings)
        principal = (
            await run_in_threadpool(load_session, runtime.store, session_id=session_id)
            if session_id
            else None
        )
        token_url = (
            f"{settings.issuer(principal.customer_id)}/oauth2/token"
            if principal is not None
            else f"{settings.base_url}/oauth2/token"
        )
        return pages.renderer.page(
            request,
            "playground.html",
            principal=principal,
            active="playground",
            base_url=settings.base_url,
            token_url=token_url,
            openapi_urls=" ".join(OPENAPI_URLS),
            client_id=request.query_params.get("client_id", "")[:100],
        )

    return [Route("/playground", playground, methods=["GET"])]
