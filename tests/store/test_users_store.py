"""Contract of ``gatehouse.store.users`` (console users), on SQLite and PostgreSQL: each admin
change writes its audit row in its transaction, a customer keeps an owner, and a user's
sessions end with a deletion or a new password."""

from __future__ import annotations

import pytest

from gatehouse.store import tables as t
from gatehouse.store import users as rows
from gatehouse.store.models import AuditEvent
from gatehouse.store.store import Conflict, NotFound, Store
from gatehouse.store.users import ConsoleUser, LastOwner


@pytest.fixture
def acme(store: Store) -> Store:
    store.create_customer(customer_id="acme", name="Acme")
    store.create_customer(customer_id="other", name="Other")
    return store


def _audit(action: str) -> rows.AuditOf:
    def event(user: ConsoleUser) -> AuditEvent:
        return AuditEvent(
            customer_id=user.customer_id, at=1.0, actor="t", action=action, target=user.email
        )

    return event


def _add(store: Store, user_id: str, email: str, role: rows.UserRole = "owner") -> ConsoleUser:
    return rows.insert_user(
        store, user_id=user_id, customer_id="acme", email=email, password_hash="h", role=role
    )


def _actions(store: Store) -> list[tuple[str, str | None]]:
    return [(e.action, e.target) for e in reversed(store.list_audit(customer_id="acme"))]


def _sessions(store: Store) -> int:
    with store.engine.connect() as conn:
        return len(conn.execute(t.console_sessions.select()).all())


def _session_for(store: Store, user_id: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            t.console_sessions.insert().values(
                id_hash=user_id.ljust(64, "0"),
                user_id=user_id,
                csrf_token="c",
                created_at=1.0,
                expires_at=2.0,
            )
        )


def test_insert_find_get_and_list(acme: Store) -> None:
    event = AuditEvent(customer_id="acme", at=1.0, actor="t", action="user.create", target="b@x")
    rows.insert_user(
        acme,
        user_id="usr_b",
        customer_id="acme",
        email="b@x",
        password_hash="hb",
        role="administrator",
        audit=event,
    )
    _add(acme, "usr_a", "a@x")
    with pytest.raises(Conflict):
        _add(acme, "usr_c", "a@x")
    found = rows.find_user_by_email(acme, email="b@x")
    assert found is not None
    assert found.password_hash == "hb"
    assert found.user == ConsoleUser(
        id="usr_b", customer_id="acme", email="b@x", role="administrator"
    )
    assert rows.find_user_by_email(acme, email="nobody@x") is None
    assert rows.find_user_by_email(acme, email="a\x00@x") is None
    assert rows.get_user(acme, user_id="usr_a") is not None
    assert rows.get_user(acme, user_id="usr_\x00") is None
    assert [u.email for u in rows.list_users(acme, customer_id="acme")] == ["a@x", "b@x"]
    assert rows.list_users(acme, customer_id="other") == []
    assert _actions(acme) == [("user.create", "b@x")]
    rows.set_password_hash(acme, user_id="usr_a", password_hash="h2")
    again = rows.find_user_by_email(acme, email="a@x")
    assert again is not None
    assert again.password_hash == "h2"


def test_role_changes_keep_an_owner_and_are_audited(acme: Store) -> None:
    _add(acme, "usr_a", "a@x")
    _add(acme, "usr_b", "b@x", "administrator")
    with pytest.raises(LastOwner):
        rows.update_user_role(
            acme, customer_id="acme", user_id="usr_a", role="administrator", audit=_audit("r")
        )
    with pytest.raises(NotFound):
        rows.update_user_role(acme, customer_id="other", user_id="usr_b", role="owner")
    after = rows.update_user_role(
        acme, customer_id="acme", user_id="usr_b", role="owner", audit=_audit("r")
    )
    assert after.role == "owner"
    rows.update_user_role(
        acme, customer_id="acme", user_id="usr_a", role="administrator", audit=_audit("r")
    )
    assert _actions(acme) == [("r", "b@x"), ("r", "a@x")]


def test_delete_and_new_password_end_sessions_in_their_transaction(acme: Store) -> None:
    _add(acme, "usr_a", "a@x")
    _add(acme, "usr_b", "b@x", "administrator")
    _session_for(acme, "usr_a")
    _session_for(acme, "usr_b")
    with pytest.raises(LastOwner):
        rows.delete_user(acme, customer_id="acme", user_id="usr_a", audit=_audit("d"))
    assert _sessions(acme) == 2
    assert _actions(acme) == []
    rows.update_user_password(
        acme, customer_id="acme", user_id="usr_a", password_hash="new", audit=_audit("p")
    )
    assert _sessions(acme) == 1
    with pytest.raises(NotFound):
        rows.update_user_password(acme, customer_id="other", user_id="usr_b", password_hash="x")
    gone = rows.delete_user(acme, customer_id="acme", user_id="usr_b", audit=_audit("d"))
    assert gone.email == "b@x"
    assert _sessions(acme) == 0
    with pytest.raises(NotFound):
        rows.delete_user(acme, customer_id="acme", user_id="usr_b")
    assert _actions(acme) == [("p", "a@x"), ("d", "b@x")]
