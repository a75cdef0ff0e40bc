"""Sender-constrained tokens: what DPoP and mTLS cost, beside plain bearer tokens.

    .venv/bin/python bench/sender_bench.py tokens [--n 6400] [--pairs 3]
    .venv/bin/python bench/sender_bench.py api [--n 2000] [--pairs 3]
    .venv/bin/python bench/sender_bench.py mtls [--n 300]
    .venv/bin/python bench/sender_bench.py handshake [--n 300]

``tokens``: the token endpoint in-process through the fast-lane protocol (as
``fastlane_inprocess.py``: 64 connections, one request each per event-loop turn), bearer
requests and DPoP requests (a fresh proof each, made before the clock starts) alternating
A B A B. ``api``: ``GET /v2/corpora`` through the whole ASGI app in-process, ``Bearer`` vs
``DPoP`` with a fresh proof per request. ``mtls``: a real ``gatehouse serve --ssl-certfile``
process, every token request on a new TLS connection (the handshake counted), with a client
certificate (``tls_client_auth``) and, for comparison, with a secret and no certificate.
``handshake``: the server's CPU per TLS handshake with and without a client certificate, and
Gatehouse's own chain check, in-process (CPU time: steadier than ``mtls``'s wall clock).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec
from uvicorn.server import ServerState

from gatehouse.app import create_app
from gatehouse.demo import ensure_demo
from gatehouse.dpop_client import DPoPProver
from gatehouse.fastlane import FastLaneProtocol
from gatehouse.runtime import Runtime
from gatehouse.settings import Settings
from gatehouse.verify.dpop import check_proof

CONNECTIONS = 64
THREADS = 4  # concurrent clients of the mtls run
TOKEN_PATH = "/customers/demo/oauth2/token"


class Transport(asyncio.Transport):
    """Collects what the protocol writes (a bench harness, as in fastlane_inprocess.py)."""

    def __init__(self) -> None:
        super().__init__()
        self.last = b""

    def write(self, data: Any) -> None:
        self.last = bytes(data)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def _runtime() -> tuple[Runtime, dict[str, Any], Settings]:
    settings = Settings(
        data_dir=Path(tempfile.mkdtemp()),
        master_key=base64.b64encode(os.urandom(32)).decode(),
        public_url="http://127.0.0.1:8000",
    )
    runtime = Runtime.open(settings)
    demo = ensure_demo(settings, runtime.store, runtime.master_key)
    runtime.changed()
    return runtime, demo, settings


def _token_request(demo: dict[str, Any], proof: str | None) -> bytes:
    body = (
        f"grant_type=client_credentials&client_id={demo['client_id']}"
        f"&client_secret={demo['client_secret']}"
    ).encode()
    extra = f"DPoP: {proof}\r\n".encode() if proof else b""
    return (
        f"POST {TOKEN_PATH} HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n".encode()
        + b"Content-Type: application/x-www-form-urlencoded\r\n"
        + extra
        + b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


async def bench_tokens(n: int, pairs: int) -> None:
    runtime, demo, _settings = _runtime()
    app = create_app(runtime=runtime)
    config = uvicorn.Config(app, http=FastLaneProtocol, log_level="warning")
    config.load()
    state = ServerState()
    connections = []
    for _ in range(CONNECTIONS):
        protocol = FastLaneProtocol(config=config, server_state=state, app_state={})
        transport = Transport()
        protocol.connection_made(transport)
        connections.append((protocol, transport))
    prover = DPoPProver(ec.generate_private_key(ec.SECP256R1()))
    url = "http://127.0.0.1:8000" + TOKEN_PATH
    bearer = _token_request(demo, None)

    async def run(requests: list[bytes]) -> tuple[float, float]:
        """Requests per second of the event loop's CPU, and of the whole process's."""
        start, process_start = time.thread_time(), time.process_time()
        for turn in range(len(requests) // CONNECTIONS):
            for index, (protocol, _transport) in enumerate(connections):
                protocol.data_received(requests[turn * CONNECTIONS + index])
            await asyncio.sleep(0)
        cpu, process_cpu = time.thread_time() - start, time.process_time() - process_start
        runtime.audit.flush()
        for _protocol, transport in connections:
            assert transport.last.startswith(b"HTTP/1.1 200"), transport.last[:300]
        return len(requests) / cpu, len(requests) / process_cpu

    await run([bearer] * 1024)
    runtime.start()
    loop: dict[str, list[float]] = {"bearer": [], "dpop": []}
    process: dict[str, list[float]] = {"bearer": [], "dpop": []}
    for _ in range(pairs):
        for label in ("bearer", "dpop"):
            if label == "bearer":
                requests = [bearer] * n
            else:
                requests = [_token_request(demo, prover.proof("POST", url)) for _ in range(n)]
            on_loop, in_process = await run(requests)
            loop[label].append(on_loop)
            process[label].append(in_process)
    _report("token requests/s of the event loop thread's CPU", loop)
    verify = _verify_cost(prover, url)
    bearer_cost = 1e6 / statistics.median(loop["bearer"])
    print(
        f"  one ES256 proof verification alone: {verify:.1f} µs CPU; a bearer request: "
        f"{bearer_cost:.1f} µs; so DPoP / bearer can be at most "
        f"{bearer_cost / (bearer_cost + verify):.0%}"
    )
    # The process's CPU adds the worker threads: the audit writer, and DPoP's replay check.
    _report("token requests/s of the whole process's CPU (every thread)", process)
    runtime.close()


def _verify_cost(prover: DPoPProver, url: str, n: int = 3000) -> float:
    """CPU µs of verifying one proof's signature and nothing else (OpenSSL through
    ``cryptography``, the key object already made), over proofs verified back to back."""
    checked = [
        check_proof(prover.proof("POST", url), method="POST", url=url, defer_signature=True)
        for _ in range(n)
    ]
    start = time.thread_time()
    assert all(proof.signature_valid() for proof in checked)
    return (time.thread_time() - start) / n * 1e6


async def bench_api(n: int, pairs: int) -> None:
    runtime, demo, settings = _runtime()
    app = create_app(runtime=runtime)
    prover = DPoPProver(ec.generate_private_key(ec.SECP256R1()))
    import httpx

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=settings.base_url) as http:
        form = {
            "grant_type": "client_credentials",
            "client_id": demo["client_id"],
            "client_secret": demo["client_secret"],
        }
        plain = (await http.post(TOKEN_PATH, data=form)).json()["access_token"]
        token_url = settings.base_url + TOKEN_PATH
        headers = {"dpop": prover.proof("POST", token_url)}
        bound = (await http.post(TOKEN_PATH, data=form, headers=headers)).json()["access_token"]
        url = settings.base_url + "/v2/corpora"

        async def run(header_sets: list[dict[str, str]]) -> float:
            start = time.process_time()
            for headers in header_sets:
                response = await http.get("/v2/corpora", headers=headers)
                assert response.status_code == 200, response.text
            return len(header_sets) / (time.process_time() - start)

        await run([{"authorization": f"Bearer {plain}"}] * 200)
        figures: dict[str, list[float]] = {"bearer": [], "dpop": []}
        for _ in range(pairs):
            figures["bearer"].append(await run([{"authorization": f"Bearer {plain}"}] * n))
            proofs = [
                {
                    "authorization": f"DPoP {bound}",
                    "dpop": prover.proof("GET", url, access_token=bound),
                }
                for _ in range(n)
            ]
            figures["dpop"].append(await run(proofs))
    _report("GET /v2/corpora requests/s (in-process, whole ASGI app incl. httpx)", figures)


def bench_mtls(n: int) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import socket
    import ssl

    from tests.factories import LiveServer, free_port, server_env
    from tests.sender.certs import issue, make_ca

    directory = Path(tempfile.mkdtemp())
    ca = make_ca(directory)
    served = issue(directory, ca, "server", common_name="127.0.0.1", server=True)
    client_cert = issue(directory, ca, "client", common_name="ingest")
    port = free_port()
    env = server_env(directory, port, GATEHOUSE_PUBLIC_URL=f"https://127.0.0.1:{port}")
    command = [
        sys.executable, "-m", "gatehouse", "serve", "--log-level", "warning",
        "--ssl-certfile", str(served.cert_path), "--ssl-keyfile", str(served.key_path),
        "--ssl-ca-certs", str(ca.cert_path),
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env)
    server = LiveServer(process, f"https://127.0.0.1:{port}", env)
    try:
        demo = _wait_and_seed(server, ca.cert_path)
        created = server.cli(
            "clients", "create", "--customer", "demo", "--name", "m", "--role", "owner",
            "--auth-method", "tls_client_auth", "--tls-subject-dn", "CN=ingest,O=Acme",
        )  # fmt: skip

        contexts = {}
        for with_cert in (True, False):
            made = ssl.create_default_context(cafile=str(ca.cert_path))
            if with_cert:
                made.load_cert_chain(str(client_cert.cert_path), str(client_cert.key_path))
            contexts[with_cert] = made
        bodies = {
            True: f"grant_type=client_credentials&client_id={created['client_id']}",
            False: f"grant_type=client_credentials&client_id={demo['client_id']}"
            f"&client_secret={demo['client_secret']}",
        }

        def one(with_cert: bool) -> int:
            """One token request on a new TLS connection (raw HTTP/1.1: the client is cheap)."""
            body = bodies[with_cert].encode()
            head = (
                f"POST /customers/demo/oauth2/token HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            context = contexts[with_cert]
            with (
                socket.create_connection(("127.0.0.1", port)) as raw,
                context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
            ):
                tls.sendall(head + body)
                answer = b""
                while chunk := tls.recv(65536):
                    answer += chunk
            return int(answer.split(b" ", 2)[1])

        time.sleep(1)  # let the server learn of the new client
        assert one(True) == 200
        for label, with_cert in (("mTLS tls_client_auth", True), ("TLS + secret", False)) * 2:
            start = time.perf_counter()
            with ThreadPoolExecutor(THREADS) as pool:
                statuses = list(pool.map(one, [with_cert] * n))
            elapsed = time.perf_counter() - start
            assert statuses == [200] * n, statuses[:5]
            print(
                f"{label}: {n / elapsed:,.0f} tokens/s, a new TLS connection each "
                f"({THREADS} threads)"
            )
    finally:
        server.stop()


def bench_handshake(n: int) -> None:
    """Server CPU of one TLS 1.3 handshake with and without a client certificate (the
    listener's OpenSSL, through memory BIOs in this process), and of Gatehouse's own
    ``tls_client_auth`` check of the certificate afterwards (first and remembered)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import datetime
    import ssl

    from cryptography import x509
    from tests.sender.certs import issue, make_ca

    from gatehouse.oauth.mtls import CertificateAuthenticator, load_ca_store
    from gatehouse.tls import SESSION_TICKETS

    directory = Path(tempfile.mkdtemp())
    ca = make_ca(directory)
    served = issue(directory, ca, "server", common_name="127.0.0.1", server=True)
    client_cert = issue(directory, ca, "client", common_name="ingest")
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(served.cert_path, served.key_path)
    server.load_verify_locations(ca.cert_path)
    server.verify_mode = ssl.CERT_OPTIONAL  # as gatehouse serve --ssl-ca-certs
    clients = {}
    for with_cert in (True, False):
        made = ssl.create_default_context(cafile=str(ca.cert_path))
        if with_cert:
            made.load_cert_chain(client_cert.cert_path, client_cert.key_path)
        clients[with_cert] = made

    sessions: dict[bool, Any] = {}

    def handshake(with_cert: bool, resume: bool = False) -> float:
        """The server side's CPU seconds, to the first byte of the request read."""
        s_in, s_out, c_in, c_out = (ssl.MemoryBIO() for _ in range(4))
        tls = server.wrap_bio(s_in, s_out, server_side=True)
        session = sessions.get(with_cert) if resume else None
        peer = clients[with_cert].wrap_bio(
            c_in, c_out, server_hostname="127.0.0.1", session=session
        )
        spent, server_done, client_done = 0.0, False, False
        while not (server_done and client_done):
            if not client_done:
                try:
                    peer.do_handshake()
                    client_done = True
                except ssl.SSLWantReadError:
                    pass
            s_in.write(c_out.read())
            if not server_done:
                start = time.thread_time()
                try:
                    tls.do_handshake()
                    server_done = True
                except ssl.SSLWantReadError:
                    pass
                spent += time.thread_time() - start
            c_in.write(s_out.read())
        # TLS 1.3: the server reads the client's certificate flight with the first request bytes.
        peer.write(b"POST")
        s_in.write(c_out.read())
        start = time.thread_time()
        tls.read()
        spent += time.thread_time() - start
        c_in.write(s_out.read())  # TLS 1.3 session tickets come after the handshake
        with contextlib.suppress(ssl.SSLWantReadError):
            peer.read(1)
        assert (tls.getpeercert(binary_form=True) is not None) == with_cert
        assert peer.session_reused == (session is not None)
        if not resume:
            sessions[with_cert] = peer.session
        return spent

    for tickets in (2, SESSION_TICKETS) * 2:  # OpenSSL's default, then the listener's (A B A B)
        server.num_tickets = tickets
        for with_cert in (True, False):
            for _ in range(20):
                handshake(with_cert)
            cost = sum(handshake(with_cert) for _ in range(n)) / n
            label = "with a client certificate" if with_cert else "without one"
            print(f"TLS 1.3 handshake {label}, {tickets} ticket(s): {cost * 1e3:.3f} ms server CPU")
    server.num_tickets = 2  # the listener sends none: what resuming would cost
    handshake(True)
    cost = sum(handshake(True, resume=True) for _ in range(n)) / n
    print(f"TLS 1.3 resumption (a session ticket) with a client certificate: {cost * 1e3:.3f} ms")
    checker = CertificateAuthenticator(
        directory=None,  # type: ignore[arg-type]
        guard=None,  # type: ignore[arg-type]
        ca_store=load_ca_store(ca.cert_path),
    )
    der = client_cert.der
    start = time.thread_time()
    for _ in range(n):
        checker._chained.clear()
        checker.chain_valid(der, x509.load_der_x509_certificate(der))
    first = (time.thread_time() - start) / n
    start = time.thread_time()
    for _ in range(n):
        checker.chain_valid(der, x509.load_der_x509_certificate(der))
    again = (time.thread_time() - start) / n
    print(
        f"Gatehouse's RFC 5280 chain check: {first * 1e6:.0f} µs the first time, "
        f"{again * 1e6:.1f} µs when remembered (within {datetime.timedelta(minutes=1)})"
    )


def _wait_and_seed(server: Any, ca_path: Path) -> dict[str, Any]:
    import ssl

    import httpx

    deadline = time.monotonic() + 30
    context = ssl.create_default_context(cafile=str(ca_path))
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{server.base_url}/healthz", verify=context).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    demo: dict[str, Any] = server.cli("demo")
    return demo


def _report(what: str, figures: dict[str, list[float]]) -> None:
    print(what)
    for label, values in figures.items():
        shown = " / ".join(f"{v:,.0f}" for v in values)
        print(f"  {label:7s} median {statistics.median(values):,.0f}  (A B A B runs: {shown})")
    ratio = statistics.median(figures["dpop"]) / statistics.median(figures["bearer"])
    print(f"  dpop / bearer = {ratio:.0%}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["tokens", "api", "mtls", "handshake"])
    parser.add_argument("--n", type=int, default=0)
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    import uvloop

    if args.what == "tokens":
        uvloop.run(bench_tokens(args.n or 6400, args.pairs))
    elif args.what == "api":
        uvloop.run(bench_api(args.n or 2000, args.pairs))
    elif args.what == "mtls":
        bench_mtls(args.n or 300)
    else:
        bench_handshake(args.n or 300)


if __name__ == "__main__":
    main()
