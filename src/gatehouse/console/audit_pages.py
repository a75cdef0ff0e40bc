"""The audit log page (``/console/audit``): the customer's admin actions and issued tokens,
newest first, filtered by action and by app client, a page at a time."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gatehouse.console.pages import ConsoleRequest, Pages
from gatehouse.services.audit import read_audit
from gatehouse.store.models import AuditEvent

BASE = "/console/audit"
PAGE_SIZE = 50
ACTION = re.compile(r"[a-z0-9_.]{1,60}")
KNOWN_ACTIONS = (
    "token.issue",
    "app_client.create",
    "app_client.update",
    "app_client.rotate_secret",
    "app_client.revoke_tokens",
    "app_client.delete",
    "corpus.create",
    "corpus.update",
    "corpus.delete",
    "keys.rotate",
    "console.sign_in",
    "user.create",
    "user.set_role",
    "user.reset_password",
    "user.delete",
)
MAX_CLIENT_CHOICES = 500


def detail_text(event: AuditEvent) -> list[tuple[str, str]]:
    """The event's details as (name, value) pairs; lists joined by spaces."""
    pairs: list[tuple[str, str]] = []
    for name, value in event.detail.items():
        if isinstance(value, list):
            value = " ".join(str(v) for v in value)
        pairs.append((name, "" if value is None else str(value)))
    return pairs


def audit_routes(pages: Pages) -> list[BaseRoute]:
    store = pages.runtime.store

    def audit_page(page: ConsoleRequest) -> Response:
        params = page.request.query_params
        action = params.get("action", "").strip()
        action = action if ACTION.fullmatch(action) else ""
        client = params.get("client", "").strip()[:64]
        if client and not client.startswith("app_"):  # a client ID: find its id
            found = store.find_client(client_id=client)
            client = (
                found.id if found is not None and found.customer_id == page.customer_id else client
            )
        before = params.get("before", "")
        before_id = int(before) if before.isdigit() and len(before) < 19 else None
        found_page = read_audit(
            store,
            customer_id=page.customer_id,
            limit=PAGE_SIZE,
            before_id=before_id,
            action=action or None,
            target=client or None,
        )
        events = found_page.events
        clients = store.list_clients(customer_id=page.customer_id, limit=MAX_CLIENT_CHOICES)
        names = {c.id: c.name for c in clients}
        query: dict[str, Any] = {k: v for k, v in (("action", action), ("client", client)) if v}
        last_id = found_page.next_before
        return pages.renderer.page(
            page.request,
            "audit.html",
            principal=page.principal,
            active="audit",
            events=[{"event": e, "detail": detail_text(e)} for e in events],
            action=action,
            client=client,
            client_choices=[(c.id, c.name) for c in clients],
            names=names,
            known_actions=KNOWN_ACTIONS,
            first_url=f"{BASE}?{urlencode(query)}" if before_id is not None else None,
            next_url=f"{BASE}?{urlencode({**query, 'before': last_id})}"
            if last_id is not None
            else None,
        )

    return [Route(BASE, pages.signed_in(audit_page), methods=["GET"])]
