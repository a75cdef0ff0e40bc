"""services/console_users.py: each change writes its audit row with it, and a refused change
(a bad input, a taken email, the last owner) writes neither."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gatehouse.errors import InvalidInput
from gatehouse.services.console_users import (
    LastOwner,
    NotAllowed,
    create_user,
    delete_user,
    may_manage,
    reset_password,
    set_user_role,
)
from gatehouse.store.store import Conflict, NotFound, Store
from gatehouse.store.users import ConsoleUser
from gatehouse.users import authenticate, list_users


@pytest.fixture
def store(empty_store: Store) -> Store:
    """These use-cases start from a store with no customer."""
    return empty_store


PASSWORD = "correct horse battery"


@pytest.fixture
def acme(store: Store) -> Store:
    store.create_customer(customer_id="acme", name="Acme")
    return store


def _add(store: Store, email: str, role: str = "owner", password: str = PASSWORD) -> str:
    return create_user(
        store, customer_id="acme", email=email, role=role, password=password, actor="t"
    )


def _audit(store: Store) -> list[tuple[str, str | None]]:
    return [(e.action, e.target) for e in reversed(store.list_audit(customer_id="acme"))]


def test_each_change_is_audited(acme: Store) -> None:
    owner = _add(acme, " Owner@Acme.test ")
    admin = _add(acme, "admin@acme.test", "administrator")
    set_user_role(acme, customer_id="acme", user_id=admin, role="owner", actor="t")
    reset_password(
        acme, customer_id="acme", user_id=owner, password="another long password", actor="t"
    )
    assert authenticate(acme, email="owner@acme.test", password="another long password")
    delete_user(acme, customer_id="acme", user_id=owner, actor="t")
    assert _audit(acme) == [
        ("user.create", "owner@acme.test"),
        ("user.create", "admin@acme.test"),
        ("user.set_role", "admin@acme.test"),
        ("user.reset_password", "owner@acme.test"),
        ("user.delete", "owner@acme.test"),
    ]


def test_a_refused_change_writes_no_audit_row(acme: Store) -> None:
    only = _add(acme, "only@acme.test")
    with pytest.raises(InvalidInput):
        _add(acme, "not an email")
    with pytest.raises(InvalidInput):
        _add(acme, "x@acme.test", role="root")
    with pytest.raises(InvalidInput):
        _add(acme, "x@acme.test", password="short")
    with pytest.raises(Conflict):
        _add(acme, "only@acme.test")
    with pytest.raises(LastOwner):
        set_user_role(acme, customer_id="acme", user_id=only, role="administrator", actor="t")
    with pytest.raises(LastOwner):
        delete_user(acme, customer_id="acme", user_id=only, actor="t")
    assert _audit(acme) == [("user.create", "only@acme.test")]
    assert [u.email for u in list_users(acme, customer_id="acme")] == ["only@acme.test"]


def test_who_may_act_is_the_service_s_rule(acme: Store) -> None:
    owner_id = _add(acme, "owner@acme.test")
    admin_id = _add(acme, "admin@acme.test", "administrator")
    other_id = _add(acme, "other@acme.test", "administrator")
    users = {u.id: u for u in list_users(acme, customer_id="acme")}
    owner, admin = users[owner_id], users[admin_id]
    with pytest.raises(NotAllowed) as added:
        create_user(
            acme,
            customer_id="acme",
            email="new@acme.test",
            role="owner",
            password=PASSWORD,
            actor="t",
            by=admin,
        )
    assert added.value.reason == "owners_only"
    refused: list[tuple[ConsoleUser, Callable[[ConsoleUser], object], str]] = [
        (
            admin,
            lambda by: set_user_role(
                acme, customer_id="acme", user_id=other_id, role="owner", actor="t", by=by
            ),
            "owners_only",
        ),
        (
            admin,
            lambda by: delete_user(acme, customer_id="acme", user_id=owner_id, actor="t", by=by),
            "owners_only",
        ),
        (
            owner,
            lambda by: reset_password(
                acme, customer_id="acme", user_id=owner_id, password=PASSWORD, actor="t", by=by
            ),
            "self",
        ),
    ]
    for by, act, reason in refused:
        with pytest.raises(NotAllowed) as caught:
            act(by)
        assert caught.value.reason == reason
    with pytest.raises(NotFound):
        delete_user(acme, customer_id="other", user_id=other_id, actor="t", by=owner)
    assert may_manage(admin, users[other_id])
    assert not may_manage(admin, owner)
    assert may_manage(None, owner)
    delete_user(acme, customer_id="acme", user_id=other_id, actor="t", by=admin)
    assert [a for a, _ in _audit(acme)] == ["user.create"] * 3 + ["user.delete"]
