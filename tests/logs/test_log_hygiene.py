"""Secrets and whole tokens never reach the logs (SPEC, engineering rules), at debug level too,
and the JSON log format writes one parseable object per line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from tests.factories import LiveServer, basic_auth, start_server


@pytest.fixture
def chatty_server(tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(tmp_path, log_level="debug", GATEHOUSE_LOG_FORMAT="json")
    try:
        yield server
    finally:
        server.stop()


def _exercise(server: LiveServer) -> list[str]:
    """Successful and failed requests of every kind; returns the secrets and tokens used."""
    demo = server.demo
    url = demo["token_url"]
    secret = demo["client_secret"]
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    with httpx.Client(timeout=10) as http:
        ok = http.post(
            url,
            data={
                "grant_type": "client_credentials",
                "client_id": demo["client_id"],
                "client_secret": secret,
            },
        )
        token = ok.json()["access_token"]
        http.post(
            url,
            data={"grant_type": "client_credentials"},
            headers={"authorization": basic_auth(demo["client_id"], wrong)},
        )
        http.post(
            url,
            data={
                "grant_type": "client_credentials",
                "client_id": "nobody",
                "client_secret": wrong,
            },
        )
        http.post(url, content=b"\xff" * 100, headers={"content-type": "application/json"})
        http.get(f"{server.base_url}/v2/corpora", headers={"authorization": f"Bearer {token}"})
        http.get(f"{server.base_url}/v2/corpora", headers={"authorization": f"Bearer {token}x"})
        http.get(f"{server.base_url}/v2/corpora", headers={"authorization": f"Bearer {wrong}"})
    return [secret, wrong, token, token.rsplit(".", 1)[1]]


def test_no_secret_or_token_in_server_logs_at_debug_level(chatty_server: LiveServer) -> None:
    sensitive = _exercise(chatty_server)
    chatty_server.stop()  # flush and close the log
    assert chatty_server.log_path is not None
    log = chatty_server.log_path.read_text()
    assert log.strip(), "the server logged nothing at debug level"
    for value in sensitive:
        assert value not in log


def test_json_log_lines_are_objects_with_level_and_message(chatty_server: LiveServer) -> None:
    _exercise(chatty_server)
    chatty_server.stop()
    assert chatty_server.log_path is not None
    lines = [line for line in chatty_server.log_path.read_text().splitlines() if line.strip()]
    assert lines
    for line in lines:
        document = orjson.loads(line)
        assert {"ts", "level", "logger", "msg"} <= set(document)


def test_audit_log_holds_no_secret(chatty_server: LiveServer) -> None:
    sensitive = _exercise(chatty_server)
    audit = chatty_server.cli("audit", "--customer", "demo", "--limit", "1000")
    text = orjson.dumps(audit).decode()
    assert any(event["action"] == "token.issue" for event in audit["events"])
    for value in sensitive:
        assert value not in text
