"""Signing-key lifecycle per customer: create, publish next, promote, retire, remove.

States: ``next`` (published, not used), ``active`` (signs), ``retired`` (published until every
token it signed has expired), ``removed``.

A rotation no verifier notices: :func:`schedule_rotation` publishes the new key as ``next`` and
makes it due (its ``activated_at``) only once every verifier's copy of the JWKS has expired —
the JWKS is served ``max-age`` :data:`JWKS_MAX_AGE` — plus a margin; maintenance activates it
when due (:func:`activate_due`). :func:`rotate_keys` activates at once, the emergency path: a
verifier holding a cached JWKS rejects the new key's tokens until its copy expires.
"""

from __future__ import annotations

import dataclasses
import time

from gatehouse.masterkey import MasterKey
from gatehouse.oauth.keys import (
    Alg,
    generate_private_key,
    private_key_to_der,
    public_jwk_members,
    thumbprint,
)
from gatehouse.store.models import AuditEvent, KeyChange, KeyState, SigningKeyRecord
from gatehouse.store.store import Store

MAX_TOKEN_LIFETIME = 86400
JWKS_MAX_AGE = 300  # seconds the JWKS document may be cached (its Cache-Control max-age)
ACTIVATION_MARGIN = 60  # beyond it: clock skew, a verifier's own refetch limit (e.g. a minute)
ACTIVATION_DELAY = JWKS_MAX_AGE + ACTIVATION_MARGIN


def new_key(
    master_key: MasterKey, *, customer_id: str, alg: Alg, state: KeyState
) -> SigningKeyRecord:
    """A fresh key, its private part sealed under the master key and bound to its kid."""
    private = generate_private_key(alg)
    members = public_jwk_members(private)
    # RFC 7638: the kid is the key's thumbprint, so it names this key and no other.
    kid = thumbprint(members)
    now = time.time()
    return SigningKeyRecord(
        kid=kid,
        customer_id=customer_id,
        alg=alg,
        state=state,
        private_key_sealed=master_key.seal(private_key_to_der(private), context=kid),
        public_jwk=members,
        created_at=now,
        activated_at=now if state == "active" else None,
        retired_at=None,
        remove_after=None,
    )


def rotate_keys(
    store: Store,
    master_key: MasterKey,
    *,
    customer_id: str,
    alg: Alg,
    audit: AuditEvent | None = None,
) -> str:
    """Promote a new key to active now and retire the old one; returns the new active kid.

    The retired key stays published until the longest-lived token it may have signed expires.
    ``audit`` is written in the rotation's transaction.
    """
    keys = store.list_keys(customer_id=customer_id)
    pending = [k for k in keys if k.state == "next" and k.alg == alg]
    fresh: SigningKeyRecord | None = None
    if pending:
        promoted = pending[-1]
    else:
        promoted = fresh = new_key(master_key, customer_id=customer_id, alg=alg, state="next")
    now = time.time()
    states: dict[str, KeyChange] = {
        k.kid: {
            "state": "retired",
            "retired_at": now,
            "remove_after": now + MAX_TOKEN_LIFETIME + 60,
        }
        for k in keys
        if k.state == "active"
    }
    states[promoted.kid] = {"state": "active", "activated_at": now}
    for k in keys:
        if k.state == "retired" and k.remove_after is not None and k.remove_after <= now:
            states[k.kid] = {"state": "removed"}
    # One transaction: no process ever sees the new key published but not yet signing.
    if audit is not None and audit.target is None:  # the audit row names the promoted key
        audit = dataclasses.replace(audit, target=promoted.kid)
    store.set_key_states(customer_id=customer_id, states=states, insert_first=fresh, audit=audit)
    return promoted.kid


@dataclasses.dataclass(frozen=True)
class ScheduledRotation:
    kid: str  # the key that signs from ``activates_at`` on
    activates_at: float
    active_now: bool  # it was published long enough ago and is active already


def schedule_rotation(
    store: Store,
    master_key: MasterKey,
    *,
    customer_id: str,
    alg: Alg,
    actor: str,
    source: str | None = None,
    now: float | None = None,
) -> ScheduledRotation:
    """Publish a next key (or take the one published already) and make it due once verifiers
    have seen it; a next key published :data:`ACTIVATION_DELAY` ago or more is activated now."""
    now = now if now is not None else time.time()
    pending = [
        k for k in store.list_keys(customer_id=customer_id) if k.state == "next" and k.alg == alg
    ]
    key = pending[-1] if pending else None
    if key is not None and key.created_at + ACTIVATION_DELAY <= now:
        event = _event(customer_id, "keys.rotate", key.kid, now, actor, source)
        kid = rotate_keys(store, master_key, customer_id=customer_id, alg=alg, audit=event)
        return ScheduledRotation(kid, now, active_now=True)
    if key is not None:
        due = key.activated_at or key.created_at + ACTIVATION_DELAY
        event = _event(customer_id, "keys.schedule", key.kid, now, actor, source, due)
        store.set_key_states(
            customer_id=customer_id, states={key.kid: {"activated_at": due}}, audit=event
        )
        return ScheduledRotation(key.kid, due, active_now=False)
    published = new_key(master_key, customer_id=customer_id, alg=alg, state="next")
    due = max(now, published.created_at) + ACTIVATION_DELAY
    fresh = dataclasses.replace(published, activated_at=due)
    event = _event(customer_id, "keys.schedule", fresh.kid, now, actor, source, due)
    store.insert_key(record=fresh, audit=event)
    return ScheduledRotation(fresh.kid, due, active_now=False)


def activate_due(
    store: Store, master_key: MasterKey, *, keys: list[SigningKeyRecord], now: float, actor: str
) -> str | None:
    """Activate a customer's next key whose scheduled time has come (``keys`` are that
    customer's); returns its kid, or None when none is due."""
    due = [
        k
        for k in keys
        if k.state == "next" and k.activated_at is not None and k.activated_at <= now
    ]
    if not due:
        return None
    key = due[-1]
    event = _event(key.customer_id, "keys.activate", key.kid, now, actor, None)
    return rotate_keys(store, master_key, customer_id=key.customer_id, alg=key.alg, audit=event)


def _event(
    customer_id: str,
    action: str,
    kid: str,
    now: float,
    actor: str,
    source: str | None,
    due: float | None = None,
) -> AuditEvent:
    detail = {"activates_at": due} if due is not None else {}
    return AuditEvent(
        customer_id=customer_id,
        at=now,
        actor=actor,
        action=action,
        target=kid,
        source=source,
        detail=detail,
    )
