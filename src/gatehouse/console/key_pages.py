"""The signing keys page: the customer's JWKS keys with their states, and rotation."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gatehouse.console.pages import ConsoleRequest, Done, Pages
from gatehouse.keyring import ACTIVATION_DELAY
from gatehouse.services.signing_keys import rotate_signing_key

BASE = "/console/apiAccess/keys"
STATE_HELP = {
    "active": "Signs new tokens.",
    "next": "Published ahead of use; becomes active when due (see Activated).",
    "retired": "No longer signs; published until every token it signed has expired.",
}
ROTATE_MESSAGE = (
    "A new key is published now and starts signing in about "
    f"{ACTIVATION_DELAY // 60} minutes, once every verifier's cached copy of the key set has "
    "expired. The current key is then retired: it stays published so that tokens it signed "
    "keep working until they expire."
)


def key_routes(pages: Pages) -> list[BaseRoute]:
    runtime = pages.runtime
    store = runtime.store

    def keys_page(page: ConsoleRequest) -> Response:
        issuer = runtime.settings.issuer(page.customer_id)
        keys = [k for k in store.list_keys(customer_id=page.customer_id) if k.state != "removed"]
        order = {"active": 0, "next": 1, "retired": 2}
        keys.sort(key=lambda k: (order.get(k.state, 3), -k.created_at))
        return pages.renderer.page(
            page.request,
            "keys.html",
            principal=page.principal,
            active="apiAccess",
            tab="keys",
            jwks_url=f"{issuer}/.well-known/jwks.json",
            issuer=issuer,
            keys=keys,
            state_help=STATE_HELP,
        )

    def confirm_rotate(page: ConsoleRequest) -> Response:
        return pages.renderer.page(
            page.request,
            "confirm.html",
            principal=page.principal,
            active="apiAccess",
            title="Rotate the signing key?",
            message=ROTATE_MESSAGE,
            action_url=f"{BASE}/rotate",
            button="Rotate signing key",
            danger=False,
            back_url=BASE,
            hidden={},
            grace_choices=(),
        )

    def rotate(page: ConsoleRequest) -> Done:
        rotate_signing_key(
            store,
            runtime.master_key,
            customer_id=page.customer_id,
            alg=runtime.settings.signing_alg,
            actor=page.actor,
            at_once=False,
            notify=runtime,
        )
        return Done(
            location=BASE,
            notice="A new signing key is published. It becomes active at the time shown, once "
            "verifiers have fetched it; the current key signs until then.",
        )

    return [
        Route(BASE, pages.signed_in(keys_page), methods=["GET"]),
        Route(f"{BASE}/rotate", pages.signed_in(confirm_rotate), methods=["GET"]),
        Route(
            f"{BASE}/rotate",
            pages.acting(rotate, confirm=lambda _page: f"{BASE}/rotate"),
            methods=["POST"],
        ),
    ]
