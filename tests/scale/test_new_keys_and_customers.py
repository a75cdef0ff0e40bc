"""A customer and a signing key made by another process are in force on a running server at the
first request (docs/scale.md): the server's feed poll is 5 s here, so only the read-through (on an
unknown customer, an unknown ``kid``) can explain the answers."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import orjson

from gatehouse.keyring import rotate_keys
from gatehouse.oauth.endpoint import TokenRequest
from gatehouse.runtime import Runtime
from gatehouse.settings import Settings
from gatehouse.store.store import Store
from tests.factories import LiveServer, basic_auth
from tests.scale.conftest import master_key_of


def test_a_customer_made_by_the_cli_issues_and_accepts_tokens_at_once(
    server: LiveServer,
) -> None:
    server.cli("customers", "create", "newco")
    created = server.cli(
        "clients", "create", "--customer", "newco", "--name", "n", "--role", "viewer"
    )
    with httpx.Client(timeout=5) as http:
        response = http.post(
            f"{server.base_url}/customers/newco/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(created["client_id"], created["client_secret"]),
        )
        assert response.status_code == 200, response.text
        bearer = {"Authorization": f"Bearer {response.json()['access_token']}"}
        listed = http.get(f"{server.base_url}/v2/corpora", headers=bearer)
    assert listed.status_code == 200, listed.text


def test_a_token_signed_with_a_key_made_elsewhere_is_accepted_at_once(
    server: LiveServer, writer: Store, database_url: str, tmp_path: Path
) -> None:
    master_key = master_key_of(server)
    new_kid = rotate_keys(writer, master_key, customer_id="demo", alg="ES256")
    # Another server process (this test's own runtime, on the same store) signs with it.
    settings = Settings(
        data_dir=Path(server.env["GATEHOUSE_DATA_DIR"]),
        database_url=database_url,
        public_url=server.base_url,
    )
    elsewhere = Runtime.open(settings)
    try:
        demo = server.demo
        answer = elsewhere.token_endpoint.handle(
            TokenRequest(
                method="POST",
                body=b"grant_type=client_credentials",
                content_type="application/x-www-form-urlencoded",
                authorization=basic_auth(demo["client_id"], demo["client_secret"]),
                client_addr="127.0.0.1",
            )
        )
    finally:
        elsewhere.store.engine.dispose()
    assert answer.status == 200
    token = orjson.loads(answer.body)["access_token"]
    header = orjson.loads(_b64(token.split(".")[0]))
    assert header["kid"] == new_kid
    with httpx.Client(timeout=5) as http:
        listed = http.get(
            f"{server.base_url}/v2/corpora", headers={"Authorization": f"Bearer {token}"}
        )
    assert listed.status_code == 200, listed.text


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
