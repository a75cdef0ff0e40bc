"""Managing console users in the store, on SQLite and PostgreSQL: the last owner is kept even
when two owners demote each other at the same moment."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gatehouse.runtime import Runtime
from gatehouse.services.console_users import (
    LastOwner,
    create_user,
    delete_user,
    reset_password,
    set_user_role,
)
from gatehouse.store.store import NotFound
from gatehouse.users import authenticate, list_users
from tests.conftest import make_settings
from tests.factories import add_customer

PASSWORD = "correct horse battery"


@pytest.fixture
def store_runtime(tmp_path: Path, database_url: str) -> Iterator[Runtime]:
    runtime = Runtime.open(make_settings(tmp_path, database_url=database_url))
    add_customer(runtime, "acme")
    yield runtime
    runtime.store.engine.dispose()


def add(runtime: Runtime, email: str, role: str = "owner") -> str:
    return create_user(
        runtime.store, customer_id="acme", email=email, role=role, password=PASSWORD, actor="t"
    )


def test_the_last_owner_is_neither_demoted_nor_deleted(store_runtime: Runtime) -> None:
    store = store_runtime.store
    only = add(store_runtime, "only@acme.test")
    admin = add(store_runtime, "admin@acme.test", "administrator")
    with pytest.raises(LastOwner):
        set_user_role(store, customer_id="acme", user_id=only, role="administrator", actor="t")
    with pytest.raises(LastOwner):
        delete_user(store, customer_id="acme", user_id=only, actor="t")
    set_user_role(store, customer_id="acme", user_id=admin, role="owner", actor="t")
    set_user_role(store, customer_id="acme", user_id=only, role="administrator", actor="t")
    delete_user(store, customer_id="acme", user_id=only, actor="t")
    assert [(u.email, u.role) for u in list_users(store, customer_id="acme")] == [
        ("admin@acme.test", "owner")
    ]
    with pytest.raises(NotFound):
        delete_user(store, customer_id="acme", user_id=only, actor="t")
    with pytest.raises(NotFound):
        set_user_role(store, customer_id="other", user_id=admin, role="owner", actor="t")


def test_two_owners_demoting_each_other_at_once_leave_one_owner(store_runtime: Runtime) -> None:
    store = store_runtime.store
    for attempt in range(5):  # a fresh customer with two owners each time
        customer = add_customer(store_runtime, f"race-{attempt}")
        pair = [
            create_user(
                store,
                customer_id=customer,
                email=f"{name}{attempt}@acme.test",
                role="owner",
                password=PASSWORD,
                actor="t",
            )
            for name in ("a", "b")
        ]
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def demote(
            user_id: str,
            customer_id: str = customer,
            barrier: threading.Barrier = barrier,
            outcomes: list[str] = outcomes,
        ) -> None:
            barrier.wait(timeout=30)
            try:
                set_user_role(
                    store, customer_id=customer_id, user_id=user_id, role="administrator", actor="t"
                )
                outcomes.append("demoted")
            except LastOwner:
                outcomes.append("refused")

        threads = [threading.Thread(target=demote, args=(u,)) for u in pair]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        owners = [u for u in list_users(store, customer_id=customer) if u.role == "owner"]
        assert len(owners) == 1, (attempt, outcomes)
        assert sorted(outcomes) == ["demoted", "refused"]


def test_a_reset_password_replaces_the_old_one(store_runtime: Runtime) -> None:
    store = store_runtime.store
    user = add(store_runtime, "ops@acme.test", "administrator")
    reset_password(
        store, customer_id="acme", user_id=user, password="a brand new password", actor="t"
    )
    assert authenticate(store, email="ops@acme.test", password=PASSWORD) is None
    signed_in = authenticate(store, email="ops@acme.test", password="a brand new password")
    assert signed_in is not None
    assert signed_in.id == user
