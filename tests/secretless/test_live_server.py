"""Against real ``gatehouse serve`` processes (two, on one database, the fast lane in front):
Authlib's ``PrivateKeyJWT`` unchanged, ``gatehouse.client.PrivateKeyJWT`` and
``FederatedToken`` with httpx and requests, one jti accepted once across processes, and the
secret path on the same keep-alive connection as an assertion."""

from __future__ import annotations

import concurrent.futures
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import requests
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT as AuthlibPrivateKeyJWT
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gatehouse.client import FederatedToken, PrivateKeyJWT, RequestsClientCredentials
from tests.factories import LiveServer, start_server
from tests.secretless.assertions import ASSERTION_TYPE, client_assertion
from tests.secretless.issuer import Issuer, running_issuer
from tests.secretless.keys import ec_key

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, LiveServer]]:
    data_dir = tmp_path_factory.mktemp("live")
    first = start_server(data_dir, GATEHOUSE_ALLOW_INSECURE_URLS="true")
    try:
        second = start_server(data_dir, seed_demo=False, GATEHOUSE_ALLOW_INSECURE_URLS="true")
        try:
            yield first, second
        finally:
            second.stop()
    finally:
        first.stop()


@pytest.fixture(scope="module")
def server(servers: tuple[LiveServer, LiveServer]) -> LiveServer:
    return servers[0]


@pytest.fixture(scope="module")
def outside() -> Iterator[Issuer]:
    with running_issuer() as running:
        yield running


def pem_and_jwk(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
) -> tuple[bytes, dict[str, Any]]:
    from joserfc.jwk import import_key

    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    imported = (
        import_key(pem, "RSA") if isinstance(key, rsa.RSAPrivateKey) else import_key(pem, "EC")
    )
    public = imported.as_dict(private=False)
    return pem, public


def register(server: LiveServer, tmp_path: Path, jwk: dict[str, Any] | None) -> dict[str, Any]:
    args = ["clients", "create", "--customer", "demo", "--name", "signer", "--role", "viewer"]
    args += ["--auth-method", "private_key_jwt"]
    if jwk is not None:
        path = tmp_path / "jwks.json"
        path.write_bytes(orjson.dumps({"keys": [jwk]}))
        args += ["--jwks", str(path)]
    return server.cli(*args)


def test_authlib_private_key_jwt_unchanged(server: LiveServer, tmp_path: Path) -> None:
    pem, jwk = pem_and_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    created = register(server, tmp_path, jwk)
    token_url = created["token_url"].replace("http://127.0.0.1:8000", server.base_url)
    # The assertion's aud is the public token URL; the request goes to this server's port.
    with OAuth2Client(
        client_id=created["client_id"],
        client_secret=pem.decode(),
        token_endpoint_auth_method=AuthlibPrivateKeyJWT(created["token_url"]),
    ) as client:
        token = client.fetch_token(token_url, grant_type="client_credentials")
    assert token["token_type"] == "Bearer"
    assert token["scope"] == "viewer"
    corpora = httpx.get(
        f"{server.base_url}/v2/corpora",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert corpora.status_code == 200


def test_one_jti_is_accepted_once_across_processes(
    servers: tuple[LiveServer, LiveServer], tmp_path: Path
) -> None:
    server = servers[0]
    key = ec_key("k1")
    created = register(server, tmp_path, key.as_dict(private=False))
    assertion = client_assertion(key, created["client_id"], created["issuer"])
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    urls = [f"{live.base_url}/customers/demo/oauth2/token" for live in servers]

    def post(index: int) -> int:
        # Half to each server process, all at once.
        return httpx.post(urls[index % 2], data=data, timeout=30).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(post, range(8)))
    assert statuses == [200] + [401] * 7


def test_secret_and_assertion_requests_share_a_keep_alive_connection(
    server: LiveServer, tmp_path: Path
) -> None:
    key = ec_key("k1")
    created = register(server, tmp_path, key.as_dict(private=False))
    demo = server.demo
    url = f"{server.base_url}/customers/demo/oauth2/token"
    secret_form = {
        "grant_type": "client_credentials",
        "client_id": demo["client_id"],
        "client_secret": demo["client_secret"],
    }
    with httpx.Client() as http:
        for _ in range(3):
            assert http.post(url, data=secret_form).status_code == 200
            assertion = client_assertion(key, created["client_id"], created["issuer"])
            response = http.post(
                url,
                data={
                    "grant_type": "client_credentials",
                    "client_assertion_type": ASSERTION_TYPE,
                    "client_assertion": assertion,
                },
            )
            assert response.status_code == 200, response.text
            assert response.json()["scope"] == "viewer"


