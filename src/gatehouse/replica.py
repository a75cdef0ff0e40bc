"""An in-memory replica of clients, customers and signing keys, kept fresh from the change feed.

The token endpoint and the bearer check read only this replica: no database read per request
while nothing changes. A background thread polls the ``changes`` table (and wakes at once on a
PostgreSQL NOTIFY), so a change made by any process is seen here well within a second.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import orjson

from gatehouse.masterkey import MasterKey
from gatehouse.oauth.directory import ClientEntry
from gatehouse.oauth.keys import Alg, PublicKey, Signer, private_key_from_der
from gatehouse.revocations import revoked_until
from gatehouse.store.models import AppClientRecord, Change, CorpusRole, SigningKeyRecord
from gatehouse.store.store import NotFound, Store

log = logging.getLogger(__name__)

_GAP_PATIENCE = 10.0  # seconds a missing change id is waited for (PostgreSQL commit order)
_LOAD_GAP_WINDOW = 1000  # change ids below the load cursor checked for not-yet-committed ones
_DENY_PRUNE_EVERY = 60.0  # seconds between sweeps of expired entries from the deny set


@dataclass(frozen=True, slots=True)
class KeySet:
    """A customer's keys: the signer of the active key and the published JWKS document."""

    signer: Signer | None
    public_keys: tuple[PublicKey, ...]
    jwks_json: bytes


def entry_from(record: AppClientRecord) -> ClientEntry:
    return ClientEntry(
        id=record.id,
        customer_id=record.customer_id,
        client_id=record.client_id,
        secret_hash=record.secret_hash,
        previous_secret_hash=record.previous_secret_hash,
        previous_secret_expires_at=record.previous_secret_expires_at,
        api_roles=record.api_roles,
        enabled=record.enabled,
        token_lifetime_seconds=record.token_lifetime_seconds,
        token_quota_per_hour=record.token_quota_per_hour,
        tokens_revoked_before=record.tokens_revoked_before,
        auth_method=record.token_endpoint_auth_method,
        jwks=record.jwks,
        jwks_uri=record.jwks_uri,
        tls_client_auth_subject_dn=record.tls_client_auth_subject_dn,
        tls_client_auth_san_dns=record.tls_client_auth_san_dns,
        tls_client_auth_san_uri=record.tls_client_auth_san_uri,
        tls_client_auth_san_ip=record.tls_client_auth_san_ip,
        tls_client_auth_san_email=record.tls_client_auth_san_email,
        dpop_bound_access_tokens=record.dpop_bound_access_tokens,
        tls_client_certificate_bound_access_tokens=record.tls_client_certificate_bound_access_tokens,
    )


