"""The API while the store is unreachable: a valid token of a client no longer in memory gets the
v2 body's 503 with Retry-After (the error root's one handler), whether or not the request has a
body (the body limit checks the token before reading one), never a 500."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.runtime import Runtime
from tests.conftest import make_settings
from tests.factories import add_client, add_customer, basic_auth


def test_a_cold_client_of_a_valid_token_is_503_with_or_without_a_body(tmp_path: Path) -> None:
    runtime = Runtime.open(make_settings(tmp_path))
    add_customer(runtime)
    record, secret = add_client(runtime, roles=("owner",))
    path = tmp_path / "gatehouse.db"
    form = {"grant_type": "client_credentials"}
    with TestClient(create_app(runtime=runtime), base_url="http://testserver") as client:
        headers = {"Authorization": basic_auth(record.client_id, secret)}
        token = client.post("/oauth2/token", data=form, headers=headers).json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        runtime.replica.stop()  # no poller: the test says when the store is away
        runtime.audit.stop()  # the token's audit row written before the store goes
        runtime.replica.clients.clear()  # the client is cold now
        runtime.store.engine.dispose()
        path.rename(tmp_path / "saved.db")
        path.write_bytes(b"not a database " * 512)
        try:
            listed = client.get("/v2/corpora", headers=bearer)
            created = client.post("/v2/corpora", json={"key": "c1"}, headers=bearer)
        finally:
            runtime.store.engine.dispose()
            (tmp_path / "saved.db").replace(path)
    runtime.store.engine.dispose()
    assert (listed.status_code, created.status_code) == (503, 503)
    for response in (listed, created):
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert body["messages"] == ["the client store is unreachable; retry shortly"]
        assert set(body) == {"messages", "request_id"}
