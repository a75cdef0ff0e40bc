"""The master key and the purpose-bound keys derived from it (HKDF-SHA256, RFC 5869)."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hmac
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gatehouse.settings import Settings

log = logging.getLogger(__name__)

_NONCE_BYTES = 12


def _derive(master: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
        master
    )


@dataclass(frozen=True)
class MasterKey:
    """Holds the derived keys; the raw master key is not kept once they are derived."""

    secret_hmac_key: bytes = field(repr=False)
    _sealing: AESGCM = field(repr=False)
    # What the store keeps to recognise this key (gatehouse.keycheck); reveals nothing of it.
    check_value: bytes = field(repr=False, default=b"")

    @classmethod
    def from_bytes(cls, master: bytes) -> MasterKey:
        if len(master) != 32:
            raise ValueError("the master key must be 32 bytes")
        return cls(
            secret_hmac_key=_derive(master, "gatehouse client-secret hmac v1"),
            _sealing=AESGCM(_derive(master, "gatehouse sealing v1")),
            check_value=hmac.digest(
                _derive(master, "gatehouse key check v1"), b"gatehouse master key check", "sha256"
            ),
        )

    def with_secret_hmac_key(self, key: bytes) -> MasterKey:
        """The same sealing key with the client-secret HMAC key a rewrapped database keeps."""
        return dataclasses.replace(self, secret_hmac_key=key)

    def seal(self, plaintext: bytes, *, context: str) -> bytes:
        """AES-256-GCM encrypt, binding the ciphertext to ``context`` (e.g. a row id)."""
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._sealing.encrypt(nonce, plaintext, context.encode())

    def unseal(self, sealed: bytes, *, context: str) -> bytes:
        """Decrypt what :meth:`seal` produced; raises ``InvalidTag`` on any tampering."""
        return self._sealing.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], context.encode())


def load_master_key(settings: Settings, *, create: bool = True) -> MasterKey:
    """Read the master key from the environment or its file; create a development one if absent
    (unless ``create`` is false: then a missing file is a ``FileNotFoundError``)."""
    if settings.master_key is not None:
        return MasterKey.from_bytes(base64.b64decode(settings.master_key.get_secret_value()))
    path = settings.master_key_file or settings.data_dir / "master.key"
    if path.exists():
        return MasterKey.from_bytes(read_key_file(path))
    if settings.master_key_file is not None:
        raise FileNotFoundError(f"GATEHOUSE_MASTER_KEY_FILE {path} does not exist")
    if not create:
        raise FileNotFoundError(f"GATEHOUSE_MASTER_KEY is not set and {path} does not exist")
    return MasterKey.from_bytes(_create_key_file(path))


def read_key_file(path: Path) -> bytes:
    """The 32 bytes a key file holds in base64, or a ValueError that names the file."""
    try:
        raw = base64.b64decode(path.read_text().strip(), validate=True)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ValueError(
            f"the master key file {path} must hold 32 bytes, base64-encoded "
            "(openssl rand -base64 32)"
        )
    return raw


def _create_key_file(path: Path) -> bytes:
    """Write a new key file (mode 0600) atomically; if another process won, use its key."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    raw = os.urandom(32)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.b64encode(raw).decode() + "\n")
        # link() never replaces: a key file appears complete, or the other process's stays.
        os.link(temporary, path)
    except FileExistsError:  # another process created it first
        return read_key_file(path)
    finally:
        temporary.unlink(missing_ok=True)
    log.warning(
        "created a development master key at %s; set GATEHOUSE_MASTER_KEY for production", path
    )
    return raw
