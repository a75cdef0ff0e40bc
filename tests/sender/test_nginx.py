"""Debian's nginx in front of a real ``gatehouse serve``, started by the test on loopback with
the configuration the docs show (docs/nginx-gatehouse.conf): TLS with client certificates
terminated by nginx, the real client addresses counted by brute-force protection and written
to the audit log, and forged forwarding headers ignored (docs/proxy.md)."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gatehouse.oauth.mtls import x5t_s256
from tests.factories import LiveServer, basic_auth, free_port, start_server
from tests.sender.certs import Issued, issue, make_ca

CONF = Path(__file__).resolve().parents[2] / "docs" / "nginx-gatehouse.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
GRANT = {"grant_type": "client_credentials"}
FAILURES = 5  # GATEHOUSE_BRUTEFORCE_ADDRESS_FAILURES for this server


@dataclass
class Proxied:
    gatehouse: LiveServer
    url: str  # nginx, https
    ca: Issued
    dir: Path
    demo: dict[str, Any]

    def http(self, source: str = "127.0.0.2", cert: Issued | None = None) -> httpx.Client:
        """A client whose connections come from ``source`` (any 127/8 address is loopback)."""
        context = ssl.create_default_context(cafile=str(self.ca.cert_path))
        if cert is not None:
            context.load_cert_chain(str(cert.cert_path), str(cert.key_path))
        transport = httpx.HTTPTransport(local_address=source, verify=context)
        return httpx.Client(transport=transport, timeout=30)

    def token_url(self, customer: str = "demo") -> str:
        return f"{self.url}/customers/{customer}/oauth2/token"


def _nginx_available() -> str | None:
    return None if Path(NGINX).exists() else f"no nginx at {NGINX}"


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    reason = _nginx_available()
    if reason is not None:
        pytest.skip(reason)
    directory = tmp_path_factory.mktemp("nginx")
    ca = make_ca(directory)
    served = issue(directory, ca, "proxy", common_name="127.0.0.1", server=True)
    port = free_port()
    gatehouse = start_server(
        directory / "gatehouse",
        GATEHOUSE_PUBLIC_URL=f"https://127.0.0.1:{port}",
        GATEHOUSE_TRUSTED_PROXIES="127.0.0.1",
        GATEHOUSE_CLIENT_CERT_HEADER="Client-Cert",
        GATEHOUSE_CLIENT_CA_FILE=str(ca.cert_path),
        GATEHOUSE_BRUTEFORCE_ADDRESS_FAILURES=str(FAILURES),
    )
    upstream = gatehouse.base_url.rsplit(":", 1)[1]
    text = CONF.read_text()
    for marker, value in {
        "@DIR@": str(directory),
        "@PORT@": str(port),
        "@UPSTREAM_PORT@": upstream,
        "@SERVER_CERT@": str(served.cert_path),
        "@SERVER_KEY@": str(served.key_path),
    }.items():
        text = text.replace(marker, value)
    conf = directory / "nginx.conf"
    conf.write_text(text)
    with (directory / "nginx.out").open("wb") as log:
        nginx = subprocess.Popen(
            [NGINX, "-p", str(directory), "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    found = Proxied(gatehouse, f"https://127.0.0.1:{port}", ca, directory, gatehouse.demo)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with found.http() as http:
                    if http.get(f"{found.url}/healthz").status_code == 200:
                        break
            except httpx.HTTPError:
                if nginx.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((directory / "nginx.out").read_text()) from None
                time.sleep(0.1)
        yield found
    finally:
        nginx.terminate()
        nginx.wait(timeout=15)
        gatehouse.stop()


def test_the_readme_curl_command_works_through_nginx(proxied: Proxied) -> None:
    demo = proxied.demo
    out = subprocess.run(
        [
            "curl", "-s", "--cacert", str(proxied.ca.cert_path), "-X", "POST",
            proxied.token_url(),
            "-H", "Content-Type: application/x-www-form-urlencoded",
            "-d",
            f"grant_type=client_credentials&client_id={demo['client_id']}"
            f"&client_secret={demo['client_secret']}",
        ],
        capture_output=True, check=True, timeout=30,
    )  # fmt: skip
    body = json.loads(out.stdout)
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 1800
    with proxied.http() as http:
        metadata = http.get(f"{proxied.url}/customers/demo/.well-known/oauth-authorization-server")
    # The issuer comes from GATEHOUSE_PUBLIC_URL, never from Host or X-Forwarded-* headers.
    assert metadata.json()["issuer"] == f"{proxied.url}/customers/demo"


def test_a_certificate_bound_token_through_nginx(proxied: Proxied) -> None:
    cert = issue(proxied.dir, proxied.ca, "ingest", common_name="ingest")
    created = proxied.gatehouse.cli(
        "clients", "create", "--customer", "demo", "--name", "m", "--role", "owner",
        "--auth-method", "tls_client_auth", "--tls-subject-dn", "CN=ingest,O=Acme",
    )  # fmt: skip
    form = {**GRANT, "client_id": created["client_id"]}
    deadline = time.monotonic() + 15
    with proxied.http(cert=cert) as http:
        response = http.post(proxied.token_url(), data=form)
        while response.status_code != 200 and time.monotonic() < deadline:
            response = http.post(proxied.token_url(), data=form)
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        import jwt as pyjwt

        claims = pyjwt.decode(token, options={"verify_signature": False})
        assert claims["cnf"] == {"x5t#S256": x5t_s256(cert.der)}
        corpora = f"{proxied.url}/v2/corpora"
        assert http.get(corpora, headers={"authorization": f"Bearer {token}"}).status_code == 200
    with proxied.http() as http:
        # Without the certificate, even with a forged Client-Cert header: nginx replaces it.
        forged = {"authorization": f"Bearer {token}", "client-cert": cert.pem.replace("\n", "")}
        refused = http.get(f"{proxied.url}/v2/corpora", headers=forged)
        assert refused.status_code == 401
        assert refused.json()["messages"] == [
            "the token is bound to a client certificate that was not presented"
        ]
        assert http.post(proxied.token_url(), data=form).status_code == 401


def test_brute_force_counts_the_real_client_address_behind_nginx(proxied: Proxied) -> None:
    with proxied.http("127.0.0.5") as attacker:
        for index in range(FAILURES):
            forged = {"x-forwarded-for": f"10.9.9.{index}"}  # a new "address" each time: ignored
            response = attacker.post(
                proxied.token_url(), data={**GRANT, "client_id": f"nobody{index}"}, headers=forged
            )
            assert response.status_code == 401
        blocked = attacker.post(proxied.token_url(), data={**GRANT, "client_id": "nobody-more"})
        assert blocked.status_code == 429
        assert blocked.json()["error"] == "invalid_request"
        assert int(blocked.headers["retry-after"]) >= 1
    demo = proxied.demo
    auth = {"authorization": basic_auth(demo["client_id"], demo["client_secret"])}
    with proxied.http("127.0.0.6") as other:  # another client behind the same proxy
        assert other.post(proxied.token_url(), data=GRANT, headers=auth).status_code == 200
    deadline = time.monotonic() + 15  # the audit log is written in batches, off the token path
    sources: set[str] = set()
    while "127.0.0.6" not in sources and time.monotonic() < deadline:
        audit = proxied.gatehouse.cli("audit", "--customer", "demo", "--action", "token.issue")
        sources = {event["source"] for event in audit["events"]}
    assert "127.0.0.6" in sources
    assert not any(source.startswith("10.") for source in sources)  # never a forged one


def test_forwarding_headers_from_an_untrusted_peer_are_ignored(proxied: Proxied) -> None:
    """Straight to Gatehouse from 127.0.0.7 (not a trusted proxy): X-Forwarded-For and
    Client-Cert are not believed."""
    cert = issue(proxied.dir, proxied.ca, "direct", common_name="direct")
    created = proxied.gatehouse.cli(
        "clients", "create", "--customer", "demo", "--name", "d", "--role", "viewer",
        "--auth-method", "tls_client_auth", "--tls-subject-dn", "CN=direct,O=Acme",
    )  # fmt: skip
    direct = proxied.gatehouse.base_url + "/customers/demo/oauth2/token"
    headers = {"client-cert": cert.pem.replace("\n", ""), "x-forwarded-for": "10.1.1.1"}
    transport = httpx.HTTPTransport(local_address="127.0.0.7")
    with httpx.Client(transport=transport, timeout=30) as http:
        for _ in range(3):
            response = http.post(
                direct, data={**GRANT, "client_id": created["client_id"]}, headers=headers
            )
            assert response.status_code == 401
            assert response.json()["error"] == "invalid_client"
        for index in range(FAILURES):
            http.post(direct, data={**GRANT, "client_id": f"x{index}"}, headers=headers)
        assert http.post(direct, data={**GRANT, "client_id": "y"}).status_code == 429
    # The forged address was never counted: a client "from" it is not blocked.
    forged_source = {"x-forwarded-for": "10.1.1.1"}
    with proxied.http("127.0.0.8") as http:
        demo = proxied.demo
        auth = {"authorization": basic_auth(demo["client_id"], demo["client_secret"])}
        ok = http.post(proxied.token_url(), data=GRANT, headers={**auth, **forged_source})
        assert ok.status_code == 200
