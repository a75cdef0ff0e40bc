"""Fail closed on a wrong master key: the store remembers which key sealed it.

The first process to open a store writes a key check value (an HMAC of a fixed label under a key
derived from the master key, see :class:`gatehouse.masterkey.MasterKey`). Every later process, the
server and every CLI command, compares its master key with it before it writes anything, and
stops with one line naming the setting. A store that already holds sealed data never gets a new
development key file beside it.
"""

from __future__ import annotations

import hmac
import time

from cryptography.exceptions import InvalidTag
from sqlalchemy import Connection, Engine, delete, exists, insert, select
from sqlalchemy.exc import IntegrityError

from gatehouse.masterkey import MasterKey, load_master_key
from gatehouse.settings import Settings
from gatehouse.store import tables as t

_ROW = 1


class MasterKeyError(ValueError):
    """The master key is missing, malformed or not the one this store was sealed with; the
    message is one line that names the setting to fix."""


def key_setting(settings: Settings) -> str:
    """The setting an operator fixes: the variable, or the file that stands in for it."""
    if settings.master_key is not None:
        return "GATEHOUSE_MASTER_KEY"
    if settings.master_key_file is not None:
        return f"GATEHOUSE_MASTER_KEY_FILE ({settings.master_key_file})"
    return f"GATEHOUSE_MASTER_KEY (not set: the key file {settings.data_dir / 'master.key'})"


def configured_key(settings: Settings) -> MasterKey | None:
    """The key the settings name (checked for form only), or None when none is set and the
    development key file does not exist yet."""
    try:
        return load_master_key(settings, create=False)
    except FileNotFoundError as exc:
        if settings.master_key_file is not None:
            raise MasterKeyError(f"invalid master key: {exc}") from None
        return None
    except (OSError, ValueError) as exc:
        raise MasterKeyError(f"invalid master key: {exc}") from None


def open_master_key(
    settings: Settings, engine: Engine, *, rewrapping_to: MasterKey | None = None
) -> MasterKey:
    """The master key of ``settings``, proven to be the one this (migrated) store knows.

    ``rewrapping_to``: ``gatehouse keys rewrap`` run again after the switch to this new key
    (docs/operations.md): a store already checked under the new key is accepted too, the old key
    only opening what an old process sealed meanwhile.

    Raises :class:`MasterKeyError`; nothing is written unless the key is right.
    """
    with engine.connect() as conn:
        stored = conn.execute(select(t.key_check.c.value).where(t.key_check.c.id == _ROW)).scalar()
        sealed = stored is not None or bool(
            conn.execute(
                select(exists().select_from(t.signing_keys) | exists().select_from(t.app_clients))
            ).scalar()
        )
    master_key = configured_key(settings)
    if master_key is None:
        # A development key file is created only beside a store that holds nothing sealed.
        if sealed:
            raise MasterKeyError(
                f"GATEHOUSE_MASTER_KEY is not set and {settings.data_dir / 'master.key'} does not "
                "exist, but the database holds data sealed with a master key: set "
                "GATEHOUSE_MASTER_KEY to that key (nothing was changed)"
            )
        try:
            master_key = load_master_key(settings)
        except (OSError, ValueError) as exc:
            raise MasterKeyError(f"invalid master key: {exc}") from None
    if stored is None:
        _prove_legacy(engine, master_key, settings)
        stored = _write_check(engine, master_key)
    if rewrapping_to is not None and hmac.compare_digest(bytes(stored), rewrapping_to.check_value):
        return master_key
    if not hmac.compare_digest(bytes(stored), master_key.check_value):
        raise MasterKeyError(
            f"{key_setting(settings)} is not the master key this database was sealed with; "
            "set it to that key (nothing was changed)"
        )
    return master_key


def _prove_legacy(engine: Engine, master_key: MasterKey, settings: Settings) -> None:
    """A store sealed before key checks existed: unseal one sealed value before trusting it."""
    with engine.connect() as conn:
        key = conn.execute(
            select(t.signing_keys.c.kid, t.signing_keys.c.private_key_sealed).limit(1)
        ).first()
        client = conn.execute(
            select(t.app_clients.c.id, t.app_clients.c.secret_sealed)
            .where(t.app_clients.c.secret_sealed.is_not(None))
            .limit(1)
        ).first()
    try:
        if key is not None:
            master_key.unseal(bytes(key.private_key_sealed), context=key.kid)
        elif client is not None:
            master_key.unseal(bytes(client.secret_sealed), context=client.id)
    except InvalidTag:
        raise MasterKeyError(
            f"{key_setting(settings)} cannot unseal the signing keys in this database; "
            "set it to the master key they were sealed with (nothing was changed)"
        ) from None


def _write_check(engine: Engine, master_key: MasterKey) -> bytes:
    """Insert the check value unless another process did first; returns the stored one."""
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(t.key_check).values(
                    id=_ROW, value=master_key.check_value, created_at=time.time()
                )
            )
    except IntegrityError:  # another process wrote its value first: compare with that one
        pass
    with engine.connect() as conn:
        return bytes(
            conn.execute(select(t.key_check.c.value).where(t.key_check.c.id == _ROW)).scalar_one()
        )


def replace_check(conn: Connection, master_key: MasterKey) -> None:
    """In the transaction of a rewrap: the store is sealed under ``master_key`` from now on."""
    conn.execute(delete(t.key_check).where(t.key_check.c.id == _ROW))
    conn.execute(
        insert(t.key_check).values(id=_ROW, value=master_key.check_value, created_at=time.time())
    )
