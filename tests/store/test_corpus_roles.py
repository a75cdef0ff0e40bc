"""Corpus roles one row each (migration 0010_corpus_roles, docs/scale.md "Corpus roles"):
granting one role writes one row however many the client holds, a corpus's roles are dropped in
one statement, and the migration moves the old JSON column's roles over."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event, insert, text

from gatehouse.store import tables as t
from gatehouse.store.engine import MIGRATIONS, create_store_engine, migrate
from gatehouse.store.models import ClientColumns, CorpusRole
from gatehouse.store.store import NotFound, Store
from tests.store.test_store_contract import client_record


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Every statement this thread runs on ``engine`` meanwhile (with executemany's row count)."""
    seen: list[str] = []
    me = threading.get_ident()

    def record(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, many: bool) -> None:
        if threading.get_ident() == me:
            rows = len(params) if many else 1
            seen.append(f"{' '.join(statement.split())} x{rows}")

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_granting_the_2000th_corpus_role_costs_what_the_first_costs(store: Store) -> None:
    store.create_customer(customer_id="acme", name="Acme")
    fresh = client_record(corpus_roles=())
    busy = client_record(corpus_roles=())
    store.insert_client(record=fresh)
    store.insert_client(record=busy)
    held = tuple(CorpusRole(corpus_key=f"c{i:04d}", role="owner") for i in range(1999))
    store.update_client(
        customer_id="acme", app_id=busy.id, changes=ClientColumns(corpus_roles=held)
    )

    with statements(store.engine) as first:
        assert store.grant_corpus_role(
            customer_id="acme", app_id=fresh.id, corpus_key="c1999", role="owner"
        )
    with statements(store.engine) as two_thousandth:
        assert store.grant_corpus_role(
            customer_id="acme", app_id=busy.id, corpus_key="c1999", role="owner"
        )
    assert two_thousandth == first
    assert len(store.get_client(app_id=busy.id).corpus_roles) == 2000
    assert store.get_client(app_id=fresh.id).corpus_roles == (
        CorpusRole(corpus_key="c1999", role="owner"),
    )


def test_grant_and_revoke_write_one_row_and_a_change_and_repeats_write_none(
    store: Store,
) -> None:
    store.create_customer(customer_id="acme", name="Acme")
    record = client_record()  # holds docs/editor
    store.insert_client(record=record)
    before = store.latest_change_id()
    args: dict[str, Any] = {
        "customer_id": "acme",
        "app_id": record.id,
        "corpus_key": "kb",
        "role": "viewer",
    }
    assert store.grant_corpus_role(**args)
    assert not store.grant_corpus_role(**args)
    assert store.get_client(app_id=record.id).corpus_roles == (
        CorpusRole(corpus_key="docs", role="editor"),
        CorpusRole(corpus_key="kb", role="viewer"),
    )
    assert store.revoke_corpus_role(**args)
    assert not store.revoke_corpus_role(**args)
    assert store.get_client(app_id=record.id).corpus_roles == (
        CorpusRole(corpus_key="docs", role="editor"),
    )
    changes = store.changes_after(before)
    assert [(c.kind, c.entity_id) for c in changes] == [("client", record.id)] * 2


def test_roles_of_a_missing_or_foreign_client_are_not_found(store: Store) -> None:
    store.create_customer(customer_id="acme", name="Acme")
    store.create_customer(customer_id="other", name="Other")
    record = client_record("other")
    store.insert_client(record=record)
    for app_id in (record.id, "app_missing", "app_\x00"):
        for verb in (store.grant_corpus_role, store.revoke_corpus_role):
            try:
                verb(customer_id="acme", app_id=app_id, corpus_key="kb", role="viewer")
            except NotFound:
                continue
            raise AssertionError(f"{verb.__name__} of {app_id!r} was not NotFound")


def test_dropping_a_corpus_key_takes_every_clients_roles_on_it_and_only_those(
    store: Store,
) -> None:
    store.create_customer(customer_id="acme", name="Acme")
    store.create_customer(customer_id="other", name="Other")
    roles = (
        CorpusRole(corpus_key="docs", role="editor"),
        CorpusRole(corpus_key="docs", role="viewer"),
        CorpusRole(corpus_key="kb", role="owner"),
    )
    a, b = client_record(corpus_roles=roles), client_record(corpus_roles=roles[2:])
    foreign = client_record("other", corpus_roles=roles[:1])
    for record in (a, b, foreign):
        store.insert_client(record=record)
    before = store.latest_change_id()
    with statements(store.engine) as seen:
        dropped = store.drop_corpus_roles(customer_id="acme", corpus_key="docs")
    assert dropped == [a.id]
    assert len([s for s in seen if s.startswith("DELETE")]) == 1
    assert store.get_client(app_id=a.id).corpus_roles == roles[2:]
    assert store.get_client(app_id=b.id).corpus_roles == roles[2:]
    assert store.get_client(app_id=foreign.id).corpus_roles == roles[:1]
    assert [(c.kind, c.entity_id) for c in store.changes_after(before)] == [("client", a.id)]
    assert store.drop_corpus_roles(customer_id="acme", corpus_key="docs") == []


def test_deleting_a_client_deletes_its_role_rows(store: Store) -> None:
    store.create_customer(customer_id="acme", name="Acme")
    record = client_record()
    store.insert_client(record=record)
    store.delete_client(customer_id="acme", app_id=record.id)
    with store.engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM app_client_corpus_roles")).scalar_one()
    assert count == 0


def test_migration_0010_moves_the_json_roles_into_rows_and_keeps_the_clients_children(
    database_url: str,
) -> None:
    engine = create_store_engine(database_url)
    try:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0009_ops")
        roles = [
            {"corpus_key": "docs", "role": "editor"},
            {"corpus_key": "docs", "role": "editor"},  # a repeat in the old column
            {"corpus_key": "kb", "role": "viewer"},
        ]
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO customers VALUES ('acme', 'Acme', 1.0)"))
            for app_id, held in (("app_a", roles), ("app_b", [])):
                record = client_record(app_id=app_id)
                values = {f: getattr(record, f) for f in record.__dataclass_fields__}
                values["api_roles"] = '["viewer"]'
                values["corpus_roles"] = orjson.dumps(held).decode()
                conn.execute(
                    text(
                        f"INSERT INTO app_clients ({', '.join(values)}) "  # noqa: S608
                        f"VALUES ({', '.join(':' + k for k in values)})"
                    ),
                    values,
                )
            api = {"id": "api_1", "customer_id": "acme", "name": "x", "description": ""}
            conn.execute(
                insert(t.apis).values(
                    **api, scopes="[]", identifier="https://x", created_at=1.0, updated_at=1.0
                )
            )
            conn.execute(
                insert(t.api_grants).values(
                    app_id="app_a", api_id="api_1", scopes='["read"]', created_at=1, updated_at=1
                )
            )
        migrate(engine)
        store = Store(engine)
        assert store.get_client(app_id="app_a").corpus_roles == (
            CorpusRole(corpus_key="docs", role="editor"),
            CorpusRole(corpus_key="kb", role="viewer"),
        )
        assert store.get_client(app_id="app_b").corpus_roles == ()
        read = store.read_client_entry(app_id="app_a")
        assert read is not None
        assert read[1] == {"api_1": ("read",)}  # the grant was not cascaded away
    finally:
        engine.dispose()
