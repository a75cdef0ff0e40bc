"""Everything a server process or a CLI command needs, built once from the settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from gatehouse.auditlog import AuditWriter
from gatehouse.masterkey import MasterKey, load_master_key
from gatehouse.oauth.bruteforce import BruteForceGuard
from gatehouse.oauth.endpoint import TokenEndpoint
from gatehouse.oauth.secrets import SecretHasher
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
            issuer_for=settings.issuer,
            default_audience=settings.default_audience,
            guard=guard,
            on_issued=audit.record_issued,
        )
        return cls(settings, store, master_key, replica, audit, endpoint)

    def start(self) -> None:
        self.replica.start(self.settings.change_poll_interval)
        self.audit.start()

    def close(self) -> None:
        self.replica.stop()
        self.audit.stop()
        self.store.engine.dispose()

    def changed(self) -> None:
        """After a local write: apply it to this process's replica at once."""
        self.replica.refresh()
