"""Batched writes of token-issue audit events and ``last_used_at`` times, off the token path.

The token path appends to an in-memory buffer (a list append under the GIL); a background thread
writes the buffer in one transaction every ``interval`` seconds. Secrets and tokens are never
recorded: an event names the client, the scopes, the ``jti`` and the source address.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import orjson

from gatehouse.oauth.directory import ClientEntry
from gatehouse.oauth.tokens import IssuedToken
from gatehouse.store.models import AuditEvent
from gatehouse.store.store import AuditRow, Store

log = logging.getLogger(__name__)

MAX_PENDING = 200_000  # events kept while the database is unreachable; older ones are dropped


class AuditWriter:
    def __init__(self, store: Store, *, interval: float) -> None:
        self._store = store
        self._interval = interval
        # (client, token, address) of issued tokens; turned into AuditEvents off the hot path.
        self._issued: list[tuple[ClientEntry, IssuedToken, str]] = []
        self._events: list[AuditEvent] = []
        self._last_used: dict[str, float] = {}
        self._stop = threading.Event()
        self._flush_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.dropped = 0
        self.issued_total = 0

    def record_issued(self, client: ClientEntry, token: IssuedToken, address: str) -> None:
        """Called by the token endpoint after each issued token."""
        self.issued_total += 1
        self._issued.append((client, token, address))

    def record_issued_with(
        self, client: ClientEntry, token: IssuedToken, address: str, detail: dict[str, Any]
    ) -> None:
        """A token issued on an assertion: the event also names how (e.g. the federated
        credential and the outside ``iss``/``sub``); never the assertion itself."""
        self.issued_total += 1
        self._events.append(
            AuditEvent(
                customer_id=client.customer_id,
                at=token.issued_at,
                actor=client.client_id,
                action="token.issue",
                target=client.id,
                source=address,
                detail={"jti": token.jti, "scope": token.scope, "aud": token.audience, **detail},
            )
        )
        self._last_used[client.id] = token.issued_at

    def flush(self) -> int:
        """Write what is buffered; returns the number of events written.

        Flushes run one at a time, so when a call returns, everything recorded before it is
        in the database (a background flush that took the events first has finished too).
        """
        with self._flush_lock:
            return self._flush()

    def _flush(self) -> int:
        issued, self._issued = self._issued, []
        events, self._events = self._events, []
        last_used, self._last_used = self._last_used, {}
        if not issued and not events and not last_used:
            return 0
        rows: list[AuditRow] = [
            (
                client.customer_id,
                token.issued_at,
                client.client_id,
                "token.issue",
                client.id,
                address,
                orjson.dumps(
                    {"jti": token.jti, "scope": token.scope, "aud": token.audience}
                ).decode(),
            )
            for client, token, address in issued
        ]
        for client, token, _address in issued:
            last_used[client.id] = token.issued_at
        try:
            self._store.append_audit_rows(rows=rows)
            self._store.append_audit(events=events)
            self._store.touch_clients(last_used=last_used)
        except Exception:
            log.warning("audit flush failed; will retry", exc_info=True)
            self._requeue(issued, events, last_used)
            return 0
        return len(rows) + len(events)

    def _requeue(
        self,
        issued: list[tuple[ClientEntry, IssuedToken, str]],
        events: list[AuditEvent],
        last_used: dict[str, float],
    ) -> None:
        keep = issued[-MAX_PENDING:]
        self.dropped += len(issued) - len(keep)
        self._issued[:0] = keep
        self._events[:0] = events
        for app_id, at in last_used.items():
            self._last_used.setdefault(app_id, at)

    def record_event(self, event: AuditEvent) -> None:
        """Queue an admin event for the next batch."""
        self._events.append(event)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="gatehouse-audit", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()
