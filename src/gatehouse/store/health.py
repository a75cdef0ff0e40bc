"""Whether the database answers: the readiness check of ``/readyz`` (docs/operations.md)."""

from __future__ import annotations

from sqlalchemy import text

from gatehouse.store.store import Store


def database_answers(store: Store) -> bool:
    """True when one trivial query succeeds; any failure (unreachable, timed out) is False."""
    try:
        with store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return False
    return True
