"""Console users: people who sign in to the web console. Passwords are argon2id hashes."""

from __future__ import annotations

import re
import secrets
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import insert, select

from gatehouse.errors import InvalidInput
from gatehouse.store import tables as t
from gatehouse.store.models import AuditEvent
from gatehouse.store.store import Conflict, Store

EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}")
USER_ROLES = ("owner", "administrator")
_hasher = PasswordHasher()
_DUMMY = _hasher.hash("gatehouse dummy password")


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
