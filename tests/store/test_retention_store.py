"""Contract of the retention verbs (``gatehouse.store.audit``, ``gatehouse.store.changes``) and
of the maintenance lock (``gatehouse.store.locks``), on SQLite and PostgreSQL."""

from __future__ import annotations

from gatehouse.store.audit import delete_audit_before
from gatehouse.store.changes import delete_changes_before
from gatehouse.store.locks import try_lock
from gatehouse.store.models import AuditEvent
from gatehouse.store.store import Store


def test_old_audit_events_are_deleted(store: Store) -> None:
    store.append_audit(
        events=[
            AuditEvent(customer_id="acme", at=at, actor="t", action=f"a{at:.0f}")
            for at in (1.0, 2.0, 3.0)
        ]
    )
    assert delete_audit_before(store, before=2.5) == 2
    assert [e.action for e in store.list_audit(customer_id="acme")] == ["a3"]


def test_old_changes_are_deleted_but_the_newest_stays(store: Store) -> None:
    store.create_customer(customer_id="acme", name="Acme")
    store.create_customer(customer_id="beta", name="Beta")
    newest = store.latest_change_id()
    assert delete_changes_before(store, before=float("inf")) == 1
    assert [c.id for c in store.changes_after(0)] == [newest]
    assert delete_changes_before(store, before=0.0) == 0


def test_one_holder_of_the_lock_at_a_time(store: Store) -> None:
    with try_lock(store, key=4242, name="test") as first:
        assert first
        with try_lock(store, key=4242, name="test") as second:
            assert not second
        with try_lock(store, key=4243, name="other") as unrelated:
            assert unrelated
    with try_lock(store, key=4242, name="test") as again:
        assert again
