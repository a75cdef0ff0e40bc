"""Signing keys: rotating a customer's key (scheduled, or at once in an emergency) and the
scheduled work on keys — activating a key when due, publishing the next one ahead of use,
retiring the old one and removing it once every token it signed has expired.

The console's keys page, ``gatehouse keys rotate`` and the maintenance pass call these; the
key mechanics are ``gatehouse.keyring`` (docs/operations.md describes a rotation). Each write
carries its audit row in its transaction; the notifier is told once after a write committed,
so this process's replica serves the new key set at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from gatehouse.appclients import Actor
from gatehouse.keyring import (
    ScheduledRotation,
    activate_due,
    new_key,
    rotate_keys,
    schedule_rotation,
)
from gatehouse.masterkey import MasterKey
from gatehouse.oauth.keys import Alg
from gatehouse.services.notify import Notifier
from gatehouse.store.models import AuditEvent, SigningKeyRecord
from gatehouse.store.store import Store

DAY = 86400.0


def rotate_signing_key(
    store: Store,
    master_key: MasterKey,
    *,
    customer_id: str,
    alg: Alg,
    actor: Actor,
    at_once: bool,
    notify: Notifier,
) -> ScheduledRotation:
    """Publish a next key that activates once verifiers have fetched it, or (``at_once``, the
    emergency path) activate a new key now: a verifier holding a cached JWKS then rejects its
    tokens until its copy expires."""
    if at_once:
        now = time.time()
        event = AuditEvent(
            customer_id=customer_id,
            at=now,
            actor=actor.name,
            action="keys.rotate",
            target=None,  # rotate_keys names the promoted key
            source=actor.source,
            detail={"now": True},
        )
        kid = rotate_keys(store, master_key, customer_id=customer_id, alg=alg, audit=event)
        rotation = ScheduledRotation(kid, now, active_now=True)
    else:
        rotation = schedule_rotation(
            store,
            master_key,
            customer_id=customer_id,
            alg=alg,
            actor=actor.name,
            source=actor.source,
        )
    notify.changed()
    return rotation


@dataclass
class KeyWork:
    """What one pass of :func:`maintain_signing_keys` did."""

    rotated: list[str] = field(default_factory=list)  # customers whose active key changed
    published: list[str] = field(default_factory=list)  # customers given a next key
    removed_keys: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.rotated or self.published or self.removed_keys)


def maintain_signing_keys(
    store: Store,
    master_key: MasterKey,
    *,
    alg: Alg,
    rotation_days: float,
    now: float,
    actor: str,
    notify: Notifier,
) -> KeyWork:
    """Every customer's due key work (the maintenance pass runs it under its lock, so one
    process at a time); the notifier is told once when any key changed."""
    period = rotation_days * DAY
    work = KeyWork()
    by_customer: dict[str, list[SigningKeyRecord]] = {}
    for key in store.list_keys():
        by_customer.setdefault(key.customer_id, []).append(key)
    for customer_id, keys in sorted(by_customer.items()):
        _customer_keys(store, master_key, customer_id, keys, alg, period, now, actor, work)
    if work.changed:
        notify.changed()
    return work


def _customer_keys(
    store: Store,
    master_key: MasterKey,
    customer_id: str,
    keys: list[SigningKeyRecord],
    alg: Alg,
    period: float,
    now: float,
    actor: str,
    work: KeyWork,
) -> None:
    # A next key is published this long before it signs, so verifiers already hold it.
    ahead = min(DAY, period / 2)
    expired = [
        k.kid
        for k in keys
        if k.state == "retired" and k.remove_after is not None and k.remove_after <= now
    ]
    if expired:
        # Every token these keys signed has expired: take them out of the JWKS.
        store.set_key_states(
            customer_id=customer_id,
            states={kid: {"state": "removed"} for kid in expired},
            audit=_event(customer_id, "keys.remove", ",".join(expired), now, actor),
        )
        work.removed_keys += expired
    # A rotation scheduled by `keys rotate` or the console: activate it once due.
    if activate_due(store, master_key, keys=keys, now=now, actor=actor):
        work.rotated.append(customer_id)
        return
    active = [k for k in keys if k.state == "active"]
    if period <= 0 or not active:
        return
    since = active[-1].activated_at or active[-1].created_at
    next_keys = [k for k in keys if k.state == "next" and k.alg == alg]
    if any(k.activated_at is not None for k in next_keys):
        return  # scheduled already: activate_due takes it when due
    if now - since >= period:
        # The key published ahead is activated now; without one, a new key is published and
        # activated once verifiers' JWKS copies have expired.
        rotation = schedule_rotation(
            store, master_key, customer_id=customer_id, alg=alg, actor=actor, now=now
        )
        (work.rotated if rotation.active_now else work.published).append(customer_id)
    elif now - since >= period - ahead and not next_keys:
        key = new_key(master_key, customer_id=customer_id, alg=alg, state="next")
        store.insert_key(
            record=key, audit=_event(customer_id, "keys.publish_next", key.kid, now, actor)
        )
        work.published.append(customer_id)


def _event(customer_id: str, action: str, target: str, now: float, actor: str) -> AuditEvent:
    return AuditEvent(customer_id=customer_id, at=now, actor=actor, action=action, target=target)
