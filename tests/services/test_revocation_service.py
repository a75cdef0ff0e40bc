"""services/revocation.py (RFC 7009): the deny entry, its change and the audit row in one
transaction; the notifier is told once per revocation, never when the write fails."""

from __future__ import annotations

import time

import pytest

from gatehouse.revocations import revoked_until
from gatehouse.services.revocation import revoke_token
from gatehouse.store.store import Store
from tests.services.conftest import Counting


@pytest.fixture
def store(empty_store: Store) -> Store:
    """These use-cases start from a store with no customer."""
    return empty_store


def _revoke(store: Store, notifier: Counting, jti: str = "j1") -> bool:
    return revoke_token(
        store,
        customer_id="acme",
        client_id="cid1",
        app_id="app_1",
        jti=jti,
        expires_at=time.time() + 600,
        source="127.0.0.1",
        notify=notifier,
    )


def test_a_revocation_writes_the_entry_its_change_and_its_audit_row(
    store: Store, notifier: Counting
) -> None:
    assert _revoke(store, notifier)
    assert notifier.count == 1
    assert list(revoked_until(store)) == ["j1"]
    assert [c.kind for c in store.changes_after(0)] == ["revocation"]
    (event,) = store.list_audit(customer_id="acme")
    assert (event.action, event.actor, event.target, event.source, event.detail) == (
        "token.revoke",
        "cid1",
        "app_1",
        "127.0.0.1",
        {"jti": "j1"},
    )


def test_a_second_revocation_writes_nothing_more(store: Store, notifier: Counting) -> None:
    _revoke(store, notifier)
    assert not _revoke(store, notifier)
    assert len(store.list_audit(customer_id="acme")) == 1
    assert len(store.changes_after(0)) == 1


def test_a_failed_write_tells_no_one(broken_store: Store, notifier: Counting) -> None:
    with pytest.raises(Exception, match="no such table"):
        _revoke(broken_store, notifier)
    assert notifier.count == 0
