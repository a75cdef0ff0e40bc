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

from gatehouse.masterkey import MasterKey
from gatehouse.store import sealed as rows
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
    sealed = rows.kept_secret(store, name=HMAC_KEY_ROW)
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
    result = rows.reseal_all(
        store,
        reseal=lambda sealed, context: _reseal(sealed, context, current, new),
        keep=lambda existing: _hmac_key_for(existing, current, new),
        kept_name=HMAC_KEY_ROW,
        check_value=new.check_value,  # every process now needs the new key
    )
    _audit(store, result.signing_keys + result.client_secrets)
    return RewrapResult(result.signing_keys, result.client_secrets, result.unchanged)


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


def _hmac_key_for(existing: bytes | None, current: MasterKey, new: MasterKey) -> bytes | None:
    """The HMAC key that verifies today's client secrets, sealed under ``new`` (None: the one
    kept already is)."""
    if existing is not None and _opens(new, existing):
        return None
    return new.seal(current.secret_hmac_key, context=HMAC_KEY_ROW)


def _opens(key: MasterKey, sealed: bytes) -> bool:
    try:
        key.unseal(sealed, context=HMAC_KEY_ROW)
    except InvalidTag:
        return False
    return True


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
    sealed = rows.kept_secret(store, name=HMAC_KEY_ROW)
    if sealed is None:
        return configured
    for key in (configured, new):
        if _opens(key, sealed):
            return configured.with_secret_hmac_key(key.unseal(sealed, context=HMAC_KEY_ROW))
    raise WrongMasterKey(
        "neither the configured nor the new master key opens this database; nothing was changed"
    )
