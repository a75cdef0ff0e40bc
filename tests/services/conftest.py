"""A fresh, migrated store per test (SQLite and PostgreSQL) with two customers, a master key,
and a notifier that counts its notices: what every service test needs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gatehouse.appclients import Actor
from gatehouse.masterkey import MasterKey
from gatehouse.services import app_clients
from gatehouse.services.notify import UNHEARD, Notifier
from gatehouse.store.engine import create_store_engine, migrate
from gatehouse.store.models import AppClientRecord, AuditEvent
from gatehouse.store.store import Store
from tests.factories import TEST_ACTOR


class Counting:
    """A notifier that remembers how often it was told."""

    def __init__(self) -> None:
        self.count = 0

    def changed(self) -> None:
        self.count += 1


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    engine = create_store_engine(database_url)
    migrate(engine)
    store = Store(engine)
    store.create_customer(customer_id="acme", name="Acme")
    store.create_customer(customer_id="globex", name="Globex")
    try:
        yield store
    finally:
        engine.dispose()


@pytest.fixture
def master_key() -> MasterKey:
    return MasterKey.from_bytes(os.urandom(32))


@pytest.fixture
def notifier() -> Counting:
    return Counting()


def audit_of(store: Store, customer_id: str = "acme") -> list[AuditEvent]:
    """The customer's audit rows, oldest first."""
    return list(reversed(store.list_audit(customer_id=customer_id)))


def actions(store: Store, customer_id: str = "acme") -> list[str]:
    return [event.action for event in audit_of(store, customer_id)]


@pytest.fixture
def empty_store(database_url: str) -> Iterator[Store]:
    """A fresh, migrated store with no customer yet."""
    engine = create_store_engine(database_url)
    migrate(engine)
    try:
        yield Store(engine)
    finally:
        engine.dispose()


@pytest.fixture
def broken_store(tmp_path: Path) -> Iterator[Store]:
    """A real SQLite database that was never migrated: every statement fails."""
    engine = create_store_engine(f"sqlite:///{tmp_path / 'unmigrated.db'}")
    try:
        yield Store(engine)
    finally:
        engine.dispose()


def make_client(
    store: Store,
    master_key: MasterKey,
    *,
    name: str = "reader",
    roles: tuple[str, ...] = ("viewer",),
    actor: Actor = TEST_ACTOR,
    notify: Notifier = UNHEARD,
) -> AppClientRecord:
    """A new client of customer ``acme`` (its secret is kept, for the tests that rotate it)."""
    record, _secret = app_clients.create_client(
        store,
        master_key,
        customer_id="acme",
        name=name,
        api_roles=roles,
        keep_secret=True,
        actor=actor,
        notify=notify,
    )
    return record
