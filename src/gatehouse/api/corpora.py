"""Corpora, Vectara REST v2 shape: ListCorpora, create, get, update, delete (SPEC §3)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from gatehouse.api import permissions
from gatehouse.api.bearer import Principal
from gatehouse.api.context import (
    ApiContext,
    actor_of,
    api_context,
    json_response,
    request_principal,
)
from gatehouse.api.errors import not_found
from gatehouse.api.listing import (
    DEFAULT_LIMIT,
    MAX_FILTER,
    MAX_LIMIT,
    MAX_PAGE_KEY,
    Matcher,
    any_match,
    compile_filter,
    decode_page_key,
    encode_page_key,
    take_page,
)
from gatehouse.api.schemas import (
    BadRequestBody,
    Corpus,
    CorpusCreate,
    CorpusUpdate,
    ErrorBody,
    ListCorporaResponse,
    NotFoundBody,
)
from gatehouse.appclients import iso_time
from gatehouse.errors import ApiError
from gatehouse.services import corpora as corpus_service
from gatehouse.store.corpora import CorpusReader, CorpusRecord
from gatehouse.store.store import Conflict, NotFound

_SCAN_BATCH = 200
# A filtered list examines at most this many corpora per request (~20 ms on SQLite): one
# tenant's scan over 50,000 corpora cannot hold a worker thread or the database for long. A page
# cut short by it still carries a page_key, from where the next request goes on (it may hold
# fewer corpora than asked, even none); page_key null means the scan reached the end.
MAX_SCANNED = 1000

# A corpus's creation time never changes, and formatting a time costs more than the rest of its
# view: each distinct time is formatted once.
_created_at = functools.lru_cache(maxsize=16384)(iso_time)

AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": BadRequestBody, "description": "Invalid request"},
    401: {"model": ErrorBody, "description": "Missing, invalid, expired or revoked token"},
    403: {"model": ErrorBody, "description": "The token lacks a required role"},
}


def corpus_view(record: CorpusRecord) -> dict[str, Any]:
    return {
        "id": record.public_id,
        "key": record.key,
        "name": record.name,
        "description": record.description,
        "enabled": record.enabled,
        "created_at": _created_at(record.created_at),
    }


def page_corpora(
    reader: CorpusReader,
    principal: Principal,
    *,
    limit: int,
    after_id: int,
    matcher: Matcher | None,
) -> tuple[list[CorpusRecord], str | None]:
    """One page of the corpora ``principal`` may see, and the key of the next page."""
    keys = permissions.visible_corpus_keys(principal)
    batch_size = limit + 1 if matcher is None else max(limit + 1, _SCAN_BATCH)
    examined: list[int] = []  # the id of the last corpus examined, once the scan stops short

    def batches() -> Iterator[list[CorpusRecord]]:
        cursor, scanned = after_id, 0
        while True:
            batch = reader.list_corpora(
                customer_id=principal.customer_id, limit=batch_size, after_id=cursor, keys=keys
            )
            yield batch
            scanned += len(batch)
            if len(batch) < batch_size:
                return
            cursor = batch[-1].id
            if scanned >= MAX_SCANNED:
                examined.append(cursor)
                return

    page, more = take_page(batches(), lambda c: any_match(matcher, (c.key, c.name)), limit)
    if more and page:
        return page, encode_page_key([page[-1].id])
    if examined and matcher is not None:
        return page, encode_page_key([examined[0]])  # the bound stopped the scan: go on later
    return page, None


async def serve_list_corpora(
    ctx: ApiContext,
    principal: Principal,
    *,
    limit: int,
    page_key: str | None,
    filter: str | None,
) -> Response:
    """ListCorpora: every corpus with an account role, else those with a corpus role.

    Both lanes answer with this: the FastAPI route and :mod:`gatehouse.api.fastlane`.
    """
    after_id = corpus_position(page_key)
    matcher = compile_filter(filter)
    page, next_key = await ctx.read(
        lambda reader: page_corpora(
            reader, principal, limit=limit, after_id=after_id, matcher=matcher
        ),
        single=matcher is None,  # without a filter, one batch is the whole page
        scan=matcher is not None,
    )
    return json_response(
        {"corpora": [corpus_view(c) for c in page], "metadata": {"page_key": next_key}}
    )


async def serve_get_corpus(ctx: ApiContext, principal: Principal, corpus_key: str) -> Response:
    """One corpus the principal may see; 404 (never 403) for one it may not."""
    if not permissions.can_see_corpus(principal, corpus_key):
        raise not_found("corpus", corpus_key)
    try:
        record = await ctx.read(
            lambda reader: reader.get_corpus(customer_id=principal.customer_id, key=corpus_key),
            single=True,
        )
    except NotFound:
        raise not_found("corpus", corpus_key) from None
    return json_response(corpus_view(record))


def corpus_position(page_key: str | None, *, field: str = "page_key") -> int:
    position = decode_page_key(page_key, field=field)
    if position is None:
        return 0
    if len(position) != 1 or type(position[0]) is not int:
        raise ApiError(400, "The request is invalid", field_errors={field: "is not a page key"})
    return int(position[0])


def corpora_router() -> APIRouter:
    """The routes; each request's context is the serving app's (``api_context``)."""
    router = APIRouter(
        prefix="/v2/corpora",
        tags=["Corpora"],
        responses=AUTH_RESPONSES,
    )
    auth = Depends(request_principal)
    context = Depends(api_context)

    def visible(ctx: ApiContext, principal: Principal, corpus_key: str) -> CorpusRecord:
        if not permissions.can_see_corpus(principal, corpus_key):
            raise not_found("corpus", corpus_key)
        try:
            return ctx.corpora.get_corpus(customer_id=principal.customer_id, key=corpus_key)
        except NotFound:
            raise not_found("corpus", corpus_key) from None

    @router.get("", response_model=ListCorporaResponse, operation_id="listCorpora")
    async def list_corpora(
        limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
        page_key: str | None = Query(None, max_length=MAX_PAGE_KEY),
        filter: str | None = Query(None, max_length=MAX_FILTER),
        principal: Principal = auth,
        ctx: ApiContext = context,
    ) -> Response:
        """ListCorpora: every corpus with an account role, else those with a corpus role."""
        return await serve_list_corpora(
            ctx, principal, limit=limit, page_key=page_key, filter=filter
        )

    @router.post(
        "",
        status_code=201,
        response_model=Corpus,
        operation_id="createCorpus",
        responses={409: {"model": ErrorBody, "description": "The key exists"}},
    )
    def create_corpus(
        body: CorpusCreate, principal: Principal = auth, ctx: ApiContext = context
    ) -> Response:
        """Create a corpus; the creating app client gets corpus role ``owner`` on it."""
        permissions.require_create_corpus(principal)
        try:
            record = corpus_service.create_corpus(
                ctx.runtime.store,
                ctx.corpora,
                customer_id=principal.customer_id,
                key=body.key,
                name=body.name or body.key,
                description=body.description or "",
                actor=actor_of(principal),
                owner_app_id=principal.app_id,
                notify=ctx.runtime,
            )
        except Conflict:
            # Keys are unique per customer: this only ever names the caller's own corpus.
            raise ApiError(409, f"A corpus with key {body.key} already exists") from None
        return json_response(corpus_view(record), status_code=201)

    @router.get(
        "/{corpus_key}",
        response_model=Corpus,
        operation_id="getCorpus",
        responses={404: {"model": NotFoundBody, "description": "No such corpus"}},
    )
    async def get_corpus(
        corpus_key: str, principal: Principal = auth, ctx: ApiContext = context
    ) -> Response:
        return await serve_get_corpus(ctx, principal, corpus_key)

    @router.patch(
        "/{corpus_key}",
        response_model=Corpus,
        operation_id="updateCorpus",
        responses={404: {"model": NotFoundBody, "description": "No such corpus"}},
    )
    def update_corpus(
        corpus_key: str,
        body: CorpusUpdate,
        principal: Principal = auth,
        ctx: ApiContext = context,
    ) -> Response:
        current = visible(ctx, principal, corpus_key)
        permissions.require_manage_corpus(principal, corpus_key)
        values = body.model_dump(exclude_none=True)
        if not values:
            return json_response(corpus_view(current))
        try:
            record = corpus_service.update_corpus(
                ctx.runtime.store,
                ctx.corpora,
                customer_id=principal.customer_id,
                key=corpus_key,
                values=values,
                actor=actor_of(principal),
            )
        except NotFound:
            raise not_found("corpus", corpus_key) from None
        return json_response(corpus_view(record))

    @router.delete(
        "/{corpus_key}",
        status_code=204,
        response_class=Response,
        operation_id="deleteCorpus",
        responses={404: {"model": NotFoundBody, "description": "No such corpus"}},
    )
    def delete_corpus(
        corpus_key: str, principal: Principal = auth, ctx: ApiContext = context
    ) -> Response:
        visible(ctx, principal, corpus_key)
        permissions.require_manage_corpus(principal, corpus_key)
        try:
            corpus_service.delete_corpus(
                ctx.runtime.store,
                ctx.corpora,
                customer_id=principal.customer_id,
                key=corpus_key,
                actor=actor_of(principal),
                notify=ctx.runtime,
            )
        except NotFound:
            raise not_found("corpus", corpus_key) from None
        return Response(status_code=204)

    return router