def test_gatehouse_client_private_key_jwt_with_httpx_and_requests(
    server: LiveServer, tmp_path: Path
) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    pem, jwk = pem_and_jwk(private)
    jwk["kid"] = "ci-key"
    created = register(server, tmp_path, jwk)
    token_url = f"{server.base_url}/customers/demo/oauth2/token"
    auth = PrivateKeyJWT(
        token_url,
        created["client_id"],
        pem,
        kid="ci-key",
        assertion_audience=created["token_url"],
    )
    with httpx.Client(auth=auth) as http:
        for _ in range(3):
            assert http.get(f"{server.base_url}/v2/corpora").status_code == 200
    assert auth.token_requests == 1  # cached
    auth_requests = RequestsClientCredentials.__new__(RequestsClientCredentials)
    assert callable(auth_requests)
    response = requests.get(f"{server.base_url}/v2/corpora", auth=auth, timeout=10)
    assert response.status_code == 200


def test_gatehouse_client_federated_token_from_a_file_re_read_at_renewal(
    server: LiveServer, tmp_path: Path, outside: Issuer
) -> None:
    created = register(server, tmp_path, None)
    server.cli(
        "clients", "federate", "add", created["id"], "--customer", "demo",
        "--name", "pods", "--issuer", outside.url, "--audience", "gatehouse",
        "--subject", "system:serviceaccount:payments:*",
        "--claim", "kubernetes.io.namespace=payments",
    )  # fmt: skip
    token_file = tmp_path / "token"
    token_file.write_text(outside.kubernetes("gatehouse"))
    token_url = f"{server.base_url}/customers/demo/oauth2/token"
    auth = FederatedToken(token_url, created["client_id"], token=token_file)
    assert httpx.get(f"{server.base_url}/v2/corpora", auth=auth).status_code == 200
    # The kubelet rotates the file; a renewal reads the new token.
    token_file.write_text(outside.kubernetes("gatehouse", namespace="billing"))
    auth.invalidate()
    with pytest.raises(Exception, match="invalid_client"):
        auth.get_token()
    grant = FederatedToken(
        token_url,
        created["client_id"],
        token=lambda: outside.kubernetes("gatehouse"),
        grant="jwt-bearer",
    )
    response = requests.get(f"{server.base_url}/v2/corpora", auth=grant, timeout=10)
    assert response.status_code == 200


NODE_CLIENT = """
import * as oauth from 'oauth4webapi';
const [issuer, tokenUrl, clientId, jwkJson] = process.argv.slice(2);
const jwk = JSON.parse(jwkJson);
const key = await crypto.subtle.importKey(
  'jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
const as = { issuer, token_endpoint: tokenUrl };
const client = { client_id: clientId };
const response = await oauth.clientCredentialsGrantRequest(
  as, client, oauth.PrivateKeyJwt({ key, kid: jwk.kid }), new URLSearchParams({ scope: 'viewer' }),
  { [oauth.allowInsecureRequests]: true });
const result = await oauth.processClientCredentialsResponse(as, client, response);
process.stdout.write(JSON.stringify(result));
"""


@pytest.fixture(scope="module")
def oauth4webapi(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``npm install oauth4webapi`` into a folder of the test's own; skips without npm."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node or npm is not installed")
    root = tmp_path_factory.mktemp("node-oauth4webapi")
    try:
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--silent", "oauth4webapi@3"],
            cwd=root,
            capture_output=True,
            check=True,
            timeout=120,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"npm could not install oauth4webapi ({exc.__class__.__name__})")
    return root


def test_a_node_client_oauth4webapi_private_key_jwt(
    server: LiveServer, tmp_path: Path, oauth4webapi: Path
) -> None:
    key = ec_key("node-1")
    created = register(server, tmp_path, key.as_dict(private=False))
    script = oauth4webapi / "token.mjs"
    script.write_text(NODE_CLIENT)
    out = subprocess.run(
        [
            "node",
            str(script),
            created["issuer"],
            f"{server.base_url}/customers/demo/oauth2/token",
            created["client_id"],
            orjson.dumps(key.as_dict(private=True)).decode(),
        ],
        cwd=oauth4webapi,
        capture_output=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr.decode()
    result = orjson.loads(out.stdout)
    assert (result["token_type"].lower(), result["scope"]) == ("bearer", "viewer")


def test_gatehouse_client_private_key_jwt_async(server: LiveServer, tmp_path: Path) -> None:
    import asyncio

    private = ec.generate_private_key(ec.SECP384R1())  # ES384, and no kid anywhere
    _pem, jwk = pem_and_jwk(private)
    created = register(server, tmp_path, jwk)
    auth = PrivateKeyJWT(
        f"{server.base_url}/customers/demo/oauth2/token",
        created["client_id"],
        private,
        assertion_audience=created["issuer"],
    )

    async def calls() -> list[int]:
        async with httpx.AsyncClient(auth=auth) as http:
            responses = await asyncio.gather(
                *(http.get(f"{server.base_url}/v2/corpora") for _ in range(4))
            )
        return [r.status_code for r in responses]

    assert asyncio.run(calls()) == [200] * 4
    assert auth.token_requests == 1  # one token request in flight, shared by the four calls
