"""Customers (tenants): creating one, with its first signing key.

``gatehouse customers create`` and the demo of ``make run`` call this. The customer, its
built-in API, its first (active) signing key and the audit row are written in one transaction
(``gatehouse.store.customers``); the notifier then tells this process's replica of the new key.
"""

from __future__ import annotations

import time

from gatehouse.errors import InvalidInput
from gatehouse.keyring import new_key
from gatehouse.masterkey import MasterKey
from gatehouse.oauth.customer_ids import CUSTOMER_ID
from gatehouse.oauth.keys import Alg
from gatehouse.services.notify import Notifier
from gatehouse.store.customers import insert_customer
from gatehouse.store.models import AuditEvent, Customer
from gatehouse.store.store import Store


def validate_customer_id(customer_id: str) -> str:
    if CUSTOMER_ID.fullmatch(customer_id) is None:
        raise InvalidInput(
            {"customer_id": "must be 2-63 characters of a-z, 0-9 and '-', not starting with '-'"}
        )
    return customer_id


def create_customer(
    store: Store,
    master_key: MasterKey,
    *,
    customer_id: str,
    name: str | None,
    alg: Alg,
    actor: str,
    notify: Notifier,
) -> Customer:
    """A new customer with an active signing key of ``alg``; :class:`InvalidInput` for a bad
    id, ``Conflict`` for one taken."""
    validate_customer_id(customer_id)
    key = new_key(master_key, customer_id=customer_id, alg=alg, state="active")
    event = AuditEvent(
        customer_id=customer_id,
        at=time.time(),
        actor=actor,
        action="customer.create",
        target=customer_id,
        detail={"kid": key.kid, "alg": alg},
    )
    customer = insert_customer(
        store, customer_id=customer_id, name=name or customer_id, first_key=key, audit=event
    )
    notify.changed()
    return customer
