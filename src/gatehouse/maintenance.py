"""Background maintenance of one server process: scheduled signing-key rotation, removal of
retired keys once every token they signed has expired, and pruning of expired deny-list entries
and of audit events past their retention.

Every process runs it; a database-wide lock (a PostgreSQL advisory lock, a file lock beside an
SQLite database) lets one process at a time do the work, and each step re-reads the state under
that lock, so two processes never rotate the same customer's key twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gatehouse.auditlog import AuditWriter
from gatehouse.masterkey import MasterKey
from gatehouse.revocations import DENY_GRACE, prune_revoked
from gatehouse.services import signing_keys
from gatehouse.services.notify import Gathered
from gatehouse.services.signing_keys import maintain_signing_keys
from gatehouse.settings import Settings
from gatehouse.store.audit import delete_audit_before
from gatehouse.store.changes import delete_changes_before
from gatehouse.store.locks import try_lock
from gatehouse.store.store import Store

log = logging.getLogger(__name__)

DAY = signing_keys.DAY

PG_LOCK = 7_262_837_002  # pg_try_advisory_lock key of the maintenance pass
_FIRST_RUN = 5.0  # seconds after start-up before the first pass
ACTOR = "scheduler"
# Changes matter to replicas and to the revocation feed only while a token they touch can live.
CHANGE_RETENTION = DAY + 3600.0


@dataclass
class MaintenanceReport:
    ran: bool = False
    rotated: list[str] = field(default_factory=list)  # customers whose active key changed
    published: list[str] = field(default_factory=list)  # customers given a next key
    removed_keys: list[str] = field(default_factory=list)
    pruned_revocations: int = 0
    pruned_audit: int = 0
    pruned_changes: int = 0


class Maintenance:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        master_key: MasterKey,
        *,
        audit: AuditWriter,
        on_change: Callable[[], None],
    ) -> None:
        self.settings = settings
        self.store = store
        self.master_key = master_key
        self.audit = audit
        self.on_change = on_change
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one pass ------------------------------------------------------------------------------

    def run_once(self, *, now: float | None = None) -> MaintenanceReport:
        """Do every step now, unless another process holds the lock."""
        now = now if now is not None else time.time()
        report = MaintenanceReport()
        gathered = Gathered()
        with try_lock(self.store, key=PG_LOCK, name="maintenance") as held:
            if not held:
                return report
            report.ran = True
            report.pruned_revocations = prune_revoked(self.store, now=now - DENY_GRACE)
            report.pruned_audit = self._prune_audit(now)
            report.pruned_changes = self._prune_changes(now)
            keys = maintain_signing_keys(
                self.store,
                self.master_key,
                alg=self.settings.signing_alg,
                rotation_days=self.settings.key_rotation_days,
                now=now,
                actor=ACTOR,
                notify=gathered,
            )
            report.rotated, report.published = keys.rotated, keys.published
            report.removed_keys = keys.removed_keys
        # Told after the lock is released: this process's replica reads the new key set.
        gathered.flush(self)
        return report

    def _prune_audit(self, now: float) -> int:
        days = self.settings.audit_retention_days
        if days <= 0:
            return 0
        return delete_audit_before(self.store, before=now - days * DAY)

    def _prune_changes(self, now: float) -> int:
        """Drop change-feed rows older than any token can live (plus an hour).

        The newest row always stays, so ids keep growing (SQLite may reuse the largest rowid
        once it is deleted) and every process's cursor stays meaningful.
        """
        return delete_changes_before(self.store, before=now - CHANGE_RETENTION)

    def changed(self) -> None:
        """The notifier the key work tells, through :class:`Gathered`, once per pass."""
        self.on_change()

    # -- the thread ----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="gatehouse-maintenance", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        delay = min(_FIRST_RUN, self.settings.maintenance_interval)
        while not self._stop.wait(delay):
            delay = self.settings.maintenance_interval
            try:
                report = self.run_once()
            except Exception:  # the database may be briefly away; try again next time
                log.warning("maintenance pass failed", exc_info=True)
                continue
            if report.rotated or report.removed_keys:
                log.info(
                    "maintenance: rotated keys of %s; removed keys %s",
                    report.rotated,
                    report.removed_keys,
                )
