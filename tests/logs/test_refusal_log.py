"""Refused requests are counted in /metrics and logged by sample, never one line each."""

from __future__ import annotations

import logging

import pytest
from starlette.testclient import TestClient
from tests.factories import add_client, add_customer, wrong_secret

from gatehouse.refusals import RefusalLog
from gatehouse.runtime import Runtime

LOGGER = logging.getLogger("tests.refusals")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_at_most_per_window_lines_then_one_line_for_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    refusals = RefusalLog(per_window=3, window_seconds=10, clock=clock)
    with caplog.at_level(logging.INFO, logger=LOGGER.name):
        for i in range(50):
            refusals.refused("token", LOGGER, "refused %d", i)
        clock.now += 10
        refusals.refused("token", LOGGER, "refused %d", 50)
    assert [r.getMessage() for r in caplog.records] == [
        "refused 0",
        "refused 1",
        "refused 2",
        "47 more refused requests were not logged in the last 10 s (see /metrics)",
        "refused 50",
    ]
    assert refusals.counts == {"token": 51}
    assert refusals.suppressed_total == 47


def test_a_flood_of_bad_token_requests_is_counted_and_sampled(
    client: TestClient, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    add_customer(runtime, "acme")
    record, secret = add_client(runtime, "acme")
    data = {
        "grant_type": "client_credentials",
        "client_id": record.client_id,
        "client_secret": wrong_secret(secret),
    }
    with caplog.at_level(logging.INFO, logger="gatehouse.token"):
        for _ in range(60):
            client.post("/customers/acme/oauth2/token", data={**data, "grant_type": "password"})
    refused_lines = [r for r in caplog.records if r.name == "gatehouse.token"]
    assert len(refused_lines) == runtime.token_endpoint.refusals.per_window
    metrics = client.get("/metrics").text
    assert 'gatehouse_refusals_total{kind="token"} 60.0' in metrics
    assert "gatehouse_refusal_logs_suppressed_total 40.0" in metrics
