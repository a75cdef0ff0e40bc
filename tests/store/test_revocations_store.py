"""Contract of ``gatehouse.store.revocations`` (the deny list and the feed's reads), on SQLite
and PostgreSQL."""

from __future__ import annotations

import pytest

from gatehouse.store import revocations as deny
from gatehouse.store.models import AuditEvent, ClientColumns
from gatehouse.store.store import Store
from tests.store.test_store_contract import client_record

NOW = 1_800_000_000.0


@pytest.fixture
def acme(store: Store) -> Store:
    store.create_customer(customer_id="acme", name="Acme")
    store.create_customer(customer_id="other", name="Other")
    return store


def _event(jti: str) -> AuditEvent:
    return AuditEvent(
        customer_id="acme", at=NOW, actor="cid", action="token.revoke", detail={"jti": jti}
    )


def test_a_new_entry_records_its_change_and_audit_row(acme: Store) -> None:
    before = acme.latest_change_id()
    assert deny.insert_revocation(
        acme, customer_id="acme", client_id="cid", jti="j1", expires_at=NOW, audit=_event("j1")
    )
    changes = acme.changes_after(before)
    assert [(c.kind, c.entity_id) for c in changes] == [("revocation", "j1")]
    assert [e.detail for e in acme.list_audit(customer_id="acme")] == [{"jti": "j1"}]


def test_a_second_entry_for_a_jti_writes_nothing(acme: Store) -> None:
    deny.insert_revocation(acme, customer_id="acme", client_id="cid", jti="j1", expires_at=NOW)
    before = acme.latest_change_id()
    assert not deny.insert_revocation(
        acme, customer_id="acme", client_id="cid", jti="j1", expires_at=NOW, audit=_event("j1")
    )
    assert acme.changes_after(before) == []
    assert acme.list_audit(customer_id="acme") == []


def test_reads_and_pruning_by_expiry(acme: Store) -> None:
    for jti, exp, customer in (("old", NOW - 10, "acme"), ("new", NOW + 10, "acme")):
        deny.insert_revocation(acme, customer_id=customer, client_id="c", jti=jti, expires_at=exp)
    deny.insert_revocation(acme, customer_id="other", client_id="c", jti="o", expires_at=NOW + 5)
    assert deny.revocations_after(acme, expires_after=NOW) == {"new": NOW + 10, "o": NOW + 5}
    assert deny.revocations_after(acme, expires_after=NOW - 60, jtis=["old"]) == {"old": NOW - 10}
    assert deny.revocations_after(acme, expires_after=0, jtis=[]) == {}
    assert deny.customer_revocations(acme, customer_id="acme", expires_after=NOW) == {
        "new": NOW + 10
    }
    assert deny.delete_revocations(acme, expired_before=NOW) == 1
    assert deny.revocations_after(acme, expires_after=0) == {"new": NOW + 10, "o": NOW + 5}


def test_client_standings_and_reductions(acme: Store) -> None:
    first = client_record("acme", tokens_revoked_before=NOW - 5)
    second = client_record("acme", enabled=False)
    foreign = client_record("other")
    for record in (first, second, foreign):
        acme.insert_client(record=record)
    standings = deny.client_standings(acme, customer_id="acme")
    assert sorted((s.app_id, s.enabled, s.tokens_revoked_before) for s in standings) == sorted(
        [(first.id, True, NOW - 5), (second.id, False, None)]
    )
    assert [s.client_id for s in deny.client_standings(acme, customer_id="acme", app_ids=[])] == []
    only = deny.client_standings(acme, customer_id="acme", app_ids=[second.id, foreign.id])
    assert [s.client_id for s in only] == [second.client_id]
    assert deny.app_ids_of(acme, client_ids=[first.client_id, "gone"]) == [first.id]
    assert deny.app_ids_of(acme, client_ids=[]) == []
    acme.update_client(
        customer_id="acme", app_id=first.id, changes=ClientColumns(api_roles=("viewer",))
    )
    reductions = deny.latest_reductions(acme, customer_id="acme", client_ids=None, after=0)
    assert list(reductions) == [first.client_id]
    assert deny.latest_reductions(acme, customer_id="acme", client_ids=["x"], after=0) == {}


def test_settled_change_id_and_changes_of_kind(acme: Store) -> None:
    record = client_record("acme")
    acme.insert_client(record=record)
    acme.delete_client(customer_id="acme", app_id=record.id)
    latest = acme.latest_change_id()
    assert deny.settled_change_id(acme, at_or_before=NOW * 2) == latest
    assert deny.settled_change_id(acme, at_or_before=0) == 0
    deleted = deny.changes_of_kind(acme, customer_id="acme", kind="client_deleted", after=0)
    assert [c.entity_id for c in deleted] == [record.client_id]
    assert deny.changes_of_kind(acme, customer_id="other", kind="client_deleted", after=0) == []
