"""Schemathesis against the served ``/v2/openapi.json`` of a real server process, on SQLite and
on PostgreSQL: every operation, valid and invalid requests, with a real owner token. No answer
is a 5xx and every error is in the v2 shape ``{"messages": [...], "request_id": ...}``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from schemathesis.schemas import APIOperation

from tests.factories import LiveServer, start_server
from tests.fuzz.shapes import check_api

EXAMPLES = 12  # per operation and mode: every operation, in `make test` time


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    live = start_server(tmp_path / "var", GATEHOUSE_DATABASE_URL=database_url)
    try:
        yield live
    finally:
        live.stop()


def owner_token(server: LiveServer) -> str:
    response = httpx.post(
        f"{server.base_url}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(server.demo["client_id"], server.demo["client_secret"]),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def fuzz(
    operation: APIOperation[Any, Any, Any, Any], mode: GenerationMode, base_url: str, token: str
) -> None:
    """Send ``EXAMPLES`` generated requests of one operation; check every answer."""
    strategy = operation.as_strategy(generation_mode=mode)
    headers = {"Authorization": f"Bearer {token}"}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        case = data.draw(strategy)
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        what = f"{operation.label} {mode.value}: {case.as_curl_command()}"
        check_api(response.status_code, response.headers, response.content, what)

    run()


@pytest.mark.timeout(600)
def test_every_operation_of_the_openapi_document(server: LiveServer) -> None:
    schema = schemathesis.openapi.from_url(f"{server.base_url}/v2/openapi.json")
    token = owner_token(server)
    results = list(schema.get_all_operations())
    assert all(isinstance(result, Ok) for result in results), results
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) >= 10, [op.label for op in operations]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz(operation, mode, server.base_url, token)
    # The token was never revoked or its client deleted by chance: it still works.
    assert owner_token(server)
