"""Real third-party OAuth clients and the Vectara docs' three ways to get a token, against the live
server (the fast lane): requests-oauthlib, Authlib, the Vectara SDK, curl, requests, axios + qs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import requests
from oauthlib.oauth2 import BackendApplicationClient  # type: ignore[import-untyped]
from requests_oauthlib import OAuth2Session
from tests.oauth.conftest import Creds, Lane, node_modules_dir, verify_token


@pytest.fixture
def creds(live_lane: Lane) -> Creds:
    return live_lane.add_client(live_lane.add_customer(), roles=("viewer", "administrator"))


def assert_token(lane: Lane, creds: Creds, body: dict[str, Any], scope: str) -> None:
    assert set(body) >= {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 1800
    assert body["scope"] in (scope, scope.split(" "))  # some clients split scope into a list
    claims = verify_token(lane, body["access_token"], creds.customer_id)
    assert claims["client_id"] == creds.client_id
    assert claims["scope"] == scope


@pytest.fixture
def plain_http_for_oauthlib(monkeypatch: pytest.MonkeyPatch) -> None:
    # oauthlib refuses http:// unless told; the live test server listens on plain loopback HTTP.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.mark.usefixtures("plain_http_for_oauthlib")
def test_requests_oauthlib_backend_application_client_fetches_a_token(
    live_lane: Lane, creds: Creds
) -> None:
    session = OAuth2Session(client=BackendApplicationClient(client_id=creds.client_id))
    with session:
        token = session.fetch_token(
            token_url=live_lane.token_url(creds.customer_id),
            client_id=creds.client_id,
            client_secret=creds.secret,
        )
    assert_token(live_lane, creds, dict(token), "viewer administrator")


@pytest.mark.usefixtures("plain_http_for_oauthlib")
def test_requests_oauthlib_with_scope_gets_the_narrowed_token(
    live_lane: Lane, creds: Creds
) -> None:
    client = BackendApplicationClient(client_id=creds.client_id, scope=["viewer"])
    with OAuth2Session(client=client) as session:
        token = session.fetch_token(
            token_url=live_lane.token_url(creds.customer_id),
            client_id=creds.client_id,
            client_secret=creds.secret,
        )
    assert_token(live_lane, creds, dict(token), "viewer")


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_authlib_oauth2_client_fetches_a_token(live_lane: Lane, creds: Creds, method: str) -> None:
    from authlib.integrations.httpx_client import OAuth2Client

    with OAuth2Client(
        client_id=creds.client_id,
        client_secret=creds.secret,
        token_endpoint_auth_method=method,
    ) as client:
        token = client.fetch_token(
            live_lane.token_url(creds.customer_id), grant_type="client_credentials"
        )
    assert_token(live_lane, creds, dict(token), "viewer administrator")


def test_authlib_sees_a_wrong_secret_as_invalid_client(live_lane: Lane, creds: Creds) -> None:
    from authlib.integrations.base_client.errors import OAuthError
    from authlib.integrations.httpx_client import OAuth2Client

    client = OAuth2Client(
        client_id=creds.client_id,
        client_secret="wrong-secret",
        token_endpoint_auth_method="client_secret_basic",
    )
    with client, pytest.raises(OAuthError) as raised:
        client.fetch_token(live_lane.token_url(creds.customer_id), grant_type="client_credentials")
    assert raised.value.error == "invalid_client"
    assert raised.value.description == "client authentication failed"


def test_vectara_sdk_gets_a_token_from_oauth_token(live_lane: Lane, creds: Creds) -> None:
    from vectara import Vectara
    from vectara.environment import VectaraEnvironment

    environment = VectaraEnvironment(default=f"{live_lane.base_url}/v2", auth=live_lane.base_url)
    with httpx.Client(timeout=10) as http:
        sdk = Vectara(environment=environment, api_key="unused", httpx_client=http)  # type: ignore[no-untyped-call]
        # The SDK posts a JSON body to {auth}/oauth/token.
        token = sdk.auth.get_token(client_id=creds.client_id, client_secret=creds.secret)
    assert token.token_type == "Bearer"
    assert token.expires_in == 1800
    claims = verify_token(live_lane, token.access_token, creds.customer_id)
    assert claims["client_id"] == creds.client_id


# -- the Vectara docs' snippets -----------------------------------------------------------------


def test_vectara_docs_curl_command_gets_a_token(live_lane: Lane, creds: Creds) -> None:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    # The secret is [A-Za-z0-9_] (SPEC §1), so it pastes into the command unquoted.
    data = f"grant_type=client_credentials&client_id={creds.client_id}&client_secret={creds.secret}"
    out = subprocess.run(
        [
            curl,
            "-sS",
            "-X",
            "POST",
            live_lane.token_url(creds.customer_id),
            "-H",
            "Content-Type: application/x-www-form-urlencoded",
            "-d",
            data,
        ],
        capture_output=True,
        check=True,
        timeout=30,
    )
    assert_token(live_lane, creds, orjson.loads(out.stdout), "viewer administrator")


def test_vectara_docs_python_requests_snippet_gets_a_token(live_lane: Lane, creds: Creds) -> None:
    url = live_lane.token_url(creds.customer_id)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    data = {
        "grant_type": "client_credentials",
        "client_id": creds.client_id,
        "client_secret": creds.secret,
    }
    with requests.Session() as session:
        response = session.post(url, headers=headers, data=data, timeout=10)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert_token(live_lane, creds, response.json(), "viewer administrator")


AXIOS_SNIPPET = """
const axios = require('axios');
const qs = require('qs');
const [url, clientId, clientSecret] = process.argv.slice(2);
const data = qs.stringify({
  grant_type: 'client_credentials',
  client_id: clientId,
  client_secret: clientSecret,
});
axios.post(url, data, { headers: { 'Content-Type': 'application/x-www-form-urlencoded' } })
  .then((response) => { process.stdout.write(JSON.stringify(response.data)); })
  .catch((error) => { console.error(error.message); process.exit(1); });
"""


@pytest.fixture(scope="session")
def node_packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node or npm is not installed")
    found = node_modules_dir(tmp_path_factory.mktemp("node-axios"))
    if isinstance(found, str):
        pytest.skip(found)
    return found


def test_vectara_docs_axios_snippet_gets_a_token(
    live_lane: Lane, creds: Creds, node_packages: Path
) -> None:
    script = node_packages.parent / "token.js"
    script.write_text(AXIOS_SNIPPET)
    out = subprocess.run(
        [
            "node",
            str(script),
            live_lane.token_url(creds.customer_id),
            creds.client_id,
            creds.secret,
        ],
        cwd=node_packages.parent,
        capture_output=True,
        check=True,
        timeout=30,
    )
    assert_token(live_lane, creds, orjson.loads(out.stdout), "viewer administrator")


def test_gatehouse_token_command_gets_a_token(live_lane: Lane, creds: Creds) -> None:
    assert live_lane.live is not None
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "gatehouse",
            "token",
            "--token-url",
            live_lane.token_url(creds.customer_id),
            "--client-id",
            creds.client_id,
            "--client-secret",
            creds.secret,
        ],
        env=live_lane.live.env,
        capture_output=True,
        check=True,
        timeout=60,
    )
    assert_token(live_lane, creds, orjson.loads(out.stdout), "viewer administrator")
