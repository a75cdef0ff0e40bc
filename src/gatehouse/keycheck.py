"""Fail closed on a wrong master key: the store remembers which key sealed it.

The first process to open a store writes a key check value (an HMAC of a fixed label under a key
derived from the master key, see :class:`gatehouse.masterkey.MasterKey`). Every later process, the
server and every CLI command, compares its master key with it before it writes anything, and
stops with one line naming the setting. A store that already holds sealed data never gets a new
development key file beside it.
"""

from __future__ import annotations

import hmac

from cryptography.exceptions import InvalidTag
from sqlalchemy import Engine

from gatehouse.masterkey import MasterKey, load_master_key
from gatehouse.settings import Settings
from gatehouse.store import sealed
from gatehouse.store.store import Store


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
    store = Store(engine)
    stored = sealed.key_check(store)
    holds_sealed = stored is not None or sealed.holds_sealed_data(store)
    master_key = configured_key(settings)
    if master_key is None:
        # A development key file is created only beside a store that holds nothing sealed.
        if holds_sealed:
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
        _prove_legacy(store, master_key, settings)
        stored = sealed.insert_key_check(store, value=master_key.check_value)
    if rewrapping_to is not None and hmac.compare_digest(stored, rewrapping_to.check_value):
        return master_key
    if not hmac.compare_digest(stored, master_key.check_value):
        raise MasterKeyError(
            f"{key_setting(settings)} is not the master key this database was sealed with; "
            "set it to that key (nothing was changed)"
        )
    return master_key


def _prove_legacy(store: Store, master_key: MasterKey, settings: Settings) -> None:
    """A store sealed before key checks existed: unseal one sealed value before trusting it."""
    sample = sealed.a_sealed_value(store)
    try:
        if sample is not None:
            master_key.unseal(sample[0], context=sample[1])
    except InvalidTag:
        raise MasterKeyError(
            f"{key_setting(settings)} cannot unseal the signing keys in this database; "
            "set it to the master key they were sealed with (nothing was changed)"
        ) from None
