"""What the app client pages share: who may change a client, loading it, the confirmation
page of a destructive action, and the owner-only refusal."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from starlette.responses import Response

from gatehouse.appclients import may_change_client
from gatehouse.console.appclient_forms import ACTIONS, BASE, GRACE_CHOICES
from gatehouse.console.corpus_pages import list_customer_corpora
from gatehouse.console.pages import ConsoleRequest, Pages
from gatehouse.store.models import AppClientRecord

T = TypeVar("T")

OWNER_ONLY = (
    "Only an owner may copy the secret of, change, rotate, revoke or delete an app client "
    "that holds the owner role."
)


class OwnerOnly(Exception):
    """An administrator tried to act on an owner client."""


class ClientPages:
    """Shared steps of the app client pages of one runtime."""

    def __init__(self, pages: Pages) -> None:
        self.pages = pages
        self.runtime = pages.runtime
        self.store = pages.runtime.store
        self.settings = pages.runtime.settings

    def can_copy(self, record: AppClientRecord) -> bool:
        return self.settings.secret_retrieval and record.secret_sealed is not None

    def may_change(self, page: ConsoleRequest, record: AppClientRecord) -> bool:
        # As in the API: an administrator may not act as (or for) an owner client.
        return may_change_client({page.principal.user.role}, record.api_roles)

    def load(self, page: ConsoleRequest) -> AppClientRecord:
        return self.store.get_client(app_id=page.path_param("app_id"), customer_id=page.customer_id)

    def owned(self, page: ConsoleRequest) -> AppClientRecord:
        record = self.load(page)
        if not self.may_change(page, record):
            raise OwnerOnly(record.name)
        return record

    def token_url(self, customer_id: str) -> str:
        return f"{self.settings.issuer(customer_id)}/oauth2/token"

    def corpus_keys(self, customer_id: str, record: AppClientRecord | None = None) -> list[str]:
        """The customer's corpus keys, and any the client holds a role on, for the choices."""
        keys = [c.key for c in list_customer_corpora(self.pages, customer_id)]
        for role in record.corpus_roles if record is not None else ():
            if role.corpus_key not in keys:
                keys.append(role.corpus_key)
        return keys

    def back_url(self, page: ConsoleRequest, app_id: str) -> str:
        """Where an action returns: the list when it was started there, else the client."""
        source = page.form if page.form is not None else page.request.query_params
        return BASE if source.get("from") == "list" else f"{BASE}/{app_id}"

    def confirm_page(self, page: ConsoleRequest, record: AppClientRecord, action: str) -> Response:
        texts = ACTIONS[action]
        back = self.back_url(page, record.id)
        return self.pages.renderer.page(
            page.request,
            "confirm.html",
            principal=page.principal,
            active="apiAccess",
            title=texts["title"].format(name=record.name),
            message=texts["message"],
            action_url=f"{BASE}/{record.id}/{action}",
            button=texts["button"],
            danger=action not in ("rotate",),
            back_url=back,
            hidden={"from": "list"} if back == BASE else {},
            grace_choices=GRACE_CHOICES if action == "rotate" else (),
            grace_selected=page.request.query_params.get("grace", "0"),
        )

    def guarded(
        self, handler: Callable[[ConsoleRequest], T]
    ) -> Callable[[ConsoleRequest], T | Response]:
        def run(page: ConsoleRequest) -> T | Response:
            try:
                return handler(page)
            except OwnerOnly:
                return self.pages.error_page(page.request, page.principal, 403, OWNER_ONLY)

        return run
