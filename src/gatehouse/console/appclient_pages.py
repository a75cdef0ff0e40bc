"""The API access page (``/console/apiAccess/appClients``), as in the seed: the customer's
"OAuth 2.0 authentication URL", the app clients table with a menu per row (Copy secret, Rotate
secret, Revoke tokens, Delete) and "Create app client"."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gatehouse import appclients
from gatehouse.console.auth_form import auth_fields_of, auth_form_values
from gatehouse.console.corpus_pages import list_customer_corpora
from gatehouse.console.pages import ConsoleRequest, Handler, Pages
from gatehouse.console.render import confirmed, field, fields, json_response, redirect, wants_json
from gatehouse.errors import InvalidInput
from gatehouse.oauth.metadata import API_ROLES, CORPUS_ROLES
from gatehouse.store.models import AppClientRecord

BASE = "/console/apiAccess/appClients"

ROLE_HELP = {
    "owner": "Everything, including granting owner.",
    "administrator": "Manage app clients, keys and every corpus.",
    "billing_administrator": "Billing only.",
    "corpus_administrator": "Create, change and delete any corpus.",
    "corpus_developer": "Create corpora and use the ones it is given.",
    "viewer": "Read every corpus.",
}
DEFAULT_ROLES = ("viewer",)


def corpus_keys_of(pages: Pages, customer_id: str) -> list[str]:
    """The customer's corpus keys, for the corpus-role choices."""
    return [c.key for c in list_customer_corpora(pages, customer_id)]


