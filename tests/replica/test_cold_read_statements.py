"""A cold client costs one indexed read (docs/scale.md "How a server finds a client"): its row,
its grants on registered APIs and its corpus roles come in one statement, on SQLite and on
PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from gatehouse.runtime import Runtime
from gatehouse.store.apis import ApiRecord, ApiScope, ApiStore
from gatehouse.store.models import CorpusRole
from tests.conftest import make_settings
from tests.factories import add_client, add_customer


@pytest.fixture
def runtime_on(tmp_path: Path, database_url: str) -> Iterator[Runtime]:
    runtime = Runtime.open(make_settings(tmp_path, database_url=database_url))
    yield runtime
    runtime.store.engine.dispose()


def test_a_cold_client_with_grants_and_corpus_roles_is_one_statement(
    runtime_on: Runtime,
) -> None:
    runtime = runtime_on
    add_customer(runtime, "acme")
    roles = ({"corpus_key": "docs", "role": "editor"}, {"corpus_key": "kb", "role": "viewer"})
    record, _secret = add_client(runtime, "acme", roles=("viewer",), corpus_roles=roles)
    apis = ApiStore(runtime.store.engine)
    for n in (1, 2):
        api = ApiRecord(
            id=f"api_{n}",
            customer_id="acme",
            identifier=f"https://api{n}.example",
            match_key=f"api{n}.example",
            name=f"api {n}",
            description="",
            scopes=(ApiScope("read"), ApiScope("write")),
            token_lifetime_seconds=None,
            created_at=1.0,
            updated_at=1.0,
        )
        apis.insert_api(record=api)
        apis.put_grant(customer_id="acme", app_id=record.id, api_id=api.id, scopes=["read"])
    replica = runtime.replica
    replica.clients.forget(record.id)
    seen: list[str] = []
    me = threading.get_ident()

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.get_ident() == me:
            seen.append(statement)

    event.listen(runtime.store.engine, "before_cursor_execute", count)
    try:
        entry = replica.find_client(record.client_id)
        again = replica.find_client(record.client_id)
    finally:
        event.remove(runtime.store.engine, "before_cursor_execute", count)
    assert len(seen) == 1, seen
    assert entry is not None
    assert again is entry
    assert dict(entry.grants) == {"api_1": ("read",), "api_2": ("read",)}
    assert replica.corpus_roles(record.id) == (
        CorpusRole(corpus_key="docs", role="editor"),
        CorpusRole(corpus_key="kb", role="viewer"),
    )
