"""Contract of ``gatehouse.store.sealed`` (key check value, kept secrets, re-sealing), on SQLite
and PostgreSQL: a re-seal is all or nothing."""

from __future__ import annotations

import pytest

from gatehouse.store import sealed
from gatehouse.store.store import Store
from tests.store.test_store_contract import client_record, key_record


class Refused(Exception):
    pass


def test_the_key_check_value_is_written_once(store: Store) -> None:
    assert sealed.key_check(store) is None
    assert sealed.insert_key_check(store, value=b"first") == b"first"
    assert sealed.insert_key_check(store, value=b"second") == b"first"
    assert sealed.key_check(store) == b"first"


def test_sealed_data_and_a_sample_of_it(store: Store) -> None:
    assert not sealed.holds_sealed_data(store)
    assert sealed.a_sealed_value(store) is None
    store.create_customer(customer_id="acme", name="Acme")
    client = client_record("acme")
    store.insert_client(record=client)
    assert sealed.holds_sealed_data(store)
    assert sealed.a_sealed_value(store) == (client.secret_sealed, client.id)
    key = key_record("acme", kid="k1")
    store.insert_key(record=key)
    assert sealed.a_sealed_value(store) == (key.private_key_sealed, "k1")


def test_reseal_all_rewrites_every_value_and_the_check(store: Store) -> None:
    store.create_customer(customer_id="acme", name="Acme")
    store.insert_key(record=key_record("acme", kid="k1"))
    store.insert_key(record=key_record("acme", kid="k2"))
    client = client_record("acme")
    store.insert_client(record=client)
    seen: list[bytes | None] = []

    def keep(existing: bytes | None) -> bytes | None:
        seen.append(existing)
        return b"kept:" + (existing or b"")

    result = sealed.reseal_all(
        store,
        reseal=lambda value, context: None if context == "k2" else b"new:" + context.encode(),
        keep=keep,
        kept_name="hmac",
        check_value=b"check",
    )
    assert result == sealed.Resealed(signing_keys=1, client_secrets=1, unchanged=1)
    assert sealed.key_check(store) == b"check"
    assert sealed.kept_secret(store, name="hmac") == b"kept:"
    assert {k.kid: k.private_key_sealed for k in store.list_keys()}["k1"] == b"new:k1"
    assert store.get_client(app_id=client.id).secret_sealed == b"new:" + client.id.encode()
    sealed.reseal_all(
        store, reseal=lambda v, c: None, keep=keep, kept_name="hmac", check_value=b"check2"
    )
    assert seen == [None, b"kept:"]
    assert sealed.kept_secret(store, name="hmac") == b"kept:kept:"


def test_a_refused_value_rolls_the_whole_reseal_back(store: Store) -> None:
    store.create_customer(customer_id="acme", name="Acme")
    store.insert_key(record=key_record("acme", kid="k1"))
    client = client_record("acme")
    store.insert_client(record=client)
    sealed.insert_key_check(store, value=b"old")

    def reseal(value: bytes, context: str) -> bytes:
        if context == client.id:
            raise Refused
        return b"new"

    with pytest.raises(Refused):
        sealed.reseal_all(
            store, reseal=reseal, keep=lambda e: b"k", kept_name="hmac", check_value=b"check"
        )
    assert sealed.key_check(store) == b"old"
    assert sealed.kept_secret(store, name="hmac") is None
    assert store.list_keys()[0].private_key_sealed != b"new"
