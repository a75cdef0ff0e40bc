"""Plain factory functions for tests: customers, clients, tokens, and real server processes."""

from __future__ import annotations

import atexit
import base64
import collections
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import orjson

from gatehouse.appclients import Actor
from gatehouse.runtime import Runtime
from gatehouse.services import app_clients
from gatehouse.services.customers import create_customer
from gatehouse.services.notify import UNHEARD
from gatehouse.store.models import AppClientRecord
from tests.cli.inprocess import invoke

TEST_ACTOR = Actor(name="test", source="test")


def add_customer(runtime: Runtime, customer_id: str = "acme") -> str:
    create_customer(
        runtime.store,
        runtime.master_key,
        customer_id=customer_id,
        name=customer_id.title(),
        alg=runtime.settings.signing_alg,
        actor="test",
        notify=runtime,
    )
    return customer_id


def add_client(
    runtime: Runtime,
    customer_id: str = "acme",
    *,
    roles: tuple[str, ...] = ("owner",),
    name: str = "test client",
    lifetime: int = 1800,
    corpus_roles: tuple[dict[str, Any], ...] = (),
) -> tuple[AppClientRecord, str]:
    record, secret = app_clients.create_client(
        runtime.store,
        runtime.master_key,
        customer_id=customer_id,
        name=name,
        api_roles=roles,
        corpus_roles=corpus_roles,
        lifetime=lifetime,
        keep_secret=runtime.settings.secret_retrieval,
        actor=TEST_ACTOR,
        notify=UNHEARD,
    )
    runtime.changed()
    assert secret is not None
    return record, secret


def basic_auth(client_id: str, secret: str) -> str:
    from urllib.parse import quote_plus

    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


class Poster(Protocol):
    """An ``httpx.Client`` or Starlette's ``TestClient`` (built on another httpx)."""

    def post(self, url: str, *, data: dict[str, str], headers: dict[str, str]) -> Any: ...


def request_token(
    http: Poster,
    client_id: str,
    secret: str,
    *,
    url: str = "/oauth2/token",
    **params: str,
) -> Any:
    """A client credentials request with HTTP Basic (``http`` may be a TestClient, whose
    relative ``url`` goes to the app, or an ``httpx.Client`` given a whole URL)."""
    return http.post(
        url,
        data={"grant_type": "client_credentials", **params},
        headers={"Authorization": basic_auth(client_id, secret)},
    )


