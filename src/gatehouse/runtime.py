"""Everything a server process or a CLI command needs, built once from the settings."""

from __future__ import annotations

import functools
import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from gatehouse.auditlog import AuditWriter
from gatehouse.maintenance import Maintenance
from gatehouse.masterkey import MasterKey, load_master_key
from gatehouse.oauth.bruteforce import BruteForceGuard
from gatehouse.oauth.endpoint import TokenEndpoint
from gatehouse.oauth.quota import TokenQuota
from gatehouse.oauth.secrets import SecretHasher
from gatehouse.propagation import Propagation
from gatehouse.replica import Replica
from gatehouse.settings import Settings
from gatehouse.store.engine import create_store_engine, migrate
from gatehouse.store.store import Store

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    store: Store
    master_key: MasterKey
    replica: Replica
    audit: AuditWriter
    token_endpoint: TokenEndpoint
    propagation: Propagation | None = None  # wake-ups from other processes (started by start)
    maintenance: Maintenance | None = None  # key rotation, pruning (started by start)
    on_close: list[Callable[[], None]] = field(default_factory=list)  # run first by close

    @classmethod
    def open(cls, settings: Settings, *, migrate_schema: bool = True) -> Runtime:
        """Connect, migrate, load the replica; background threads start with :meth:`start`."""
        engine = create_store_engine(settings.sqlalchemy_url)
        if migrate_schema:
            migrate(engine)
        store = Store(engine)
        master_key = load_master_key(settings)
        replica = Replica(store, master_key)
        replica.load()
        audit = AuditWriter(store, interval=settings.audit_flush_interval)
        guard = BruteForceGuard(
            client_failures=settings.bruteforce_client_failures,
            address_failures=settings.bruteforce_address_failures,
            window_seconds=settings.bruteforce_window_seconds,
            storage_url=settings.redis_url,
        )
        endpoint = TokenEndpoint(
            directory=replica,
            hasher=SecretHasher(master_key.secret_hmac_key),
            issuer_for=functools.lru_cache(maxsize=65536)(settings.issuer),
            default_audience=settings.default_audience,
            guard=guard,
            on_issued=audit.record_issued,
            quota=TokenQuota(storage_url=settings.redis_url),
        )
        return cls(settings, store, master_key, replica, audit, endpoint)

    def start(self) -> None:
        self.replica.start(self.settings.change_poll_interval)
        self.audit.start()
        self.propagation = Propagation(self.settings, self.replica.wake)
        self.propagation.start()
        self.maintenance = Maintenance(
            self.settings, self.store, self.master_key, audit=self.audit, on_change=self.changed
        )
        self.maintenance.start()
        # What start-up allocated lives as long as the process: keep the collector off it, and
        # collect the young generation less often (the token path allocates short-lived objects).
        gc.collect()
        gc.freeze()
        gc.set_threshold(10_000, 20, 20)

    def close(self) -> None:
        for hook in self.on_close:
            hook()
        if self.maintenance is not None:
            self.maintenance.stop()
        if self.propagation is not None:
            self.propagation.stop()
        self.replica.stop()
        self.audit.stop()
        self.store.engine.dispose()

    def changed(self) -> None:
        """After a local write: apply it to this process's replica at once, and tell the others
        (through Redis when configured; PostgreSQL's NOTIFY is sent by the store)."""
        self.replica.refresh()
        if self.propagation is not None:
            self.propagation.publish()
