"""A third-party DPoP client: oauth4webapi (npm, run by node) against a real ``gatehouse serve``.

``tests/sender/js`` holds the script and its locked dependency; ``.ci/run`` installs it with
``npm ci`` when node is on the machine. Without node, npm or the installed package the test is
skipped with the reason, except under ``CI=true`` with node present, where a missing install is
a failure (the CI run is meant to have done it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.factories import LiveServer, claims_of
from tests.sender.conftest import acme_server

JS = Path(__file__).parent / "js"


def _node_reason() -> str | None:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return "node and npm are not installed"
    if not (JS / "node_modules" / "oauth4webapi" / "package.json").is_file():
        reason = f"oauth4webapi is not installed: run `npm ci` in {JS}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI has node but not its packages: {reason}")
        return reason
    return None


@pytest.fixture(scope="module", params=[False, True], ids=["no-nonce", "nonce"])
def js_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    reason = _node_reason()
    if reason is not None:
        pytest.skip(reason)
    yield from acme_server(tmp_path_factory.mktemp("oauth4webapi"), "js", nonce=request.param)


def run_oauth4webapi(server: LiveServer) -> dict[str, Any]:
    completed = subprocess.run(
        [
            "node",
            str(JS / "dpop.mjs"),
            f"{server.base_url}/customers/acme",
            server.demo["client_id"],
            server.demo["client_secret"],
            f"{server.base_url}/v2/corpora",
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode()
    result: dict[str, Any] = orjson.loads(completed.stdout)
    return result


def test_oauth4webapi_gets_a_dpop_token_and_calls_the_api_with_it(js_server: LiveServer) -> None:
    nonce_on = js_server.env["GATEHOUSE_DPOP_NONCE"] == "true"
    result = run_oauth4webapi(js_server)
    assert result["token_endpoint"] == f"{js_server.base_url}/customers/acme/oauth2/token"
    # RFC 9449 §5: token_type DPoP; §6.1: cnf.jkt is the thumbprint of oauth4webapi's key.
    assert result["token_type"].lower() == "dpop"
    assert claims_of(result["access_token"])["cnf"] == {"jkt": result["jkt"]}
    # RFC 9449 §8: with server nonces on, the first proof is answered use_dpop_nonce and
    # oauth4webapi retries with the nonce it was given; without, no retry is needed.
    assert result["nonce_errors"] == (["token"] if nonce_on else [])
    # RFC 9449 §7: the API takes the token as Authorization: DPoP with a fresh proof.
    assert result["api_status"] == 200
    assert isinstance(result["api_body"], dict)


def test_a_second_run_gets_its_own_key_and_token(js_server: LiveServer) -> None:
    first, second = run_oauth4webapi(js_server), run_oauth4webapi(js_server)
    assert first["jkt"] != second["jkt"]
    assert claims_of(second["access_token"])["cnf"] == {"jkt": second["jkt"]}
