"""Customers (tenants): creation with their first signing key."""

from __future__ import annotations

from gatehouse.errors import InvalidInput
from gatehouse.keyring import new_key
from gatehouse.masterkey import MasterKey
from gatehouse.oauth.customer_ids import CUSTOMER_ID
from gatehouse.oauth.keys import Alg
from gatehouse.store.models import AuditEvent, Customer
from gatehouse.store.store import Store


def validate_customer_id(customer_id: str) -> str:
    if CUSTOMER_ID.fullmatch(customer_id) is None:
        raise InvalidInput(
            {"customer_id": "must be 2-63 characters of a-z, 0-9 and '-', not starting with '-'"}
        )
    return customer_id


def create_customer(
    store: Store, master_key: MasterKey, *, customer_id: str, name: str | None, alg: Alg, actor: str
) -> Customer:
    """A new customer with an active signing key of ``alg``."""
    validate_customer_id(customer_id)
    customer = store.create_customer(customer_id=customer_id, name=name or customer_id)
    key = new_key(master_key, customer_id=customer_id, alg=alg, state="active")
    # The first key and the audit row in one transaction.
    store.insert_key(
        record=key,
        audit=AuditEvent(
            customer_id=customer_id,
            at=customer.created_at,
            actor=actor,
            action="customer.create",
            target=customer_id,
            detail={"kid": key.kid, "alg": alg},
        ),
    )
    return customer
