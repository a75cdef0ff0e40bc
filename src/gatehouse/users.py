"""Console users: people who sign in to the web console. Passwords are argon2id hashes."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, insert, select, update

from gatehouse.errors import InvalidInput
from gatehouse.store import tables as t
from gatehouse.store.models import AuditEvent
from gatehouse.store.store import Conflict, NotFound, Store

EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}")
USER_ROLES = ("owner", "administrator")
# argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): about 0.1 s on one core,
# so a burst of sign-ins cannot starve a small server. Older hashes are upgraded at sign-in.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_DUMMY = _hasher.hash("gatehouse dummy password")


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    """A console user without its password hash."""

    id: str
    customer_id: str
    email: str
    role: str


def create_user(
    store: Store, *, customer_id: str, email: str, role: str, password: str, actor: str
) -> str:
    """A new console user; returns its id."""
    email = email.strip().lower()
    if EMAIL.fullmatch(email) is None:
        raise InvalidInput({"email": "is not an email address"})
    if role not in USER_ROLES:
        raise InvalidInput({"role": f"must be one of {', '.join(USER_ROLES)}"})
    if len(password) < 12:
        raise InvalidInput({"password": "must be at least 12 characters"})
    user_id = "usr_" + secrets.token_hex(8)
    with store.engine.begin() as conn:
        if conn.execute(
            select(t.console_users.c.id).where(t.console_users.c.email == email)
        ).first():
            raise Conflict(f"a console user {email} exists")
        conn.execute(
            insert(t.console_users).values(
                id=user_id,
                customer_id=customer_id,
                email=email,
                password_hash=_hasher.hash(password),
                role=role,
                created_at=time.time(),
            )
        )
    store.append_audit(
        events=[
            AuditEvent(
                customer_id=customer_id,
                at=time.time(),
                actor=actor,
                action="user.create",
                target=email,
            )
        ]
    )
    return user_id


def check_password(password_hash: str | None, password: str) -> bool:
    """argon2id verification; an unknown user still costs one verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def user_exists(store: Store, *, email: str) -> bool:
    with store.engine.connect() as conn:
        row = conn.execute(
            select(t.console_users.c.id).where(t.console_users.c.email == email.lower())
        ).first()
    return row is not None


def authenticate(store: Store, *, email: str, password: str) -> ConsoleUser | None:
    """The user whose email and password these are, or None; both failures cost the same.

    An unknown email is checked against a dummy hash, so timing tells nothing about which
    emails exist. A hash made with older argon2 parameters is upgraded on success.
    """
    email = email.strip().lower()
    row = None
    if "\x00" not in email:  # PostgreSQL cannot hold NUL: such an email is simply unknown
        with store.engine.connect() as conn:
            query = select(t.console_users).where(t.console_users.c.email == email)
            row = conn.execute(query).first()
    password_hash: str | None = row._mapping["password_hash"] if row is not None else None
    if not check_password(password_hash, password) or row is None:
        return None
    m = row._mapping
    if password_hash is not None and _hasher.check_needs_rehash(password_hash):
        with store.engine.begin() as conn:
            conn.execute(
                update(t.console_users)
                .where(t.console_users.c.id == m["id"])
                .values(password_hash=_hasher.hash(password))
            )
    return ConsoleUser(id=m["id"], customer_id=m["customer_id"], email=m["email"], role=m["role"])


def get_user(store: Store, *, user_id: str) -> ConsoleUser | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(t.console_users).where(t.console_users.c.id == user_id)).first()
    if row is None:
        return None
    m = row._mapping
    return ConsoleUser(id=m["id"], customer_id=m["customer_id"], email=m["email"], role=m["role"])


# -- administration (``gatehouse users``): list, delete, change role, reset password -------------


class LastOwner(Conflict):
    """The change would leave a customer with no console user of role ``owner``."""


def _user_from_row(m: Any) -> ConsoleUser:
    return ConsoleUser(id=m["id"], customer_id=m["customer_id"], email=m["email"], role=m["role"])


