"""Headers on every response of a real server: ``X-Content-Type-Options: nosniff`` (fast lane
included), HSTS when the public URL is https, ``Cache-Control: no-store`` on every error."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gatehouse.headers import response_headers
from tests.conftest import make_settings
from tests.factories import LiveServer, start_server, wrong_secret

HSTS = "max-age=31536000"


@pytest.fixture(scope="module")
def https_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server whose public URL is https (TLS ends at a proxy in front of it)."""
    server = start_server(
        tmp_path_factory.mktemp("headers"), GATEHOUSE_PUBLIC_URL="https://auth.example.test"
    )
    try:
        yield server
    finally:
        server.stop()


def responses(server: LiveServer) -> dict[str, httpx.Response]:
    demo = server.demo
    good = (demo["client_id"], demo["client_secret"])
    bad = (demo["client_id"], wrong_secret(demo["client_secret"]))
    form = {"grant_type": "client_credentials"}
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        token = http.post("/oauth2/token", data=form, auth=good)
        bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
        return {
            "token": token,
            "token, wrong secret": http.post("/oauth2/token", data=form, auth=bad),
            "token, bad grant": http.post("/oauth2/token", data={"grant_type": "x"}, auth=good),
            "token, GET": http.get("/oauth2/token"),
            "jwks": http.get("/customers/demo/.well-known/jwks.json"),
            "metadata": http.get("/.well-known/oauth-authorization-server/customers/demo"),
            "unknown customer": http.get("/customers/nobody/.well-known/jwks.json"),
            "healthz": http.get("/healthz"),
            "readyz": http.get("/readyz"),
            "metrics": http.get("/metrics"),
            "api": http.get("/v2/corpora", headers=bearer),
            "api, no token": http.get("/v2/corpora"),
            "api, bad token": http.get("/v2/corpora", headers={"Authorization": "Bearer x.y.z"}),
            "api, bad body": http.post("/v2/corpora", headers=bearer, content=b"{"),
            "api, unknown corpus": http.get("/v2/corpora/nope", headers=bearer),
            "not found": http.get("/nothing-here"),
            "method not allowed": http.post("/healthz"),
            "console": http.get("/console/login"),
            "revoke, no client": http.post("/oauth2/revoke", data={"token": "x"}),
            "introspect, no client": http.post("/oauth2/introspect", data={"token": "x"}),
        }


def test_every_response_has_nosniff_and_hsts_and_every_error_no_store(
    https_server: LiveServer,
) -> None:
    seen = responses(https_server)
    assert seen["token"].status_code == 200
    assert seen["api"].status_code == 200
    assert {name: r.status_code >= 400 for name, r in seen.items()} == {
        name: name
        not in {"token", "jwks", "metadata", "healthz", "readyz", "metrics", "api", "console"}
        for name in seen
    }
    for name, response in seen.items():
        assert response.headers.get_list("x-content-type-options")[0] == "nosniff", name
        assert response.headers.get("strict-transport-security") == HSTS, name
        if response.status_code >= 400:
            assert "no-store" in response.headers.get("cache-control", ""), name


def test_the_431_of_the_fast_lane_has_nosniff(https_server: LiveServer) -> None:
    host, port = https_server.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * 70_000 + b"\r\n\r\n")
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    head = received.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 431")
    assert b"x-content-type-options: nosniff" in head
    assert b"cache-control: no-store" in head


def test_hsts_only_when_the_public_url_is_https(tmp_path: Path) -> None:
    plain = make_settings(tmp_path, public_url="http://127.0.0.1:8000")
    secure = make_settings(tmp_path, public_url="https://auth.example.test")
    assert response_headers(plain) == [("x-content-type-options", "nosniff")]
    assert response_headers(secure) == [
        ("x-content-type-options", "nosniff"),
        ("strict-transport-security", HSTS),
    ]
