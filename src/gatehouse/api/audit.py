"""``GET /v2/audit``: the customer's audit log, newest first, for ``owner`` and ``administrator``.

An ordinary API route: a bearer token or a console session with its CSRF header, the Vectara
error bodies, and an entry in ``/v2/openapi.json``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from gatehouse.api import permissions
from gatehouse.api.bearer import Principal
from gatehouse.api.context import ApiContext, api_context, json_response, request_principal
from gatehouse.api.corpora import AUTH_RESPONSES, corpus_position
from gatehouse.api.listing import MAX_PAGE_KEY, encode_page_key
from gatehouse.api.schemas import NO_NUL, ListMetadata
from gatehouse.appclients import iso_time
from gatehouse.services.audit import read_audit
from gatehouse.store.models import AuditEvent

MAX_LIMIT = 1000
MAX_ACTION = 60


class AuditEventOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int
    at: str
    actor: str
    action: str
    target: str | None
    source: str | None
    detail: dict[str, Any]


class ListAuditResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    audit_events: list[AuditEventOut]
    metadata: ListMetadata


def audit_view(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": iso_time(event.at),
        "actor": event.actor,
        "action": event.action,
        "target": event.target,
        "source": event.source,
        "detail": event.detail,
    }


router = APIRouter(prefix="/v2/audit", tags=["Audit"], responses=AUTH_RESPONSES)


@router.get("", response_model=ListAuditResponse, operation_id="listAuditEvents")
def list_audit_events(
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
    page_key: str | None = Query(None, max_length=MAX_PAGE_KEY),
    action: str | None = Query(
        None, max_length=MAX_ACTION, pattern=NO_NUL, description="e.g. token.issue"
    ),
    principal: Principal = Depends(request_principal),
    ctx: ApiContext = Depends(api_context),
) -> Response:
    """Admin actions and issued tokens of the caller's customer, newest first (a plain ``def``:
    FastAPI runs it in the threadpool, off the event loop)."""
    permissions.require_client_manager(principal)
    before = corpus_position(page_key) or None  # the same one-integer position as ListCorpora
    page = read_audit(
        ctx.runtime.store,
        customer_id=principal.customer_id,
        limit=limit,
        before_id=before,
        action=action,
    )
    next_before = page.next_before
    next_key = encode_page_key([next_before]) if next_before is not None else None
    return json_response(
        {"audit_events": [audit_view(e) for e in page.events], "metadata": {"page_key": next_key}}
    )
