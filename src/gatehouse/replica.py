"""What the token endpoint and the bearer check read: app clients, customers and signing keys
in memory, read through to the store on a miss and kept fresh from the change feed.

Clients live in a bounded LRU cache (:mod:`gatehouse.clientcache`, ``GATEHOUSE_CLIENT_CACHE_SIZE``):
nothing is read at start-up, a hot client costs no store statement, and a cold one costs one
indexed read by ``client_id``. A client that does not authenticate from memory (a secret, a
re-enabled client or a role written by another process a moment ago) is read again once, so a
change that grants more is in force at the next request whichever process wrote it. A background
thread polls the ``changes`` table (and wakes at once on a PostgreSQL NOTIFY or Redis message),
so a change that takes away is applied here well within a second.

While the store is unreachable, what is in memory keeps serving; a read that cannot be made
raises :class:`gatehouse.errors.TemporarilyUnavailable` (503), and for a second after a failure
no read is tried by a request until the background poller reaches the store again, so an outage
makes no request wait.
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeVar

import orjson
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeout

from gatehouse.clientcache import ClientCache
from gatehouse.coldreads import ColdRead, ColdReads
from gatehouse.errors import TemporarilyUnavailable
from gatehouse.masterkey import MasterKey
from gatehouse.oauth.directory import NO_GRANTS, ApiEntry, ClientEntry, ColdClient
from gatehouse.oauth.keys import Alg, PublicKey, Signer, private_key_from_der
from gatehouse.revocations import DENY_GRACE, revoked_until
from gatehouse.store.apis import ApiRecord, ApiStore
from gatehouse.store.models import AppClientRecord, Change, CorpusRole, SigningKeyRecord
from gatehouse.store.store import CLIENTS_IMPORTED, Store

log = logging.getLogger(__name__)

_GAP_PATIENCE = 10.0  # seconds a missing change id is waited for (PostgreSQL commit order)
_LOAD_GAP_WINDOW = 1000  # change ids below the load cursor checked for not-yet-committed ones
_DENY_PRUNE_EVERY = 60.0  # seconds between sweeps of expired entries from the deny set
_DOWN_FOR = 1.0  # seconds after a failed store read during which none is tried
HEARTBEAT = 1.0  # seconds between reports of the applied cursor while nothing changes
READERS_KEPT = 3600.0  # seconds a silent reader's row is kept before a starting process drops it
RETRY_AFTER = 1  # the Retry-After of a 503 while the store is unreachable
STORE_DOWN = "the client store is unreachable; retry shortly"
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class KeySet:
    """A customer's keys: the signer of the active key and the published JWKS document."""

    signer: Signer | None
    public_keys: tuple[PublicKey, ...]
    jwks_json: bytes


def entry_from(
    record: AppClientRecord, grants: Mapping[str, tuple[str, ...]] | None = None
) -> ClientEntry:
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
        grants=MappingProxyType(dict(grants)) if grants else NO_GRANTS,
    )


def api_tables(records: list[ApiRecord]) -> dict[str, dict[str, ApiEntry]]:
    """customer id -> match key -> registered API (the built-in API has no row here)."""
    tables: dict[str, dict[str, ApiEntry]] = {}
    for r in records:
        if r.match_key is None or r.identifier is None:
            continue
        entry = ApiEntry(
            r.id,
            r.customer_id,
            r.identifier,
            tuple(s.value for s in r.scopes),
            r.token_lifetime_seconds,
        )
        tables.setdefault(r.customer_id, {})[r.match_key] = entry
    return tables


