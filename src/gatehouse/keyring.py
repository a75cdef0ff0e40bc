"""Signing-key lifecycle per customer: create, publish next, promote, retire, remove.

States: ``next`` (published, not used), ``active`` (signs), ``retired`` (published until every
token it signed has expired), ``removed``.
"""

from __future__ import annotations

import time

from gatehouse.masterkey import MasterKey
from gatehouse.oauth.keys import (
    Alg,
    generate_private_key,
    private_key_to_der,
    public_jwk_members,
    thumbprint,
)
from gatehouse.store.models import SigningKeyRecord
from gatehouse.store.store import Store

MAX_TOKEN_LIFETIME = 86400


def new_key(master_key: MasterKey, *, customer_id: str, alg: Alg, state: str) -> SigningKeyRecord:
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


def rotate_keys(store: Store, master_key: MasterKey, *, customer_id: str, alg: Alg) -> str:
    """Promote a new key to active and retire the old one; returns the new active kid.

    The retired key stays published until the longest-lived token it may have signed expires.
    """
    keys = store.list_keys(customer_id=customer_id)
    pending = [k for k in keys if k.state == "next" and k.alg == alg]
    fresh: SigningKeyRecord | None = None
    if pending:
        promoted = pending[-1]
    else:
        promoted = fresh = new_key(master_key, customer_id=customer_id, alg=alg, state="next")
    now = time.time()
    states: dict[str, dict[str, object]] = {
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
    store.set_key_states(customer_id=customer_id, states=states, insert_first=fresh)
    return promoted.kid
