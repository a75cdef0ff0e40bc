"""How a client secret is kept (SPEC §1): a keyed hash (HMAC-SHA256 under a key derived from the
master key) for verification, an AES-GCM sealed copy bound to the client for "Copy secret" unless
the server runs show-once, and a stored hash never works as a secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from starlette.testclient import TestClient

from gatehouse import appclients
from gatehouse.app import create_app
from gatehouse.masterkey import MasterKey
from gatehouse.oauth.secrets import SecretHasher, generate_secret, hash_secret
from gatehouse.runtime import Runtime
from gatehouse.services import app_clients
from gatehouse.services.notify import UNHEARD
from gatehouse.store import tables as t
from tests.conftest import make_settings
from tests.factories import TEST_ACTOR, add_client, add_customer, basic_auth

INVALID_CLIENT = {"error": "invalid_client", "error_description": "client authentication failed"}


def stored_row(runtime: Runtime, app_id: str) -> tuple[bytes, bytes | None]:
    with runtime.store.engine.connect() as conn:
        row = conn.execute(
            select(t.app_clients.c.secret_hash, t.app_clients.c.secret_sealed).where(
                t.app_clients.c.id == app_id
            )
        ).one()
    return bytes(row.secret_hash), None if row.secret_sealed is None else bytes(row.secret_sealed)


# -- keyed hash --------------------------------------------------------------------------------


def test_hmac_key_is_hkdf_sha256_of_the_master_key() -> None:
    master = os.urandom(32)
    expected = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"gatehouse client-secret hmac v1"
    ).derive(master)
    assert MasterKey.from_bytes(master).secret_hmac_key == expected
    assert expected != master


def test_secret_hasher_equals_the_hmac_sha256_reference() -> None:
    key = MasterKey.from_bytes(os.urandom(32)).secret_hmac_key
    hasher = SecretHasher(key)
    for secret in (generate_secret(), generate_secret(), "", "ünïcode ✓"):
        reference = hmac.new(key, secret.encode(), hashlib.sha256).digest()
        assert hasher(secret) == reference
        assert hasher(secret) == reference  # the keyed state is copied, not consumed
        assert hash_secret(secret, key=key) == reference


def test_hash_depends_on_the_master_key() -> None:
    secret = generate_secret()
    first = MasterKey.from_bytes(os.urandom(32)).secret_hmac_key
    second = MasterKey.from_bytes(os.urandom(32)).secret_hmac_key
    assert hash_secret(secret, key=first) != hash_secret(secret, key=second)
    assert hash_secret(secret, key=first) != hashlib.sha256(secret.encode()).digest()


def test_stored_hash_is_hmac_of_the_secret_under_the_derived_key(runtime: Runtime) -> None:
    add_customer(runtime)
    record, secret = add_client(runtime)
    secret_hash, _sealed = stored_row(runtime, record.id)
    key = runtime.master_key.secret_hmac_key
    assert secret_hash == hmac.new(key, secret.encode(), hashlib.sha256).digest()
    assert secret.encode() not in secret_hash


# -- sealed copy -------------------------------------------------------------------------------


def test_seal_round_trips_with_a_fresh_nonce_each_time() -> None:
    key = MasterKey.from_bytes(os.urandom(32))
    first = key.seal(b"plain text", context="app_1")
    second = key.seal(b"plain text", context="app_1")
    assert first != second
    assert first[:12] != second[:12]
    assert b"plain text" not in first
    assert len(first) == 12 + len(b"plain text") + 16
    assert key.unseal(first, context="app_1") == b"plain text"
    assert key.unseal(second, context="app_1") == b"plain text"


def test_any_flipped_byte_of_a_sealed_copy_is_detected() -> None:
    key = MasterKey.from_bytes(os.urandom(32))
    sealed = key.seal(generate_secret().encode(), context="app_1")
    for index in range(len(sealed)):
        tampered = bytearray(sealed)
        tampered[index] ^= 0x01
        with pytest.raises(InvalidTag):
            key.unseal(bytes(tampered), context="app_1")
    with pytest.raises(InvalidTag):
        key.unseal(sealed[:-1], context="app_1")


def test_sealed_copy_is_bound_to_its_context_and_master_key() -> None:
    key = MasterKey.from_bytes(os.urandom(32))
    sealed = key.seal(b"secret", context="app_1")
    with pytest.raises(InvalidTag):
        key.unseal(sealed, context="app_2")
    with pytest.raises(InvalidTag):
        MasterKey.from_bytes(os.urandom(32)).unseal(sealed, context="app_1")


def test_stored_sealed_copy_reveals_the_secret_only_for_its_own_client(runtime: Runtime) -> None:
    add_customer(runtime)
    record, secret = add_client(runtime)
    other, _ = add_client(runtime)
    _hash, sealed = stored_row(runtime, record.id)
    assert sealed is not None
    assert secret.encode() not in sealed
    assert appclients.reveal_secret(runtime.master_key, record) == secret
    assert runtime.master_key.unseal(sealed, context=record.id) == secret.encode()
    # A sealed copy moved onto another row does not open there.
    with pytest.raises(InvalidTag):
        runtime.master_key.unseal(sealed, context=other.id)


# -- show-once mode ----------------------------------------------------------------------------


@pytest.fixture
def show_once(tmp_path: Path) -> Iterator[Runtime]:
    runtime = Runtime.open(make_settings(tmp_path, secret_retrieval=False))
    yield runtime
    runtime.store.engine.dispose()


def test_show_once_mode_stores_no_sealed_copy(show_once: Runtime) -> None:
    add_customer(show_once)
    record, secret = add_client(show_once)
    assert record.secret_sealed is None
    assert stored_row(show_once, record.id)[1] is None
    assert appclients.reveal_secret(show_once.master_key, record) is None
    rotated, new_secret = app_clients.rotate_secret(
        show_once.store,
        show_once.master_key,
        customer_id="acme",
        app_id=record.id,
        keep_secret=show_once.settings.secret_retrieval,
        actor=TEST_ACTOR,
        notify=UNHEARD,
    )
    assert new_secret != secret
    assert rotated.secret_sealed is None
    assert stored_row(show_once, record.id)[1] is None
    assert appclients.reveal_secret(show_once.master_key, rotated) is None


def test_show_once_secret_still_gets_a_token(show_once: Runtime) -> None:
    add_customer(show_once)
    record, secret = add_client(show_once)
    with TestClient(create_app(runtime=show_once), base_url="http://testserver") as client:
        response = client.post(
            "/oauth2/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": basic_auth(record.client_id, secret)},
        )
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"


# -- a stored hash is never a credential -------------------------------------------------------


def hash_encodings(digest: bytes) -> list[str]:
    return [
        digest.hex(),
        digest.hex().upper(),
        base64.b64encode(digest).decode(),
        base64.urlsafe_b64encode(digest).decode().rstrip("="),
        digest.decode("latin-1"),
    ]


def assert_invalid_client(status: int, headers: dict[str, str], body: object) -> None:
    assert status == 401
    assert body == INVALID_CLIENT
    assert headers["www-authenticate"] == 'Basic realm="gatehouse"'
    assert headers["cache-control"] == "no-store"
    assert headers["pragma"] == "no-cache"


@pytest.fixture
def lenient(tmp_path: Path) -> Iterator[Runtime]:
    """A runtime whose brute-force guard lets the many refusals below through as 401s."""
    runtime = Runtime.open(make_settings(tmp_path, bruteforce_client_failures=1000))
    yield runtime
    runtime.store.engine.dispose()


def test_stored_hash_presented_as_secret_is_invalid_client(lenient: Runtime) -> None:
    runtime = lenient
    add_customer(runtime)
    record, secret = add_client(runtime)
    secret_hash, sealed = stored_row(runtime, record.id)
    assert sealed is not None
    presented = [*hash_encodings(secret_hash), *hash_encodings(sealed)]
    with TestClient(create_app(runtime=runtime), base_url="http://testserver") as client:
        check_refused_then_accepted(client, record.client_id, secret, presented)


def check_refused_then_accepted(
    client: TestClient, client_id: str, secret: str, presented: list[str]
) -> None:
    for path in ("/oauth2/token", "/customers/acme/oauth2/token"):
        for fake in presented:
            by_basic = client.post(
                path,
                data={"grant_type": "client_credentials"},
                headers={"Authorization": basic_auth(client_id, fake)},
            )
            assert_invalid_client(by_basic.status_code, dict(by_basic.headers), by_basic.json())
            by_post = client.post(
                path,
                data={
                    "grant_type": "client_credentials",
                    "client_id": client_id,
                    "client_secret": fake,
                },
            )
            assert_invalid_client(by_post.status_code, dict(by_post.headers), by_post.json())
    # The real secret works, so the refusals above are about the credential, not the set-up.
    ok = client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic_auth(client_id, secret)},
    )
    assert ok.status_code == 200
