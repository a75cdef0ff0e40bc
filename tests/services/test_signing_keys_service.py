"""services/signing_keys.py: a rotation (scheduled or at once) and the maintenance work carry
their audit rows; the notifier is told once per write that committed, never on failure."""

from __future__ import annotations

import time

import pytest

from gatehouse.appclients import Actor
from gatehouse.keyring import ACTIVATION_DELAY, MAX_TOKEN_LIFETIME
from gatehouse.masterkey import MasterKey
from gatehouse.services.customers import create_customer
from gatehouse.services.notify import UNHEARD
from gatehouse.services.signing_keys import maintain_signing_keys, rotate_signing_key
from gatehouse.store.store import Store
from tests.services.conftest import Counting


@pytest.fixture
def store(empty_store: Store) -> Store:
    """These use-cases start from a store with no customer."""
    return empty_store


ACTOR = Actor(name="console:a@x", source="127.0.0.1")


@pytest.fixture
def acme(store: Store, master_key: MasterKey) -> Store:
    create_customer(
        store,
        master_key,
        customer_id="acme",
        name=None,
        alg="ES256",
        actor="t",
        notify=UNHEARD,
    )
    return store


def _actions(store: Store) -> list[str]:
    return [e.action for e in reversed(store.list_audit(customer_id="acme"))]


def _states(store: Store) -> list[str]:
    return sorted(k.state for k in store.list_keys(customer_id="acme"))


def _rotate(store: Store, master_key: MasterKey, notifier: Counting, *, at_once: bool) -> str:
    rotation = rotate_signing_key(
        store,
        master_key,
        customer_id="acme",
        alg="ES256",
        actor=ACTOR,
        at_once=at_once,
        notify=notifier,
    )
    return rotation.kid


def test_a_scheduled_rotation_publishes_a_next_key(
    acme: Store, master_key: MasterKey, notifier: Counting
) -> None:
    kid = _rotate(acme, master_key, notifier, at_once=False)
    assert notifier.count == 1
    assert _states(acme) == ["active", "next"]
    assert _actions(acme) == ["customer.create", "keys.schedule"]
    (event,) = acme.list_audit(customer_id="acme", action="keys.schedule")
    assert (event.actor, event.source, event.target) == (ACTOR.name, ACTOR.source, kid)


def test_a_rotation_at_once_activates_a_new_key(
    acme: Store, master_key: MasterKey, notifier: Counting
) -> None:
    kid = _rotate(acme, master_key, notifier, at_once=True)
    assert notifier.count == 1
    assert _states(acme) == ["active", "retired"]
    (event,) = acme.list_audit(customer_id="acme", action="keys.rotate")
    assert (event.target, event.detail) == (kid, {"now": True})


def test_maintenance_activates_when_due_retires_and_removes(
    acme: Store, master_key: MasterKey, notifier: Counting
) -> None:
    def maintain(now: float) -> None:
        maintain_signing_keys(
            acme,
            master_key,
            alg="ES256",
            rotation_days=90,
            now=now,
            actor="scheduler",
            notify=notifier,
        )

    _rotate(acme, master_key, Counting(), at_once=False)
    start = time.time()
    maintain(start)
    assert notifier.count == 0  # nothing was due
    maintain(start + ACTIVATION_DELAY + 1)
    assert notifier.count == 1
    assert _states(acme) == ["active", "retired"]
    maintain(start + ACTIVATION_DELAY + MAX_TOKEN_LIFETIME + 120)
    assert notifier.count == 2
    assert _states(acme) == ["active", "removed"]
    assert _actions(acme)[-2:] == ["keys.activate", "keys.remove"]


def test_a_failed_rotation_tells_no_one(
    broken_store: Store, master_key: MasterKey, notifier: Counting
) -> None:
    for at_once in (False, True):
        with pytest.raises(Exception, match="no such table"):
            _rotate(broken_store, master_key, notifier, at_once=at_once)
    assert notifier.count == 0
