"""Fixtures of the authorization-server protocol tests.

A :class:`Lane` is one way into the token endpoint: ``asgi`` is the in-process Starlette
``TestClient`` (the ASGI route), ``fastlane`` is a real ``gatehouse serve`` process (uvicorn with
the fast-lane protocol). Tests parametrized over ``lane`` run the same checks on both. The live
server is shared by the session; customers and clients are written to its database from this
process and reach the server through its change feed, as the CLI's writes do.
"""

from __future__ import annotations

import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import httpx2
import jwt
import pytest
from starlette.testclient import TestClient
from tests.conftest import make_settings
from tests.factories import TEST_ACTOR, LiveServer, start_server

from gatehouse.app import create_app
from gatehouse.oauth.keys import Alg
from gatehouse.oauth.secrets import generate_app_id, hash_secret
from gatehouse.runtime import Runtime
from gatehouse.services import app_clients
from gatehouse.services.app_clients import ClientChanges
from gatehouse.services.customers import create_customer
from gatehouse.services.notify import UNHEARD
from gatehouse.settings import Settings
from gatehouse.store.models import AppClientRecord

# RFC 6749 §5.2 error codes, plus RFC 8707's invalid_target.
OAUTH_ERRORS = {
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_target",
}
ALL_ROLES = ("owner", "administrator", "viewer")
NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}
SYNC_TIMEOUT = 10.0

# Starlette's TestClient is an httpx2 client; the live lane uses httpx. Both answer alike.
HttpClient = httpx.Client | TestClient
HttpResponse = httpx.Response | httpx2.Response


@dataclass(frozen=True)
class Creds:
    """An app client as a test uses it."""

    app_id: str
    customer_id: str
    client_id: str
    secret: str


