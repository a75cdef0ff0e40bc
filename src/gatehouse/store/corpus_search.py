"""Searching a customer's corpora by key or name, a page at a time (the console's list; not a
hot path, so plain SQLAlchemy Core)."""

from __future__ import annotations

from sqlalchemy import Engine, func, or_, select

from gatehouse.store import tables as t
from gatehouse.store.corpora import CorpusRecord


def search_corpora(
    engine: Engine, *, customer_id: str, text: str, after_id: int = 0, limit: int
) -> list[CorpusRecord]:
    """Corpora whose key or name contains ``text`` (any case), ordered by id, after ``after_id``."""
    c = t.corpora.c
    needle = text.lower()
    query = (
        select(t.corpora)
        .where((c.customer_id == customer_id) & (c.id > after_id))
        .where(
            or_(
                func.lower(c.key).contains(needle, autoescape=True),
                func.lower(c.name).contains(needle, autoescape=True),
            )
        )
        .order_by(c.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [
            CorpusRecord(
                id=int(row.id),
                customer_id=row.customer_id,
                key=row.key,
                name=row.name,
                description=row.description,
                enabled=bool(row.enabled),
                created_at=float(row.created_at),
                updated_at=float(row.updated_at),
            )
            for row in conn.execute(query)
        ]
