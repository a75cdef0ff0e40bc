"""A revoked token stays refused between its ``exp`` and ``exp`` plus the verifier's leeway,
in the process that revoked it and in one started after the revocation."""

from __future__ import annotations

import time

from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.runtime import Runtime
from gatehouse.store.models import ClientColumns
from tests.factories import add_customer, claims_of
from tests.lifecycle.conftest import Lifecycle

LIFETIME = 2  # seconds: below what the API allows, written to the store directly


def wait_past(moment: float) -> None:
    """Wait until the wall clock has passed ``moment`` (a condition with a deadline)."""
    deadline = time.monotonic() + 30
    while time.time() <= moment:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_revoked_token_is_refused_after_exp_within_the_leeway(
    client: TestClient, runtime: Runtime
) -> None:
    add_customer(runtime, "acme")
    lc = Lifecycle(client, runtime)
    app = lc.app()
    runtime.store.update_client(
        customer_id="acme",
        app_id=app.record.id,
        changes=ClientColumns(token_lifetime_seconds=LIFETIME),
    )
    runtime.changed()
    token, kept = lc.token(app), lc.token(app)
    exp = float(claims_of(token)["exp"])
    assert exp - claims_of(token)["iat"] == LIFETIME
    assert lc.revoke(app, token).status_code == 200
    wait_past(exp + 0.5)
    # The verifier still accepts an expired token for its 30 s leeway (clock skew)...
    assert lc.api_status(kept) == 200
    # ...but not a revoked one: its deny entry outlives exp + leeway.
    assert lc.api_status(token) == 401
    runtime.replica.refresh()
    assert runtime.replica.is_jti_revoked(claims_of(token)["jti"])

    started_after = Runtime.open(runtime.settings)
    try:
        with TestClient(create_app(runtime=started_after)) as other:
            headers = {"Authorization": f"Bearer {token}"}
            assert other.get("/v2/corpora", headers=headers).status_code == 401
            kept_headers = {"Authorization": f"Bearer {kept}"}
            assert other.get("/v2/corpora", headers=kept_headers).status_code == 200
    finally:
        started_after.store.engine.dispose()
