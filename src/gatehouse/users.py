"""Console users: people who sign in to the web console. Passwords are argon2id hashes."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, insert, select, update

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


# -- managing console users (the console's users page) ------------------------------------------


class LastOwner(Conflict):
    """The change would leave the customer without an owner."""


def generate_password() -> str:
    """A password to hand to a new user or after a reset: 20 characters, about 119 bits."""
    return secrets.token_urlsafe(15)


def _user_of(row: Any) -> ConsoleUser:
    m = row._mapping
    return ConsoleUser(id=m["id"], customer_id=m["customer_id"], email=m["email"], role=m["role"])


def list_users(store: Store, *, customer_id: str) -> list[ConsoleUser]:
    """The customer's console users, by email."""
    u = t.console_users.c
    query = select(t.console_users).where(u.customer_id == customer_id).order_by(u.email)
    with store.engine.connect() as conn:
        return [_user_of(row) for row in conn.execute(query)]


def _audit_user(store: Store, customer_id: str, actor: str, action: str, email: str) -> None:
    event = AuditEvent(
        customer_id=customer_id, at=time.time(), actor=actor, action=action, target=email
    )
    store.append_audit(events=[event])


def _change_keeping_an_owner(
    store: Store, *, customer_id: str, user_id: str, statement: Any
) -> ConsoleUser:
    """Run ``statement`` (an UPDATE or DELETE of one user) unless it would remove the customer's
    last owner; returns the user as it was."""
    u = t.console_users.c
    mine = (u.id == user_id) & (u.customer_id == customer_id)
    owners = (
        select(func.count())
        .select_from(t.console_users)
        .where((u.customer_id == customer_id) & (u.role == "owner"))
        .scalar_subquery()
    )
    with store.engine.begin() as conn:
        # Lock the owners first (PostgreSQL), so that two owners demoting each other at once
        # cannot both pass the count; SQLite runs one writer at a time anyway.
        conn.execute(
            select(u.id)
            .where((u.customer_id == customer_id) & (u.role == "owner"))
            .with_for_update()
        ).all()
        row = conn.execute(select(t.console_users).where(mine)).first()
        if row is None:
            raise NotFound(user_id)
        done = conn.execute(statement.where(mine & ((u.role != "owner") | (owners > 1))))
        if done.rowcount != 1:
            raise LastOwner(row._mapping["email"])
    return _user_of(row)


def set_user_role(
    store: Store, *, customer_id: str, user_id: str, role: str, actor: str
) -> ConsoleUser:
    """Give a user another role; :class:`LastOwner` if it is the last owner's demotion."""
    if role not in USER_ROLES:
        raise InvalidInput({"role": f"must be one of {', '.join(USER_ROLES)}"})
    statement = update(t.console_users).values(role=role)
    if role == "owner":  # a promotion never leaves the customer without an owner
        u = t.console_users.c
        with store.engine.begin() as conn:
            row = conn.execute(
                select(t.console_users).where((u.id == user_id) & (u.customer_id == customer_id))
            ).first()
            if row is None:
                raise NotFound(user_id)
            conn.execute(statement.where(u.id == user_id))
        before = _user_of(row)
    else:
        before = _change_keeping_an_owner(
            store, customer_id=customer_id, user_id=user_id, statement=statement
        )
    _audit_user(store, customer_id, actor, "user.set_role", before.email)
    return ConsoleUser(id=before.id, customer_id=customer_id, email=before.email, role=role)


def delete_user(store: Store, *, customer_id: str, user_id: str, actor: str) -> ConsoleUser:
    """Remove a user (its sessions end with it); :class:`LastOwner` for the last owner."""
    before = _change_keeping_an_owner(
        store, customer_id=customer_id, user_id=user_id, statement=delete(t.console_users)
    )
    with store.engine.begin() as conn:
        conn.execute(delete(t.console_sessions).where(t.console_sessions.c.user_id == user_id))
    _audit_user(store, customer_id, actor, "user.delete", before.email)
    return before


def reset_password(
    store: Store, *, customer_id: str, user_id: str, password: str, actor: str
) -> ConsoleUser:
    """Set a new password and end every session of the user."""
    if len(password) < 12:
        raise InvalidInput({"password": "must be at least 12 characters"})
    u = t.console_users.c
    mine = (u.id == user_id) & (u.customer_id == customer_id)
    with store.engine.begin() as conn:
        row = conn.execute(select(t.console_users).where(mine)).first()
        if row is None:
            raise NotFound(user_id)
        conn.execute(
            update(t.console_users).where(mine).values(password_hash=_hasher.hash(password))
        )
        conn.execute(delete(t.console_sessions).where(t.console_sessions.c.user_id == user_id))
    user = _user_of(row)
    _audit_user(store, customer_id, actor, "user.reset_password", user.email)
    return user
