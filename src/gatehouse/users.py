"""Console users: passwords (argon2id hashes) and signing in. Adding, changing and removing
console users is ``gatehouse.services.console_users``; the rows are ``gatehouse.store.users``."""

from __future__ import annotations

import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gatehouse.errors import InvalidInput
from gatehouse.store import users as rows
from gatehouse.store.store import Store
from gatehouse.store.users import USER_ROLES, ConsoleUser, LastOwner, UserRole

__all__ = [
    "EMAIL",
    "USER_ROLES",
    "ConsoleUser",
    "LastOwner",
    "UserRole",
    "authenticate",
    "check_password",
    "generate_password",
    "get_user",
    "hash_password",
    "list_users",
    "user_exists",
]

EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}")
MIN_PASSWORD = 12
# argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): about 0.1 s on one core,
# so a burst of sign-ins cannot starve a small server. Older hashes are upgraded at sign-in.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_DUMMY = _hasher.hash("gatehouse dummy password")


def hash_password(password: str) -> str:
    """The argon2id hash of a password of at least :data:`MIN_PASSWORD` characters."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput({"password": f"must be at least {MIN_PASSWORD} characters"})
    return _hasher.hash(password)


def check_password(password_hash: str | None, password: str) -> bool:
    """argon2id verification; an unknown user still costs one verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    """A password to hand to a new user or after a reset: 20 characters, about 119 bits."""
    return secrets.token_urlsafe(15)


def user_exists(store: Store, *, email: str) -> bool:
    return rows.find_user_by_email(store, email=email.lower()) is not None


def authenticate(store: Store, *, email: str, password: str) -> ConsoleUser | None:
    """The user whose email and password these are, or None; both failures cost the same.

    An unknown email is checked against a dummy hash, so timing tells nothing about which
    emails exist. A hash made with older argon2 parameters is upgraded on success.
    """
    found = rows.find_user_by_email(store, email=email.strip().lower())
    password_hash = found.password_hash if found is not None else None
    if not check_password(password_hash, password) or found is None:
        return None
    if _hasher.check_needs_rehash(found.password_hash):
        rows.set_password_hash(store, user_id=found.user.id, password_hash=_hasher.hash(password))
    return found.user


def get_user(store: Store, *, user_id: str) -> ConsoleUser | None:
    return rows.get_user(store, user_id=user_id)


def list_users(store: Store, *, customer_id: str) -> list[ConsoleUser]:
    """The customer's console users, by email."""
    return rows.list_users(store, customer_id=customer_id)
