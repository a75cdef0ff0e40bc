"""gatehouse.client with ``dpop_key=``: proofs at the token endpoint and the API, and the
server nonce followed (RFC 9449 §8), against a real server with GATEHOUSE_DPOP_NONCE=true."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from gatehouse.client import ClientCredentials
from gatehouse.dpop_client import DPoPKey
from tests.factories import LiveServer, start_server


@pytest.fixture(scope="module")
def nonce_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("nonce"), GATEHOUSE_DPOP_NONCE="true")
    try:
        yield server
    finally:
        server.stop()


def _keys() -> list[DPoPKey]:
    return [
        ec.generate_private_key(ec.SECP256R1()),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        ed25519.Ed25519PrivateKey.generate(),
    ]


@pytest.mark.parametrize("index", [0, 1, 2], ids=["ES256", "PS256", "EdDSA"])
def test_the_client_gets_a_dpop_token_and_calls_the_api_with_proofs(
    nonce_server: LiveServer, index: int
) -> None:
    demo = nonce_server.demo
    key = _keys()[index]
    auth = ClientCredentials(
        demo["token_url"], demo["client_id"], demo["client_secret"], dpop_key=key
    )
    with httpx.Client(auth=auth, timeout=30) as http:
        for _ in range(3):  # a new proof per call; the one token is reused
            response = http.get(f"{nonce_server.base_url}/v2/corpora")
            assert response.status_code == 200, response.text
            assert response.request.headers["authorization"].startswith("DPoP ")
    assert auth.token_requests == 1
    assert auth.dpop is not None
    token = auth.get_token()
    claims = pyjwt.decode(token, options={"verify_signature": False})
    assert claims["cnf"] == {"jkt": auth.dpop.thumbprint}


def test_the_async_client_does_the_same(nonce_server: LiveServer) -> None:
    demo = nonce_server.demo
    auth = ClientCredentials(
        demo["token_url"],
        demo["client_id"],
        demo["client_secret"],
        dpop_key=ec.generate_private_key(ec.SECP256R1()),
    )

    async def run() -> list[int]:
        async with httpx.AsyncClient(auth=auth, timeout=30) as http:
            url = f"{nonce_server.base_url}/v2/corpora"
            return [(await http.get(url)).status_code for _ in range(2)]

    assert asyncio.run(run()) == [200, 200]


def test_requests_works_too(nonce_server: LiveServer) -> None:
    import requests

    demo = nonce_server.demo
    auth = ClientCredentials(
        demo["token_url"],
        demo["client_id"],
        demo["client_secret"],
        dpop_key=ec.generate_private_key(ec.SECP256R1()),
    )
    response = requests.get(f"{nonce_server.base_url}/v2/corpora", auth=auth, timeout=30)
    assert response.status_code == 200
    assert response.request.headers["authorization"].startswith("DPoP ")
