"""Signing-key rotation (by hand and on a schedule) and the background maintenance: tokens signed
before a rotation keep working, verified with PyJWT against the served JWKS; a retired key stays
published until its last token has expired; expired deny-list entries and old audit events go."""

from __future__ import annotations

import fcntl
import time
from pathlib import Path
from typing import Any

import jwt
import psycopg
import pytest
from sqlalchemy import select

from gatehouse.keyring import ACTIVATION_DELAY, rotate_keys
from gatehouse.maintenance import DAY, PG_LOCK, Maintenance
from gatehouse.runtime import Runtime
from gatehouse.store import tables as t
from gatehouse.store.models import AuditEvent
from tests.conftest import make_settings
from tests.factories import add_customer, claims_of
from tests.lifecycle.conftest import Lifecycle

JWKS = "/customers/acme/.well-known/jwks.json"


def served_keys(lc: Lifecycle) -> dict[str, Any]:
    response = lc.client.get(JWKS)
    assert response.status_code == 200
    return {key["kid"]: key for key in response.json()["keys"]}


def pyjwt_verify(lc: Lifecycle, token: str) -> dict[str, Any]:
    """Verify as a third party would: PyJWT with the key the served JWKS names by kid."""
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = served_keys(lc)[kid]
    key = jwt.PyJWK.from_dict(jwk)
    claims: dict[str, Any] = jwt.decode(
        token,
        key=key,
        algorithms=[jwk["alg"]],
        audience="http://testserver",
        issuer="http://testserver/customers/acme",
    )
    return claims


def maintenance(lc: Lifecycle, **settings: Any) -> Maintenance:
    runtime = lc.runtime
    return Maintenance(
        runtime.settings.model_copy(update=settings),
        runtime.store,
        runtime.master_key,
        audit=runtime.audit,
        on_change=runtime.changed,
    )


def states(lc: Lifecycle) -> dict[str, str]:
    return {k.kid: k.state for k in lc.runtime.store.list_keys(customer_id="acme")}


def test_tokens_signed_before_a_rotation_keep_working(lc: Lifecycle) -> None:
    app = lc.app()
    old_token = lc.token(app)
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    assert pyjwt_verify(lc, old_token)["jti"] == claims_of(old_token)["jti"]
    new_kid = rotate_keys(lc.runtime.store, lc.runtime.master_key, customer_id="acme", alg="ES256")
    lc.runtime.changed()
    assert new_kid != old_kid
    assert set(served_keys(lc)) == {old_kid, new_kid}
    new_token = lc.token(app)
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid
    for token in (old_token, new_token):
        assert pyjwt_verify(lc, token)["client_id"] == app.record.client_id
        assert lc.api_status(token) == 200
        assert lc.introspect(app, token).json()["active"] is True


def test_the_retired_key_stays_published_until_its_last_token_expired(lc: Lifecycle) -> None:
    app = lc.app()
    old_token = lc.token(app)
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    rotate_keys(lc.runtime.store, lc.runtime.master_key, customer_id="acme", alg="ES256")
    lc.runtime.changed()
    retired = next(k for k in lc.runtime.store.list_keys(customer_id="acme") if k.kid == old_kid)
    assert retired.state == "retired"
    assert retired.remove_after is not None
    # The longest token lifetime (a day) after retirement, at least.
    assert retired.remove_after >= claims_of(old_token)["exp"]
    assert retired.remove_after >= retired.retired_at + DAY  # type: ignore[operator]
    work = maintenance(lc)
    assert work.run_once(now=retired.remove_after - 1).removed_keys == []
    assert old_kid in served_keys(lc)
    assert work.run_once(now=retired.remove_after + 1).removed_keys == [old_kid]
    assert states(lc)[old_kid] == "removed"
    assert old_kid not in served_keys(lc)


def test_scheduled_rotation_publishes_the_next_key_first_then_promotes_it(lc: Lifecycle) -> None:
    app = lc.app()
    token = lc.token(app)
    (first,) = lc.runtime.store.list_keys(customer_id="acme")
    since = first.activated_at or first.created_at
    work = maintenance(lc, key_rotation_days=2)
    assert work.run_once(now=since + DAY / 2).published == []
    report = work.run_once(now=since + DAY + 60)
    assert report.published == ["acme", "globex"]
    (pending,) = [kid for kid, state in states(lc).items() if state == "next"]
    assert set(served_keys(lc)) == {first.kid, pending}
    # Published but not used yet.
    assert jwt.get_unverified_header(lc.token(app))["kid"] == first.kid
    assert work.run_once(now=since + 2 * DAY + 60).rotated == ["acme", "globex"]
    assert states(lc) == {first.kid: "retired", pending: "active"}
    assert jwt.get_unverified_header(lc.token(app))["kid"] == pending
    assert pyjwt_verify(lc, token)["jti"] == claims_of(token)["jti"]
    assert lc.api_status(token) == 200
    lc.runtime.audit.flush()
    events = lc.runtime.store.list_audit(customer_id="acme")
    keys_events = [(e.actor, e.action, e.target) for e in events if e.action.startswith("keys.")]
    assert keys_events == [
        ("scheduler", "keys.rotate", pending),
        ("scheduler", "keys.publish_next", pending),
    ]


