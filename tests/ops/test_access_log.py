"""The access log of real server processes, with one worker and with two: one line per request,
JSON with ``GATEHOUSE_LOG_FORMAT=json``, and never a token or a secret, not even one sent in the
query string or the path."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from gatehouse.accesslog import safe_target
from tests.factories import LiveServer, start_server


def _access_lines(server: LiveServer, *wanted: str, timeout: float = 30) -> list[str]:
    """The access-log lines once each of ``wanted`` is in one of them (a line is written just
    after its response is sent, possibly by another worker process)."""
    assert server.log_path is not None
    deadline = time.monotonic() + timeout
    while True:
        lines = [
            line for line in server.log_path.read_text().splitlines() if "gatehouse.access" in line
        ]
        if all(any(w in line for line in lines) for w in wanted):
            return lines
        assert time.monotonic() < deadline, f"no access-log line for all of {wanted}: {lines}"
        time.sleep(0.05)


def _requests(server: LiveServer) -> tuple[str, str]:
    demo = server.demo
    token_response = httpx.post(
        f"{server.base_url}/oauth/token",  # the JSON token path is served by the ASGI app
        json={
            "grant_type": "client_credentials",
            "client_id": demo["client_id"],
            "client_secret": demo["client_secret"],
        },
    )
    assert token_response.status_code == 200
    token: str = token_response.json()["access_token"]
    assert httpx.get(f"{server.base_url}/healthz").status_code == 200
    leaky = httpx.get(
        f"{server.base_url}/v2/corpora",
        params={"access_token": token, "limit": "5", "client_secret": demo["client_secret"]},
    )
    assert leaky.status_code == 401
    in_path = httpx.get(f"{server.base_url}/v2/corpora/{demo['client_secret']}/{token}")
    assert in_path.status_code in (401, 404)
    return token, demo["client_secret"]


@pytest.mark.parametrize("workers", [1, 2])
def test_json_access_log_with_one_and_several_workers(tmp_path: Path, workers: int) -> None:
    server = start_server(tmp_path, workers=workers, log_level="info", GATEHOUSE_LOG_FORMAT="json")
    try:
        token, secret = _requests(server)
        lines = _access_lines(server, "/v2/corpora?", "/v2/corpora/[secret]/[jwt]")
    finally:
        server.stop()
    assert server.log_path is not None
    whole_log = server.log_path.read_text()
    assert token not in whole_log
    assert token.split(".")[2] not in whole_log
    assert secret not in whole_log
    assert "eyJ" not in whole_log  # not even a part of a token
    assert "gths_" not in whole_log
    entries: list[dict[str, Any]] = [orjson.loads(line) for line in lines]
    by_path = {e["path"]: e for e in entries}
    assert set(by_path) >= {
        "/healthz",
        "/v2/corpora?access_token=&limit=&client_secret=",
        "/v2/corpora/[secret]/[jwt]",
    }
    health = by_path["/healthz"]
    assert {k: health[k] for k in ("level", "logger", "method", "status", "http_version")} == {
        "level": "info",
        "logger": "gatehouse.access",
        "method": "GET",
        "status": 200,
        "http_version": "1.1",
    }
    assert health["remote"].startswith("127.0.0.1:")
    assert health["bytes"] > 0
    assert health["duration_ms"] >= 0
    assert by_path["/v2/corpora?access_token=&limit=&client_secret="]["status"] == 401


def test_text_access_log_and_turning_it_off(tmp_path: Path) -> None:
    server = start_server(tmp_path / "on", log_level="info")
    try:
        httpx.get(f"{server.base_url}/healthz?x=1")
        (line,) = [x for x in _access_lines(server, "/healthz?x=") if "?x=" in x]
    finally:
        server.stop()
    assert line.endswith("ms")
    assert " INFO gatehouse.access: 127.0.0.1:" in line
    assert '"GET /healthz?x= HTTP/1.1" 200 ' in line

    quiet = start_server(tmp_path / "off", log_level="info", GATEHOUSE_ACCESS_LOG="false")
    try:
        assert httpx.get(f"{quiet.base_url}/healthz").status_code == 200
        assert httpx.get(f"{quiet.base_url}/readyz").status_code == 200
    finally:
        quiet.stop()  # the log is complete once the process has exited
    assert quiet.log_path is not None
    assert "gatehouse.access" not in quiet.log_path.read_text()


def test_safe_target_masks_and_escapes() -> None:
    assert safe_target("/a\nb", b"") == "/a\\x0ab"
    assert safe_target("/x", b"token=eyJa.b.c&token=2&q") == "/x?token=&q="
    assert safe_target("/eyJhbGciOi.eyJzdWIi.sig/y", b"") == "/[jwt]/y"
    assert len(safe_target("/" + "a" * 5000, b"")) == 512
    assert safe_target("/" + "a" * 500 + "/eyJhbGciOi.eyJzdWIi.sig", b"").endswith("/[jwt]")
    assert safe_target("/half/eyJhbGciOiJFUzI1NiIs", b"") == "/half/[jwt]"
