"""The openid-configuration question, tested against a strict and a lenient client.

Gatehouse is not an OpenID Provider. ``{issuer}/.well-known/openid-configuration`` serves the
RFC 8414 document for the many JWT middlewares that look there first: express-oauth2-jwt-bearer
(npm, unchanged) discovers it and takes its allowed algorithms from
``id_token_signing_alg_values_supported``, which names only the algorithms of the issuer's own
keys. A strict OpenID Connect Discovery client — pyoidc's ``ProviderConfigurationResponse`` —
refuses it (no ``authorization_endpoint``); pyoidc's OAuth 2.0 client reads the RFC 8414
document instead and accepts it.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from oic.oauth2 import Client as OAuth2Client
from oic.oauth2.message import ASConfigurationResponse, MissingRequiredAttribute
from oic.oic.message import ProviderConfigurationResponse

from gatehouse.keyring import rotate_keys
from tests.apis.conftest import Api
from tests.factories import LiveServer, free_port, start_server

SCRIPT = Path(__file__).with_name("express_bearer_server.cjs")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("discovery"))
    try:
        yield live
    finally:
        live.stop()


def test_pyoidc_strict_discovery_refuses_openid_configuration(server: LiveServer) -> None:
    issuer = f"{server.base_url}/customers/demo"
    text = httpx.get(f"{issuer}/.well-known/openid-configuration").text
    with pytest.raises(MissingRequiredAttribute, match="authorization_endpoint"):
        ProviderConfigurationResponse().from_json(text).verify()  # type: ignore[no-untyped-call]


def test_pyoidc_also_refuses_an_empty_response_types_supported(server: LiveServer) -> None:
    """RFC 8414 §2 requires response_types_supported; a client-credentials-only server has no
    response type, so the list is empty, which pyoidc reads as missing. Such clients are given
    the token endpoint and JWKS URL directly (docs/apis.md)."""
    issuer = f"{server.base_url}/customers/demo"
    text = httpx.get(f"{issuer}/.well-known/oauth-authorization-server").text
    assert orjson.loads(text)["response_types_supported"] == []
    # pyoidc drops the empty list, then misses it.
    document = ASConfigurationResponse().from_json(text)  # type: ignore[no-untyped-call]
    with pytest.raises(MissingRequiredAttribute, match="response_types_supported"):
        document.verify()  # type: ignore[no-untyped-call]
    # Without verification pyoidc's OAuth 2.0 client takes the endpoints from the document.
    client = OAuth2Client()
    client.provider_config(issuer, serv_pattern="%s/.well-known/oauth-authorization-server")
    assert client.token_endpoint == f"{issuer}/oauth2/token"


@pytest.fixture
def express_api(server: LiveServer, tmp_path: Path) -> Iterator[str]:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node or npm is not installed")
    try:
        subprocess.run(
            [
                "npm",
                "install",
                "--no-audit",
                "--no-fund",
                "--silent",
                "express@4",
                "express-oauth2-jwt-bearer@1",
            ],
            cwd=tmp_path,
            capture_output=True,
            check=True,
            timeout=180,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"npm could not install express-oauth2-jwt-bearer ({exc.__class__.__name__})")
    script = tmp_path / SCRIPT.name
    shutil.copyfile(SCRIPT, script)
    port = free_port()
    process = subprocess.Popen(
        ["node", str(script), str(port), f"{server.base_url}/customers/demo", server.base_url],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == b"ready"
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=15)
        if process.stdout is not None:
            process.stdout.close()


def test_express_oauth2_jwt_bearer_accepts_gatehouse_tokens(
    server: LiveServer, express_api: str
) -> None:
    demo = server.demo
    token = httpx.post(
        demo["token_url"],
        data={"grant_type": "client_credentials"},
        auth=(demo["client_id"], demo["client_secret"]),
    ).json()["access_token"]
    response = httpx.get(f"{express_api}/whoami", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.json() == {"client_id": demo["client_id"]}
    refused = httpx.get(f"{express_api}/whoami", headers={"authorization": "Bearer x.y.z"})
    assert refused.status_code == 401


def test_each_issuer_advertises_only_its_keys_algorithms(api: Api) -> None:
    runtime = api.runtime
    from gatehouse.services.customers import create_customer

    create_customer(
        runtime.store,
        runtime.master_key,
        customer_id="rsa",
        name="rsa",
        alg="RS256",
        actor="t",
        notify=runtime,
    )
    for path in ("oauth-authorization-server", "openid-configuration"):
        document = api.client.get(f"/customers/rsa/.well-known/{path}").json()
        assert document["id_token_signing_alg_values_supported"] == ["RS256"]
        assert document["access_token_signing_alg_values_supported"] == ["RS256"]
    assert api.client.get("/customers/acme/.well-known/openid-configuration").json()[
        "access_token_signing_alg_values_supported"
    ] == ["ES256"]
    # After a rotation to another algorithm both keys are published, so both are listed.
    rotate_keys(runtime.store, runtime.master_key, customer_id="rsa", alg="ES256")
    runtime.changed()
    document = api.client.get("/customers/rsa/.well-known/oauth-authorization-server").json()
    assert document["access_token_signing_alg_values_supported"] == ["ES256", "RS256"]
