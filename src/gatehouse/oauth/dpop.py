"""DPoP at the token endpoint (RFC 9449 §5, §6, §8, §11.1).

A token request with a ``DPoP`` header gets a token bound to the proof's key (``cnf.jkt``) and
``token_type: DPoP``. The proof is checked by :func:`gatehouse.verify.dpop.check_proof`; this
module adds what only the authorization server does: the expected ``htu`` from the configured
public URL (never from a request header), the optional server nonce, single use of each proof
across processes, and the per-client ``dpop_bound_access_tokens`` requirement.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from gatehouse.errors import InvalidDPoPProof, UseDPoPNonce
from gatehouse.oauth.jose import b64url, b64url_decode
from gatehouse.verify.dpop import (
    DPOP_ALGORITHMS,
    PROOF_WINDOW,
    DPoPProof,
    MemoryReplayCache,
    ProofError,
    check_proof,
)

REPLAYED = "the DPoP proof has been used before"
SIGNATURE_INVALID = "the DPoP proof's signature is invalid"
NONCE_LIFETIME = 300  # seconds a server nonce is accepted
_NONCE_REFRESH = 60  # a new nonce is handed out every minute
_STAMP = struct.Struct(">Q")


class SharedReplay(Protocol):
    """Single use across processes, asked once per batch (``gatehouse.store.proofs``)."""

    def first_uses(self, keys: Sequence[str], ttl: float) -> list[bool]: ...


def replay_key(proof: DPoPProof) -> str:
    """The proof's key in this process: its key's thumbprint and its ``jti``."""
    return f"{proof.jkt}:{proof.jti}"


def shared_replay_key(proof: DPoPProof) -> str:
    """The proof's key across processes: its ``iat`` second first, so that the keys of one
    moment sort together in the database's index (``gatehouse.store.proofs``). A replay is the
    same proof, with the same ``iat``, so it always meets its first use's key; the same ``jti``
    under another ``iat`` is a new proof signed by the key's holder (RFC 9449 §11.1 leaves the
    extent of the check to the server's "reasonable consideration of accuracy and resource
    utilization"), and within one process it is refused all the same."""
    return f"{int(proof.iat) & 0xFFFFFFFF:08x}:{proof.jkt}:{proof.jti}"


class DPoPNonces:
    """Stateless server nonces: an issue time and its HMAC, so every process sharing the master
    key accepts the nonces of every other (RFC 9449 §8 leaves their form to the server)."""

    def __init__(self, key: bytes, *, lifetime: float = NONCE_LIFETIME) -> None:
        self._key = hmac.new(key, b"gatehouse dpop nonce v1", hashlib.sha256).digest()
        self._lifetime = lifetime
        self._current = ("", 0.0)

    def _mac(self, stamp: bytes) -> bytes:
        return hmac.new(self._key, stamp, hashlib.sha256).digest()[:16]

    def current(self, now: float | None = None) -> str:
        """The nonce to hand out now (a new one every minute)."""
        now = time.time() if now is None else now
        nonce, made = self._current
        if now - made >= _NONCE_REFRESH or not nonce:
            stamp = _STAMP.pack(int(now))
            nonce = b64url(stamp + self._mac(stamp)).decode("ascii")
            self._current = (nonce, now)
        return nonce

    def is_valid(self, nonce: str | None, now: float | None = None) -> bool:
        if nonce is None or len(nonce) > 64:
            return False
        try:
            raw = b64url_decode(nonce)
        except ValueError:
            return False
        if len(raw) != 24 or not hmac.compare_digest(raw[8:], self._mac(raw[:8])):
            return False
        issued: int = _STAMP.unpack(raw[:8])[0]
        age = (time.time() if now is None else now) - issued
        return -5 <= age <= self._lifetime


@dataclass
class TokenDPoP:
    """The DPoP step of the token endpoint."""

    public_url: str  # GATEHOUSE_PUBLIC_URL: htu is this plus the request path
    shared: SharedReplay  # across processes: the database or Redis
    nonces: DPoPNonces | None = None  # set when GATEHOUSE_DPOP_NONCE is on
    algorithms: tuple[str, ...] = DPOP_ALGORITHMS
    local: MemoryReplayCache = field(default_factory=MemoryReplayCache)
    _pool: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def check(
        self, proof: str | None, *, method: str, path: str, required: bool, duplicate: bool = False
    ) -> DPoPProof | None:
        """The checked proof of a token request, None without one; raises an OAuthError."""
        if duplicate:
            # RFC 9449 §4.3 (1): there is not more than one DPoP HTTP request header field.
            raise InvalidDPoPProof("send one DPoP header")
        if proof is None:
            # RFC 9449 §5.2: a client registered for bound tokens must send a proof.
            if required:
                raise InvalidDPoPProof("this client's tokens are DPoP-bound: send a DPoP proof")
            return None
        try:
            checked = check_proof(
                proof,
                method=method,
                url=self.public_url + path,
                algorithms=self.algorithms,
                defer_signature=True,
            )
        except ProofError as error:
            raise InvalidDPoPProof(str(error)) from None
        if self.nonces is not None and not self.nonces.is_valid(checked.nonce):
            # RFC 9449 §8: without a (current) server nonce the answer is use_dpop_nonce.
            raise UseDPoPNonce(
                "the authorization server requires a DPoP nonce", nonce=self.nonces.current()
            )
        return checked  # its signature and single use are checked by settle

    def settle(self, proofs: Sequence[DPoPProof]) -> list[str | None]:
        """The rest of the checks for the proofs of one batch: each one's refusal, or None."""
        return self.begin_settle(proofs)()

    def begin_settle(self, proofs: Sequence[DPoPProof]) -> Callable[[], list[str | None]]:
        """Start the rest of the checks for the proofs of one batch; the callable returned
        waits for them and gives each proof's refusal, or None (or raises what the shared
        check raised).

        Signatures are verified now, back to back (as the endpoint signs tokens: OpenSSL's
        tables stay in the CPU caches), then single use in this process; single use across
        processes is one round trip for the whole batch on a worker thread, so the event loop
        signs the batch's tokens meanwhile instead of waiting for the database or Redis.
        """
        ttl = 2 * PROOF_WINDOW
        # RFC 9449 §4.3 (6): the signature verifies with the proof's own public key.
        refusals: list[str | None] = [
            None if proof.signature_valid() else SIGNATURE_INVALID for proof in proofs
        ]
        first_use = self.local.first_use
        for index, proof in enumerate(proofs):
            # RFC 9449 §11.1: a proof is accepted once; a replay within its window is refused.
            if refusals[index] is None and not first_use(replay_key(proof), ttl):
                refusals[index] = REPLAYED
        pending = [index for index, refusal in enumerate(refusals) if refusal is None]
        if not pending:
            return lambda: refusals
        keys = [shared_replay_key(proofs[index]) for index in pending]
        future = self._worker().submit(self.shared.first_uses, keys, ttl)

        def finish() -> list[str | None]:
            for index, first in zip(pending, future.result(), strict=True):
                if not first:
                    refusals[index] = REPLAYED
            return refusals

        return finish

    def _worker(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="gatehouse-dpop")
            return self._pool

    def close(self) -> None:
        """Stop the worker thread (a later batch starts a new one)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def response_nonce(self) -> str | None:
        """The nonce to send with a successful response (RFC 9449 §8.2), if nonces are on."""
        return self.nonces.current() if self.nonces is not None else None
