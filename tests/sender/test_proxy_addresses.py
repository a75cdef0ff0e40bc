"""Trusted proxies (docs/proxy.md): how the client address and certificate are read from
``Forwarded`` (RFC 7239), ``X-Forwarded-For``, RFC 9440 ``Client-Cert`` and nginx's escaped
PEM, and console sign-in counting the forwarded address, only from a trusted peer."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from gatehouse.app import create_app
from gatehouse.peers import Peers, der_from_header, parse_networks
from gatehouse.runtime import Runtime
from gatehouse.services.console_users import create_user
from tests.conftest import copy_migrated_sqlite, make_settings
from tests.console.conftest import PASSWORD, csrf_of
from tests.factories import add_customer
from tests.sender.certs import make_ca, self_signed

PEERS = Peers(parse_networks("10.0.0.0/8, 127.0.0.1, ::1"))


def headers(*pairs: tuple[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.encode(), value.encode()) for name, value in pairs]


@pytest.mark.parametrize(
    ("peer", "sent", "client"),
    [
        ("203.0.113.9", [("x-forwarded-for", "1.2.3.4")], "203.0.113.9"),  # untrusted peer
        ("127.0.0.1", [], "127.0.0.1"),
        ("127.0.0.1", [("x-forwarded-for", "198.51.100.7")], "198.51.100.7"),
        # Walk from the right past trusted proxies; the left part is the client's to forge.
        ("127.0.0.1", [("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.1.2.3")], "198.51.100.7"),
        ("127.0.0.1", [("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "198.51.100.7")],
         "198.51.100.7"),
        # RFC 7239 wins over X-Forwarded-For; quoted IPv6 with a port.
        ("127.0.0.1", [("forwarded", 'for="[2001:db8::1]:4711";proto=https'),
                       ("x-forwarded-for", "6.6.6.6")], "2001:db8::1"),
        ("::1", [("forwarded", "for=6.6.6.6, for=198.51.100.8;by=10.0.0.1")], "198.51.100.8"),
        # An obfuscated or unknown node stops the walk at the hop that wrote it.
        ("127.0.0.1", [("forwarded", "for=_hidden, for=10.0.0.2")], "10.0.0.2"),
        ("127.0.0.1", [("x-forwarded-for", "unknown")], "127.0.0.1"),
    ],
)  # fmt: skip
def test_the_client_address(peer: str, sent: list[tuple[str, str]], client: str) -> None:
    assert PEERS.client_address(peer, headers(*sent)) == client


def test_certificate_headers_in_both_shapes_only_from_a_trusted_peer(tmp_path: Path) -> None:
    cert = self_signed(tmp_path, "c", "client")
    peers = Peers(parse_networks("127.0.0.1"), "Client-Cert")
    rfc9440 = ":" + base64.b64encode(cert.der).decode() + ":"
    nginx = quote(cert.pem, safe="")
    for value in (rfc9440, nginx):
        assert der_from_header(value) == cert.der
        assert peers.header_certificate("127.0.0.1", headers(("client-cert", value))) == cert.der
        assert peers.header_certificate("127.0.0.2", headers(("client-cert", value))) is None
    assert der_from_header(":bm90IGEgY2VydA==:") is None
    assert der_from_header("garbage") is None
    twice = headers(("client-cert", rfc9440), ("client-cert", rfc9440))
    assert peers.header_certificate("127.0.0.1", twice) is None
    assert make_ca(tmp_path).der  # a CA certificate is a certificate too
    assert der_from_header(":" + base64.b64encode(make_ca(tmp_path).der).decode() + ":")


def test_a_bad_trusted_proxies_setting_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not an address or CIDR"):
        make_settings(tmp_path, trusted_proxies="10.0.0.0/8, proxy.example")


@pytest.fixture
def proxied_app(tmp_path: Path, migrated_sqlite: Path) -> Iterator[tuple[TestClient, Runtime]]:
    settings = make_settings(tmp_path, trusted_proxies="127.0.0.1")
    copy_migrated_sqlite(settings, migrated_sqlite)
    runtime = Runtime.open(settings)
    try:
        app = create_app(runtime=runtime)
        with TestClient(app, base_url="http://testserver", client=("127.0.0.1", 40000)) as http:
            yield http, runtime
    finally:
        runtime.store.engine.dispose()


def test_console_sign_in_counts_the_forwarded_address(
    proxied_app: tuple[TestClient, Runtime],
) -> None:
    http, runtime = proxied_app
    add_customer(runtime)
    create_user(
        runtime.store, customer_id="acme", email="owner@acme.test", role="owner",
        password=PASSWORD, actor="test",
    )  # fmt: skip

    def attempt(address: str, password: str) -> int:
        forwarded = {"x-forwarded-for": address}
        token = csrf_of(http.get("/console/login", headers=forwarded).text)
        form = {"email": "owner@acme.test", "password": password, "csrf_token": token}
        return http.post(
            "/console/login", data=form, headers=forwarded, follow_redirects=False
        ).status_code

    for _ in range(5):
        assert attempt("198.51.100.1", "wrong password!") == 400
    assert attempt("198.51.100.1", PASSWORD) == 429
    # Another user behind the same proxy is not locked out.
    assert attempt("198.51.100.2", PASSWORD) == 303
