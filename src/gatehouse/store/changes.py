"""Store verbs for the change feed's retention (``changes``); changes are recorded and read
through :class:`gatehouse.store.store.Store`."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from gatehouse.store import tables as t
from gatehouse.store.store import Store


def delete_changes_before(store: Store, *, before: float) -> int:
    """Drop the changes recorded before ``before``, except the newest, which always stays so
    that ids keep growing (SQLite may reuse the largest rowid once it is deleted) and every
    process's cursor stays meaningful. Returns how many."""
    c = t.changes.c
    newest = select(func.max(c.id)).scalar_subquery()
    with store.engine.begin() as conn:
        result = conn.execute(delete(t.changes).where((c.at < before) & (c.id < newest)))
    return int(result.rowcount or 0)
