"""Console users: add, change the role of, reset the password of, and remove.

The console's users page and ``gatehouse users`` both call these. Each validates, hashes the
password (``gatehouse.users``), and writes the change with its audit row in one transaction
(``gatehouse.store.users``); a customer always keeps an owner (:class:`LastOwner`). Nothing
serves console users from memory (a session is read from the store on each request), so these
take no notifier.
"""

from __future__ import annotations

import secrets
import time

from gatehouse.errors import InvalidInput
from gatehouse.store import users as rows
from gatehouse.store.models import AuditEvent
from gatehouse.store.store import Store
from gatehouse.store.users import USER_ROLES, ConsoleUser, LastOwner, UserRole
from gatehouse.users import EMAIL, hash_password

__all__ = ["LastOwner", "create_user", "delete_user", "reset_password", "set_user_role"]


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
    store: Store, *, customer_id: str, email: str, role: str, password: str, actor: str
) -> str:
    """A new console user; returns its id. :class:`InvalidInput` for a bad email, role or
    password, ``Conflict`` for an email taken (by any customer's user)."""
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
    store: Store, *, customer_id: str, user_id: str, role: str, actor: str
) -> ConsoleUser:
    """Give a user another role; :class:`LastOwner` if it is the last owner's demotion."""
    return rows.update_user_role(
        store,
        customer_id=customer_id,
        user_id=user_id,
        role=_role(role),
        audit=_audit(actor, "user.set_role"),
    )


def delete_user(store: Store, *, customer_id: str, user_id: str, actor: str) -> ConsoleUser:
    """Remove a user (its sessions end with it); :class:`LastOwner` for the last owner."""
    return rows.delete_user(
        store, customer_id=customer_id, user_id=user_id, audit=_audit(actor, "user.delete")
    )


def reset_password(
    store: Store, *, customer_id: str, user_id: str, password: str, actor: str
) -> ConsoleUser:
    """Set a new password and end every session of the user."""
    return rows.update_user_password(
        store,
        customer_id=customer_id,
        user_id=user_id,
        password_hash=hash_password(password),
        audit=_audit(actor, "user.reset_password"),
    )
