"""Store verbs for console users (``console_users``): the people who sign in to the web console.

Only password hashes are stored (argon2id, made by ``gatehouse.users``). Every admin change
writes its audit row in the change's transaction. A user's sessions end with a deletion or a
password reset, in the same transaction. A customer always keeps at least one ``owner``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, Delete, Update, delete, func, insert, select, update

from gatehouse.store import tables as t
from gatehouse.store.models import AuditEvent
from gatehouse.store.store import Conflict, NotFound, Store

UserRole = Literal["owner", "administrator"]
USER_ROLES: tuple[UserRole, ...] = ("owner", "administrator")
_u = t.console_users.c


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    """A console user without its password hash."""

    id: str
    customer_id: str
    email: str
    role: UserRole


@dataclass(frozen=True, slots=True)
class StoredUser:
    """A console user with its password hash, for the sign-in check only."""

    user: ConsoleUser
    password_hash: str


class LastOwner(Conflict):
    """The change would leave the customer without an owner."""


AuditOf = Callable[[ConsoleUser], AuditEvent]


def _user_of(row: Any) -> ConsoleUser:
    m = row._mapping
    return ConsoleUser(id=m["id"], customer_id=m["customer_id"], email=m["email"], role=m["role"])


def insert_user(
    store: Store,
    *,
    user_id: str,
    customer_id: str,
    email: str,
    password_hash: str,
    role: UserRole,
    audit: AuditEvent | None = None,
) -> ConsoleUser:
    """A new user; :class:`Conflict` if the email (unique across customers) is taken."""
    with store.engine.begin() as conn:
        if conn.execute(select(_u.id).where(_u.email == email)).first():
            raise Conflict(f"a console user {email} exists")
        conn.execute(
            insert(t.console_users).values(
                id=user_id,
                customer_id=customer_id,
                email=email,
                password_hash=password_hash,
                role=role,
                created_at=time.time(),
            )
        )
        Store.write_audit(conn, audit)
    return ConsoleUser(id=user_id, customer_id=customer_id, email=email, role=role)


def find_user_by_email(store: Store, *, email: str) -> StoredUser | None:
    if "\x00" in email:  # PostgreSQL cannot hold NUL: such an email is simply unknown
        return None
    with store.engine.connect() as conn:
        row = conn.execute(select(t.console_users).where(_u.email == email)).first()
    if row is None:
        return None
    return StoredUser(user=_user_of(row), password_hash=row._mapping["password_hash"])


def get_user(store: Store, *, user_id: str) -> ConsoleUser | None:
    if "\x00" in user_id:
        return None
    with store.engine.connect() as conn:
        row = conn.execute(select(t.console_users).where(_u.id == user_id)).first()
    return _user_of(row) if row is not None else None


def list_users(store: Store, *, customer_id: str) -> list[ConsoleUser]:
    """The customer's console users, by email."""
    query = select(t.console_users).where(_u.customer_id == customer_id).order_by(_u.email)
    with store.engine.connect() as conn:
        return [_user_of(row) for row in conn.execute(query)]


def set_password_hash(store: Store, *, user_id: str, password_hash: str) -> None:
    """Replace a hash with a stronger one of the same password (at sign-in; not audited)."""
    with store.engine.begin() as conn:
        conn.execute(
            update(t.console_users).where(_u.id == user_id).values(password_hash=password_hash)
        )


def _change_keeping_an_owner(
    conn: Connection, *, customer_id: str, user_id: str, statement: Update | Delete
) -> ConsoleUser:
    """Run ``statement`` (an UPDATE or DELETE of one user) unless it would remove the customer's
    last owner; returns the user as it was."""
    if "\x00" in user_id:
        raise NotFound(user_id)
    mine = (_u.id == user_id) & (_u.customer_id == customer_id)
    owners = (
        select(func.count())
        .select_from(t.console_users)
        .where((_u.customer_id == customer_id) & (_u.role == "owner"))
        .scalar_subquery()
    )
    # Lock the owners first (PostgreSQL), so that two owners demoting each other at once
    # cannot both pass the count; SQLite runs one writer at a time anyway.
    conn.execute(
        select(_u.id)
        .where((_u.customer_id == customer_id) & (_u.role == "owner"))
        .with_for_update()
    ).all()
    row = conn.execute(select(t.console_users).where(mine)).first()
    if row is None:
        raise NotFound(user_id)
    done = conn.execute(statement.where(mine & ((_u.role != "owner") | (owners > 1))))
    if done.rowcount != 1:
        raise LastOwner(row._mapping["email"])
    return _user_of(row)


def _own_row(conn: Connection, *, customer_id: str, user_id: str) -> ConsoleUser:
    if "\x00" in user_id:
        raise NotFound(user_id)
    mine = (_u.id == user_id) & (_u.customer_id == customer_id)
    row = conn.execute(select(t.console_users).where(mine)).first()
    if row is None:
        raise NotFound(user_id)
    return _user_of(row)


def update_user_role(
    store: Store, *, customer_id: str, user_id: str, role: UserRole, audit: AuditOf | None = None
) -> ConsoleUser:
    """Give a user another role; :class:`LastOwner` for the last owner's demotion,
    :class:`NotFound` for no such user of this customer. Returns the user as it is now."""
    statement = update(t.console_users).values(role=role)
    with store.engine.begin() as conn:
        if role == "owner":  # a promotion never leaves the customer without an owner
            before = _own_row(conn, customer_id=customer_id, user_id=user_id)
            conn.execute(statement.where(_u.id == user_id))
        else:
            before = _change_keeping_an_owner(
                conn, customer_id=customer_id, user_id=user_id, statement=statement
            )
        after = ConsoleUser(id=before.id, customer_id=customer_id, email=before.email, role=role)
        Store.write_audit(conn, audit(after) if audit is not None else None)
    return after


def delete_user(
    store: Store, *, customer_id: str, user_id: str, audit: AuditOf | None = None
) -> ConsoleUser:
    """Remove a user and its sessions; :class:`LastOwner` for the last owner. Returns it."""
    with store.engine.begin() as conn:
        before = _change_keeping_an_owner(
            conn, customer_id=customer_id, user_id=user_id, statement=delete(t.console_users)
        )
        conn.execute(delete(t.console_sessions).where(t.console_sessions.c.user_id == user_id))
        Store.write_audit(conn, audit(before) if audit is not None else None)
    return before


def update_user_password(
    store: Store,
    *,
    customer_id: str,
    user_id: str,
    password_hash: str,
    audit: AuditOf | None = None,
) -> ConsoleUser:
    """Set a new password hash and end every session of the user."""
    mine = (_u.id == user_id) & (_u.customer_id == customer_id)
    with store.engine.begin() as conn:
        user = _own_row(conn, customer_id=customer_id, user_id=user_id)
        conn.execute(update(t.console_users).where(mine).values(password_hash=password_hash))
        conn.execute(delete(t.console_sessions).where(t.console_sessions.c.user_id == user_id))
        Store.write_audit(conn, audit(user) if audit is not None else None)
    return user
