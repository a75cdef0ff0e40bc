"""The store contract: every verb of ``gatehouse.store.store.Store``, run for real on SQLite and on
a fresh PostgreSQL database (the ``database_url`` fixture runs each test on both)."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest

from gatehouse.store.models import (
    AppClientRecord,
    AuditEvent,
    Change,
    ClientColumns,
    CorpusRole,
    Customer,
    KeyState,
    SigningKeyRecord,
)
from gatehouse.store.store import Conflict, NotFound, Store

_counter = iter(range(1, 1_000_000))


def client_record(
    customer_id: str = "acme",
    *,
    name: str = "client",
    created_at: float = 1_700_000_000.0,
    app_id: str | None = None,
    **overrides: Any,
) -> AppClientRecord:
    n = next(_counter)
    values: dict[str, Any] = {
        "id": app_id or f"app_{n:016d}",
        "customer_id": customer_id,
        "type": "client_credentials",
        "name": name,
        "description": f"description {n}",
        "client_id": f"cid{n:023d}",
        "secret_hash": bytes([n % 256]) * 32,
        "secret_sealed": b"sealed" + bytes([n % 256]),
        "previous_secret_hash": None,
        "previous_secret_expires_at": None,
        "api_roles": ("owner", "viewer"),
        "corpus_roles": (CorpusRole(corpus_key="docs", role="editor"),),
        "enabled": True,
        "token_lifetime_seconds": 1800,
        "token_quota_per_hour": None,
        "tokens_revoked_before": None,
        "created_at": created_at,
        "updated_at": created_at,
        "last_used_at": None,
    }
    values.update(overrides)
    return AppClientRecord(**values)


def key_record(
    customer_id: str = "acme", *, kid: str, state: KeyState = "active"
) -> SigningKeyRecord:
    return SigningKeyRecord(
        kid=kid,
        customer_id=customer_id,
        alg="ES256",
        state=state,
        private_key_sealed=b"sealed-private-" + kid.encode(),
        public_jwk={"kty": "EC", "crv": "P-256", "x": kid + "x", "y": kid + "y"},
        created_at=time.time(),
        activated_at=time.time() if state == "active" else None,
        retired_at=None,
        remove_after=None,
    )


def change_kinds(changes: list[Change]) -> list[tuple[str, str, str]]:
    return [(c.kind, c.customer_id, c.entity_id) for c in changes]


# -- customers ---------------------------------------------------------------------------------


def test_create_customer_returns_it_and_get_reads_it_back(store: Store) -> None:
    before = time.time()
    customer = store.create_customer(customer_id="acme", name="Acme Inc.")
    assert customer.id == "acme"
    assert customer.name == "Acme Inc."
    assert before <= customer.created_at <= time.time()
    assert store.get_customer(customer_id="acme") == customer


def test_digits_only_customer_id_is_stored(store: Store) -> None:
    store.create_customer(customer_id="1234567890", name="Numbers")
    assert store.get_customer(customer_id="1234567890").name == "Numbers"


def test_duplicate_customer_is_conflict_and_keeps_the_first(store: Store) -> None:
    store.create_customer(customer_id="acme", name="First")
    with pytest.raises(Conflict):
        store.create_customer(customer_id="acme", name="Second")
    assert store.get_customer(customer_id="acme").name == "First"


def test_get_unknown_customer_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.get_customer(customer_id="nobody")


def test_list_customers_orders_by_id(store: Store) -> None:
    assert store.list_customers() == []
    for customer_id in ("zeta", "1234567890", "acme"):
        store.create_customer(customer_id=customer_id, name=customer_id)
    assert [c.id for c in store.list_customers()] == ["1234567890", "acme", "zeta"]
    assert all(isinstance(c, Customer) for c in store.list_customers())


# -- app clients -------------------------------------------------------------------------------


@pytest.fixture
def two_customers(store: Store) -> Store:
    store.create_customer(customer_id="acme", name="Acme")
    store.create_customer(customer_id="globex", name="Globex")
    return store


def test_inserted_client_reads_back_equal_field_for_field(two_customers: Store) -> None:
    store = two_customers
    record = client_record(
        previous_secret_hash=b"\x01" * 32,
        previous_secret_expires_at=1_700_000_500.5,
        token_quota_per_hour=100,
        tokens_revoked_before=1_700_000_100.25,
        last_used_at=1_700_000_200.125,
        corpus_roles=(
            CorpusRole(corpus_key="docs", role="editor"),
            CorpusRole(corpus_key="my_corpus=1", role="owner"),
        ),
    )
    store.insert_client(record=record)
    assert store.get_client(app_id=record.id) == record
    assert store.get_client(app_id=record.id, customer_id="acme") == record
    assert store.find_client(client_id=record.client_id) == record


def test_client_without_sealed_secret_reads_back_none(two_customers: Store) -> None:
    record = client_record(secret_sealed=None)
    two_customers.insert_client(record=record)
    assert two_customers.get_client(app_id=record.id).secret_sealed is None


def test_another_customers_client_is_not_found(two_customers: Store) -> None:
    store = two_customers
    record = client_record("acme")
    store.insert_client(record=record)
    with pytest.raises(NotFound):
        store.get_client(app_id=record.id, customer_id="globex")
    with pytest.raises(NotFound):
        store.get_client(app_id="app_unknown")


def test_find_unknown_client_id_is_none(two_customers: Store) -> None:
    assert two_customers.find_client(client_id="no-such-client-id-000000") is None


def test_list_clients_orders_by_creation_then_id_and_scopes_by_customer(
    two_customers: Store,
) -> None:
    store = two_customers
    late = client_record("acme", created_at=300.0, app_id="app_a")
    tie_b = client_record("acme", created_at=200.0, app_id="app_b")
    tie_a = client_record("acme", created_at=200.0, app_id="app_0")
    early = client_record("acme", created_at=100.0, app_id="app_z")
    other = client_record("globex", created_at=150.0, app_id="app_g")
    for record in (late, tie_b, other, tie_a, early):
        store.insert_client(record=record)
    assert [c.id for c in store.list_clients(customer_id="acme")] == [
        "app_z",
        "app_0",
        "app_b",
        "app_a",
    ]
    assert [c.id for c in store.list_clients(customer_id="globex")] == ["app_g"]
    assert [c.id for c in store.list_clients()] == ["app_z", "app_g", "app_0", "app_b", "app_a"]


def test_list_clients_pages_with_keyset_after(two_customers: Store) -> None:
    store = two_customers
    ids = []
    for i in range(7):
        # Pairs share a creation time, so the id breaks the tie across page boundaries.
        record = client_record("acme", created_at=1000.0 + i // 2, app_id=f"app_{i:02d}")
        store.insert_client(record=record)
        ids.append(record.id)
    seen: list[str] = []
    after: tuple[float, str] | None = None
    pages = 0
    while True:
        page = store.list_clients(customer_id="acme", limit=3, after=after)
        if not page:
            break
        pages += 1
        seen.extend(c.id for c in page)
        after = (page[-1].created_at, page[-1].id)
    assert seen == ids
    assert pages == 3


def test_list_clients_name_filter_is_case_insensitive_substring(two_customers: Store) -> None:
    store = two_customers
    for name in ("Billing Robot", "robotics", "Reporter"):
        store.insert_client(record=client_record("acme", name=name))
    store.insert_client(record=client_record("globex", name="Robot of Globex"))
    found = store.list_clients(customer_id="acme", name_contains="ROBOT")
    assert sorted(c.name for c in found) == ["Billing Robot", "robotics"]


@pytest.mark.parametrize(
    ("needle", "expected"),
    [("100%", ["100% sure"]), ("a_b", ["a_b"]), ("%", ["100% sure"]), ("_", ["a_b"])],
)
def test_list_clients_name_filter_takes_wildcards_literally(
    two_customers: Store, needle: str, expected: list[str]
) -> None:
    store = two_customers
    for name in ("100% sure", "1000 sure", "a_b", "axb", "plain"):
        store.insert_client(record=client_record("acme", name=name))
    found = store.list_clients(customer_id="acme", name_contains=needle)
    assert [c.name for c in found] == expected


def test_update_client_sets_roles_enabled_and_lifetime(two_customers: Store) -> None:
    store = two_customers
    record = client_record("acme")
    store.insert_client(record=record)
    before = time.time()
    updated = store.update_client(
        customer_id="acme",
        app_id=record.id,
        changes=ClientColumns(
            api_roles=("viewer",),
            corpus_roles=(CorpusRole(corpus_key="kb", role="viewer"),),
            enabled=False,
            token_lifetime_seconds=600,
        ),
    )
    assert updated.api_roles == ("viewer",)
    assert updated.corpus_roles == (CorpusRole(corpus_key="kb", role="viewer"),)
    assert updated.enabled is False
    assert updated.token_lifetime_seconds == 600
    assert updated.updated_at >= before
    assert updated == dataclasses.replace(
        record,
        api_roles=("viewer",),
        corpus_roles=(CorpusRole(corpus_key="kb", role="viewer"),),
        enabled=False,
        token_lifetime_seconds=600,
        updated_at=updated.updated_at,
    )
    assert store.get_client(app_id=record.id) == updated


def test_update_client_can_clear_roles(two_customers: Store) -> None:
    store = two_customers
    record = client_record("acme")
    store.insert_client(record=record)
    updated = store.update_client(
        customer_id="acme", app_id=record.id, changes=ClientColumns(api_roles=(), corpus_roles=())
    )
    assert (updated.api_roles, updated.corpus_roles) == ((), ())
    assert store.get_client(app_id=record.id).api_roles == ()


def test_update_of_missing_or_foreign_client_is_not_found_and_changes_nothing(
    two_customers: Store,
) -> None:
    store = two_customers
    record = client_record("acme")
    store.insert_client(record=record)
    cursor = store.latest_change_id()
    with pytest.raises(NotFound):
        store.update_client(
            customer_id="acme", app_id="app_missing", changes=ClientColumns(enabled=False)
        )
    with pytest.raises(NotFound):
        store.update_client(
            customer_id="globex", app_id=record.id, changes=ClientColumns(enabled=False)
        )
    assert store.get_client(app_id=record.id) == record
    assert store.latest_change_id() == cursor


def test_delete_client_removes_it_and_only_it(two_customers: Store) -> None:
    store = two_customers
    doomed, kept = client_record("acme"), client_record("acme")
    store.insert_client(record=doomed)
    store.insert_client(record=kept)
    store.delete_client(customer_id="acme", app_id=doomed.id)
    with pytest.raises(NotFound):
        store.get_client(app_id=doomed.id)
    assert store.find_client(client_id=doomed.client_id) is None
    assert [c.id for c in store.list_clients(customer_id="acme")] == [kept.id]


def test_delete_of_missing_or_foreign_client_is_not_found(two_customers: Store) -> None:
    store = two_customers
    record = client_record("acme")
    store.insert_client(record=record)
    with pytest.raises(NotFound):
        store.delete_client(customer_id="globex", app_id=record.id)
    with pytest.raises(NotFound):
        store.delete_client(customer_id="acme", app_id="app_missing")
    assert store.get_client(app_id=record.id) == record


def test_touch_clients_sets_last_used_without_recording_a_change(two_customers: Store) -> None:
    store = two_customers
    first, second, untouched = (client_record("acme") for _ in range(3))
    for record in (first, second, untouched):
        store.insert_client(record=record)
    cursor = store.latest_change_id()
    store.touch_clients(last_used={first.id: 1_800_000_000.5, second.id: 1_800_000_001.25})
    store.touch_clients(last_used={})
    assert store.get_client(app_id=first.id).last_used_at == 1_800_000_000.5
    assert store.get_client(app_id=second.id).last_used_at == 1_800_000_001.25
    assert store.get_client(app_id=untouched.id).last_used_at is None
    assert store.latest_change_id() == cursor


# -- signing keys ------------------------------------------------------------------------------


def test_insert_and_list_keys_per_customer_in_creation_order(two_customers: Store) -> None:
    store = two_customers
    old = key_record("acme", kid="kid-old")
    new = dataclasses.replace(
        key_record("acme", kid="kid-new", state="next"), created_at=old.created_at + 1
    )
    foreign = key_record("globex", kid="kid-globex")
    for record in (new, foreign, old):
        store.insert_key(record=record)
    assert store.list_keys(customer_id="acme") == [old, new]
    assert store.list_keys(customer_id="globex") == [foreign]
    assert {k.kid for k in store.list_keys()} == {"kid-old", "kid-new", "kid-globex"}


def test_set_key_states_updates_only_that_customers_keys(two_customers: Store) -> None:
    store = two_customers
    active = key_record("acme", kid="kid-a")
    pending = dataclasses.replace(
        key_record("acme", kid="kid-b", state="next"), created_at=active.created_at + 1
    )
    foreign = key_record("globex", kid="kid-g")
    for record in (active, pending, foreign):
        store.insert_key(record=record)
    store.set_key_states(
        customer_id="acme",
        states={
            "kid-a": {"state": "retired", "retired_at": 10.0, "remove_after": 20.0},
            "kid-b": {"state": "active", "activated_at": 10.0},
            "kid-g": {"state": "removed"},  # another customer's kid: untouched
        },
    )
    assert store.list_keys(customer_id="acme") == [
        dataclasses.replace(active, state="retired", retired_at=10.0, remove_after=20.0),
        dataclasses.replace(pending, state="active", activated_at=10.0),
    ]
    assert store.list_keys(customer_id="globex") == [foreign]


# -- change feed -------------------------------------------------------------------------------


def test_fresh_store_has_no_changes(store: Store) -> None:
    assert store.latest_change_id() == 0
    assert store.changes_after(0) == []
    assert store.changes_by_id([]) == []


def test_every_write_records_a_change_in_order(store: Store) -> None:
    store.create_customer(customer_id="acme", name="Acme")
    record = client_record("acme")
    store.insert_client(record=record)
    store.update_client(customer_id="acme", app_id=record.id, changes=ClientColumns(enabled=False))
    store.delete_client(customer_id="acme", app_id=record.id)
    store.insert_key(record=key_record("acme", kid="kid-1"))
    store.set_key_states(customer_id="acme", states={"kid-1": {"state": "retired"}})
    store.append_audit(events=[AuditEvent(customer_id="acme", at=1.0, actor="t", action="x")])
    changes = store.changes_after(0)
    assert change_kinds(changes) == [
        ("customer", "acme", "acme"),
        ("client", "acme", record.id),
        ("client", "acme", record.id),
        ("client", "acme", record.id),
        ("client_deleted", "acme", record.client_id),
        ("keys", "acme", "kid-1"),
        ("keys", "acme", "*"),
    ]
    ids = [c.id for c in changes]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert store.latest_change_id() == ids[-1]
    assert all(time.time() - 60 < c.at <= time.time() for c in changes)


def test_changes_after_returns_later_changes_up_to_the_limit(store: Store) -> None:
    for i in range(6):
        store.create_customer(customer_id=f"c{i}", name=f"C{i}")
    everything = store.changes_after(0)
    assert [c.entity_id for c in everything] == [f"c{i}" for i in range(6)]
    middle = store.changes_after(everything[1].id, limit=3)
    assert middle == everything[2:5]
    assert store.changes_after(everything[-1].id) == []
    assert store.changes_after(everything[3].id) == everything[4:]


def test_changes_by_id_returns_exactly_those_changes(store: Store) -> None:
    for i in range(4):
        store.create_customer(customer_id=f"c{i}", name=f"C{i}")
    everything = store.changes_after(0)
    wanted = [everything[3].id, everything[0].id, 999_999]
    found = sorted(store.changes_by_id(wanted), key=lambda c: c.id)
    assert found == [everything[0], everything[3]]


# -- audit log ---------------------------------------------------------------------------------


def audit_event(action: str, n: int, customer_id: str = "acme") -> AuditEvent:
    return AuditEvent(
        customer_id=customer_id,
        at=1_700_000_000.0 + n,
        actor="cli",
        action=action,
        target=f"app_{n}",
        source="127.0.0.1",
        detail={"n": n, "scope": "owner viewer"},
    )


def test_audit_lists_newest_first_with_ids_and_details(store: Store) -> None:
    store.append_audit(events=[audit_event("app_client.create", 1), audit_event("token.issue", 2)])
    store.append_audit(events=[audit_event("token.issue", 3)])
    store.append_audit(events=[audit_event("token.issue", 4, customer_id="globex")])
    store.append_audit(events=[])
    events = store.list_audit(customer_id="acme")
    assert [e.detail["n"] for e in events] == [3, 2, 1]
    ids = [e.id for e in events]
    assert all(isinstance(i, int) for i in ids)
    assert ids == sorted(ids, reverse=True)  # type: ignore[type-var]
    assert dataclasses.replace(events[0], id=None) == audit_event("token.issue", 3)


def test_audit_pages_with_before_id_and_filters_by_action(store: Store) -> None:
    actions = ["token.issue", "app_client.create"] * 5
    store.append_audit(events=[audit_event(a, n) for n, a in enumerate(actions)])
    first = store.list_audit(customer_id="acme", limit=4)
    assert [e.detail["n"] for e in first] == [9, 8, 7, 6]
    second = store.list_audit(customer_id="acme", limit=4, before_id=first[-1].id)
    assert [e.detail["n"] for e in second] == [5, 4, 3, 2]
    last = store.list_audit(customer_id="acme", limit=4, before_id=second[-1].id)
    assert [e.detail["n"] for e in last] == [1, 0]
    creates = store.list_audit(customer_id="acme", action="app_client.create")
    assert [e.detail["n"] for e in creates] == [9, 7, 5, 3, 1]
    older_creates = store.list_audit(
        customer_id="acme", action="app_client.create", limit=2, before_id=creates[1].id
    )
    assert [e.detail["n"] for e in older_creates] == [5, 3]
    assert store.list_audit(customer_id="acme", action="nothing") == []
