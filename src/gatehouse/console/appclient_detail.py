"""An app client's own page (``/console/apiAccess/appClients/{id}``): what it is, its settings
form (name, description, roles, corpus roles, token lifetime, quota), its secret (copy, rotate
with a grace period), its tokens (revoke), enable/disable, delete, and links to the other
sections of its settings (:mod:`gatehouse.console.appclient_sections`)."""

from __future__ import annotations

import time
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gatehouse import appclients
from gatehouse.console.appclient_common import ClientPages
from gatehouse.console.appclient_forms import (
    ACTIONS,
    BASE,
    GRACE_CHOICES,
    changes_from,
    edit_values,
    friendly,
    role_choices,
    submitted_values,
)
from gatehouse.console.appclient_sections import SUB_PAGES
from gatehouse.console.pages import ConsoleRequest, Done, Pages
from gatehouse.errors import InvalidInput
from gatehouse.oauth.metadata import CORPUS_ROLES
from gatehouse.services import app_clients
from gatehouse.store.models import AppClientRecord

# The sections of the page itself, in order (the page's table of contents).
SECTIONS = (
    ("settings", "Settings"),
    ("secret", "Client secret"),
    ("tokens", "Tokens"),
    ("status", "Status"),
    ("delete", "Delete"),
)


def appclient_detail_routes(pages: Pages) -> list[BaseRoute]:
    common = ClientPages(pages)
    runtime, store = pages.runtime, pages.runtime.store

    def detail_page(
        page: ConsoleRequest,
        record: AppClientRecord,
        *,
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
    ) -> Response:
        now = time.time()
        grace_until = record.previous_secret_expires_at
        return pages.renderer.page(
            page.request,
            "app_client_detail.html",
            principal=page.principal,
            status=400 if errors else 200,
            active="apiAccess",
            tab="appClients",
            record=record,
            can_change=common.may_change(page, record),
            can_copy=common.can_copy(record),
            values=values or edit_values(record),
            errors=errors or {},
            roles=role_choices(page.principal.user.role),
            corpus_keys=common.corpus_keys(page.customer_id, record),
            corpus_roles=CORPUS_ROLES,
            grace_choices=GRACE_CHOICES,
            grace_until=grace_until if grace_until and grace_until > now else None,
            token_url=common.token_url(page.customer_id),
            sections=SECTIONS,
            sub_pages=[(s, s.href(record.id)) for s in SUB_PAGES],
            action_texts=ACTIONS,
            limits={
                "min_lifetime": appclients.MIN_LIFETIME,
                "max_lifetime": appclients.MAX_LIFETIME,
                "max_quota": appclients.MAX_QUOTA,
            },
        )

    def show(page: ConsoleRequest) -> Response:
        return detail_page(page, common.load(page))

    def edit(page: ConsoleRequest) -> Done | Response:
        record = common.owned(page)
        values = submitted_values(page.form, common.corpus_keys(page.customer_id, record))
        try:
            changes = changes_from(page.form, values, page.principal.user.role)
            record = app_clients.update_client(
                store,
                customer_id=page.customer_id,
                app_id=record.id,
                changes=changes,
                actor=page.actor,
                notify=runtime,
            )
        except InvalidInput as exc:
            return detail_page(page, record, values=values, errors=friendly(exc.field_errors))
        return Done(location=f"{BASE}/{record.id}", notice=f"Saved the changes to “{record.name}”.")

    return [
        Route(f"{BASE}/{{app_id}}", pages.signed_in(show), methods=["GET"]),
        Route(f"{BASE}/{{app_id}}", pages.acting(common.guarded(edit)), methods=["POST"]),
    ]
