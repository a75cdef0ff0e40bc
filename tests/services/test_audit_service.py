"""services/audit.py: the audit log a page at a time, newest first."""

from __future__ import annotations

import pytest

from gatehouse.errors import InvalidInput
from gatehouse.services.audit import read_audit
from gatehouse.store.models import AuditEvent
from gatehouse.store.store import Store


@pytest.fixture
def store(empty_store: Store) -> Store:
    """These use-cases start from a store with no customer."""
    return empty_store


@pytest.fixture
def logged(store: Store) -> Store:
    store.append_audit(
        events=[
            AuditEvent(
                customer_id="acme",
                at=float(n),
                actor="t",
                action="a.even" if n % 2 == 0 else "a.odd",
                target=f"t{n}",
            )
            for n in range(5)
        ]
    )
    return store


def test_pages_follow_each_other_to_the_oldest(logged: Store) -> None:
    first = read_audit(logged, customer_id="acme", limit=2)
    assert [e.target for e in first.events] == ["t4", "t3"]
    assert first.more
    second = read_audit(logged, customer_id="acme", limit=2, before_id=first.next_before)
    third = read_audit(logged, customer_id="acme", limit=2, before_id=second.next_before)
    assert [e.target for e in second.events + third.events] == ["t2", "t1", "t0"]
    assert not third.more
    assert third.next_before is None


def test_filters_and_bounds(logged: Store) -> None:
    even = read_audit(logged, customer_id="acme", limit=10, action="a.even")
    assert [e.target for e in even.events] == ["t4", "t2", "t0"]
    assert [
        e.target for e in read_audit(logged, customer_id="acme", limit=10, target="t1").events
    ] == ["t1"]
    assert read_audit(logged, customer_id="acme", limit=10, action="a\x00").events == []
    assert read_audit(logged, customer_id="other", limit=10).events == []
    for limit in (0, 10_001):
        with pytest.raises(InvalidInput):
            read_audit(logged, customer_id="acme", limit=limit)
