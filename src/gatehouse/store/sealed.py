"""Store verbs for what the master key seals and proves: the key check value (``key_check``),
the kept client-secret HMAC key (``master_key_state``), and the sealed columns a master key
rotation re-seals (``signing_keys.private_key_sealed``, ``app_clients.secret_sealed``).

``gatehouse.keycheck`` and ``gatehouse.rewrap`` hold the cryptography; these verbs only read
and write the bytes (docs/operations.md has the rotation steps).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Table, delete, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from gatehouse.store import tables as t
from gatehouse.store.store import Store

_CHECK_ROW = 1
_k = t.signing_keys.c
_a = t.app_clients.c
_m = t.master_key_state.c

# (sealed value, the context it is bound to) -> the value sealed anew, or None to keep it
Reseal = Callable[[bytes, str], bytes | None]


@dataclass(frozen=True, slots=True)
class Resealed:
    signing_keys: int  # re-sealed now
    client_secrets: int
    unchanged: int  # kept as they were


def key_check(store: Store) -> bytes | None:
    """The stored key check value, or None before the first process wrote one."""
    with store.engine.connect() as conn:
        value = conn.execute(select(t.key_check.c.value).where(t.key_check.c.id == _CHECK_ROW))
        stored = value.scalar()
    return bytes(stored) if stored is not None else None


def holds_sealed_data(store: Store) -> bool:
    """Whether any signing key or app client (both hold sealed values) exists."""
    query = select(exists().select_from(t.signing_keys) | exists().select_from(t.app_clients))
    with store.engine.connect() as conn:
        return bool(conn.execute(query).scalar())


def a_sealed_value(store: Store) -> tuple[bytes, str] | None:
    """One sealed value and its context (a signing key's, else a kept client secret's)."""
    with store.engine.connect() as conn:
        key = conn.execute(select(_k.kid, _k.private_key_sealed).limit(1)).first()
        if key is not None:
            return bytes(key.private_key_sealed), key.kid
        client = conn.execute(
            select(_a.id, _a.secret_sealed).where(_a.secret_sealed.is_not(None)).limit(1)
        ).first()
    return (bytes(client.secret_sealed), client.id) if client is not None else None


def insert_key_check(store: Store, *, value: bytes) -> bytes:
    """Store ``value`` unless another process stored its value first; returns the stored one."""
    try:
        with store.engine.begin() as conn:
            conn.execute(
                insert(t.key_check).values(id=_CHECK_ROW, value=value, created_at=time.time())
            )
    except IntegrityError:  # another process wrote its value first: the caller compares
        pass
    stored = key_check(store)
    if stored is None:  # written above or by that other process: never absent here
        raise LookupError("the key check value is missing")
    return stored


def kept_secret(store: Store, *, name: str) -> bytes | None:
    """A sealed value kept in ``master_key_state`` under ``name``."""
    with store.engine.connect() as conn:
        return _kept(conn, name)


def _kept(conn: Connection, name: str) -> bytes | None:
    sealed = conn.execute(select(_m.sealed).where(_m.name == name)).scalar()
    return bytes(sealed) if sealed is not None else None


def reseal_all(
    store: Store,
    *,
    reseal: Reseal,
    keep: Callable[[bytes | None], bytes | None],
    kept_name: str,
    check_value: bytes,
) -> Resealed:
    """Re-seal every sealed value in one transaction that holds off every other writer of
    sealed values until it commits (readers are not blocked): ``reseal`` gives each value's
    new form (or None to keep it), ``keep`` the new kept secret under ``kept_name`` from the
    current one (or None to keep it), and ``check_value`` replaces the key check value. An
    exception from a callback rolls everything back."""
    with store.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.begin()
            conn.exec_driver_sql(
                "LOCK TABLE signing_keys, app_clients, console_results, master_key_state"
                " IN EXCLUSIVE MODE"
            )
        try:
            keys, kept_keys = _reseal_column(
                conn, t.signing_keys, "kid", "private_key_sealed", reseal
            )
            secrets, kept_secrets = _reseal_column(
                conn, t.app_clients, "id", "secret_sealed", reseal
            )
            unchanged = kept_keys + kept_secrets
            # A console result not yet shown holds a secret sealed for its one showing.
            _reseal_column(conn, t.console_results, "id", "flash_sealed", reseal)
            _replace_kept(conn, kept_name, keep(_kept(conn, kept_name)))
            conn.execute(delete(t.key_check).where(t.key_check.c.id == _CHECK_ROW))
            conn.execute(
                insert(t.key_check).values(id=_CHECK_ROW, value=check_value, created_at=time.time())
            )
        except BaseException:
            conn.rollback()
            raise
        conn.commit()
    return Resealed(keys, secrets, unchanged)


def _reseal_column(
    conn: Connection, table: Table, key: str, column: str, reseal: Reseal
) -> tuple[int, int]:
    """Re-seal every value of ``table.column`` (bound to the row's ``key``): how many were
    re-sealed and how many were already sealed under the new key."""
    ids, values = table.c[key], table.c[column]
    changed = unchanged = 0
    for row_id, sealed in conn.execute(select(ids, values).where(values.is_not(None))).all():
        fresh = reseal(bytes(sealed), row_id)
        if fresh is None:
            unchanged += 1
            continue
        conn.execute(update(table).where(ids == row_id).values({column: fresh}))
        changed += 1
    return changed, unchanged


def _replace_kept(conn: Connection, name: str, sealed: bytes | None) -> None:
    if sealed is None:
        return
    values = {"sealed": sealed, "updated_at": time.time()}
    changed = conn.execute(update(t.master_key_state).where(_m.name == name).values(**values))
    if changed.rowcount == 0:
        conn.execute(insert(t.master_key_state).values(name=name, **values))
