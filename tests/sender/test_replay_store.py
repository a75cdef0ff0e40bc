"""Single use of DPoP proofs across processes in the database (``gatehouse.store.proofs``), on
SQLite and PostgreSQL, and the token endpoint's batch check that runs it on a worker thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.oauth.dpop import REPLAYED, TokenDPoP, shared_replay_key
from gatehouse.runtime import Runtime
from gatehouse.store import tables as t
from gatehouse.store.engine import create_store_engine, migrate
from gatehouse.store.proofs import StoreReplayCache, row_key
from gatehouse.verify.dpop import DPoPProof
from tests.conftest import copy_migrated_sqlite, make_settings
from tests.factories import add_client, add_customer, basic_auth
from tests.sender.proofs import make_proof, new_key


@pytest.fixture
def engines(database_url: str) -> Iterator[tuple[Engine, Engine]]:
    """Two engines on one database: what two server processes hold."""
    first, second = create_store_engine(database_url), create_store_engine(database_url)
    migrate(first)
    yield first, second
    first.dispose()
    second.dispose()


def proof(jti: str, iat: float = 1_800_000_000.5, jkt: str = "thumb") -> DPoPProof:
    return DPoPProof(jkt=jkt, jti=jti, iat=iat, nonce=None)


def test_a_key_is_new_once_across_engines_and_within_a_batch(
    engines: tuple[Engine, Engine],
) -> None:
    one, other = StoreReplayCache(engines[0]), StoreReplayCache(engines[1])
    assert one.first_uses(["a", "b", "a", "c"], 120) == [True, True, False, True]
    assert other.first_uses(["c", "d", "b"], 120) == [False, True, False]
    assert one.first_use("d", 120) is False
    assert other.first_use("e", 120) is True
    with engines[0].connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.dpop_proofs)).scalar() == 5


def test_every_batch_size_has_its_own_statement(engines: tuple[Engine, Engine]) -> None:
    cache = StoreReplayCache(engines[0])
    for round_, size in enumerate((1, 2, 64, 128, 2)):
        keys = [f"{round_}-{n}" for n in range(size)]
        assert cache.first_uses(keys, 120) == [True] * size
        assert cache.first_uses(keys, 120) == [False] * size


def test_the_keys_of_one_second_sort_together() -> None:
    early, late = proof("x", 1_800_000_000.2), proof("y", 1_800_000_000.9)
    later = proof("x", 1_800_000_001.0)
    rows = [row_key(shared_replay_key(p)) for p in (early, late, later)]
    assert [len(row) for row in rows] == [64, 64, 64]
    assert rows[0][:8] == rows[1][:8] == f"{1_800_000_000:08x}"
    assert rows[2][:8] == f"{1_800_000_001:08x}"
    assert len(set(rows)) == 3
    assert row_key("ab") == "ab------" + row_key("ab")[8:]  # a short key is padded


class SlowShared:
    """A shared replay store that answers only when the test lets it (a real thread)."""

    def __init__(self, answers: list[bool] | Exception) -> None:
        self.answers = answers
        self.release = threading.Event()
        self.threads: list[str] = []

    def first_uses(self, keys: Sequence[str], ttl: float) -> list[bool]:
        self.threads.append(threading.current_thread().name)
        self.release.wait(10)
        if isinstance(self.answers, Exception):
            raise self.answers
        return self.answers[: len(keys)]


def test_the_shared_check_runs_on_a_worker_thread_while_the_caller_goes_on() -> None:
    shared = SlowShared([True, False])
    dpop = TokenDPoP(public_url="http://testserver", shared=shared)
    try:
        finish = dpop.begin_settle([proof("p1"), proof("p2"), proof("p1")])
        shared.release.set()  # the caller got here while the shared check was still waiting
        # p1 again in the same batch is refused in this process; p2 was seen by another.
        assert finish() == [None, REPLAYED, REPLAYED]
        assert shared.threads[0].startswith("gatehouse-dpop")
    finally:
        dpop.close()


def test_a_failing_shared_store_raises_when_the_batch_is_settled() -> None:
    shared = SlowShared(ConnectionError("store away"))
    shared.release.set()
    dpop = TokenDPoP(public_url="http://testserver", shared=shared)
    try:
        finish = dpop.begin_settle([proof("p1")])
        with pytest.raises(ConnectionError):
            finish()
    finally:
        dpop.close()


def test_a_store_away_during_the_check_is_a_server_error_body(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    settings = make_settings(tmp_path)
    copy_migrated_sqlite(settings, migrated_sqlite)
    runtime = Runtime.open(settings)
    try:
        assert runtime.token_endpoint.dpop is not None
        shared = SlowShared(ConnectionError("store away"))
        shared.release.set()
        runtime.token_endpoint.dpop.shared = shared
        with TestClient(create_app(runtime=runtime), base_url="http://testserver") as client:
            add_customer(runtime)
            record, secret = add_client(runtime)
            url = "http://testserver/customers/acme/oauth2/token"
            response = client.post(
                url,
                data={"grant_type": "client_credentials"},
                headers={
                    "authorization": basic_auth(record.client_id, secret),
                    "dpop": make_proof(new_key(), "POST", url),
                },
            )
        assert response.status_code == 500
        assert response.json() == {
            "error": "server_error",
            "error_description": "the server could not check the DPoP proof",
        }
    finally:
        runtime.close()
