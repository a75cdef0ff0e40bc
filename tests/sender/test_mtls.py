"""Mutual TLS (RFC 8705) on ``gatehouse serve --ssl-certfile --ssl-keyfile --ssl-ca-certs``:
tls_client_auth (subject DN and SAN), self_signed_tls_client_auth (registered certificates
trusted at the listener), certificate-bound tokens at the built-in API, httpx with a client
certificate as the client."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt as pyjwt
import pytest
from cryptography import x509

from gatehouse.oauth.mtls import x5t_s256
from tests.factories import LiveServer, basic_auth, free_port, server_env
from tests.sender.certs import Issued, issue, make_ca, self_signed

GRANT = {"grant_type": "client_credentials"}


@dataclass
class TLSServer:
    server: LiveServer
    ca: Issued
    dir: Path

    @property
    def url(self) -> str:
        return self.server.base_url

    def http(self, cert: Issued | None = None) -> httpx.Client:
        context = ssl.create_default_context(cafile=str(self.ca.cert_path))
        if cert is not None:
            context.load_cert_chain(str(cert.cert_path), str(cert.key_path))
        return httpx.Client(verify=context, timeout=30)

    def client(self, *args: str) -> dict[str, Any]:
        return self.server.cli(
            "clients", "create", "--customer", "acme", "--role", "owner", "--name", "m", *args
        )


def wait_for(probe: Callable[[], httpx.Response], done: Callable[[httpx.Response], bool]) -> Any:
    """Repeat ``probe`` until ``done`` (the server learns of new clients from its feed)."""
    deadline = time.monotonic() + 15
    response = probe()
    while not done(response) and time.monotonic() < deadline:
        response = probe()
    return response


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSServer]:
    directory = tmp_path_factory.mktemp("mtls")
    ca = make_ca(directory)
    served = issue(directory, ca, "server", common_name="127.0.0.1", server=True)
    port = free_port()
    env = server_env(directory, port, GATEHOUSE_PUBLIC_URL=f"https://127.0.0.1:{port}")
    log = (directory / "server.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "gatehouse", "serve", "--log-level", "warning",
            "--ssl-certfile", str(served.cert_path), "--ssl-keyfile", str(served.key_path),
            "--ssl-ca-certs", str(ca.cert_path),
        ],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    server = LiveServer(process, f"https://127.0.0.1:{port}", env)
    found = TLSServer(server, ca, directory)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with found.http() as http:
                    if http.get(f"{server.base_url}/healthz").status_code == 200:
                        break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((directory / "server.log").read_text()) from None
                time.sleep(0.1)
        server.cli("customers", "create", "acme", "--name", "Acme")
        yield found
    finally:
        server.stop()


def token_with(tls: TLSServer, cert: Issued | None, client_id: str) -> httpx.Response:
    with tls.http(cert) as http:
        return http.post(
            f"{tls.url}/customers/acme/oauth2/token", data={**GRANT, "client_id": client_id}
        )


def test_tls_client_auth_by_subject_dn_gets_a_certificate_bound_token(tls: TLSServer) -> None:
    cert = issue(tls.dir, tls.ca, "ingest", common_name="ingest")
    # RFC 4514: compared as a DN, attribute values case-insensitively.
    created = tls.client("--auth-method", "tls_client_auth", "--tls-subject-dn", "CN=INGEST,O=acme")
    response = wait_for(
        lambda: token_with(tls, cert, created["client_id"]), lambda r: r.status_code == 200
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    claims = pyjwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["cnf"] == {"x5t#S256": x5t_s256(cert.der)}
    token = body["access_token"]
    corpora = f"{tls.url}/v2/corpora"
    with tls.http(cert) as http:
        assert http.get(corpora, headers={"authorization": f"Bearer {token}"}).status_code == 200
    description = "the token is bound to a client certificate that was not presented"
    other = issue(tls.dir, tls.ca, "other", common_name="other")
    for presented in (None, other):
        with tls.http(presented) as http:
            refused = http.get(corpora, headers={"authorization": f"Bearer {token}"})
        assert refused.status_code == 401
        assert refused.json()["messages"] == [description]
        assert refused.headers["www-authenticate"] == (
            f'Bearer realm="gatehouse", error="invalid_token", error_description="{description}", '
            f'resource_metadata="{tls.url}/.well-known/oauth-protected-resource"'
        )


def test_a_certificate_with_another_subject_or_without_a_chain_is_refused(tls: TLSServer) -> None:
    created = tls.client("--auth-method", "tls_client_auth", "--tls-subject-dn", "CN=ingest,O=Acme")
    wrong = issue(tls.dir, tls.ca, "wrong", common_name="somebody-else")
    response = wait_for(
        lambda: token_with(tls, wrong, created["client_id"]),
        lambda r: r.json().get("error_description") == "client authentication failed",
    )
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_client",
        "error_description": "client authentication failed",
    }
    assert response.headers["www-authenticate"] == 'Basic realm="gatehouse"'
    # Without any certificate the client has nothing to authenticate with.
    assert token_with(tls, None, created["client_id"]).status_code == 401


def test_tls_client_auth_by_san_dns(tls: TLSServer) -> None:
    cert = issue(tls.dir, tls.ca, "san", common_name="x", san=[x509.DNSName("ingest.acme.test")])
    created = tls.client("--auth-method", "tls_client_auth", "--tls-san-dns", "ingest.acme.test")
    response = wait_for(
        lambda: token_with(tls, cert, created["client_id"]), lambda r: r.status_code == 200
    )
    assert response.status_code == 200, response.text


def test_self_signed_tls_client_auth_with_a_registered_certificate(tls: TLSServer) -> None:
    cert = self_signed(tls.dir, "self", "self-signed client")
    jwks = tls.dir / "self.jwks.json"
    jwks.write_text(json.dumps(cert.jwks()))
    created = tls.client("--auth-method", "self_signed_tls_client_auth", "--jwks", str(jwks))

    def attempt() -> httpx.Response:
        try:
            return token_with(tls, cert, created["client_id"])
        except httpx.TransportError:  # the listener does not trust the certificate yet
            return httpx.Response(599)

    response = wait_for(attempt, lambda r: r.status_code == 200)
    assert response.status_code == 200
    claims = pyjwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["cnf"] == {"x5t#S256": x5t_s256(cert.der)}
    stranger = self_signed(tls.dir, "stranger", "unregistered")
    # Never registered: the handshake fails (in TLS 1.3 the client sees it as a disconnect).
    with pytest.raises((httpx.ConnectError, httpx.RemoteProtocolError)):
        token_with(tls, stranger, created["client_id"])


def test_a_cert_bound_secret_client_must_present_a_certificate(tls: TLSServer) -> None:
    created = tls.client("--cert-bound")
    auth = {"authorization": basic_auth(created["client_id"], created["client_secret"])}
    url = f"{tls.url}/customers/acme/oauth2/token"

    def without() -> httpx.Response:
        with tls.http() as http:
            return http.post(url, data=GRANT, headers=auth)

    response = wait_for(without, lambda r: r.status_code == 400)
    description = "this client's tokens are certificate-bound: present a client certificate"
    assert response.json() == {"error": "invalid_request", "error_description": description}
    cert = issue(tls.dir, tls.ca, "bound", common_name="bound")
    with tls.http(cert) as http:
        bound = http.post(url, data=GRANT, headers=auth)
    assert bound.status_code == 200
    claims = pyjwt.decode(bound.json()["access_token"], options={"verify_signature": False})
    assert claims["cnf"] == {"x5t#S256": x5t_s256(cert.der)}


def test_metadata_names_the_tls_methods_and_bound_tokens(tls: TLSServer) -> None:
    with tls.http() as http:
        document = http.get(
            f"{tls.url}/customers/acme/.well-known/oauth-authorization-server"
        ).json()
    assert document["issuer"] == f"{tls.url}/customers/acme"
    assert document["tls_client_certificate_bound_access_tokens"] is True
    methods = document["token_endpoint_auth_methods_supported"]
    assert {"tls_client_auth", "self_signed_tls_client_auth"} <= set(methods)


def test_a_removed_self_signed_certificate_no_longer_completes_a_handshake(
    tls: TLSServer,
) -> None:
    first, second, third = (self_signed(tls.dir, f"swap{n}", f"swap {n}") for n in (1, 2, 3))

    def register(*certs: Issued) -> Path:
        path = tls.dir / f"swap-{len(certs)}-{certs[-1].der[-8:].hex()}.jwks.json"
        path.write_text(json.dumps({"keys": [c.jwks()["keys"][0] for c in certs]}))
        return path

    created = tls.client(
        "--auth-method", "self_signed_tls_client_auth", "--jwks", str(register(first, second))
    )

    def attempt(cert: Issued) -> Callable[[], httpx.Response]:
        def probe() -> httpx.Response:
            try:
                return token_with(tls, cert, created["client_id"])
            except httpx.TransportError:  # the listener does not trust the certificate
                return httpx.Response(599)

        return probe

    for cert in (first, second):
        assert wait_for(attempt(cert), lambda r: r.status_code == 200).status_code == 200
    update = ["clients", "update", created["id"], "--customer", "acme"]
    tls.server.cli(*update, "--jwks", str(register(second)))
    # The first certificate is no longer registered: the listener stops trusting it (it is
    # not only refused by Gatehouse after the handshake, as before a fresh context was made).
    assert wait_for(attempt(first), lambda r: r.status_code == 599).status_code == 599
    assert attempt(second)().status_code == 200  # still registered: still trusted
    ca_issued = issue(tls.dir, tls.ca, "swap-ca", common_name="swap-ca")
    with tls.http(ca_issued) as http:  # the CA file is in the fresh context too
        assert http.get(f"{tls.url}/healthz").status_code == 200
    with tls.http() as http:  # and a connection without a certificate is served as before
        assert http.get(f"{tls.url}/healthz").status_code == 200
    # A certificate registered after the switch is added to the context now in use.
    tls.server.cli(*update, "--jwks", str(register(second, third)))
    assert wait_for(attempt(third), lambda r: r.status_code == 200).status_code == 200
    assert attempt(first)().status_code == 599
