"""Propagation between real server processes sharing one database: a revocation made on one
process is refused by every other — and by an outside API verifying offline with TokenVerifier
and the revocation feed — within the promised time. The replica's poll is set to 5 s here, so
only the wake-ups (PostgreSQL LISTEN/NOTIFY, Redis pub/sub) can make it within a second.
The measured delays are printed."""

from __future__ import annotations

import base64
import os
import secrets
import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import httpx
import psycopg
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gatehouse.verify import TokenVerifier
from gatehouse.verify.feed import RevocationFeedClient
from gatehouse.verify.starlette import BearerTokenMiddleware
from tests.factories import LiveServer, basic_auth, free_port, redis_url, start_server

PROMISE = 1.0  # seconds (SPEC §6)
ROUNDS = 5
# No keep-alive: every request opens a new connection, so both workers of B get asked.
HTTP = httpx.Client(timeout=10, limits=httpx.Limits(max_keepalive_connections=0))


@pytest.fixture(scope="module", autouse=True)
def _close_http() -> Iterator[None]:
    yield
    HTTP.close()


@pytest.fixture(scope="module")
def pair_on_postgres(
    tmp_path_factory: pytest.TempPathFactory, postgres_admin_url: str
) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Server A (1 worker) and server B (2 workers) on one fresh PostgreSQL database, shared
    by this module's PostgreSQL tests (starting servers is the slow part)."""
    name = f"gh_test_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{postgres_admin_url.rsplit('/', 1)[0]}/{name}"
    try:
        with _pair(tmp_path_factory.mktemp("pg"), GATEHOUSE_DATABASE_URL=url) as pair:
            yield pair
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pair_on_sqlite_with_redis(tmp_path: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            pass
    except OSError:
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs Redis on 127.0.0.1:6379")
        pytest.skip("no Redis on 127.0.0.1:6379")
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    with _pair(tmp_path, GATEHOUSE_DATABASE_URL=url, GATEHOUSE_REDIS_URL=redis_url()) as pair:
        yield pair


@contextmanager
def _pair(tmp_path: Path, **env: str) -> Iterator[tuple[LiveServer, LiveServer]]:
    port = free_port()
    common = {
        **env,
        "GATEHOUSE_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        # One issuer: every process of the deployment has the same public URL.
        "GATEHOUSE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "GATEHOUSE_CHANGE_POLL_INTERVAL": "5",
    }
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    a = start_server(tmp_path / "a", port=port, **cast(dict[str, Any], common))
    try:
        b = start_server(tmp_path / "b", seed_demo=False, workers=2, **cast(dict[str, Any], common))
        try:
            yield a, b
        finally:
            b.stop()
    finally:
        a.stop()


def token_from(server: LiveServer, demo: dict[str, Any]) -> str:
    response = HTTP.post(
        f"{server.base_url}/customers/demo/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic_auth(demo["client_id"], demo["client_secret"])},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def introspect(server: LiveServer, demo: dict[str, Any], token: str) -> bool:
    response = HTTP.post(
        f"{server.base_url}/oauth2/introspect",
        data={"token": token},
        headers={"Authorization": basic_auth(demo["client_id"], demo["client_secret"])},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    active: bool = response.json()["active"]
    return active


def api_status(server: LiveServer, token: str) -> int:
    response = HTTP.get(
        f"{server.base_url}/v2/corpora", headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code


def revoke(server: LiveServer, demo: dict[str, Any], token: str) -> None:
    response = HTTP.post(
        f"{server.base_url}/oauth2/revoke",
        data={"token": token},
        headers={"Authorization": basic_auth(demo["client_id"], demo["client_secret"])},
        timeout=10,
    )
    assert response.status_code == 200, response.text


def seconds_until(
    condition: Callable[[], bool],
    *,
    start: float,
    limit: float = 10.0,
    streak: int = 1,
) -> float:
    """Seconds from ``start`` (a ``perf_counter`` value) until ``condition`` first held, counting
    only a run of ``streak`` successes in a row (so every worker behind the port was asked)."""
    first: float | None = None
    run = 0
    while (elapsed := time.perf_counter() - start) < limit:
        if condition():
            first = elapsed if run == 0 else first
            run += 1
            if run >= streak:
                assert first is not None
                return first
        else:
            run = 0
        time.sleep(0.002)
    return limit


def refused_at(b: LiveServer, demo: dict[str, Any], token: str) -> Callable[[], bool]:
    turn = [0]

    def check() -> bool:
        # Introspection and the API in turn, each on a new connection.
        turn[0] += 1
        if turn[0] % 2:
            return not introspect(b, demo, token)
        return api_status(b, token) == 401

    return check


def report(capsys: pytest.CaptureFixture[str], what: str, delays: list[float]) -> None:
    ms = sorted(d * 1000 for d in delays)
    with capsys.disabled():
        print(
            f"\n[propagation] {what}: n={len(ms)} min={ms[0]:.0f} ms "
            f"median={statistics.median(ms):.0f} ms max={ms[-1]:.0f} ms"
        )


def measure_revocations(a: LiveServer, b: LiveServer) -> list[float]:
    demo = a.demo
    delays = []
    for _ in range(ROUNDS):
        token = token_from(a, demo)
        assert introspect(b, demo, token) is True
        assert api_status(b, token) == 200
        start = time.perf_counter()  # from the revocation request on A
        revoke(a, demo, token)
        delays.append(seconds_until(refused_at(b, demo, token), start=start, streak=6))
        # The process that revoked refuses it at once.
        assert introspect(a, demo, token) is False
        assert api_status(a, token) == 401
    return delays


@pytest.mark.postgres
def test_a_revocation_reaches_every_process_on_postgresql_within_a_second(
    pair_on_postgres: tuple[LiveServer, LiveServer], capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = pair_on_postgres
    delays = measure_revocations(a, b)
    report(capsys, "revocation A -> B, PostgreSQL LISTEN/NOTIFY, B with 2 workers", delays)
    assert max(delays) < PROMISE


@pytest.mark.postgres
def test_a_key_rotation_reaches_every_process_and_old_tokens_keep_working(
    pair_on_postgres: tuple[LiveServer, LiveServer], capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = pair_on_postgres
    demo = a.demo
    old_token = token_from(b, demo)
    old_kid = _kid(old_token)
    # The CLI is a third process; it writes the rotation and exits, then B is measured.
    rotated = a.cli("keys", "rotate", "--customer", "demo", "--now")
    new_kid: str = rotated["active_kid"]
    assert new_kid != old_kid

    def b_signs_with_the_new_key() -> bool:
        return _kid(token_from(b, demo)) == new_kid

    delay = seconds_until(b_signs_with_the_new_key, start=time.perf_counter(), streak=6)
    report(capsys, "key rotation (CLI exit) -> B signs with the new key", [delay])
    assert delay < PROMISE
    jwks = HTTP.get(f"{b.base_url}/customers/demo/.well-known/jwks.json").json()
    assert {k["kid"] for k in jwks["keys"]} == {old_kid, new_kid}
    assert api_status(b, old_token) == 200
    assert introspect(a, demo, old_token) is True


def _kid(token: str) -> str:
    import orjson

    from gatehouse.oauth.jose import b64url_decode

    kid: str = orjson.loads(b64url_decode(token.split(".")[0]))["kid"]
    return kid


def test_a_revocation_reaches_every_process_through_redis_on_sqlite(
    pair_on_sqlite_with_redis: tuple[LiveServer, LiveServer], capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = pair_on_sqlite_with_redis
    delays = measure_revocations(a, b)
    report(capsys, "revocation A -> B, SQLite + Redis pub/sub, B with 2 workers", delays)
    assert max(delays) < PROMISE


@contextmanager
def outside_api(verifier: TokenVerifier) -> Iterator[str]:
    """Someone else's API, verifying offline with TokenVerifier, served by uvicorn in a thread."""

    async def hello(request: Request) -> JSONResponse:
        return JSONResponse({"client_id": request.state.claims["client_id"]})

    app = BearerTokenMiddleware(Starlette(routes=[Route("/hello", hello)]), verifier)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="off", loop="asyncio", http="h11")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "outside API did not start"
        assert thread.is_alive(), "outside API did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/hello"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.mark.postgres
def test_an_outside_api_with_token_verifier_and_the_feed_refuses_a_revoked_token_in_time(
    pair_on_postgres: tuple[LiveServer, LiveServer], capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = pair_on_postgres
    demo = a.demo
    interval = 1.0
    issuer = demo["issuer"]
    # The outside API reads the feed from B; the revocation is made on A.
    with httpx.Client(timeout=10) as http:
        feed = RevocationFeedClient(
            issuer,
            demo["client_id"],
            demo["client_secret"],
            interval=interval,
            feed_url=f"{b.base_url}/customers/demo/oauth2/revocations",
            http_client=http,
        )
        verifier = TokenVerifier(issuer, issuer.rsplit("/customers/", 1)[0], is_revoked=feed)
        with feed, outside_api(verifier) as url:
            delays = []
            for _ in range(3):
                token = token_from(a, demo)
                auth = {"Authorization": f"Bearer {token}"}
                assert HTTP.get(url, headers=auth).status_code == 200
                start = time.perf_counter()
                revoke(a, demo, token)

                def refused(auth: dict[str, str] = auth) -> bool:
                    return HTTP.get(url, headers=auth).status_code == 401

                delays.append(seconds_until(refused, start=start, limit=interval * 5))
            last = HTTP.get(url, headers=auth)
    report(capsys, f"revocation A -> outside TokenVerifier (feed poll {interval:.0f} s)", delays)
    assert max(delays) < interval + 0.5
    assert last.headers["www-authenticate"] == (
        'Bearer realm="gatehouse", error="invalid_token", '
        'error_description="the token has been revoked"'
    )