class Replica:
    """Implements :class:`gatehouse.oauth.directory.Directory` from memory."""

    def __init__(self, store: Store, master_key: MasterKey) -> None:
        self._store = store
        self._master_key = master_key
        self._lock = threading.Lock()
        self._by_client_id: dict[str, ClientEntry] = {}
        self._by_app_id: dict[str, ClientEntry] = {}
        self._corpus_roles: dict[str, tuple[CorpusRole, ...]] = {}
        self._customers: set[str] = set()
        self._keys: dict[str, KeySet] = {}
        self._revoked: dict[str, float] = {}  # the deny list: jti -> exp
        self._revoked_pruned = time.monotonic()
        self._cursor = 0
        self._gaps: dict[int, float] = {}
        self.version = 0  # bumped on every applied change; caches key on it
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- Directory -------------------------------------------------------------------------------

    def find_client(self, client_id: str) -> ClientEntry | None:
        return self._by_client_id.get(client_id)

    def signer_for(self, customer_id: str) -> Signer | None:
        keys = self._keys.get(customer_id)
        return keys.signer if keys is not None else None

    # -- other reads -----------------------------------------------------------------------------

    def client_by_app_id(self, app_id: str) -> ClientEntry | None:
        return self._by_app_id.get(app_id)

    def corpus_roles(self, app_id: str) -> tuple[CorpusRole, ...]:
        return self._corpus_roles.get(app_id, ())

    def clients(self) -> list[ClientEntry]:
        """Every client, as of now (for the TLS listener's trust store)."""
        return list(self._by_app_id.values())

    def client_count(self) -> int:
        return len(self._by_app_id)

    def has_customer(self, customer_id: str) -> bool:
        return customer_id in self._customers

    def key_set(self, customer_id: str) -> KeySet | None:
        return self._keys.get(customer_id)

    def jwks_json(self, customer_id: str) -> bytes | None:
        keys = self._keys.get(customer_id)
        return keys.jwks_json if keys is not None else None

    def is_jti_revoked(self, jti: str) -> bool:
        """Whether ``jti`` is on the deny list (revoked through RFC 7009, until its ``exp``)."""
        return jti in self._revoked

    # -- loading ---------------------------------------------------------------------------------

    def load(self) -> None:
        """Read everything once; the change feed takes over from the cursor read first."""
        with self._lock:
            cursor = self._store.latest_change_id()
            # PostgreSQL: a transaction holding a lower id may commit after the cursor was read;
            # an id missing below the cursor is a gap, applied when it shows up.
            low = max(0, cursor - _LOAD_GAP_WINDOW)
            seen = {c.id for c in self._store.changes_after(low, limit=_LOAD_GAP_WINDOW)}
            now = time.monotonic()
            self._gaps = {i: now for i in range(low + 1, cursor + 1) if i not in seen}
            self._customers = {c.id for c in self._store.list_customers()}
            clients = self._store.list_clients()
            self._by_app_id = {c.id: entry_from(c) for c in clients}
            self._by_client_id = {e.client_id: e for e in self._by_app_id.values()}
            self._corpus_roles = {c.id: c.corpus_roles for c in clients}
            by_customer: dict[str, list[SigningKeyRecord]] = {}
            for key in self._store.list_keys():
                by_customer.setdefault(key.customer_id, []).append(key)
            self._keys = {cid: self._build_key_set(keys) for cid, keys in by_customer.items()}
            self._revoked = revoked_until(self._store)
            self._cursor = cursor
            self.version += 1

    def refresh(self) -> int:
        """Apply the changes made since the last call; returns how many were applied."""
        with self._lock:
            changes = self._store.changes_after(self._cursor)
            now = time.monotonic()
            if self._gaps:
                changes += self._store.changes_by_id(sorted(self._gaps))
            expected = self._cursor + 1
            revoked: list[str] = []
            for change in sorted(changes, key=lambda c: c.id):
                self._gaps.pop(change.id, None)
                for missing in range(expected, change.id):
                    self._gaps.setdefault(missing, now)
                expected = max(expected, change.id + 1)
                if change.kind == "revocation":
                    revoked.append(change.entity_id)
                else:
                    self._apply(change)
            if revoked:  # one read for a batch of revocations
                self._revoked.update(revoked_until(self._store, jtis=revoked))
            if now - self._revoked_pruned > _DENY_PRUNE_EVERY:
                self._revoked_pruned = now
                wall = time.time()
                self._revoked = {j: exp for j, exp in self._revoked.items() if exp > wall}
            self._cursor = max(self._cursor, expected - 1)
            self._gaps = {i: t for i, t in self._gaps.items() if now - t < _GAP_PATIENCE}
            if changes:
                self.version += 1
            return len(changes)

    def _apply(self, change: Change) -> None:
        if change.kind == "client":
            self._reload_client(change.entity_id)
        elif change.kind == "keys":
            keys = self._store.list_keys(customer_id=change.customer_id)
            self._keys[change.customer_id] = self._build_key_set(keys)
        elif change.kind == "customer":
            self._customers.add(change.customer_id)

    def _reload_client(self, app_id: str) -> None:
        # Read first, then swap: a reader must never find a changed client missing for a moment.
        try:
            record = self._store.get_client(app_id=app_id)
        except NotFound:
            record = None
        old = self._by_app_id.get(app_id)
        if record is None:
            if old is not None:
                self._by_client_id.pop(old.client_id, None)
                self._by_app_id.pop(app_id, None)
                self._corpus_roles.pop(app_id, None)
            return
        entry = entry_from(record)
        self._by_client_id[entry.client_id] = entry
        self._by_app_id[app_id] = entry
        self._corpus_roles[app_id] = record.corpus_roles
        if old is not None and old.client_id != entry.client_id:
            self._by_client_id.pop(old.client_id, None)

    def _build_key_set(self, records: list[SigningKeyRecord]) -> KeySet:
        signer: Signer | None = None
        published: list[PublicKey] = []
        for record in records:
            alg: Alg = record.alg  # type: ignore[assignment]
            if record.state == "removed":
                continue
            published.append(PublicKey(record.kid, alg, record.state, record.public_jwk))  # type: ignore[arg-type]
            if record.state == "active":
                der = self._master_key.unseal(record.private_key_sealed, context=record.kid)
                signer = Signer(kid=record.kid, alg=alg, key=private_key_from_der(der))
        jwks = orjson.dumps({"keys": [key.jwk() for key in published]})
        return KeySet(signer=signer, public_keys=tuple(published), jwks_json=jwks)

    # -- background refresh ----------------------------------------------------------------------

    def start(self, interval: float) -> None:
        """Poll the change feed every ``interval`` seconds in a daemon thread."""
        self._thread = threading.Thread(
            target=self._run, args=(interval,), name="gatehouse-replica", daemon=True
        )
        self._thread.start()

    def wake(self) -> None:
        """Ask the poller to look now (called on a NOTIFY or after a local write)."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self, interval: float) -> None:
        while not self._stop.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.refresh()
            except Exception:  # the database may be briefly away; keep serving from memory
                log.warning("change feed poll failed; serving from memory", exc_info=True)
