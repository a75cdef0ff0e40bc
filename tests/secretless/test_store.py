"""The store's secretless parts on SQLite and PostgreSQL: the client fields round trip,
federated credentials, and one assertion id used once (also by racing writers)."""

from __future__ import annotations

import concurrent.futures
import os
import time
from collections.abc import Iterator

import pytest

from gatehouse.masterkey import MasterKey
from gatehouse.secretless.replay import AssertionIds, assertion_key
from gatehouse.services import app_clients, federated_credentials
from gatehouse.services.app_clients import ClientChanges
from gatehouse.services.notify import UNHEARD
from gatehouse.store import federated
from gatehouse.store.engine import create_store_engine, migrate
from gatehouse.store.store import Store
from tests.factories import TEST_ACTOR, redis_url
from tests.secretless.keys import ec_key, public_jwks


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    engine = create_store_engine(database_url)
    migrate(engine)
    store = Store(engine)
    store.create_customer(customer_id="acme", name="Acme")
    yield store
    engine.dispose()


def test_client_fields_round_trip(store: Store) -> None:
    jwks = public_jwks(ec_key())
    record, secret = app_clients.create_client(
        store,
        MasterKey.from_bytes(os.urandom(32)),
        customer_id="acme",
        name="signer",
        keep_secret=True,
        actor=TEST_ACTOR,
        auth_fields={
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": jwks,
            "dpop_bound_access_tokens": True,
        },
        notify=UNHEARD,
    )
    assert secret is None
    loaded = store.get_client(app_id=record.id)
    assert (loaded.token_endpoint_auth_method, loaded.jwks) == ("private_key_jwt", jwks)
    assert (loaded.secret_hash, loaded.secret_sealed) == (b"", None)
    assert loaded.dpop_bound_access_tokens is True
    assert loaded.tls_client_certificate_bound_access_tokens is False
    changed = app_clients.update_client(
        store,
        customer_id="acme",
        app_id=record.id,
        changes=ClientChanges(auth={"jwks_uri": "https://keys.example/jwks.json"}),
        actor=TEST_ACTOR,
        notify=UNHEARD,
    )
    assert (changed.jwks, changed.jwks_uri) == (None, "https://keys.example/jwks.json")


def test_federated_credentials_and_cascade(store: Store) -> None:
    record, _ = app_clients.create_client(
        store,
        MasterKey.from_bytes(os.urandom(32)),
        customer_id="acme",
        name="w",
        keep_secret=False,
        actor=TEST_ACTOR,
        notify=UNHEARD,
    )
    before = store.latest_change_id()
    credential = federated_credentials.add_credential(
        store,
        customer_id="acme",
        app_id=record.id,
        fields={
            "name": "k8s",
            "issuer": "https://k8s.example",
            "subject": "system:serviceaccount:payments:*",
            "claims": {"kubernetes.io.namespace": "payments"},
        },
        allow_insecure=False,
        actor=TEST_ACTOR,
        notify=UNHEARD,
    )
    assert store.latest_change_id() > before  # replicas learn of it
    assert federated.list_credentials(store, app_id=record.id) == [credential]
    with pytest.raises(Exception, match="fc_nope"):
        federated.get_credential(
            store, customer_id="globex", app_id=record.id, credential_id="fc_nope"
        )
    app_clients.delete_client(
        store, customer_id="acme", app_id=record.id, actor=TEST_ACTOR, notify=UNHEARD
    )
    assert federated.list_credentials(store, app_id=record.id) == []


def test_an_assertion_id_is_used_once_even_by_racing_writers(store: Store) -> None:
    ids = AssertionIds(store)
    key = assertion_key("client abc", "jti-1")
    exp = time.time() + 60

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: ids.use(key, exp), range(12)))
    assert results.count(True) == 1
    assert ids.use(assertion_key("client abc", "jti-2"), exp) is True
    # Expired ids are pruned and may be used again (their assertions are refused by exp anyway).
    assert federated.use_assertion_id(store, key="old", expires_at=time.time() - 1) is True
    assert federated.prune_assertion_ids(store, before=time.time()) == 1
    assert federated.use_assertion_id(store, key="old", expires_at=time.time() + 60) is True


def test_jti_in_redis_when_configured(store: Store) -> None:
    import redis

    url = redis_url()
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs Redis: {exc}")
        pytest.skip(f"no Redis at {url}")
    first, second = AssertionIds(store, url), AssertionIds(store, url)
    key = assertion_key("client redis", os.urandom(8).hex())
    exp = time.time() + 30
    assert first.use(key, exp) is True
    assert second.use(key, exp) is False
