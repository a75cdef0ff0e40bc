"""Console users: add, change the role of, reset the password of, and remove.

The console's users page and ``gatehouse users`` both call these. Each validates, authorizes,
hashes the password (``gatehouse.users``), and writes the change with its audit row in one
transaction (``gatehouse.store.users``); a customer always keeps an owner (:class:`LastOwner`).

Who may act (``by``, the signed-in console user; None for the operator at the command line):
only an owner adds an owner or changes a role, only an owner acts on an owner, and nobody acts
on themselves here (another owner or the command line does that), else :class:`NotAllowed`. Nothing
serves console users from memory (a session is read from the store on each request), so these
take no notifier.
"""

from __future__ import annotations

import secrets
import time
from typing import Literal

from gatehouse.errors import InvalidInput
from gatehouse.store import users as rows
from gatehouse.store.models import AuditEvent
from gatehouse.store.store import NotFound, Store
from gatehouse.store.users import USER_ROLES, ConsoleUser, LastOwner, UserRole
from gatehouse.users import EMAIL, hash_password

__all__ = [
    "LastOwner",
    "NotAllowed",
    "create_user",
    "delete_user",
    "may_manage",
    "reset_password",
    "set_user_role",
]


class NotAllowed(PermissionError):
    """The acting console user may not do this: ``reason`` is ``self`` (acting on oneself) or
    ``owners_only`` (adding an owner, changing a role, or acting on an owner)."""

    def __init__(self, reason: Literal["self", "owners_only"]) -> None:
        super().__init__(reason)
        self.reason = reason


def may_manage(by: ConsoleUser | None, user: ConsoleUser) -> bool:
    """Whether ``by`` may reset the password of, change or remove ``user``."""
    if by is None:
        return True
    return user.id != by.id and (by.role == "owner" or user.role != "owner")


def _authorize(
    store: Store, by: ConsoleUser | None, *, customer_id: str, user_id: str, owners_only: bool
) -> None:
    if by is None:
        return
    if owners_only and by.role != "owner":
        raise NotAllowed("owners_only")
    user = rows.get_user(store, user_id=user_id)
    if user is None or user.customer_id != customer_id:
        raise NotFound(user_id)
    if user.id == by.id:
        raise NotAllowed("self")
    if not may_manage(by, user):
        raise NotAllowed("owners_only")


def _role(role: str) -> UserRole:
    for known in USER_ROLES:
        if role == known:
            return known
    raise InvalidInput({"role": f"must be one of {', '.join(USER_ROLES)}"})


def _audit(actor: str, action: str) -> rows.AuditOf:
    def event(user: ConsoleUser) -> AuditEvent:
        return AuditEvent(
            customer_id=user.customer_id,
            at=time.time(),
            actor=actor,
            action=action,
            target=user.email,
        )

    return event


def create_user(
    store: Store,
    *,
    customer_id: str,
    email: str,
    role: str,
    password: str,
    actor: str,
    by: ConsoleUser | None = None,
) -> str:
    """A new console user; returns its id. :class:`InvalidInput` for a bad email, role or
    password, ``Conflict`` for an email taken (by any customer's user)."""
    if role == "owner" and by is not None and by.role != "owner":
        raise NotAllowed("owners_only")
    email = email.strip().lower()
    if EMAIL.fullmatch(email) is None or "\x00" in email:
        raise InvalidInput({"email": "is not an email address"})
    checked = _role(role)
    password_hash = hash_password(password)
    user_id = "usr_" + secrets.token_hex(8)
    event = AuditEvent(
        customer_id=customer_id, at=time.time(), actor=actor, action="user.create", target=email
    )
    rows.insert_user(
        store,
        user_id=user_id,
        customer_id=customer_id,
        email=email,
        password_hash=password_hash,
        role=checked,
        audit=event,
    )
    return user_id


def set_user_role(
    store: Store,
    *,
    customer_id: str,
    user_id: str,
    role: str,
    actor: str,
    by: ConsoleUser | None = None,
) -> ConsoleUser:
    """Give a user another role; :class:`LastOwner` if it is the last owner's demotion."""
    _authorize(store, by, customer_id=customer_id, user_id=user_id, owners_only=True)
    checked = _role(role)
    return rows.update_user_role(
        store,
        customer_id=customer_id,
        user_id=user_id,
        role=checked,
        audit=_audit(actor, "user.set_role"),
    )


def delete_user(
    store: Store, *, customer_id: str, user_id: str, actor: str, by: ConsoleUser | None = None
) -> ConsoleUser:
    """Remove a user (its sessions end with it); :class:`LastOwner` for the last owner."""
    _authorize(store, by, customer_id=customer_id, user_id=user_id, owners_only=False)
    return rows.delete_user(
        store, customer_id=customer_id, user_id=user_id, audit=_audit(actor, "user.delete")
    )


def reset_password(
    store: Store,
    *,
    customer_id: str,
    user_id: str,
    password: str,
    actor: str,
    by: ConsoleUser | None = None,
) -> ConsoleUser:
    """Set a new password and end every session of the user."""
    _authorize(store, by, customer_id=customer_id, user_id=user_id, owners_only=False)
    return rows.update_user_password(
        store,
        customer_id=customer_id,
        user_id=user_id,
        password_hash=hash_password(password),
        audit=_audit(actor, "user.reset_password"),
    )
