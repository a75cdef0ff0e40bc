"""PostgreSQL may commit a higher change id before a lower one (ids come from a sequence when
the row is inserted, visibility comes at commit). The replica remembers the missing id as a
gap and applies the change when it commits, both after a refresh and right after load.

Two real connections make the order deterministic: A takes id N and stays open, B takes N+1
and commits, the replica reads, then A commits."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event, insert

import gatehouse.replica
from gatehouse.masterkey import MasterKey
from gatehouse.replica import Replica
from gatehouse.store import tables as t
from gatehouse.store.engine import create_store_engine, migrate
from gatehouse.store.models import AppClientRecord
from gatehouse.store.store import Store

pytestmark = pytest.mark.postgres


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = create_store_engine(postgres_url)
    migrate(engine)
    Store(engine).create_customer(customer_id="acme", name="Acme")
    yield engine
    engine.dispose()


def insert_client(conn: Connection, app_id: str) -> int:
    """Insert a client and its change record on ``conn`` (not committed); the change id."""
    now = time.time()
    record = AppClientRecord(
        id=app_id,
        customer_id="acme",
        type="client_credentials",
        name=app_id,
        description="",
        client_id=f"cid-{app_id}-0000000000000000",
        secret_hash=os.urandom(32),
        secret_sealed=None,
        previous_secret_hash=None,
        previous_secret_expires_at=None,
        api_roles=("viewer",),
        corpus_roles=(),
        enabled=True,
        token_lifetime_seconds=1800,
        token_quota_per_hour=None,
        tokens_revoked_before=None,
        created_at=now,
        updated_at=now,
        last_used_at=None,
    )
    values = {field: getattr(record, field) for field in record.__dataclass_fields__}
    values["api_roles"] = '["viewer"]'
    del values["corpus_roles"]  # one row each in app_client_corpus_roles: none here
    conn.execute(insert(t.app_clients).values(**values))
    change_id: int = conn.execute(
        insert(t.changes)
        .values(kind="client", customer_id="acme", entity_id=app_id, at=now)
        .returning(t.changes.c.id)
    ).scalar_one()
    return change_id


def test_change_committed_after_a_higher_one_is_applied_by_a_later_refresh(
    engine: Engine,
) -> None:
    replica = Replica(Store(engine), MasterKey.from_bytes(os.urandom(32)))
    replica.load()
    with engine.connect() as slow, engine.connect() as fast:
        slow.begin()
        low = insert_client(slow, "app_slow")
        fast.begin()
        high = insert_client(fast, "app_fast")
        fast.commit()
        assert high == low + 1

        assert replica.refresh() == 1
        assert replica.client_by_app_id("app_fast") is not None
        assert replica.client_by_app_id("app_slow") is None

        slow.commit()
    assert replica.refresh() == 1
    entry = replica.client_by_app_id("app_slow")
    assert entry is not None
    assert replica.find_client(entry.client_id) == entry
    assert replica.refresh() == 0  # applied once, the gap is closed


def test_change_committed_after_a_higher_one_is_applied_after_load(engine: Engine) -> None:
    replica = Replica(Store(engine), MasterKey.from_bytes(os.urandom(32)))
    with engine.connect() as slow, engine.connect() as fast:
        slow.begin()
        low = insert_client(slow, "app_slow")
        fast.begin()
        high = insert_client(fast, "app_fast")
        fast.commit()
        assert high == low + 1

        replica.load()  # the cursor is now past the uncommitted change
        assert replica.client_count() == 0  # clients are read on use, not at load
        assert replica.client_by_app_id("app_slow") is None

        slow.commit()
    replica.refresh()
    assert replica.client_by_app_id("app_slow") is not None


def test_rolled_back_change_id_is_given_up_after_the_patience(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    replica = Replica(Store(engine), MasterKey.from_bytes(os.urandom(32)))
    replica.load()
    with engine.connect() as aborted, engine.connect() as fast:
        aborted.begin()
        insert_client(aborted, "app_aborted")
        fast.begin()
        insert_client(fast, "app_fast")
        fast.commit()
        aborted.rollback()
    assert replica.refresh() == 1
    assert replica.client_by_app_id("app_aborted") is None

    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert replica.refresh() == 0
        assert len(statements) == 2  # the feed, and the missing id once more
        monkeypatch.setattr(gatehouse.replica, "_GAP_PATIENCE", 0.0)
        replica.refresh()  # waited long enough: the id is given up
        statements.clear()
        assert replica.refresh() == 0
        assert len(statements) == 1  # only the feed
    finally:
        event.remove(engine, "before_cursor_execute", count)
