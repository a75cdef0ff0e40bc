"""Disabling a client revokes its tokens for good: re-enabling it does not revive them."""

from __future__ import annotations

from starlette.testclient import TestClient

from gatehouse.runtime import Runtime
from gatehouse.services import app_clients
from gatehouse.services.app_clients import ClientChanges
from gatehouse.services.notify import UNHEARD
from tests.factories import TEST_ACTOR, add_client, add_customer, get_token


def _set_enabled(runtime: Runtime, app_id: str, enabled: bool) -> None:
    app_clients.update_client(
        runtime.store,
        customer_id="acme",
        app_id=app_id,
        changes=ClientChanges(enabled=enabled),
        actor=TEST_ACTOR,
        notify=UNHEARD,
    )
    runtime.changed()


def test_tokens_of_a_disabled_then_re_enabled_client_stay_rejected(
    runtime: Runtime, client: TestClient
) -> None:
    add_customer(runtime)
    record, secret = add_client(runtime, roles=("viewer",))
    old = get_token(client, record.client_id, secret)
    assert client.get("/v2/corpora", headers={"authorization": f"Bearer {old}"}).status_code == 200

    _set_enabled(runtime, record.id, False)
    assert client.get("/v2/corpora", headers={"authorization": f"Bearer {old}"}).status_code == 401
    _set_enabled(runtime, record.id, True)

    rejected = client.get("/v2/corpora", headers={"authorization": f"Bearer {old}"})
    assert rejected.status_code == 401
    assert 'error="invalid_token"' in rejected.headers["www-authenticate"]
    new = get_token(client, record.client_id, secret)
    assert client.get("/v2/corpora", headers={"authorization": f"Bearer {new}"}).status_code == 200
