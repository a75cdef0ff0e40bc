"""The API access page (``/console/apiAccess/appClients``), as in the seed: the customer's
"OAuth 2.0 authentication URL", the app clients table (searchable, paged) with a menu per row,
and "Create app client", whose result page shows the new secret once."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gatehouse.console.appclient_common import ClientPages
from gatehouse.console.appclient_forms import (
    ACTIONS,
    BASE,
    DEFAULT_ROLES,
    corpus_choice,
    friendly,
    require_may_grant,
    role_choices,
)
from gatehouse.console.auth_form import auth_fields_of, auth_form_values
from gatehouse.console.pages import ConsoleRequest, Done, Pages
from gatehouse.console.render import field, fields
from gatehouse.errors import InvalidInput
from gatehouse.oauth.metadata import CORPUS_ROLES
from gatehouse.services import app_clients
from gatehouse.store.models import AppClientRecord
from gatehouse.store.store import NotFound

PAGE_SIZE = 25
MAX_QUERY = 200


def parse_cursor(text: str) -> tuple[float, str] | None:
    """``after``: the (created_at, id) of the last client of the previous page."""
    at, _, app_id = text.partition("~")
    try:
        value = float(at)
    except ValueError:
        return None
    return (value, app_id) if app_id and len(app_id) <= 40 else None


def cursor_of(record: AppClientRecord) -> str:
    return f"{record.created_at!r}~{record.id}"


def appclient_routes(pages: Pages) -> list[BaseRoute]:
    common = ClientPages(pages)
    runtime, store, settings = pages.runtime, pages.runtime.store, pages.runtime.settings
    renderer = pages.renderer

    def find(
        page: ConsoleRequest, q: str, after: tuple[float, str] | None
    ) -> list[AppClientRecord]:
        """A page of clients: by exact client ID or id when ``q`` is one, else by name."""
        if q:
            exact = store.find_client(client_id=q)
            if exact is None and q.startswith("app_"):
                try:
                    exact = store.get_client(app_id=q, customer_id=page.customer_id)
                except NotFound:
                    exact = None
            if exact is not None and exact.customer_id == page.customer_id:
                return [exact] if after is None else []
        return store.list_clients(
            customer_id=page.customer_id,
            limit=PAGE_SIZE + 1,
            after=after,
            name_contains=q or None,
        )

    def list_page(page: ConsoleRequest) -> Response:
        params = page.request.query_params
        q = params.get("q", "").strip()[:MAX_QUERY]
        after = parse_cursor(params.get("after", ""))
        records = find(page, q, after)
        more = len(records) > PAGE_SIZE
        records = records[:PAGE_SIZE]
        query = {"q": q} if q else {}
        next_url = (
            f"{BASE}?{urlencode({**query, 'after': cursor_of(records[-1])})}" if more else None
        )
        first_url = f"{BASE}?{urlencode(query)}" if after is not None else None
        return renderer.page(
            page.request,
            "app_clients.html",
            principal=page.principal,
            active="apiAccess",
            tab="appClients",
            token_url=common.token_url(page.customer_id),
            clients=[
                {
                    "record": r,
                    "can_copy": common.can_copy(r),
                    "can_change": common.may_change(page, r),
                }
                for r in records
            ],
            q=q,
            first_url=first_url,
            next_url=next_url,
            show_once=not settings.secret_retrieval,
            action_texts=ACTIONS,
        )

    def form_page(
        page: ConsoleRequest,
        *,
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
    ) -> Response:
        return renderer.page(
            page.request,
            "app_client_new.html",
            principal=page.principal,
            status=400 if errors else 200,
            active="apiAccess",
            tab="appClients",
            values=values
            or {"name": "", "description": "", "api_roles": list(DEFAULT_ROLES), "corpus": {}},
            errors=errors or {},
            roles=role_choices(page.principal.user.role),
            corpus_keys=common.corpus_keys(page.customer_id),
            corpus_roles=CORPUS_ROLES,
        )

    def new_page(page: ConsoleRequest) -> Response:
        return form_page(page)

    def create(page: ConsoleRequest) -> Done | Response:
        form = page.form
        api_roles = fields(form, "api_roles")
        choice = corpus_choice(form, common.corpus_keys(page.customer_id))
        name, description = field(form, "name"), field(form, "description")
        values: dict[str, Any] = {
            "name": name,
            "description": description,
            "api_roles": api_roles,
            "corpus": choice,
        }
        auth_form = auth_form_values(form)
        values |= auth_form
        try:
            require_may_grant(page.principal.user.role, api_roles)
            record, secret = app_clients.create_client(
                store,
                runtime.master_key,
                customer_id=page.customer_id,
                name=name,
                description=description,
                api_roles=api_roles,
                corpus_roles=[{"corpus_key": k, "role": r} for k, r in choice.items()],
                lifetime=settings.token_lifetime,
                keep_secret=settings.secret_retrieval,
                actor=page.actor,
                notify=runtime,
                auth_fields=auth_fields_of(auth_form),
                allow_insecure_urls=settings.allow_insecure_urls,
            )
        except InvalidInput as exc:
            return form_page(page, values=values, errors=friendly(exc.field_errors))
        return Done(
            location=f"{BASE}/{record.id}/new-secret",
            notice=f"Created the app client “{record.name}”.",
            secret=secret,
        )

    return [
        Route(BASE, pages.signed_in(list_page), methods=["GET"]),
        Route(BASE, pages.acting(create), methods=["POST"]),
        Route(f"{BASE}/new", pages.signed_in(new_page), methods=["GET"]),
    ]