def list_users(store: Store, *, customer_id: str) -> list[ConsoleUser]:
    """A customer's console users, by email."""
    query = (
        select(t.console_users)
        .where(t.console_users.c.customer_id == customer_id)
        .order_by(t.console_users.c.email)
    )
    with store.engine.connect() as conn:
        return [_user_from_row(row._mapping) for row in conn.execute(query)]


def _locked_user(conn: Connection, customer_id: str, email: str) -> ConsoleUser:
    """The user row, read inside the caller's write transaction (PostgreSQL: locked)."""
    email = email.strip().lower()
    query = select(t.console_users).where(
        (t.console_users.c.customer_id == customer_id) & (t.console_users.c.email == email)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = None if "\x00" in email else conn.execute(query).first()
    if row is None:
        raise NotFound(email)
    return _user_from_row(row._mapping)


def _begin_write(store: Store) -> Connection:
    """A write transaction; SQLite takes its write lock first, so the owner count cannot race."""
    conn = store.engine.connect()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.begin()
    return conn


def _refuse_last_owner(conn: Connection, user: ConsoleUser) -> None:
    if user.role != "owner":
        return
    owners = select(t.console_users.c.id).where(
        (t.console_users.c.customer_id == user.customer_id) & (t.console_users.c.role == "owner")
    )
    if conn.dialect.name == "postgresql":
        owners = owners.with_for_update()
    if len(conn.execute(owners).all()) <= 1:
        raise LastOwner(f"{user.email} is the last owner of customer {user.customer_id}")


def _audit_user(store: Store, user: ConsoleUser, action: str, actor: str, **detail: Any) -> None:
    store.append_audit(
        events=[
            AuditEvent(
                customer_id=user.customer_id,
                at=time.time(),
                actor=actor,
                action=action,
                target=user.email,
                detail=detail,
            )
        ]
    )


def delete_user(store: Store, *, customer_id: str, email: str, actor: str) -> ConsoleUser:
    """Remove a console user and its sessions; never the customer's last owner."""
    with _begin_write(store) as conn:
        user = _locked_user(conn, customer_id, email)
        _refuse_last_owner(conn, user)
        conn.execute(delete(t.console_sessions).where(t.console_sessions.c.user_id == user.id))
        conn.execute(delete(t.console_users).where(t.console_users.c.id == user.id))
        conn.commit()
    _audit_user(store, user, "user.delete", actor)
    return user


def set_user_role(
    store: Store, *, customer_id: str, email: str, role: str, actor: str
) -> ConsoleUser:
    """Change a user's role; the last owner cannot be demoted."""
    if role not in USER_ROLES:
        raise InvalidInput({"role": f"must be one of {', '.join(USER_ROLES)}"})
    with _begin_write(store) as conn:
        user = _locked_user(conn, customer_id, email)
        if role != "owner":
            _refuse_last_owner(conn, user)
        conn.execute(
            update(t.console_users).where(t.console_users.c.id == user.id).values(role=role)
        )
        conn.commit()
    _audit_user(store, user, "user.set_role", actor, role=role, previous_role=user.role)
    return ConsoleUser(id=user.id, customer_id=user.customer_id, email=user.email, role=role)


def reset_password(
    store: Store, *, customer_id: str, email: str, password: str, actor: str
) -> ConsoleUser:
    """Set a new password; the user's console sessions end."""
    if len(password) < 12:
        raise InvalidInput({"password": "must be at least 12 characters"})
    password_hash = _hasher.hash(password)
    with _begin_write(store) as conn:
        user = _locked_user(conn, customer_id, email)
        conn.execute(
            update(t.console_users)
            .where(t.console_users.c.id == user.id)
            .values(password_hash=password_hash)
        )
        conn.execute(delete(t.console_sessions).where(t.console_sessions.c.user_id == user.id))
        conn.commit()
    _audit_user(store, user, "user.reset_password", actor)
    return user
