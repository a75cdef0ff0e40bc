"""A change-feed record this process cannot apply is logged and skipped: the records after it
(deny entries, deletes) are applied, the write that committed answers its success, and
``/readyz`` reports the skipped record."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.keyring import new_key
from gatehouse.masterkey import MasterKey
from gatehouse.runtime import Runtime
from gatehouse.settings import Settings
from tests.conftest import make_settings
from tests.factories import add_customer, basic_auth, claims_of
from tests.lifecycle.conftest import Lifecycle


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url=database_url)


def write_unusable_key(runtime: Runtime) -> None:
    """What a process with another master key would have written: an active key this process
    cannot unseal (the key check now stops such a process; old stores may hold one)."""
    other = MasterKey.from_bytes(os.urandom(32))
    runtime.store.insert_key(record=new_key(other, customer_id="acme", alg="ES256", state="active"))


def test_records_after_an_unusable_one_are_applied_and_readyz_reports_it(
    client: TestClient, runtime: Runtime
) -> None:
    add_customer(runtime, "acme")
    lc = Lifecycle(client, runtime)
    owner, doomed = lc.app(name="owner"), lc.app(name="doomed")
    revoked, admin = lc.token(owner), lc.token(owner)
    assert client.get("/readyz").json() == {
        "status": "ok",
        "database": True,
        "change_feed": {"ok": True, "skipped": 0},
    }
    write_unusable_key(runtime)
    # The revocation and the delete committed after the unusable record: both answer success
    # and both are in force at once.
    assert lc.revoke(owner, revoked).status_code == 200
    assert lc.api_status(revoked) == 401
    deleted = client.delete(
        f"/v2/app_clients/{doomed.record.id}", headers={"Authorization": f"Bearer {admin}"}
    )
    assert deleted.status_code == 204, deleted.text
    refused = client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic_auth(doomed.record.client_id, doomed.secret)},
    )
    assert refused.status_code == 401
    # The customer keeps signing with the key it had.
    assert claims_of(lc.token(owner))["customer_id"] == "acme"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    feed = ready.json()["change_feed"]
    assert (ready.json()["status"], feed["ok"], feed["skipped"]) == ("degraded", False, 1)
    assert isinstance(feed["last_skipped_id"], int)
    assert "gatehouse_change_feed_skipped 1.0" in client.get("/metrics").text

    # A process started afterwards with the right key starts, and refuses the revoked token.
    restarted = Runtime.open(runtime.settings)
    try:
        assert restarted.replica.is_jti_revoked(claims_of(revoked)["jti"])
        with TestClient(create_app(runtime=restarted)) as again:
            response = again.get("/v2/corpora", headers={"Authorization": f"Bearer {revoked}"})
            assert response.status_code == 401
            assert again.get("/readyz").json()["change_feed"]["skipped"] == 1
    finally:
        restarted.store.engine.dispose()


def test_master_keys_differ_by_their_check_values() -> None:
    raw = os.urandom(32)
    same = MasterKey.from_bytes(base64.b64decode(base64.b64encode(raw)))
    assert MasterKey.from_bytes(raw).check_value == same.check_value
    assert MasterKey.from_bytes(os.urandom(32)).check_value != same.check_value
