"""The server's own TLS listener (``gatehouse serve --ssl-certfile``): the optional client
certificate of a connection, and the registered self-signed certificates in its trust store.

RFC 8705 §2: the listener asks for a certificate but does not require one (``CERT_OPTIONAL``).
OpenSSL only completes a handshake whose certificate chains to the trust store, so the store
holds the client CA (``--ssl-ca-certs``) and every certificate a ``self_signed_tls_client_auth``
client registered, added as the in-memory replica learns of them — whichever process registered
them. Gatehouse then checks every certificate itself (``gatehouse.oauth.mtls``).
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Callable, Iterable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from gatehouse.peers import CLIENT_CERT


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


class TrustStore:
    """Adds registered self-signed client certificates to a listener's ``SSLContext``.

    OpenSSL can add trust anchors to a live context but not remove them; a certificate that is
    no longer registered still completes a handshake, and Gatehouse refuses it afterwards.
    """

    def __init__(
        self, certificates: Callable[[], Iterable[bytes]], version: Callable[[], int]
    ) -> None:
        self._certificates = certificates
        self._version = version
        self._contexts: list[ssl.SSLContext] = []
        self._loaded: set[bytes] = set()
        self._seen = -1
        self._lock = threading.Lock()

    def attach(self, context: ssl.SSLContext) -> None:
        with self._lock:
            if all(c is not context for c in self._contexts):
                self._contexts.append(context)
                self._seen = -1

    def sync(self) -> None:
        """Load what was registered since the last call (a version compare when nothing was)."""
        version = self._version()
        if version == self._seen or not self._contexts:
            return
        with self._lock:
            for der in self._certificates():
                if der in self._loaded:
                    continue
                for context in self._contexts:
                    try:
                        context.load_verify_locations(cadata=der)
                    except ssl.SSLError:
                        continue
                self._loaded.add(der)
            self._seen = version
