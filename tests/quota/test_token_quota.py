"""Per-client hourly token quotas (SPEC §6): off by default, set per client."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from tests.factories import TEST_ACTOR, add_client, add_customer

from gatehouse.errors import InvalidInput
from gatehouse.runtime import Runtime
from gatehouse.services import app_clients
from gatehouse.services.app_clients import ClientChanges
from gatehouse.services.notify import UNHEARD

FORM = {"content-type": "application/x-www-form-urlencoded"}


def _token(client: TestClient, client_id: str, secret: str) -> tuple[int, dict[str, str], bytes]:
    response = client.post(
        "/oauth2/token",
        content=f"grant_type=client_credentials&client_id={client_id}&client_secret={secret}",
        headers=FORM,
    )
    return response.status_code, dict(response.headers), response.content


def test_clients_have_no_quota_by_default(runtime: Runtime, client: TestClient) -> None:
    add_customer(runtime)
    record, secret = add_client(runtime)
    assert record.token_quota_per_hour is None
    for _ in range(30):
        assert _token(client, record.client_id, secret)[0] == 200


def test_quota_spent_gets_429_with_retry_after_and_oauth_body(
    runtime: Runtime, client: TestClient
) -> None:
    add_customer(runtime)
    record, secret = add_client(runtime)
    other, other_secret = add_client(runtime, name="other")
    app_clients.update_client(
        runtime.store,
        customer_id="acme",
        app_id=record.id,
        changes=ClientChanges(token_quota_per_hour=3),
        actor=TEST_ACTOR,
        notify=UNHEARD,
    )
    runtime.changed()
    for _ in range(3):
        assert _token(client, record.client_id, secret)[0] == 200
    status, headers, body = _token(client, record.client_id, secret)
    assert status == 429
    assert 1 <= int(headers["retry-after"]) <= 3601
    assert headers["cache-control"] == "no-store"
    assert body == (
        b'{"error":"invalid_request","error_description":'
        b'"this client\'s quota of 3 tokens per hour is spent"}'
    )
    # Another client is not affected.
    assert _token(client, other.client_id, other_secret)[0] == 200


def test_quota_cleared_lets_tokens_through_again(runtime: Runtime, client: TestClient) -> None:
    add_customer(runtime)
    record, secret = add_client(runtime)
    for quota in (1, None):
        app_clients.update_client(
            runtime.store,
            customer_id="acme",
            app_id=record.id,
            changes=ClientChanges(token_quota_per_hour=quota),
            actor=TEST_ACTOR,
            notify=UNHEARD,
        )
        runtime.changed()
        _token(client, record.client_id, secret)
    assert _token(client, record.client_id, secret)[0] == 200


@pytest.mark.parametrize("quota", [0, -5, True, 10**9])
def test_quota_out_of_range_is_refused(runtime: Runtime, quota: int) -> None:
    add_customer(runtime)
    record, _secret = add_client(runtime)
    with pytest.raises(InvalidInput) as caught:
        app_clients.update_client(
            runtime.store,
            customer_id="acme",
            app_id=record.id,
            changes=ClientChanges(token_quota_per_hour=quota),
            actor=TEST_ACTOR,
            notify=UNHEARD,
        )
    assert "token_quota_per_hour" in caught.value.field_errors
