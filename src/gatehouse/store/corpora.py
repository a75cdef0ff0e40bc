"""Corpus storage: keyword-only verbs over the ``corpora`` table, scoped to one customer each.

Corpus keys are unique per customer (``uq_corpora_customer_key``), never globally, so a conflict
only ever concerns the caller's own corpora. Nothing caches corpora, so no change is recorded.

Reads are the API's hot path (ListCorpora), so their statements are built and compiled once per
dialect and run on the DBAPI cursor directly (SQLAlchemy's per-call statement construction,
cache-key generation and result wrapping cost ten times the query itself). A
:class:`CorpusReader` runs any number of reads in one short transaction on one connection.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BindParameter,
    Dialect,
    Engine,
    Row,
    Select,
    bindparam,
    delete,
    insert,
    select,
    update,
)
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
    return _corpus_from_tuple(tuple(row))


def _corpus_from_tuple(row: Sequence[Any]) -> CorpusRecord:
    # Column order of t.corpora: id, customer_id, key, name, description, enabled, created_at,
    # updated_at (the compiled reads select exactly those, in that order).
    return CorpusRecord(
        int(row[0]), row[1], row[2], row[3], row[4], bool(row[5]), float(row[6]), float(row[7])
    )


# -- reads compiled once per dialect ------------------------------------------------------------

_c = t.corpora.c
_LIST_BASE = (
    select(t.corpora)
    .where((_c.customer_id == bindparam("customer_id")) & (_c.id > bindparam("after_id")))
    .order_by(_c.id)
    .limit(bindparam("limit"))
)


def _list_in_keys(count: int) -> Select[Any]:
    keys: list[BindParameter[str]] = [bindparam(f"key{i}") for i in range(count)]
    return _LIST_BASE.where(_c.key.in_(keys))


_GET = select(t.corpora).where(
    (_c.customer_id == bindparam("customer_id")) & (_c.key == bindparam("key"))
)


class _Compiled:
    """A statement compiled for one dialect: its SQL text and how to lay out its parameters."""

    def __init__(self, statement: Select[Any], dialect: Dialect, example: Mapping[str, Any]):
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        # Dialect-added parameters (SQLite's OFFSET 0 after a LIMIT) keep their compiled values.
        self.defaults = dict(compiled.construct_params(dict(example)))
        self.order: tuple[str, ...] | None = (
            tuple(compiled.positiontup or ()) if compiled.positional else None
        )

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        merged = {**self.defaults, **values}
        if self.order is None:
            return merged
        return tuple(merged[name] for name in self.order)


_compiled: dict[tuple[str, str, str, str, int], _Compiled] = {}


def _compile(dialect: Dialect, name: str, size: int = 0) -> _Compiled:
    key = (dialect.name, dialect.driver, dialect.paramstyle, name, size)
    found = _compiled.get(key)
    if found is None:
        if name == "get":
            found = _Compiled(_GET, dialect, {"customer_id": "", "key": ""})
        elif name == "list":
            found = _Compiled(_LIST_BASE, dialect, {"customer_id": "", "after_id": 0, "limit": 1})
        else:
            example = {"customer_id": "", "after_id": 0, "limit": 1}
            example.update({f"key{i}": "" for i in range(size)})
            found = _Compiled(_list_in_keys(size), dialect, example)
        _compiled[key] = found
    return found


def _unstorable(key: str) -> bool:
    """A key no corpus can have: PostgreSQL text holds no NUL (psycopg refuses to send one), so
    such a key names no corpus on either engine, instead of failing on PostgreSQL only."""
    return "\x00" in key


def _padded(keys: Collection[str]) -> list[str]:
    """``keys`` sorted and padded to a power of two by repeating the last one (``IN`` ignores
    repeats), so a handful of compiled statements serve every number of keys."""
    ordered = sorted(keys)
    size = 1
    while size < len(ordered):
        size *= 2
    return ordered + [ordered[-1]] * (size - len(ordered))


class CorpusReader:
    """Reads on one DBAPI cursor, inside the transaction that :meth:`CorpusStore.reader` opened."""

    def __init__(self, cursor: Any, dialect: Dialect) -> None:
        self._cursor = cursor
        self._dialect = dialect

    def _rows(self, compiled: _Compiled, values: Mapping[str, Any]) -> list[Any]:
        self._cursor.execute(compiled.sql, compiled.parameters(values))
        rows: list[Any] = self._cursor.fetchall()
        return rows

    def get_corpus(self, *, customer_id: str, key: str) -> CorpusRecord:
        if _unstorable(key):
            raise NotFound(key)
        rows = self._rows(_compile(self._dialect, "get"), {"customer_id": customer_id, "key": key})
        if not rows:
            raise NotFound(key)
        return _corpus_from_tuple(rows[0])

    def list_corpora(
        self,
        *,
        customer_id: str,
        limit: int,
        after_id: int = 0,
        keys: Collection[str] | None = None,
    ) -> list[CorpusRecord]:
        """Corpora ordered by id, after ``after_id``; only ``keys`` when given."""
        values: dict[str, Any] = {"customer_id": customer_id, "after_id": after_id, "limit": limit}
        if keys is None:
            compiled = _compile(self._dialect, "list")
        elif not keys:
            return []
        else:
            padded = _padded(keys)
            compiled = _compile(self._dialect, "list_in", len(padded))
            values.update({f"key{i}": key for i, key in enumerate(padded)})
        return [_corpus_from_tuple(row) for row in self._rows(compiled, values)]


@contextmanager
def read_on(connection: Any, dialect: Dialect, *, single: bool = False) -> Iterator[CorpusReader]:
    """A reader on a DBAPI ``connection``: every read in one transaction, ended (rolled back,
    as nothing was written) on the way out. ``single``: the caller runs one statement only."""
    cursor = connection.cursor()
    try:
        if dialect.name == "sqlite" and not single:
            # pysqlite starts a transaction only before DML: begin one so that every read of
            # this reader sees the same snapshot (a single statement is atomic on its own).
            cursor.execute("BEGIN")
        yield CorpusReader(cursor, dialect)
    finally:
        cursor.close()
        connection.rollback()


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

    @contextmanager
    def reader(self, *, single: bool = False) -> Iterator[CorpusReader]:
        """A :class:`CorpusReader` on a pooled connection, for one short read transaction."""
        connection = self.engine.raw_connection()
        try:
            with read_on(connection, self.engine.dialect, single=single) as reader:
                yield reader
        finally:
            connection.close()

    def get_corpus(self, *, customer_id: str, key: str) -> CorpusRecord:
        with self.reader(single=True) as reader:
            return reader.get_corpus(customer_id=customer_id, key=key)

    def list_corpora(
        self,
        *,
        customer_id: str,
        limit: int,
        after_id: int = 0,
        keys: Collection[str] | None = None,
    ) -> list[CorpusRecord]:
        """Corpora ordered by id, after ``after_id``; only ``keys`` when given."""
        with self.reader(single=True) as reader:
            return reader.list_corpora(
                customer_id=customer_id, limit=limit, after_id=after_id, keys=keys
            )

    def update_corpus(
        self, *, customer_id: str, key: str, values: Mapping[str, Any]
    ) -> CorpusRecord:
        """Set ``name``, ``description`` and/or ``enabled``; :class:`NotFound` if absent."""
        unknown = set(values) - _UPDATABLE
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        if _unstorable(key):
            raise NotFound(key)
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
        if _unstorable(key):
            raise NotFound(key)
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
