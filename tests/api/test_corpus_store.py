"""The corpus store's contract, on SQLite and on a fresh PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gatehouse.settings import Settings
from gatehouse.store.corpora import CorpusStore
from gatehouse.store.engine import create_store_engine, migrate
from gatehouse.store.store import Conflict, NotFound, Store


@pytest.fixture
def corpora(database_url: str) -> Iterator[CorpusStore]:
    engine = create_store_engine(Settings(database_url=database_url).sqlalchemy_url)
    migrate(engine)
    store = Store(engine)
    store.create_customer(customer_id="acme", name="Acme")
    store.create_customer(customer_id="globex", name="Globex")
    try:
        yield CorpusStore(engine)
    finally:
        engine.dispose()


def test_insert_get_update_delete(corpora: CorpusStore) -> None:
    created = corpora.insert_corpus(customer_id="acme", key="docs", name="Docs", description="d")
    assert created.public_id == f"crp_{created.id}"
    assert corpora.get_corpus(customer_id="acme", key="docs") == created
    updated = corpora.update_corpus(
        customer_id="acme", key="docs", values={"name": "New", "enabled": False}
    )
    assert (updated.name, updated.enabled, updated.description) == ("New", False, "d")
    assert updated.updated_at >= created.updated_at
    corpora.delete_corpus(customer_id="acme", key="docs")
    with pytest.raises(NotFound):
        corpora.get_corpus(customer_id="acme", key="docs")
    with pytest.raises(NotFound):
        corpora.delete_corpus(customer_id="acme", key="docs")
    with pytest.raises(NotFound):
        corpora.update_corpus(customer_id="acme", key="docs", values={"name": "x"})


def test_keys_are_unique_per_customer_not_globally(corpora: CorpusStore) -> None:
    corpora.insert_corpus(customer_id="acme", key="docs", name="a", description="")
    corpora.insert_corpus(customer_id="globex", key="docs", name="g", description="")
    with pytest.raises(Conflict):
        corpora.insert_corpus(customer_id="acme", key="docs", name="again", description="")
    # The failed insert left the store usable.
    assert corpora.get_corpus(customer_id="globex", key="docs").name == "g"
    assert corpora.existing_keys(customer_id="acme", keys={"docs", "other"}) == {"docs"}


def test_list_orders_by_id_pages_and_scopes(corpora: CorpusStore) -> None:
    for i in range(5):
        corpora.insert_corpus(customer_id="acme", key=f"c{i}", name=f"c{i}", description="")
    corpora.insert_corpus(customer_id="globex", key="g", name="g", description="")
    first = corpora.list_corpora(customer_id="acme", limit=2)
    assert [c.key for c in first] == ["c0", "c1"]
    rest = corpora.list_corpora(customer_id="acme", limit=10, after_id=first[-1].id)
    assert [c.key for c in rest] == ["c2", "c3", "c4"]
    only = corpora.list_corpora(customer_id="acme", limit=10, keys={"c3", "c1", "g"})
    assert [c.key for c in only] == ["c1", "c3"]
    assert corpora.list_corpora(customer_id="acme", limit=10, keys=set()) == []


def test_update_refuses_unknown_columns(corpora: CorpusStore) -> None:
    corpora.insert_corpus(customer_id="acme", key="docs", name="Docs", description="")
    with pytest.raises(ValueError, match="customer_id"):
        corpora.update_corpus(customer_id="acme", key="docs", values={"customer_id": "globex"})
