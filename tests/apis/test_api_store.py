"""The API and registration tables on SQLite and PostgreSQL: uniqueness, cascades, the change
feed entries replicas and the revocation feed rely on, and atomic use counts."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from gatehouse.store.apis import ApiRecord, ApiScope, ApiStore, new_api_id
from gatehouse.store.engine import create_store_engine, migrate
from gatehouse.store.registrations import InitialTokenRecord, RegistrationStore
from gatehouse.store.store import Conflict, NotFound, Store
from tests.store.test_store_contract import client_record


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    engine = create_store_engine(database_url)
    migrate(engine)
    yield Store(engine)
    engine.dispose()


def api_record(customer_id: str, identifier: str, match_key: str, *scopes: str) -> ApiRecord:
    now = time.time()
    return ApiRecord(
        id=new_api_id(),
        customer_id=customer_id,
        identifier=identifier,
        match_key=match_key,
        name="payments",
        description="",
        scopes=tuple(ApiScope(s) for s in scopes),
        token_lifetime_seconds=None,
        created_at=now,
        updated_at=now,
    )


def kinds_after(store: Store, change_id: int) -> list[tuple[str, str]]:
    return [(c.kind, c.entity_id) for c in store.changes_after(change_id)]


def test_every_customer_gets_one_built_in_api(store: Store) -> None:
    store.create_customer(customer_id="acme", name="Acme")
    store.create_customer(customer_id="other", name="Other")
    apis = ApiStore(store.engine)
    [builtin] = apis.list_apis(customer_id="acme")
    assert builtin.builtin
    assert builtin.identifier is None
    assert apis.builtin_api(customer_id="other").id != builtin.id


def test_identifiers_are_unique_per_customer_by_match_key(store: Store) -> None:
    store.create_customer(customer_id="acme", name="Acme")
    store.create_customer(customer_id="other", name="Other")
    apis = ApiStore(store.engine)
    apis.insert_api(record=api_record("acme", "https://p.example", "https://p.example", "r"))
    with pytest.raises(Conflict):
        apis.insert_api(record=api_record("acme", "HTTPS://P.example", "https://p.example"))
    apis.insert_api(record=api_record("other", "https://p.example", "https://p.example"))
    found = apis.find_api(customer_id="acme", match_key="https://p.example")
    assert found is not None
    assert found.scopes == (ApiScope("r"),)
    assert apis.find_api(customer_id="acme", match_key="https://p.example\x00") is None
    with pytest.raises(NotFound):
        apis.get_api(customer_id="acme", api_id="api_\x00")


def test_grants_record_client_changes_and_cut_offs_and_cascade(store: Store) -> None:
    store.create_customer(customer_id="acme", name="Acme")
    client = client_record()
    store.insert_client(record=client)
    apis = ApiStore(store.engine)
    api = api_record("acme", "https://p.example", "https://p.example", "r", "w")
    apis.insert_api(record=api)
    mark = store.latest_change_id()
    apis.put_grant(customer_id="acme", app_id=client.id, api_id=api.id, scopes=["r", "w"])
    assert kinds_after(store, mark) == [("client", client.id)]
    mark = store.latest_change_id()
    apis.put_grant(customer_id="acme", app_id=client.id, api_id=api.id, scopes=["r"])
    # Narrowing a grant is a cut-off on the revocation feed, named by client_id.
    assert kinds_after(store, mark) == [("client", client.id), ("roles_reduced", client.client_id)]
    [grant] = apis.list_grants(app_id=client.id)
    assert grant.scopes == ("r",)
    # Taking a scope out of the API takes it out of the grant (and the grant, when empty).
    mark = store.latest_change_id()
    apis.update_api(customer_id="acme", api_id=api.id, values={"scopes": (ApiScope("w"),)})
    assert apis.list_grants(app_id=client.id) == []
    assert ("roles_reduced", client.client_id) in kinds_after(store, mark)
    apis.put_grant(customer_id="acme", app_id=client.id, api_id=api.id, scopes=["w"])
    apis.delete_api(customer_id="acme", api_id=api.id)
    assert apis.list_grants(app_id=client.id) == []
    # A grant goes with its client.
    other = api_record("acme", "https://q.example", "https://q.example", "x")
    apis.insert_api(record=other)
    apis.put_grant(customer_id="acme", app_id=client.id, api_id=other.id, scopes=["x"])
    store.delete_client(customer_id="acme", app_id=client.id)
    assert apis.list_grants() == []
    with pytest.raises(NotFound):
        apis.put_grant(customer_id="acme", app_id=client.id, api_id=other.id, scopes=["x"])


def test_another_customers_client_cannot_be_granted(store: Store) -> None:
    store.create_customer(customer_id="acme", name="Acme")
    store.create_customer(customer_id="other", name="Other")
    client = client_record()
    store.insert_client(record=client)
    apis = ApiStore(store.engine)
    api = api_record("other", "https://p.example", "https://p.example", "r")
    apis.insert_api(record=api)
    with pytest.raises(NotFound):
        apis.put_grant(customer_id="other", app_id=client.id, api_id=api.id, scopes=["r"])


def test_initial_token_uses_are_counted_atomically_up_to_max(store: Store) -> None:
    store.create_customer(customer_id="acme", name="Acme")
    registrations = RegistrationStore(store.engine)
    now = time.time()
    record = InitialTokenRecord("iat_1", "acme", ("viewer",), now + 60, 2, 0, None, now)
    registrations.insert_initial_token(record=record, token_hash=b"h" * 32)
    assert registrations.use_initial_token(token_hash=b"h" * 32, now=now) is not None
    used = registrations.use_initial_token(token_hash=b"h" * 32, now=now)
    assert used is not None
    assert used.uses == 2
    assert registrations.use_initial_token(token_hash=b"h" * 32, now=now) is None
    expired = InitialTokenRecord("iat_2", "acme", ("viewer",), now - 1, None, 0, None, now)
    registrations.insert_initial_token(record=expired, token_hash=b"e" * 32)
    assert registrations.use_initial_token(token_hash=b"e" * 32, now=now) is None
    registrations.revoke_initial_token(customer_id="acme", token_id="iat_1")
    with pytest.raises(NotFound):
        registrations.revoke_initial_token(customer_id="other", token_id="iat_2")
    assert [
        r.revoked_at is not None for r in registrations.list_initial_tokens(customer_id="acme")
    ] == [
        True,
        False,
    ]
