"""Unknown client_ids cost almost nothing (docs/scale.md): a flood of random ones is read from
the store at most ``GATEHOUSE_CLIENT_STORE_READS_PER_SECOND`` times a second, the rest are
answered ``invalid_client`` from memory, and one unknown id asked again is remembered."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import event

from gatehouse.oauth.endpoint import Response, TokenRequest
from gatehouse.runtime import Runtime
from tests.conftest import make_settings
from tests.factories import add_customer, basic_auth

BUDGET = 50
FORM = b"grant_type=client_credentials"
INVALID_CLIENT = {"error": "invalid_client", "error_description": "client authentication failed"}


@pytest.fixture
def flooded(tmp_path: Path, database_url: str) -> Iterator[Runtime]:
    settings = make_settings(
        tmp_path,
        database_url=database_url,
        client_store_reads_per_second=BUDGET,
        bruteforce_address_failures=10**9,
        bruteforce_client_failures=10**9,
    )
    runtime = Runtime.open(settings)
    add_customer(runtime)
    yield runtime
    runtime.store.engine.dispose()


class Statements:
    def __init__(self) -> None:
        self.seen: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        with self.lock:
            self.seen.append(statement)


def request(client_id: str) -> TokenRequest:
    return TokenRequest(
        method="POST",
        body=FORM,
        content_type="application/x-www-form-urlencoded",
        authorization=basic_auth(client_id, "gths_" + "x" * 49),
        client_addr="127.0.0.1",
    )


def answer(runtime: Runtime, client_ids: list[str]) -> tuple[list[Response], list[str], float]:
    statements = Statements()
    event.listen(runtime.store.engine, "before_cursor_execute", statements)
    started = time.monotonic()
    try:
        responses: list[Response] = []
        for first in range(0, len(client_ids), 100):  # batches, as the fast lane sends them
            batch = [request(c) for c in client_ids[first : first + 100]]
            responses += runtime.token_endpoint.handle_batch(batch)
    finally:
        elapsed = time.monotonic() - started
        event.remove(runtime.store.engine, "before_cursor_execute", statements)
    return responses, statements.seen, elapsed


def test_10000_random_unknown_ids_read_the_store_at_most_the_budget_a_second(
    flooded: Runtime,
) -> None:
    ids = [secrets.token_hex(13) for _ in range(10_000)]
    responses, statements, elapsed = answer(flooded, ids)
    assert {r.status for r in responses} == {401}
    assert {r.body for r in responses} == {orjson.dumps(INVALID_CLIENT)}
    # Every statement is the one indexed read by client_id; at most BUDGET of them a second.
    assert all("FROM app_clients" in s and "client_id" in s for s in statements)
    assert len(statements) <= BUDGET * (int(elapsed) + 2)
    print(f"\n[flood] 10000 unknown ids in {elapsed:.2f} s: {len(statements)} store statements")


def test_one_unknown_id_asked_1000_times_is_read_once(flooded: Runtime) -> None:
    responses, statements, _ = answer(flooded, ["n0-such-client-id-anywhere"] * 1000)
    assert {r.status for r in responses} == {401}
    assert len(statements) == 1


def test_ids_that_cannot_exist_are_never_read(flooded: Runtime) -> None:
    responses, statements, _ = answer(flooded, ["x" * 65, "a\x00b" * 8, "y" * 1000])
    assert {r.status for r in responses} == {401}
    assert statements == []
