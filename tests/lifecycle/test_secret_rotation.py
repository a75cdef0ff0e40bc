"""Secret rotation with a grace period: the new secret works at once, the old one until the
grace period ends, then ``invalid_client``."""

from __future__ import annotations

import time

from gatehouse.services import app_clients
from gatehouse.services.notify import UNHEARD
from tests.factories import TEST_ACTOR, request_token
from tests.lifecycle.conftest import Lifecycle

INVALID_CLIENT = {"error": "invalid_client", "error_description": "client authentication failed"}


def token_status(lc: Lifecycle, client_id: str, secret: str) -> int:
    response = request_token(lc.client, client_id, secret)
    if response.status_code == 401:
        assert response.json() == INVALID_CLIENT
    status: int = response.status_code
    return status


def rotate(lc: Lifecycle, app_id: str, grace: int) -> str:
    _record, secret = app_clients.rotate_secret(
        lc.runtime.store,
        lc.runtime.master_key,
        customer_id="acme",
        app_id=app_id,
        grace_period_seconds=grace,
        keep_secret=True,
        actor=TEST_ACTOR,
        notify=UNHEARD,
    )
    lc.runtime.changed()
    return secret


def test_the_old_secret_works_for_the_grace_period_then_is_invalid_client(lc: Lifecycle) -> None:
    app = lc.app()
    client_id = app.record.client_id
    new = rotate(lc, app.record.id, grace=1)
    rotated_at = time.monotonic()
    assert token_status(lc, client_id, new) == 200
    assert token_status(lc, client_id, app.secret) == 200
    time.sleep(max(0.0, 1.05 - (time.monotonic() - rotated_at)))
    assert token_status(lc, client_id, app.secret) == 401
    assert token_status(lc, client_id, new) == 200


def test_without_a_grace_period_the_old_secret_fails_at_once(lc: Lifecycle) -> None:
    app = lc.app()
    new = rotate(lc, app.record.id, grace=0)
    assert token_status(lc, app.record.client_id, app.secret) == 401
    assert token_status(lc, app.record.client_id, new) == 200


def test_tokens_issued_before_a_secret_rotation_stay_valid(lc: Lifecycle) -> None:
    app = lc.app()
    token = lc.token(app)
    rotate(lc, app.record.id, grace=0)
    assert lc.api_status(token) == 200
    assert lc.introspect(lc.app(name="resource server"), token).json()["active"] is True