class Replica:
    """Implements :class:`gatehouse.oauth.directory.Directory` from memory, reading through to
    the store on a miss."""

    def __init__(
        self,
        store: Store,
        master_key: MasterKey,
        *,
        cache_size: int = 100_000,
        reads_per_second: int = 200,
    ) -> None:
        self._store = store
        self._master_key = master_key
        self._lock = threading.Lock()
        self.clients = ClientCache(size=cache_size, reads_per_second=reads_per_second)
        self._entries = self.clients.entries
        self.cold = ColdReads(self._read_cold)  # cold reads off the event loop
        self._customers: set[str] = set()
        self._keys: dict[str, KeySet] = {}
        self._apis_store = ApiStore(store.engine)
        self._apis: dict[str, dict[str, ApiEntry]] = {}  # customer -> match key -> API
        self._revoked: dict[str, float] = {}  # the deny list: jti -> exp
        self._revoked_pruned = time.monotonic()
        self._cursor = 0
        self._gaps: dict[int, float] = {}
        self.version = 0  # bumped on every applied change; caches key on it
        self.skipped_changes = 0  # change-feed records that could not be applied (see /readyz)
        self.last_skipped: int | None = None  # the id of the last one
        self._applied = 0  # client changes applied: a read-through older than one is not kept
        self._down_until = 0.0  # monotonic time before which the store is not tried again
        self.store_failures = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.reader_id: str | None = None  # this process's row in change_readers, once started
        self._reported = (-1, 0.0)  # (applied cursor, monotonic time) last reported

    # -- Directory -------------------------------------------------------------------------------

    def find_client(self, client_id: str) -> ClientEntry | None:
        # The hot path: ClientCache.get inlined (two C calls, no Python frame).
        entry = self._entries.get(client_id)
        if entry is not None:
            try:  # noqa: SIM105 - contextlib.suppress costs more on the hot path
                self._entries.move_to_end(client_id)
            except KeyError:  # evicted by another thread meanwhile
                pass
            return entry
        return self._read_client(client_id, stale=None)

    def recheck_client(self, client_id: str, stale: ClientEntry) -> ClientEntry | None:
        """The client read again from the store, after ``stale`` (what memory holds) failed to
        authenticate a request: another process may have just granted what was asked."""
        return self._read_client(client_id, stale=stale)

    def signer_for(self, customer_id: str) -> Signer | None:
        keys = self._keys.get(customer_id)
        if keys is None:
            keys = self._read_keys(customer_id)
        return keys.signer if keys is not None else None

    def find_api(self, customer_id: str, match_key: str) -> ApiEntry | None:
        table = self._apis.get(customer_id)
        return table.get(match_key) if table is not None else None

    # -- other reads -----------------------------------------------------------------------------

    def client_by_app_id(self, app_id: str) -> ClientEntry | None:
        return self.clients.by_app_id(app_id)

    def corpus_roles(self, app_id: str) -> tuple[CorpusRole, ...]:
        return self.clients.corpus_roles(app_id)

    def clients_with_auth_method(self, method: str) -> list[ClientEntry]:
        """Every client of ``method``, read from the store (for the TLS listener's trust
        store: the cache holds only some clients)."""
        return [entry_from(r) for r in self._store.clients_with_auth_method(method=method)]

    def client_count(self) -> int:
        return len(self.clients)

    def has_customer(self, customer_id: str) -> bool:
        return customer_id in self._customers or self._read_keys(customer_id) is not None

    def key_set(self, customer_id: str) -> KeySet | None:
        keys = self._keys.get(customer_id)
        return keys if keys is not None else self._read_keys(customer_id)

    def jwks_json(self, customer_id: str) -> bytes | None:
        keys = self.key_set(customer_id)
        return keys.jwks_json if keys is not None else None

    def reload_keys(self, customer_id: str) -> None:
        """A token names a key this process does not know: another process may have just made
        it; read the customer's keys again (within the read budget)."""
        if not self.clients.may_read():
            return
        self.clients.spend()
        records = self._from_store(lambda: self._store.list_keys(customer_id=customer_id))
        keys = self._usable_key_set(customer_id, records) if records else None
        if keys is not None:
            self._keys[customer_id] = keys
            self.version += 1

    def is_jti_revoked(self, jti: str) -> bool:
        """Whether ``jti`` is on the deny list (revoked through RFC 7009, until its ``exp`` plus
        :data:`gatehouse.revocations.DENY_GRACE`)."""
        return jti in self._revoked

    @property
    def store_reachable(self) -> bool:
        """False after a store read failed, until the store answers again."""
        return time.monotonic() >= self._down_until

    # -- read-through ----------------------------------------------------------------------------

    def _read_client(self, client_id: str, *, stale: ClientEntry | None) -> ClientEntry | None:
        # The column holds at most 64 characters: a longer id cannot exist.
        if not 0 < len(client_id) <= 64 or "\x00" in client_id:
            return stale
        handed = self.cold.handed()
        if handed is not None and client_id in handed:  # read off the loop a moment ago
            handed_read = handed[client_id]
            if isinstance(handed_read, TemporarilyUnavailable):
                raise TemporarilyUnavailable(STORE_DOWN, retry_after=RETRY_AFTER)
            return handed_read
        cache = self.clients
        if stale is None and cache.is_known_unknown(client_id):
            return None
        if not cache.may_read():
            return stale
        if handed is not None:  # deferring: the caller reads off the event loop
            if not self.store_reachable:
                raise TemporarilyUnavailable(STORE_DOWN, retry_after=RETRY_AFTER)
            raise ColdClient(client_id, stale)
        with cache.flight(client_id):
            if stale is None:
                entry = cache.get(client_id)
                if entry is not None:  # read by another thread meanwhile
                    return entry
            applied = self._applied
            started = time.monotonic()
            # One statement: the client, its corpus roles and its grants.
            read = self._from_store(lambda: self._store.read_client_entry(client_id=client_id))
            took = time.monotonic() - started
            cache.reads += 1
            if read is None:
                cache.spend(took)
                cache.remember_unknown(client_id)
                if stale is not None:
                    cache.forget(stale.id)
                return None
            if stale is not None:
                cache.spend(took)  # a failed authentication, whatever the read finds
            record, grants = read
            entry = entry_from(record, grants)
            # A change applied meanwhile may be newer than this read: serve it, do not keep it.
            if applied == self._applied:
                cache.put(entry, record.corpus_roles)
            return entry

    def _read_cold(self, cold: ColdClient) -> ColdRead:
        """The read a deferred request asked for (in a worker thread of :attr:`cold`), with the
        keys of a customer made since start-up, so asking again reads nothing."""
        try:
            entry = self._read_client(cold.client_id, stale=cold.stale)
            if entry is not None and entry.customer_id not in self._keys:
                self._read_keys(entry.customer_id)
        except TemporarilyUnavailable as error:
            return error
        return entry

    def _read_keys(self, customer_id: str) -> KeySet | None:
        """A customer made by another process since start-up: its keys, read once."""
        marker = f"customer {customer_id}"
        cache = self.clients
        if cache.is_known_unknown(marker) or not cache.may_read():
            return None
        with cache.flight(marker):
            keys = self._keys.get(customer_id)
            if keys is not None:
                return keys
            records = self._from_store(lambda: self._store.list_keys(customer_id=customer_id))
            if not records:
                cache.spend()
                cache.remember_unknown(marker)
                return None
            keys = self._usable_key_set(customer_id, records)
            if keys is None:
                return None
            self._keys[customer_id] = keys
            self._customers.add(customer_id)
            return keys

    def _from_store(self, read: Callable[[], _T]) -> _T:
        if time.monotonic() < self._down_until:
            raise TemporarilyUnavailable(STORE_DOWN, retry_after=RETRY_AFTER)
        try:
            return read()
        except (DBAPIError, SQLAlchemyTimeout) as exc:
            self._mark_down()
            log.warning("store read failed: %s", exc.__class__.__name__)
            raise TemporarilyUnavailable(STORE_DOWN, retry_after=RETRY_AFTER) from None

    def _mark_down(self) -> None:
        # With the poller running, only it probes the store again (its next success marks the
        # store up), so no request waits on a connection attempt; without it, a second passes.
        polling = self._thread is not None and not self._stop.is_set()
        self._down_until = math.inf if polling else time.monotonic() + _DOWN_FOR
        self.store_failures += 1

    # -- loading ---------------------------------------------------------------------------------

    def load(self) -> None:
        """Read the feed cursor, customers, keys and the deny list; clients are read on use."""
        with self._lock:
            cursor = self._store.latest_change_id()
            # PostgreSQL: a transaction holding a lower id may commit after the cursor was read;
            # an id missing below the cursor is a gap, applied when it shows up.
            low = max(0, cursor - _LOAD_GAP_WINDOW)
            seen = {c.id for c in self._store.changes_after(low, limit=_LOAD_GAP_WINDOW)}
            now = time.monotonic()
            self._gaps = {i: now for i in range(low + 1, cursor + 1) if i not in seen}
            self._customers = {c.id for c in self._store.list_customers()}
            self.clients.clear()
            self._apis = api_tables(self._apis_store.list_apis())
            by_customer: dict[str, list[SigningKeyRecord]] = {}
            for key in self._store.list_keys():
                by_customer.setdefault(key.customer_id, []).append(key)
            self._keys = {}
            for customer_id, keys in by_customer.items():
                try:
                    self._keys[customer_id] = self._build_key_set(keys)
                except Exception as exc:  # one customer's unusable key never stops the others
                    self.skipped_changes += 1
                    log.error("keys of customer %s cannot be loaded: %s", customer_id, exc)
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
                    self._apply_or_skip(change)
            if revoked:  # one read for a batch of revocations
                self._revoked.update(revoked_until(self._store, jtis=revoked))
            if now - self._revoked_pruned > _DENY_PRUNE_EVERY:
                self._revoked_pruned = now
                # Kept past exp for the verifiers' leeway: a revoked token never stands again.
                wall = time.time() - DENY_GRACE
                self._revoked = {j: exp for j, exp in self._revoked.items() if exp > wall}
            self._cursor = max(self._cursor, expected - 1)
            self._gaps = {i: t for i, t in self._gaps.items() if now - t < _GAP_PATIENCE}
            if changes:
                self.version += 1
            self._down_until = 0.0  # the store answered
            return len(changes)

    def _apply_or_skip(self, change: Change) -> None:
        """Apply one record; one that cannot be applied (e.g. a key this process cannot unseal)
        is logged and skipped, so the records after it (deny entries, deletes) never wait."""
        try:
            self._apply(change)
        except (SQLAlchemyError, TemporarilyUnavailable):
            raise  # the store is away: the whole batch is read again next time
        except Exception as exc:
            self.skipped_changes += 1
            self.last_skipped = change.id
            log.error(
                "change %d (%s of customer %s) cannot be applied, skipped: %s",
                change.id,
                change.kind,
                change.customer_id,
                exc.__class__.__name__,
            )

    def _apply(self, change: Change) -> None:
        if change.kind == "client":
            self._applied += 1
            self.clients.forget_unknown()
            self._reload_client(change.entity_id)
        elif change.kind == CLIENTS_IMPORTED:
            self._applied += 1
            self.clients.forget_unknown()
        elif change.kind == "keys":
            keys = self._store.list_keys(customer_id=change.customer_id)
            self._keys[change.customer_id] = self._build_key_set(keys)
        elif change.kind == "customer":
            self._customers.add(change.customer_id)
            self.clients.forget_unknown()
        elif change.kind == "api":
            records = self._apis_store.list_apis(customer_id=change.customer_id)
            self._apis[change.customer_id] = api_tables(records).get(change.customer_id, {})

    def _reload_client(self, app_id: str) -> None:
        # Read first, then swap: a reader must never find a changed client missing for a moment.
        read = self._store.read_client_entry(app_id=app_id)
        if read is None:
            self.clients.forget(app_id)
            return
        record, grants = read
        self.clients.put(entry_from(record, grants), record.corpus_roles)

    def _usable_key_set(self, customer_id: str, records: list[SigningKeyRecord]) -> KeySet | None:
        """The key set, or None (logged) when a key cannot be unsealed: the caller keeps what it
        had, as the change feed does with a record it cannot apply."""
        try:
            return self._build_key_set(records)
        except Exception as exc:
            log.error(
                "keys of customer %s cannot be loaded: %s", customer_id, exc.__class__.__name__
            )
            return None

    def _build_key_set(self, records: list[SigningKeyRecord]) -> KeySet:
        signer: Signer | None = None
        published: list[PublicKey] = []
        for record in records:
            alg: Alg = record.alg
            if record.state == "removed":
                continue
            published.append(PublicKey(record.kid, alg, record.state, record.public_jwk))
            if record.state == "active":
                der = self._master_key.unseal(record.private_key_sealed, context=record.kid)
                signer = Signer(kid=record.kid, alg=alg, key=private_key_from_der(der))
        jwks = orjson.dumps({"keys": [key.jwk() for key in published]})
        return KeySet(signer=signer, public_keys=tuple(published), jwks_json=jwks)

    # -- background refresh ----------------------------------------------------------------------

    def applied_cursor(self) -> int:
        """Every change up to this id is applied here (below a gap still awaited, not above)."""
        gaps = self._gaps
        return min(gaps) - 1 if gaps else self._cursor

    def report(self, *, force: bool = False) -> None:
        """Record the applied cursor in the store (``change_readers``) when it moved, and as a
        heartbeat every :data:`HEARTBEAT` seconds: writers wait for the live processes to
        apply their change (:func:`gatehouse.propagation.await_readers`)."""
        reader = self.reader_id
        if reader is None:
            return
        applied, now = self.applied_cursor(), time.monotonic()
        last_applied, last_at = self._reported
        if force or applied != last_applied or now - last_at >= HEARTBEAT:
            self._store.report_applied(reader_id=reader, applied=applied)
            self._reported = (applied, now)

    def start(self, interval: float) -> None:
        """Poll the change feed every ``interval`` seconds in a daemon thread, and report what
        was applied (registered before this returns, so before ``/readyz`` answers 200)."""
        self.reader_id = "reader_" + secrets.token_hex(8)
        try:
            self._store.forget_reader(reader_id="", older_than=time.time() - READERS_KEPT)
            self.report(force=True)
        except (DBAPIError, SQLAlchemyTimeout):
            log.warning("cannot record this process's feed cursor yet; the poller retries")
        self._thread = threading.Thread(
            target=self._run, args=(interval,), name="gatehouse-replica", daemon=True
        )
        self._thread.start()

    def wake(self) -> None:
        """Ask the poller to look now (called on a NOTIFY or after a local write)."""
        self._wake.set()

    def stop(self) -> None:
        self.cold.close()
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        reader, self.reader_id = self.reader_id, None
        if reader is not None:
            try:  # writers stop waiting for this process at once
                self._store.forget_reader(reader_id=reader)
            except Exception:  # the store may be away; the row goes stale in seconds
                log.warning("cannot remove this process's feed cursor", exc_info=True)

    def _run(self, interval: float) -> None:
        next_poll = time.monotonic() + interval
        while not self._stop.is_set():
            # Woken, or the poll is due; in between, only the heartbeat (a slow poll is kept).
            woken = self._wake.wait(max(0.0, min(next_poll - time.monotonic(), HEARTBEAT)))
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                if woken or time.monotonic() >= next_poll:
                    next_poll = time.monotonic() + interval
                    self.refresh()
                self.report()
            except Exception:  # the database may be briefly away; keep serving from memory
                self._mark_down()
                log.warning("change feed poll failed; serving from memory", exc_info=True)