def appclient_routes(pages: Pages) -> list[BaseRoute]:
    runtime = pages.runtime
    settings = runtime.settings
    store = runtime.store
    renderer = pages.renderer

    def can_copy(record: AppClientRecord) -> bool:
        return settings.secret_retrieval and record.secret_sealed is not None

    def may_change(page: ConsoleRequest, record: AppClientRecord) -> bool:
        # As in the API: an administrator may not act as (or for) an owner client.
        return page.principal.user.role == "owner" or "owner" not in record.api_roles

    def owned_client(page: ConsoleRequest) -> AppClientRecord:
        record = store.get_client(app_id=page.path_param("app_id"), customer_id=page.customer_id)
        if not may_change(page, record):
            raise OwnerOnly(record.name)
        return record

    def token_url(customer_id: str) -> str:
        return f"{settings.issuer(customer_id)}/oauth2/token"

    def list_page(page: ConsoleRequest) -> Response:
        records = store.list_clients(customer_id=page.customer_id)
        return renderer.page(
            page.request,
            "app_clients.html",
            principal=page.principal,
            active="apiAccess",
            tab="appClients",
            token_url=token_url(page.customer_id),
            clients=[
                {"record": r, "can_copy": can_copy(r), "can_change": may_change(page, r)}
                for r in records
            ],
            show_once=not settings.secret_retrieval,
            action_texts=ACTIONS,
        )

    def form_page(
        page: ConsoleRequest,
        *,
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
    ) -> Response:
        corpus_keys = corpus_keys_of(pages, page.customer_id)
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
            roles=[
                {
                    "name": role,
                    "help": ROLE_HELP[role],
                    "allowed": role != "owner" or page.principal.user.role == "owner",
                }
                for role in API_ROLES
            ],
            corpus_keys=corpus_keys,
            corpus_roles=CORPUS_ROLES,
        )

    def new_page(page: ConsoleRequest) -> Response:
        return form_page(page)

    def create(page: ConsoleRequest) -> Response:
        form = page.form
        api_roles = fields(form, "api_roles")
        corpus_choice = {
            key: field(form, f"corpus_role.{key}")
            for key in corpus_keys_of(pages, page.customer_id)
            if field(form, f"corpus_role.{key}")
        }
        name, description = field(form, "name"), field(form, "description")
        values: dict[str, Any] = {
            "name": name,
            "description": description,
            "api_roles": api_roles,
            "corpus": corpus_choice,
        }
        auth_form = auth_form_values(form)
        values |= auth_form
        try:
            # SPEC §1: only an owner may grant owner.
            if "owner" in api_roles and page.principal.user.role != "owner":
                raise InvalidInput({"api_roles": "Only an owner may grant the owner role."})
            record, secret = appclients.create_client(
                store,
                runtime.master_key,
                customer_id=page.customer_id,
                name=name,
                description=description,
                api_roles=api_roles,
                corpus_roles=[{"corpus_key": k, "role": r} for k, r in corpus_choice.items()],
                lifetime=settings.token_lifetime,
                keep_secret=settings.secret_retrieval,
                actor=page.actor,
                auth_fields=auth_fields_of(auth_form),
                allow_insecure_urls=settings.allow_insecure_urls,
            )
        except InvalidInput as exc:
            return form_page(page, values=values, errors=friendly(exc.field_errors))
        runtime.changed()
        return secret_page(page, record, secret, created=True)

    def secret_page(
        page: ConsoleRequest, record: AppClientRecord, secret: str | None, *, created: bool
    ) -> Response:
        return renderer.page(
            page.request,
            "app_client_secret.html",
            principal=page.principal,
            active="apiAccess",
            tab="appClients",
            record=record,
            secret=secret,
            created=created,
            token_url=token_url(page.customer_id),
            show_once=not can_copy(record),
        )

    def copy_secret(page: ConsoleRequest) -> Response:
        record = owned_client(page)
        secret = appclients.reveal_secret(runtime.master_key, record) if can_copy(record) else None
        if secret is None:
            message = (
                "This server keeps no copy of client secrets (show-once mode). "
                "Rotate the secret to get a new one."
            )
            if wants_json(page.request):
                return json_response({"messages": [message]}, status=409)
            return pages.error_page(page.request, page.principal, 409, message)
        if wants_json(page.request):
            return json_response({"client_id": record.client_id, "client_secret": secret})
        return secret_page(page, record, secret, created=False)

    def confirm_page(page: ConsoleRequest, record: AppClientRecord, action: str) -> Response:
        texts = ACTIONS[action]
        return renderer.page(
            page.request,
            "confirm.html",
            principal=page.principal,
            active="apiAccess",
            title=texts["title"].format(name=record.name),
            message=texts["message"],
            action_url=f"{BASE}/{record.id}/{action}",
            button=texts["button"],
            danger=action != "rotate",
            back_url=BASE,
        )

    def rotate(page: ConsoleRequest) -> Response:
        record = owned_client(page)
        if not confirmed(page.form):
            return confirm_page(page, record, "rotate")
        record, secret = appclients.rotate_secret(
            store,
            runtime.master_key,
            customer_id=page.customer_id,
            app_id=record.id,
            keep_secret=settings.secret_retrieval,
            actor=page.actor,
        )
        runtime.changed()
        return secret_page(page, record, secret, created=False)

    def revoke(page: ConsoleRequest) -> Response:
        record = owned_client(page)
        if not confirmed(page.form):
            return confirm_page(page, record, "revoke")
        appclients.revoke_tokens(
            store, customer_id=page.customer_id, app_id=record.id, actor=page.actor
        )
        runtime.changed()
        return redirect(f"{BASE}?notice=revoked")

    def delete(page: ConsoleRequest) -> Response:
        record = owned_client(page)
        if not confirmed(page.form):
            return confirm_page(page, record, "delete")
        appclients.delete_client(
            store, customer_id=page.customer_id, app_id=record.id, actor=page.actor
        )
        runtime.changed()
        return redirect(f"{BASE}?notice=deleted")

    def guarded(handler: Handler) -> Handler:
        def run(page: ConsoleRequest) -> Response:
            try:
                return handler(page)
            except OwnerOnly:
                return pages.error_page(
                    page.request,
                    page.principal,
                    403,
                    "Only an owner may copy the secret of, rotate, revoke or delete an app "
                    "client that holds the owner role.",
                )

        return run

    return [
        Route(BASE, pages.signed_in(list_page), methods=["GET"]),
        Route(BASE, pages.signed_in(create), methods=["POST"]),
        Route(f"{BASE}/new", pages.signed_in(new_page), methods=["GET"]),
        Route(f"{BASE}/{{app_id}}/secret", pages.signed_in(guarded(copy_secret)), methods=["POST"]),
        Route(f"{BASE}/{{app_id}}/rotate", pages.signed_in(guarded(rotate)), methods=["POST"]),
        Route(f"{BASE}/{{app_id}}/revoke", pages.signed_in(guarded(revoke)), methods=["POST"]),
        Route(f"{BASE}/{{app_id}}/delete", pages.signed_in(guarded(delete)), methods=["POST"]),
    ]


class OwnerOnly(Exception):
    """An administrator tried to act on an owner client."""


ACTIONS = {
    "rotate": {
        "title": "Rotate the secret of “{name}”?",
        "message": "A new secret is made and shown to you. The current secret stops working "
        "at once, so programs that use it must be given the new one.",
        "button": "Rotate secret",
    },
    "revoke": {
        "title": "Revoke the tokens of “{name}”?",
        "message": "Every access token issued to this app client so far is rejected from now "
        "on. The app client itself keeps working and can get new tokens.",
        "button": "Revoke tokens",
    },
    "delete": {
        "title": "Delete “{name}”?",
        "message": "The app client and its secret are deleted and its tokens stop working at "
        "once. This cannot be undone.",
        "button": "Delete app client",
    },
}


def friendly(field_errors: dict[str, str]) -> dict[str, str]:
    """Field errors in the console's words (the service speaks the API's)."""
    result: dict[str, str] = {}
    for name, message in field_errors.items():
        if name == "name":
            result[name] = "Enter a name of 1 to 200 characters."
        elif name == "description":
            result[name] = "The description can be at most 2000 characters."
        else:
            result[name] = message[:1].upper() + message[1:]
    return result
