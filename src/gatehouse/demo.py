"""The demo customer of ``make run``: customer ``demo``, an owner app client, a console user."""

from __future__ import annotations

import secrets
from typing import Any

from gatehouse import appclients
from gatehouse.appclients import Actor
from gatehouse.masterkey import MasterKey
from gatehouse.services import app_clients
from gatehouse.services.console_users import create_user
from gatehouse.services.customers import create_customer
from gatehouse.services.notify import UNHEARD
from gatehouse.settings import Settings
from gatehouse.store.store import NotFound, Store
from gatehouse.users import user_exists

DEMO_CUSTOMER = "demo"
DEMO_CLIENT_NAME = "Demo owner client"
DEMO_EMAIL = "admin@demo.local"


def ensure_demo(settings: Settings, store: Store, master_key: MasterKey) -> dict[str, Any]:
    """Create what is missing and return the demo's credentials."""
    actor = Actor(name="demo", source="cli")
    try:
        store.get_customer(customer_id=DEMO_CUSTOMER)
    except NotFound:
        create_customer(
            store,
            master_key,
            customer_id=DEMO_CUSTOMER,
            name="Demo",
            alg=settings.signing_alg,
            actor="demo",
            notify=UNHEARD,
        )
    existing = [
        c for c in store.list_clients(customer_id=DEMO_CUSTOMER) if c.name == DEMO_CLIENT_NAME
    ]
    if existing:
        record = existing[0]
        secret = appclients.reveal_secret(master_key, record)
        if secret is None:  # show-once mode: the only way to print a secret again is a new one
            record, secret = app_clients.rotate_secret(
                store,
                master_key,
                customer_id=DEMO_CUSTOMER,
                app_id=record.id,
                keep_secret=False,
                actor=actor,
                notify=UNHEARD,  # a command: servers learn of it from the change feed
            )
    else:
        record, secret = app_clients.create_client(
            store,
            master_key,
            customer_id=DEMO_CUSTOMER,
            name=DEMO_CLIENT_NAME,
            description="Created by gatehouse demo",
            api_roles=["owner"],
            lifetime=settings.token_lifetime,
            keep_secret=settings.secret_retrieval,
            actor=actor,
            notify=UNHEARD,
        )
    password = _console_password(settings, store)
    issuer = settings.issuer(DEMO_CUSTOMER)
    return {
        "customer_id": DEMO_CUSTOMER,
        "token_url": f"{issuer}/oauth2/token",
        "issuer": issuer,
        "client_id": record.client_id,
        "client_secret": secret,
        "console_url": f"{settings.base_url}/console/login",
        "console_email": DEMO_EMAIL,
        "console_password": password,
    }


RESET_HINT = f"gatehouse users reset-password --customer {DEMO_CUSTOMER} {DEMO_EMAIL}"


def _console_password(settings: Settings, store: Store) -> str | None:
    """The password of a newly created demo console user, or None when it exists already.

    The password is printed once and kept nowhere (only its argon2id hash is stored); a
    forgotten one is replaced with ``RESET_HINT``. The plaintext file older versions kept is
    removed.
    """
    (settings.data_dir / "demo-console.json").unlink(missing_ok=True)
    if user_exists(store, email=DEMO_EMAIL):
        return None
    password = secrets.token_urlsafe(12)
    create_user(
        store,
        customer_id=DEMO_CUSTOMER,
        email=DEMO_EMAIL,
        role="owner",
        password=password,
        actor="demo",
    )
    return password
