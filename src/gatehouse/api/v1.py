"""The v1 ListCorpora call of the seed: ``POST /v1/list-corpora`` with a ``customer-id`` header.

Body ``{numResults, filter?, pageKey?}``; answer ``{"corpus": [...], "pageKey": ...,
"status": {"code": "OK"}}`` in Vectara's v1 JSON shape (camelCase, int64 as a string). The
same permissions and the same paging as ``GET /v2/corpora``; ``numResults`` 0 means 10.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header
from starlette.responses import Response

from gatehouse.api.bearer import Principal
from gatehouse.api.context import ApiContext, api_context, json_response, request_principal
from gatehouse.api.corpora import AUTH_RESPONSES, corpus_position, page_corpora
from gatehouse.api.listing import DEFAULT_LIMIT, compile_filter
from gatehouse.api.schemas import V1ListCorporaRequest, V1ListCorporaResponse
from gatehouse.store.corpora import CorpusRecord


def v1_corpus_view(record: CorpusRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "key": record.key,
        "name": record.name,
        "description": record.description,
        "enabled": record.enabled,
        "dtProvision": str(int(record.created_at * 1000)),
    }


def v1_router() -> APIRouter:
    """The routes; each request's context is the serving app's (``api_context``)."""
    router = APIRouter(
        prefix="/v1",
        tags=["v1"],
        responses=AUTH_RESPONSES,
    )
    auth = Depends(request_principal)
    context = Depends(api_context)

    @router.post(
        "/list-corpora", response_model=V1ListCorporaResponse, operation_id="listCorporaV1"
    )
    async def list_corpora_v1(
        body: V1ListCorporaRequest,
        customer_id: str | None = Header(
            None,
            alias="customer-id",
            description="The customer of the token; a different value is refused (401).",
        ),
        principal: Principal = auth,
        ctx: ApiContext = context,
    ) -> Response:
        limit = body.num_results or DEFAULT_LIMIT
        after_id = corpus_position(body.page_key, field="pageKey")
        matcher = compile_filter(body.filter)
        page, next_key = await ctx.read(
            lambda reader: page_corpora(
                reader, principal, limit=limit, after_id=after_id, matcher=matcher
            ),
            single=matcher is None,
            scan=matcher is not None,
        )
        return json_response(
            {
                "corpus": [v1_corpus_view(c) for c in page],
                "pageKey": next_key or "",
                "status": {"code": "OK"},
            }
        )

    return router
