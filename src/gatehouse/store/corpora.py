"""Corpus storage: keyword-only verbs over the ``corpora`` table, scoped to one customer each.

Corpus keys are unique per customer (``uq_corpora_customer_key``), never globally, so a conflict
only ever concerns the caller's own corpora. Nothing caches corpora, so no change is recorded.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from gatehouse.store import tables as t
from gatehouse.store.store import Conflict, NotFound

CORPUS_ID_PREFIX = "crp_"
_UPDATABLE = frozenset({"name", "description", "enabled"})


@dataclass(frozen=True, slots=True)
class CorpusRecord:
    """A corpus row; ``public_id`` is the API's ``id`` (``crp_`` + the row number)."""

    id: int
    customer_id: str
    key: str
    name: str
    description: str
    enabled: bool
    created_at: float
    updated_at: float

    @property
    def public_id(self) -> str:
        return f"{CORPUS_ID_PREFIX}{self.id}"


def _corpus_from_row(row: Row[Any]) -> CorpusRecord:
    m = row._mapping
    return CorpusRecord(
        id=int(m["id"]),
        customer_id=m["customer_id"],
        key=m["key"],
        name=m["name"],
        description=m["description"],
        enabled=bool(m["enabled"]),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


class CorpusStore:
    """Typed access to one table; construct with the engine of a migrated store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def insert_corpus(
        self, *, customer_id: str, key: str, name: str, description: str, enabled: bool = True
    ) -> CorpusRecord:
        """A new corpus; :class:`Conflict` if this customer already has ``key``."""
        now = time.time()
        values = {
            "customer_id": customer_id,
            "key": key,
            "name": name,
            "description": description,
            "enabled": enabled,
            "created_at": now,
            "updated_at": now,
        }
        try:
            with self.engine.begin() as conn:
                result = conn.execute(insert(t.corpora).values(**values))
                (row_id,) = result.inserted_primary_key or (None,)
        except IntegrityError as exc:
            raise Conflict(key) from exc
        return CorpusRecord(id=int(row_id), **values)  # type: ignore[arg-type]

    def get_corpus(self, *, customer_id: str, key: str) -> CorpusRecord:
        c = t.corpora.c
        query = select(t.corpora).where((c.customer_id == customer_id) & (c.key == key))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound(key)
        return _corpus_from_row(row)

    def list_corpora(
        self,
        *,
        customer_id: str,
        limit: int,
        after_id: int = 0,
        keys: Collection[str] | None = None,
    ) -> list[CorpusRecord]:
        """Corpora ordered by id, after ``after_id``; only ``keys`` when given."""
        c = t.corpora.c
        query = (
            select(t.corpora)
            .where((c.customer_id == customer_id) & (c.id > after_id))
            .order_by(c.id)
            .limit(limit)
        )
        if keys is not None:
            if not keys:
                return []
            query = query.where(c.key.in_(sorted(keys)))
        with self.engine.connect() as conn:
            return [_corpus_from_row(row) for row in conn.execute(query)]

    def update_corpus(
        self, *, customer_id: str, key: str, values: Mapping[str, Any]
    ) -> CorpusRecord:
        """Set ``name``, ``description`` and/or ``enabled``; :class:`NotFound` if absent."""
        unknown = set(values) - _UPDATABLE
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        c = t.corpora.c
        where = (c.customer_id == customer_id) & (c.key == key)
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(t.corpora).where(where).values(**values, updated_at=time.time())
            )
            if changed.rowcount != 1:
                raise NotFound(key)
            row = conn.execute(select(t.corpora).where(where)).one()
        return _corpus_from_row(row)

    def delete_corpus(self, *, customer_id: str, key: str) -> None:
        c = t.corpora.c
        where = (c.customer_id == customer_id) & (c.key == key)
        with self.engine.begin() as conn:
            if conn.execute(delete(t.corpora).where(where)).rowcount != 1:
                raise NotFound(key)

    def existing_keys(self, *, customer_id: str, keys: Collection[str]) -> set[str]:
        """Which of ``keys`` name corpora of this customer."""
        if not keys:
            return set()
        c = t.corpora.c
        query = select(c.key).where((c.customer_id == customer_id) & c.key.in_(sorted(keys)))
        with self.engine.connect() as conn:
            return {row[0] for row in conn.execute(query)}
