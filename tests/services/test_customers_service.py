"""services/customers.py: the customer, its first key and the audit row together; the notifier
is told once on success, never on failure."""

from __future__ import annotations

import pytest

from gatehouse.errors import InvalidInput
from gatehouse.masterkey import MasterKey
from gatehouse.services.customers import create_customer
from gatehouse.store.store import Conflict, Store
from tests.services.conftest import Counting


@pytest.fixture
def store(empty_store: Store) -> Store:
    """These use-cases start from a store with no customer."""
    return empty_store


def _create(store: Store, master_key: MasterKey, notifier: Counting, customer_id: str) -> None:
    create_customer(
        store,
        master_key,
        customer_id=customer_id,
        name=None,
        alg="ES256",
        actor="t",
        notify=notifier,
    )


def test_a_customer_comes_with_its_active_key_and_audit_row(
    store: Store, master_key: MasterKey, notifier: Counting
) -> None:
    _create(store, master_key, notifier, "acme")
    assert notifier.count == 1
    assert store.get_customer(customer_id="acme").name == "acme"
    (key,) = store.list_keys(customer_id="acme")
    assert (key.state, key.alg) == ("active", "ES256")
    (event,) = store.list_audit(customer_id="acme")
    assert (event.action, event.target, event.detail) == (
        "customer.create",
        "acme",
        {"kid": key.kid, "alg": "ES256"},
    )
    assert {c.kind for c in store.changes_after(0)} >= {"customer", "keys"}


def test_a_taken_or_bad_id_writes_nothing_and_tells_no_one(
    store: Store, master_key: MasterKey, notifier: Counting
) -> None:
    _create(store, master_key, notifier, "acme")
    with pytest.raises(Conflict):
        _create(store, master_key, notifier, "acme")
    with pytest.raises(InvalidInput):
        _create(store, master_key, notifier, "-bad")
    assert notifier.count == 1
    assert len(store.list_keys(customer_id="acme")) == 1
    assert len(store.list_audit(customer_id="acme")) == 1


def test_a_failed_write_tells_no_one(
    broken_store: Store, master_key: MasterKey, notifier: Counting
) -> None:
    with pytest.raises(Exception, match="no such table"):
        _create(broken_store, master_key, notifier, "acme")
    assert notifier.count == 0
