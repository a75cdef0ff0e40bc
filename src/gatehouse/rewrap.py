"""Master key rotation: ``gatehouse keys rewrap`` re-seals every sealed value under a new master
key, in one transaction (docs/operations.md has the steps for several hosts).

What the master key seals (AES-256-GCM, ``masterkey.py``): each signing key's private key
(``signing_keys.private_key_sealed``, bound to its kid) and, unless secrets are shown once, each
client secret's copy for "Copy secret" (``app_clients.secret_sealed``, bound to the app id).

Client secrets are verified with an HMAC whose key was derived from the first master key. Secrets
shown once cannot be hashed again, so that key is kept across rotations: the first rewrap stores
it in ``master_key_state``, sealed under the new master key, and every later process takes it
from there (:func:`adopt_stored_keys`). A master key that cannot open it is refused.

A value already sealed under the new key is left as it is, so running the same command again
after every host has switched re-seals only what an old process sealed in between.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from sqlalchemy import Connection, select, update

from gatehouse.keycheck import replace_check
from gatehouse.masterkey import MasterKey
from gatehouse.store import tables as t
from gatehouse.store.models import AuditEvent
from gatehouse.store.store import Store

HMAC_KEY_ROW = "secret_hmac_key"


class WrongMasterKey(ValueError):
    """The master key given does not open what the database holds."""


@dataclass(frozen=True, slots=True)
class RewrapResult:
    signing_keys: int  # re-sealed now
    client_secrets: int
    unchanged: int  # already sealed under the new key


def adopt_stored_keys(store: Store, master_key: MasterKey) -> MasterKey:
    """``master_key`` with the client-secret HMAC key the database keeps, if it keeps one."""
    with store.engine.connect() as conn:
        sealed = _stored_hmac_key(conn)
    if sealed is None:
        return master_key
    try:
        return master_key.with_secret_hmac_key(master_key.unseal(sealed, context=HMAC_KEY_ROW))
    except InvalidTag:
        raise WrongMasterKey(
            "this master key does not open the database: it was rewrapped under another "
            "master key (gatehouse keys rewrap); set that one"
        ) from None


def rewrap(store: Store, current: MasterKey, new: MasterKey) -> RewrapResult:
    """Re-seal everything under ``new``; all or nothing. ``current`` is the key the data is
    sealed under now (as :func:`adopt_stored_keys` returned it)."""
    resealed_keys = resealed_secrets = unchanged = 0
    with _write_transaction(store) as conn:
        for kid, sealed in conn.execute(
            select(t.signing_keys.c.kid, t.signing_keys.c.private_key_sealed)
        ).all():
            fresh = _reseal(bytes(sealed), kid, current, new)
            if fresh is None:
                unchanged += 1
                continue
            conn.execute(
                update(t.signing_keys)
                .where(t.signing_keys.c.kid == kid)
                .values(private_key_sealed=fresh)
            )
            resealed_keys += 1
        c = t.app_clients.c
        for app_id, sealed in conn.execute(
            select(c.id, c.secret_sealed).where(c.secret_sealed.is_not(None))
        ).all():
            fresh = _reseal(bytes(sealed), app_id, current, new)
            if fresh is None:
                unchanged += 1
                continue
            conn.execute(update(t.app_clients).where(c.id == app_id).values(secret_sealed=fresh))
            resealed_secrets += 1
        _store_hmac_key(conn, current, new)
        replace_check(conn, new)  # every process now needs the new key
        conn.commit()
    _audit(store, resealed_keys + resealed_secrets)
    return RewrapResult(resealed_keys, resealed_secrets, unchanged)


def _reseal(sealed: bytes, context: str, current: MasterKey, new: MasterKey) -> bytes | None:
    """The value sealed under ``new``, or None when it is already."""
    try:
        new.unseal(sealed, context=context)
        return None
    except InvalidTag:
        pass
    try:
        plaintext = current.unseal(sealed, context=context)
    except InvalidTag:
        raise WrongMasterKey(
            f"neither the current nor the new master key opens the value of {context}; "
            "nothing was changed"
        ) from None
    return new.seal(plaintext, context=context)


def _stored_hmac_key(conn: Connection) -> bytes | None:
    sealed = conn.execute(
        select(t.master_key_state.c.sealed).where(t.master_key_state.c.name == HMAC_KEY_ROW)
    ).scalar()
    return bytes(sealed) if sealed is not None else None


def _store_hmac_key(conn: Connection, current: MasterKey, new: MasterKey) -> None:
    """Keep the HMAC key that verifies today's client secrets, sealed under ``new``."""
    existing = _stored_hmac_key(conn)
    if existing is not None and _opens(new, existing):
        return
    values = {
        "sealed": new.seal(current.secret_hmac_key, context=HMAC_KEY_ROW),
        "updated_at": time.time(),
    }
    if existing is None:
        conn.execute(t.master_key_state.insert().values(name=HMAC_KEY_ROW, **values))
    else:
        conn.execute(
            update(t.master_key_state)
            .where(t.master_key_state.c.name == HMAC_KEY_ROW)
            .values(**values)
        )


def _opens(key: MasterKey, sealed: bytes) -> bool:
    try:
        key.unseal(sealed, context=HMAC_KEY_ROW)
    except InvalidTag:
        return False
    return True


def _write_transaction(store: Store) -> Connection:
    """A transaction that holds off every other writer of sealed values until it commits;
    readers (the token path reads from memory anyway) are not blocked."""
    conn = store.engine.connect()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.begin()
        conn.exec_driver_sql(
            "LOCK TABLE signing_keys, app_clients, master_key_state IN EXCLUSIVE MODE"
        )
    return conn


def _audit(store: Store, resealed: int) -> None:
    now = time.time()
    store.append_audit(
        events=[
            AuditEvent(
                customer_id=customer.id,
                at=now,
                actor="cli",
                action="master_key.rewrap",
                source="cli",
                detail={"resealed": resealed},
            )
            for customer in store.list_customers()
        ]
    )


def key_for_rewrap(store: Store, configured: MasterKey, new: MasterKey) -> MasterKey:
    """The current key for :func:`rewrap`: the configured one, with the stored HMAC key opened by
    it or, when the same rewrap runs again after the switch, by the new key."""
    with store.engine.connect() as conn:
        sealed = _stored_hmac_key(conn)
    if sealed is None:
        return configured
    for key in (configured, new):
        if _opens(key, sealed):
            return configured.with_secret_hmac_key(key.unseal(sealed, context=HMAC_KEY_ROW))
    raise WrongMasterKey(
        "neither the configured nor the new master key opens this database; nothing was changed"
    )
