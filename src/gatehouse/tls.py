"""The server's own TLS listener (``gatehouse serve --ssl-certfile``): the optional client
certificate of a connection, and the registered self-signed certificates in its trust store.

RFC 8705 §2: the listener asks for a certificate but does not require one (``CERT_OPTIONAL``).
OpenSSL only completes a handshake whose certificate chains to the trust store, so the store
holds the client CA (``--ssl-ca-certs``) and every certificate a ``self_signed_tls_client_auth``
client registered, added as the in-memory replica learns of them — whichever process registered
them — and dropped (by a fresh context for new handshakes) when they are removed. Gatehouse then
checks every certificate itself (``gatehouse.oauth.mtls``).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from collections.abc import Callable, Iterable
from typing import Any

import uvicorn.config
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from gatehouse.peers import CLIENT_CERT

log = logging.getLogger(__name__)
# RFC 8446 §4.6.1: TLS 1.3 session tickets sent after each full handshake: none. OpenSSL sends
# 2 by default, and a ticket of a connection with a client certificate carries the certificate,
# which OpenSSL 3.0 serializes slowly (~0.3 ms of server CPU per ticket); resuming with one
# saves little (it parses the certificate back), and would let a certificate removed from the
# trust store resume a session made before (bench/README.md, "Sender-constrained tokens").
SESSION_TICKETS = 0


class TLSPeer:
    """The client certificate of one TLS connection, read once when first asked for."""

    def __init__(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._read = False
        self._der: bytes | None = None

    @property
    def certificate(self) -> bytes | None:
        if not self._read:
            ssl_object = self._transport.get_extra_info("ssl_object")
            self._der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
            self._read = True
        return self._der

    def annotate(self, scope: dict[str, Any]) -> None:
        """Put the certificate into an ASGI scope: ``scope[CLIENT_CERT]`` (DER) and the ASGI
        TLS extension's ``client_cert_chain`` (PEM)."""
        der = self.certificate
        if der is None:
            return
        scope[CLIENT_CERT] = der
        pem = x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM).decode("ascii")
        scope.setdefault("extensions", {})["tls"] = {"client_cert_chain": [pem]}


class _Listener:
    """One listener's contexts: the one its socket was made with, and the one new handshakes
    use (the same until a registered certificate is removed)."""

    def __init__(self, listening: ssl.SSLContext, fresh: Callable[[], ssl.SSLContext]) -> None:
        listening.num_tickets = SESSION_TICKETS
        self.listening = listening
        self.fresh = fresh
        self.current = listening
        self.trusted: frozenset[bytes] = frozenset()  # what current trusts beyond the CA file

    def update(self, registered: frozenset[bytes]) -> None:
        """Trust exactly ``registered`` (besides the CA file) from the next handshake on."""
        if registered == self.trusted:
            return
        if registered >= self.trusted:
            # Only additions: OpenSSL adds trust anchors to a live context.
            _trust(self.current, registered - self.trusted)
        else:
            # One was removed: OpenSSL cannot drop a trust anchor, so a fresh context without
            # it takes the next handshakes (the SNI callback runs before the client's
            # certificate is asked for, and may switch the connection's context).
            context = self.fresh()
            context.num_tickets = SESSION_TICKETS
            _trust(context, registered)
            self.current = context
            self.listening.sni_callback = self._pick
        self.trusted = registered

    def _pick(self, connection: Any, _server_name: str | None, listening: ssl.SSLContext) -> None:
        current = self.current
        if current is not listening:
            connection.context = current


def _trust(context: ssl.SSLContext, certificates: Iterable[bytes]) -> None:
    for der in certificates:
        try:
            context.load_verify_locations(cadata=der)
        except ssl.SSLError:
            continue  # not a certificate OpenSSL can use: Gatehouse refuses it anyway


def fresh_context(config: Any) -> Callable[[], ssl.SSLContext]:
    """A maker of contexts like the one uvicorn made for the listener of ``config``."""

    def make() -> ssl.SSLContext:
        return uvicorn.config.create_ssl_context(
            certfile=config.ssl_certfile,
            keyfile=config.ssl_keyfile,
            password=config.ssl_keyfile_password,
            ssl_version=config.ssl_version,
            cert_reqs=config.ssl_cert_reqs,
            ca_certs=config.ssl_ca_certs,
            ciphers=config.ssl_ciphers,
        )

    return make


class TrustStore:
    """Keeps the trust store of a process's TLS listeners equal to the registered self-signed
    client certificates, reading them on a thread of its own, never on the event loop.

    :meth:`start` reads them once (at start-up, before the listener serves), then a thread
    reads them again whenever the replica's version moves: when :meth:`sync` (called for every
    new connection; an integer compare) notices it, or within ``interval`` otherwise. Added
    certificates are added to the live context; when one is removed, new handshakes switch to
    a fresh context without it, so a removed certificate no longer completes a handshake.
    """

    def __init__(
        self, certificates: Callable[[], Iterable[bytes]], version: Callable[[], int]
    ) -> None:
        self._certificates = certificates
        self._version = version
        self._listeners: list[_Listener] = []
        self._registered: frozenset[bytes] = frozenset()
        self._seen = -1  # the replica version the registered set was read at
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.failures = 0  # reads that failed (the store away); retried at the next interval

    def attach(self, context: ssl.SSLContext, fresh: Callable[[], ssl.SSLContext]) -> None:
        """Serve ``context``'s handshakes with the registered certificates trusted; ``fresh``
        makes a context like it (without them)."""
        with self._lock:
            if any(listener.listening is context for listener in self._listeners):
                return
            listener = _Listener(context, fresh)
            listener.update(self._registered)
            self._listeners.append(listener)

    def sync(self) -> None:
        """On the event loop, for each new connection: wake the reader if the replica moved."""
        if self._version() != self._seen:
            self._wake.set()

    def load(self) -> None:
        """Read the registered certificates and apply them to every listener."""
        version = self._version()
        registered = frozenset(self._certificates())
        with self._lock:
            self._registered = registered
            for listener in self._listeners:
                listener.update(registered)
            self._seen = version

    def start(self, interval: float) -> None:
        try:
            self.load()
        except Exception:
            self.failures += 1
            log.warning("reading the registered client certificates failed", exc_info=True)
        self._thread = threading.Thread(
            target=self._run, args=(interval,), name="gatehouse-trust", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self, interval: float) -> None:
        while not self._stopping.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            if self._stopping.is_set() or self._version() == self._seen:
                continue
            try:
                self.load()
            except Exception:
                self.failures += 1
                if self.failures == 1 or self.failures % 100 == 0:
                    log.warning("reading the registered client certificates failed", exc_info=True)
