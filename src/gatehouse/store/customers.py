"""Store verbs for customers (tenants): a new customer is created whole, in one transaction —
its row, its built-in API (whose identifier is the configured audience), its first signing key
and the audit row — and announced on the change feed (kinds ``customer`` and ``keys``)."""

from __future__ import annotations

import time

from sqlalchemy import insert, select

from gatehouse.store import tables as t
from gatehouse.store.apis import builtin_api_values, new_api_id
from gatehouse.store.models import AuditEvent, Customer, SigningKeyRecord
from gatehouse.store.store import Conflict, Store


def insert_customer(
    store: Store,
    *,
    customer_id: str,
    name: str,
    first_key: SigningKeyRecord | None = None,
    audit: AuditEvent | None = None,
) -> Customer:
    """A new customer (:class:`Conflict` if the id is taken) with ``first_key`` and ``audit``."""
    customer = Customer(id=customer_id, name=name, created_at=time.time())
    with store.engine.begin() as conn:
        if conn.execute(select(t.customers.c.id).where(t.customers.c.id == customer_id)).first():
            raise Conflict(f"customer {customer_id} exists")
        conn.execute(
            insert(t.customers).values(id=customer_id, name=name, created_at=customer.created_at)
        )
        Store.record_change(conn, kind="customer", customer_id=customer_id, entity_id=customer_id)
        # Every customer has the built-in API (its identifier is the configured audience).
        conn.execute(
            insert(t.apis).values(
                builtin_api_values(new_api_id(), customer_id, customer.created_at)
            )
        )
        if first_key is not None:
            Store.insert_key_row(conn, first_key)
            Store.record_change(conn, kind="keys", customer_id=customer_id, entity_id=first_key.kid)
        Store.write_audit(conn, audit)
    return customer