@dataclass
class Lane:
    """One way into the authorization server, with the means to add customers and clients."""

    name: str
    http: HttpClient
    base_url: str
    runtime: Runtime
    live: LiveServer | None = None

    # -- URLs ----------------------------------------------------------------------------------

    def issuer(self, customer_id: str) -> str:
        return f"{self.base_url}/customers/{customer_id}"

    def token_url(self, customer_id: str | None = None) -> str:
        if customer_id is None:
            return f"{self.base_url}/oauth2/token"
        return f"{self.issuer(customer_id)}/oauth2/token"

    # -- data ----------------------------------------------------------------------------------

    def add_customer(self, alg: Alg = "ES256") -> str:
        """A new customer (unique id) with an active key of ``alg``, visible to the server."""
        customer_id = f"c{secrets.token_hex(5)}"
        create_customer(
            self.runtime.store,
            self.runtime.master_key,
            customer_id=customer_id,
            name=customer_id,
            alg=alg,
            actor="test",
            notify=self.runtime,
        )
        self._wait(lambda: self.http.get(f"{self.issuer(customer_id)}/.well-known/jwks.json"))
        return customer_id

    def add_client(
        self,
        customer_id: str,
        *,
        roles: tuple[str, ...] = ALL_ROLES,
        lifetime: int = 1800,
        client_id: str | None = None,
        secret: str | None = None,
    ) -> Creds:
        """A new enabled client; ``client_id`` and ``secret`` may be chosen (any characters)."""
        record, generated = app_clients.create_client(
            self.runtime.store,
            self.runtime.master_key,
            customer_id=customer_id,
            name="protocol test",
            api_roles=roles,
            lifetime=lifetime,
            keep_secret=False,
            actor=TEST_ACTOR,
            notify=UNHEARD,
        )
        assert generated is not None
        if client_id is not None or secret is not None:
            # A client whose id or secret needs form-urlencoding (RFC 6749 §2.3.1).
            app_clients.delete_client(
                self.runtime.store,
                customer_id=customer_id,
                app_id=record.id,
                actor=TEST_ACTOR,
                notify=UNHEARD,
            )
            generated = secret or generated
            record = _custom_record(
                record,
                client_id=client_id or record.client_id,
                secret_hash=hash_secret(generated, key=self.runtime.master_key.secret_hmac_key),
            )
            self.runtime.store.insert_client(record=record)
        creds = Creds(record.id, customer_id, record.client_id, generated)
        self.runtime.changed()
        self._wait(lambda: self._post_probe(creds))
        return creds

    def disable_client(self, creds: Creds) -> None:
        app_clients.update_client(
            self.runtime.store,
            customer_id=creds.customer_id,
            app_id=creds.app_id,
            changes=ClientChanges(enabled=False),
            actor=TEST_ACTOR,
            notify=UNHEARD,
        )
        self.runtime.changed()
        self._wait(lambda: self._post_probe(creds), status=401)

    def jwks(self, customer_id: str) -> dict[str, Any]:
        response = self.http.get(f"{self.issuer(customer_id)}/.well-known/jwks.json")
        assert response.status_code == 200
        document: dict[str, Any] = response.json()
        return document

    def post_token(
        self,
        creds: Creds,
        *,
        url: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> HttpResponse:
        """A client_secret_post request for a token."""
        data = {
            "grant_type": "client_credentials",
            "client_id": creds.client_id,
            "client_secret": creds.secret,
            **(extra or {}),
        }
        return self.http.post(url or self.token_url(creds.customer_id), data=data)

    def _post_probe(self, creds: Creds) -> HttpResponse:
        return self.post_token(creds)

    def _wait(self, probe: Any, *, status: int = 200) -> None:
        """For the live server: until its replica has applied our write (the change feed)."""
        if self.live is None:
            return
        deadline = time.monotonic() + SYNC_TIMEOUT
        while probe().status_code != status:
            if time.monotonic() > deadline:
                raise AssertionError("the live server did not pick up the change in time")
            time.sleep(0.02)


def _custom_record(
    record: AppClientRecord, *, client_id: str, secret_hash: bytes
) -> AppClientRecord:
    from dataclasses import replace

    return replace(record, id=generate_app_id(), client_id=client_id, secret_hash=secret_hash)


def verify_token(
    lane: Lane, token: str, customer_id: str, *, audience: str | None = None
) -> dict[str, Any]:
    """PyJWT verification against the JWKS the lane serves; returns the claims."""
    header = jwt.get_unverified_header(token)
    jwks = lane.jwks(customer_id)
    matching = [key for key in jwks["keys"] if key["kid"] == header["kid"]]
    assert len(matching) == 1, "the kid names exactly one key of the served JWKS"
    key = jwt.PyJWK(matching[0])
    claims: dict[str, Any] = jwt.decode(
        token,
        key,
        algorithms=[matching[0]["alg"]],
        audience=audience or lane.base_url,
        issuer=lane.issuer(customer_id),
        options={"require": ["iss", "sub", "aud", "iat", "nbf", "exp", "jti"]},
    )
    return claims


def live_settings(server: LiveServer) -> Settings:
    """Settings of this test process that share the live server's store and master key."""
    return Settings(
        data_dir=Path(server.env["GATEHOUSE_DATA_DIR"]),
        host="127.0.0.1",
        port=int(server.env["GATEHOUSE_PORT"]),
    )


@pytest.fixture(scope="session")
def oauth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One live server for the session; brute-force limits high so fuzzing does not trip them."""
    server = start_server(
        tmp_path_factory.mktemp("oauth-live"),
        GATEHOUSE_BRUTEFORCE_CLIENT_FAILURES="1000000",
        GATEHOUSE_BRUTEFORCE_ADDRESS_FAILURES="1000000",
        # Tests write customers and clients from this process: let the server see them sooner.
        GATEHOUSE_CHANGE_POLL_INTERVAL="0.02",
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def oauth_server_runtime(oauth_server: LiveServer) -> Iterator[Runtime]:
    runtime = Runtime.open(live_settings(oauth_server))
    try:
        yield runtime
    finally:
        runtime.store.engine.dispose()


@pytest.fixture
def live_lane(oauth_server: LiveServer, oauth_server_runtime: Runtime) -> Iterator[Lane]:
    with httpx.Client(base_url=oauth_server.base_url, timeout=10) as http:
        yield Lane("fastlane", http, oauth_server.base_url, oauth_server_runtime, oauth_server)


@pytest.fixture(scope="session")
def oauth_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Runtime]]:
    """The app in-process, built like the ``client`` fixture, shared by the session (each test
    makes its own customers); brute-force limits high, as on the shared live server."""
    settings = make_settings(
        tmp_path_factory.mktemp("oauth-asgi"),
        bruteforce_client_failures=10**6,
        bruteforce_address_failures=10**6,
    )
    runtime = Runtime.open(settings)
    try:
        with TestClient(create_app(runtime=runtime), base_url="http://testserver") as client:
            yield client, runtime
    finally:
        runtime.store.engine.dispose()


@pytest.fixture
def asgi_lane(oauth_app: tuple[TestClient, Runtime]) -> Lane:
    client, runtime = oauth_app
    return Lane("asgi", client, "http://testserver", runtime)


@pytest.fixture(params=["asgi", "fastlane"])
def lane(request: pytest.FixtureRequest) -> Lane:
    """The in-process ASGI route and the live fast lane, one run each."""
    fixture = "asgi_lane" if request.param == "asgi" else "live_lane"
    chosen: Lane = request.getfixturevalue(fixture)
    return chosen


def assert_error(
    response: HttpResponse, status: int, error: str, description: str | None = None
) -> dict[str, Any]:
    """An RFC 6749 §5.2 error response: status, JSON body of error (+ description), no-store."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == error
    assert isinstance(body["error_description"], str)
    assert body["error_description"]
    if description is not None:
        assert body["error_description"] == description
    return body


def node_modules_dir(root: Path) -> Path | str:
    """``npm install axios qs`` into ``root``; the reason to skip on failure."""
    try:
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--silent", "axios", "qs"],
            cwd=root,
            capture_output=True,
            check=True,
            timeout=90,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"npm could not install axios and qs ({exc.__class__.__name__})"
    return root / "node_modules"