def test_scheduled_rotation_is_off_with_zero_days(lc: Lifecycle) -> None:
    before = states(lc)
    report = maintenance(lc, key_rotation_days=0).run_once(now=time.time() + 3650 * DAY)
    assert (report.ran, report.rotated, report.published) == (True, [], [])
    assert states(lc) == before


def test_expired_deny_list_entries_are_pruned(lc: Lifecycle) -> None:
    app = lc.app()
    token = lc.token(app)
    lc.revoke(app, token)
    exp = claims_of(token)["exp"]
    work = maintenance(lc)
    assert work.run_once(now=exp).pruned_revocations == 0
    assert work.run_once(now=exp + 120).pruned_revocations == 1
    with lc.runtime.store.engine.connect() as conn:
        assert conn.execute(select(t.revoked_tokens)).all() == []


@pytest.mark.parametrize(("days", "kept"), [(30, 1), (0, 2)])
def test_audit_events_past_retention_are_pruned(lc: Lifecycle, days: int, kept: int) -> None:
    now = time.time()
    lc.runtime.store.append_audit(
        events=[
            AuditEvent(customer_id="globex", at=now - 31 * DAY, actor="t", action="old"),
            AuditEvent(customer_id="globex", at=now - 29 * DAY, actor="t", action="recent"),
        ]
    )
    report = maintenance(lc, audit_retention_days=days).run_once(now=now)
    assert report.pruned_audit == 2 - kept
    events = lc.runtime.store.list_audit(customer_id="globex")
    assert len([e for e in events if e.action in ("old", "recent")]) == kept


def test_only_one_process_at_a_time_does_the_maintenance(lc: Lifecycle) -> None:
    database = lc.runtime.store.engine.url.database
    with open(f"{database}.maintenance.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            assert maintenance(lc).run_once().ran is False
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    assert maintenance(lc).run_once().ran is True


@pytest.mark.postgres
def test_on_postgresql_the_maintenance_lock_is_an_advisory_lock(
    tmp_path: Path, postgres_url: str
) -> None:
    runtime = Runtime.open(make_settings(tmp_path, database_url=postgres_url))
    try:
        add_customer(runtime, "acme")
        work = Maintenance(
            runtime.settings,
            runtime.store,
            runtime.master_key,
            audit=runtime.audit,
            on_change=runtime.changed,
        )
        with psycopg.connect(postgres_url, autocommit=True) as other:
            other.execute("SELECT pg_advisory_lock(%s)", (PG_LOCK,))
            assert work.run_once().ran is False
            other.execute("SELECT pg_advisory_unlock(%s)", (PG_LOCK,))
        (key,) = runtime.store.list_keys(customer_id="acme")
        due = (key.activated_at or key.created_at) + 91 * DAY
        # No key was published ahead: one is published now and activated once verifiers
        # have had time to fetch it.
        report = work.run_once(now=due)
        assert (report.ran, report.rotated, report.published) == (True, [], ["acme"])
        report = work.run_once(now=due + ACTIVATION_DELAY + 1)
        assert (report.ran, report.rotated) == (True, ["acme"])
    finally:
        runtime.store.engine.dispose()


def test_old_change_feed_rows_are_pruned_and_the_newest_always_stays(lc: Lifecycle) -> None:
    lc.app()
    work = maintenance(lc)
    store = lc.runtime.store
    newest = store.latest_change_id()
    assert newest > 1
    # Nothing is older than a day and an hour yet.
    assert work.run_once().pruned_changes == 0
    # Two days on, every row but the newest goes; ids keep growing after it.
    report = work.run_once(now=time.time() + 2 * DAY)
    assert report.pruned_changes == newest - 1
    assert [c.id for c in store.changes_after(0)] == [newest]
    lc.app(name="after")
    assert store.latest_change_id() > newest
