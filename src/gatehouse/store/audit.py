"""Store verbs for the audit log's retention (``audit_events``); the log is written and read
through :class:`gatehouse.store.store.Store` (``append_audit``, ``list_audit``)."""

from __future__ import annotations

from sqlalchemy import delete

from gatehouse.store import tables as t
from gatehouse.store.store import Store


def delete_audit_before(store: Store, *, before: float) -> int:
    """Drop the audit events recorded before ``before``; returns how many."""
    with store.engine.begin() as conn:
        result = conn.execute(delete(t.audit_events).where(t.audit_events.c.at < before))
    return int(result.rowcount or 0)
