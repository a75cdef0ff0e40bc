"""Ids with a NUL character (which PostgreSQL cannot store) are unknown ids, never an error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gatehouse.store.engine import create_store_engine, migrate
from gatehouse.store.models import ClientColumns
from gatehouse.store.store import NotFound, Store
from gatehouse.users import authenticate


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    engine = create_store_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    migrate(engine)
    try:
        yield Store(engine)
    finally:
        engine.dispose()


def test_client_ids_with_nul_are_not_found(store: Store) -> None:
    store.create_customer(customer_id="acme", name="Acme")
    with pytest.raises(NotFound):
        store.get_client(app_id="app_\x00x", customer_id="acme")
    with pytest.raises(NotFound):
        store.update_client(
            customer_id="acme", app_id="app_\x00x", changes=ClientColumns(enabled=False)
        )
    with pytest.raises(NotFound):
        store.delete_client(customer_id="acme", app_id="app_\x00x")
    assert store.find_client(client_id="a\x00b") is None


def test_sign_in_with_nul_in_the_email_is_an_unknown_user(store: Store) -> None:
    assert authenticate(store, email="a\x00@example.test", password="whatever-password") is None
