"""``gatehouse keys rewrap``: every private key and kept secret re-sealed under a new master key
in one transaction, on SQLite and PostgreSQL. Afterwards the new key signs and verifies
everything (secrets shown once and grace-period secrets included), the old key is refused, a
second run changes nothing, and a value neither key opens changes nothing at all."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from starlette.testclient import TestClient

from gatehouse import appclients
from gatehouse.app import create_app
from gatehouse.console import results
from gatehouse.console.sessions import ConsolePrincipal
from gatehouse.keycheck import MasterKeyError
from gatehouse.masterkey import MasterKey
from gatehouse.rewrap import adopt_stored_keys, rewrap
from gatehouse.runtime import Runtime
from gatehouse.services import app_clients
from gatehouse.services.notify import UNHEARD
from gatehouse.settings import Settings
from gatehouse.store import tables as t
from gatehouse.store.users import ConsoleUser
from tests.cli.runner import Cli
from tests.conftest import make_settings
from tests.factories import TEST_ACTOR, add_client, add_customer


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def _settings(tmp_path: Path, database_url: str, key: str) -> Settings:
    return make_settings(tmp_path, database_url=database_url, master_key=key)


@pytest.fixture
def old_key() -> str:
    return _key()


@pytest.fixture
def runtime(tmp_path: Path, database_url: str, old_key: str) -> Iterator[Runtime]:
    rt = Runtime.open(_settings(tmp_path, database_url, old_key))
    yield rt
    rt.store.engine.dispose()


def _token(runtime: Runtime, client_id: str, secret: str) -> str:
    with TestClient(create_app(runtime=runtime), base_url="http://testserver") as http:
        response = http.post(
            "/customers/acme/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, secret),
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        jwks = http.get("/customers/acme/.well-known/jwks.json").json()
    key = jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(token)["kid"]].key
    jwt.decode(token, key, algorithms=["ES256"], audience="http://testserver")
    return token


def _key_file(tmp_path: Path, key: str) -> Path:
    path = tmp_path / "new.key"
    path.write_text(key + "\n")
    return path


def test_rewrap_moves_everything_to_the_new_key(
    tmp_path: Path, database_url: str, old_key: str, runtime: Runtime
) -> None:
    add_customer(runtime)
    kept, kept_secret = add_client(runtime)
    once, once_secret = app_clients.create_client(
        runtime.store,
        runtime.master_key,
        customer_id="acme",
        name="shown once",
        api_roles=["viewer"],
        keep_secret=False,
        actor=TEST_ACTOR,
        notify=UNHEARD,
    )
    assert once_secret is not None
    rotated, old_secret = add_client(runtime, name="rotated")
    rotated, new_secret = app_clients.rotate_secret(
        runtime.store,
        runtime.master_key,
        customer_id="acme",
        app_id=rotated.id,
        grace_period_seconds=3600,
        keep_secret=True,
        actor=TEST_ACTOR,
        notify=UNHEARD,
    )
    assert new_secret is not None
    runtime.store.engine.dispose()

    new_key = _key()
    cli = Cli(tmp_path / "cli", database_url=database_url, master_key=old_key)
    result = cli.json("keys", "rewrap", "--new-master-key-file", str(_key_file(tmp_path, new_key)))
    assert (result["signing_keys"], result["client_secrets"], result["unchanged"]) == (1, 2, 0)

    after = Runtime.open(_settings(tmp_path, database_url, new_key))
    try:
        for client_id, secret in [
            (kept.client_id, kept_secret),
            (once.client_id, once_secret),
            (rotated.client_id, old_secret),  # still in its grace period
            (rotated.client_id, new_secret),
        ]:
            _token(after, client_id, secret)
        record = after.store.get_client(app_id=kept.id)
        assert appclients.reveal_secret(after.master_key, record) == kept_secret
        audit = after.store.list_audit(customer_id="acme", limit=5, action="master_key.rewrap")
        assert [e.action for e in audit] == ["master_key.rewrap"]
    finally:
        after.store.engine.dispose()

    # The old key no longer opens the database: the key check value moved to the new key in
    # the rewrap's transaction, so the old one is refused with a message, nothing served.
    with pytest.raises(MasterKeyError, match="not the master key this database was sealed with"):
        Runtime.open(_settings(tmp_path, database_url, old_key))
    refused = cli.run("clients", "list", "--customer", "acme")
    assert (refused.code, refused.stdout) == (2, "")
    assert refused.stderr == (
        "error: GATEHOUSE_MASTER_KEY is not the master key this database was sealed with; set it "
        "to that key (nothing was changed)\n"
    )
    # The same command again (old key configured, as on the first run) changes nothing.
    again = cli.json("keys", "rewrap", "--new-master-key-file", str(_key_file(tmp_path, new_key)))
    assert (again["signing_keys"], again["client_secrets"], again["unchanged"]) == (0, 0, 3)
    # And a later rotation, from the new key to a third one, keeps working.
    third = _key()
    newer = cli.with_settings(master_key=new_key)
    moved = newer.json("keys", "rewrap", "--new-master-key-file", str(_key_file(tmp_path, third)))
    assert (moved["signing_keys"], moved["client_secrets"]) == (1, 2)
    final = Runtime.open(_settings(tmp_path, database_url, third))
    try:
        _token(final, once.client_id, once_secret)
    finally:
        final.store.engine.dispose()


def test_a_value_no_key_opens_leaves_everything_unchanged(
    tmp_path: Path, database_url: str, old_key: str, runtime: Runtime
) -> None:
    add_customer(runtime)
    client, secret = add_client(runtime)
    stranger = MasterKey.from_bytes(os.urandom(32))
    with runtime.store.engine.begin() as conn:
        before = dict(conn.execute(t.app_clients.select()).one()._mapping)
        conn.execute(
            t.app_clients.update().values(secret_sealed=stranger.seal(b"x", context=client.id))
        )
    runtime.store.engine.dispose()
    cli = Cli(tmp_path / "cli", database_url=database_url, master_key=old_key)
    new_key_file = _key_file(tmp_path, _key())
    failed = cli.run("keys", "rewrap", "--new-master-key-file", str(new_key_file))
    assert (failed.code, failed.stdout) == (1, "")
    assert failed.stderr == (
        f"error: neither the current nor the new master key opens the value of {client.id}; "
        "nothing was changed\n"
    )
    with runtime.store.engine.begin() as conn:
        conn.execute(t.app_clients.update().values(secret_sealed=before["secret_sealed"]))
        assert conn.execute(t.master_key_state.select()).all() == []
    still = Runtime.open(_settings(tmp_path, database_url, old_key))
    try:
        _token(still, client.client_id, secret)  # the signing key is still sealed under the old key
    finally:
        still.store.engine.dispose()
    bad = tmp_path / "bad.key"
    bad.write_text("changeme\n")
    invalid = cli.run("keys", "rewrap", "--new-master-key-file", str(bad))
    assert (invalid.code, invalid.stdout) == (2, "")
    assert invalid.stderr == (
        f"error: invalid new master key: the master key file {bad} must hold 32 bytes, "
        "base64-encoded (openssl rand -base64 32)\n"
    )


def test_a_console_secret_not_yet_shown_is_resealed(
    tmp_path: Path, database_url: str, old_key: str, runtime: Runtime
) -> None:
    """A one-time result (the secret a console action made, shown on the next page) that is
    pending while the master key is rotated still shows its secret afterwards."""

    add_customer(runtime)
    user = ConsoleUser(id="usr_1", customer_id="acme", email="a@example.com", role="owner")
    principal = ConsolePrincipal(
        user=user, csrf_token="c" * 32, expires_at=9e9, session_hash="s" * 64
    )
    claim = results.claim_form(runtime.store, principal, form_token=results.new_form_token())
    assert claim is not None
    results.finish_form(
        runtime.store,
        runtime.master_key,
        claim=claim,
        location=results.with_result("/console/acme/app-clients/app_1", claim.id),
        notice="Secret rotated",
        secret="gths_the-new-secret",
    )
    new = MasterKey.from_bytes(os.urandom(32))
    rewrap(runtime.store, adopt_stored_keys(runtime.store, runtime.master_key), new)
    shown = results.take_secret(
        runtime.store,
        adopt_stored_keys(runtime.store, new),
        principal,
        result_id=claim.id,
        path="/console/acme/app-clients/app_1",
    )
    assert shown == "gths_the-new-secret"