def get_token(
    http: Poster,
    client_id: str,
    secret: str,
    *,
    url: str = "/oauth2/token",
    **params: str,
) -> str:
    """The access token of a request that must succeed."""
    response = request_token(http, client_id, secret, url=url, **params)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def claims_of(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified (tests check what was issued)."""
    payload = token.split(".")[1]
    claims: dict[str, Any] = orjson.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


DPOP_ALGS = "ES256 ES384 ES512 PS256 RS256 EdDSA"


def no_credentials_challenge(metadata_url: str | None = None) -> str:
    """The WWW-Authenticate of a request without credentials (RFC 6750 §3.1): Bearer, with the
    resource's RFC 9728 metadata when it has one, then DPoP (RFC 9449 §7.1)."""
    metadata = f', resource_metadata="{metadata_url}"' if metadata_url is not None else ""
    return f'Bearer realm="gatehouse"{metadata}, DPoP algs="{DPOP_ALGS}"'


def builtin_metadata_url(base_url: str = "http://testserver") -> str:
    """Where the built-in API's protected resource metadata is (RFC 9728 §3)."""
    return f"{base_url}/.well-known/oauth-protected-resource"


def wrong_secret(secret: str) -> str:
    """The secret with its last character changed (to one it certainly is not)."""
    return secret[:-1] + ("x" if secret[-1] != "x" else "y")


def redis_url() -> str:
    """The Redis database of this test process: ``GATEHOUSE_TEST_REDIS_URL`` (default
    ``redis://127.0.0.1:6379/0``), or under pytest-xdist database 1 + the worker's number, so
    parallel workers never share the brute-force, quota, sign-in and replay counters
    (docs/deployment.md: every process on one Redis database shares those counts)."""
    base = os.environ.get("GATEHOUSE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return base
    server = base.rsplit("/", 1)[0] if base.count("/") > 2 else base
    return f"{server}/{1 + int(worker[2:]) % 15}"


# Ports handed out by free_port() stay bound (SO_REUSEADDR, never listening) until this many
# later ones: no other bind(0) or outgoing connection on the machine takes the port before the
# server it is for binds it (every server the tests start sets SO_REUSEADDR: uvicorn, asyncio,
# nginx, Node), and a test that wants a closed port still gets "connection refused".
_HELD_PORTS = 64
_held: collections.deque[socket.socket] = collections.deque()


@atexit.register
def _release_ports() -> None:
    while _held:
        _held.popleft().close()


def free_port() -> int:
    """A free port on 127.0.0.1, reserved for a while (see ``_HELD_PORTS``): parallel test
    workers and other test runs on the machine cannot be given it in the meantime."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    _held.append(sock)
    while len(_held) > _HELD_PORTS:
        _held.popleft().close()
    return port


@dataclass
class LiveServer:
    """A ``gatehouse serve`` process and what ``gatehouse demo`` printed for it."""

    process: subprocess.Popen[bytes]
    base_url: str
    env: dict[str, str]
    demo: dict[str, Any] = field(default_factory=dict)
    log_path: Path | None = None

    def cli(self, *args: str, stdin: str | None = None) -> dict[str, Any]:
        """Run ``gatehouse ARGS --json`` with this server's settings; the parsed output."""
        out = subprocess.run(
            [sys.executable, "-m", "gatehouse", *args, "--json"],
            env=self.env,
            input=stdin.encode() if stdin is not None else None,
            capture_output=True,
            check=True,
            timeout=300,  # a hang guard; a command takes 1-3 s, far longer on a loaded machine
        )
        document: dict[str, Any] = orjson.loads(out.stdout)
        return document

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def server_env(data_dir: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")}
    env.update(
        {
            "GATEHOUSE_DATA_DIR": str(data_dir),
            "XDG_STATE_HOME": str(data_dir / "state"),
            "GATEHOUSE_HOST": "127.0.0.1",
            "GATEHOUSE_PORT": str(port),
            "GATEHOUSE_CHANGE_POLL_INTERVAL": "0.1",
            "GATEHOUSE_AUDIT_FLUSH_INTERVAL": "0.1",
        }
    )
    env.update(extra)
    return env


def start_server(
    data_dir: Path,
    *,
    workers: int = 1,
    seed_demo: bool = True,
    port: int | None = None,
    log_level: str = "warning",
    **extra: str,
) -> LiveServer:
    """Start a real server process (the demo seeded first, unless ``seed_demo`` is false) and
    wait until it answers /healthz."""
    port = port or free_port()
    env = server_env(data_dir, port, **extra)
    demo: dict[str, Any] = {}
    if seed_demo:  # ``gatehouse demo`` run in this process (tests/cli/inprocess.py)
        code, out, err = invoke(["demo", "--json"], env, "")
        assert code == 0, err
        demo = orjson.loads(out)
    log_path = data_dir / f"server-{port}.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gatehouse",
            "serve",
            "--workers",
            str(workers),
            "--log-level",
            log_level,
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    server = LiveServer(process, f"http://127.0.0.1:{port}", env, demo, log_path)
    deadline = time.monotonic() + 240  # a loaded machine starts processes slowly
    with httpx.Client(timeout=30) as http:  # one client: not a new TLS context per attempt
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {log_path.read_text()}")
            # uvicorn listens once the app has started; with workers, the supervisor listens
            # first and the request waits in the backlog until a worker takes it.
            if _listening(port):
                try:
                    if http.get(f"{server.base_url}/healthz").status_code == 200:
                        return server
                except httpx.HTTPError:
                    pass
            time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"server did not start: {log_path.read_text()}")


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            return True
    except OSError:
        return False
