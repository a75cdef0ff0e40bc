"""Who is on the other end: the client address and certificate behind trusted reverse proxies.

RFC 7239 (``Forwarded``), the de-facto ``X-Forwarded-For``, RFC 9440 (``Client-Cert``) and
nginx's ``$ssl_client_escaped_cert``. Forwarding headers are believed only when the connection
comes from one of ``GATEHOUSE_TRUSTED_PROXIES``; the client address is then found by walking the
forwarded chain from the right past the trusted proxies (the left part is whatever the client
wrote). The issuer and every URL Gatehouse checks come from ``GATEHOUSE_PUBLIC_URL``, never from
these headers.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import MutableMapping, Sequence
from typing import Any
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Headers = Sequence[tuple[bytes, bytes]]

_FOR = re.compile(r'(?:^|;)\s*for\s*=\s*("(?:[^"\\]|\\.)*"|[^;,\s]*)', re.IGNORECASE)
_MAX_HOPS = 32
_MAX_CERT_HEADER = 16 * 1024


def parse_networks(spec: str) -> tuple[Network, ...]:
    """``GATEHOUSE_TRUSTED_PROXIES``: comma-separated addresses or CIDRs; ValueError if bad."""
    networks = []
    for item in spec.split(","):
        item = item.strip()
        if item:
            networks.append(ipaddress.ip_network(item, strict=False))
    return tuple(networks)


def _address(text: str) -> str | None:
    """An IP address from a forwarded node (``1.2.3.4``, ``1.2.3.4:80``, ``[::1]:80``)."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None  # "unknown", an obfuscated identifier (RFC 7239 §6.3) or garbage


def _forwarded_for(value: str) -> list[str]:
    """The ``for=`` nodes of a ``Forwarded`` header value, left to right (RFC 7239 §4)."""
    nodes = []
    for element in value.split(","):
        match = _FOR.search(element)
        nodes.append(match.group(1) if match else "")
    return nodes


def der_from_header(value: str) -> bytes | None:
    """A client certificate from a proxy header: RFC 9440 ``:base64 DER:`` or a URL-escaped PEM
    (nginx ``$ssl_client_escaped_cert``), told apart by their shape. None if neither."""
    value = value.strip()
    if not value or len(value) > _MAX_CERT_HEADER:
        return None
    try:
        if value.startswith(":") and value.endswith(":"):
            # RFC 9440 §2.2: a byte sequence (RFC 8941 §3.3.5) holding the DER certificate.
            der = base64.b64decode(value[1:-1], validate=True)
            return x509.load_der_x509_certificate(der).public_bytes(Encoding.DER)
        pem = unquote(value)
        if pem.startswith("-----BEGIN CERTIFICATE-----"):
            return x509.load_pem_x509_certificate(pem.encode("ascii")).public_bytes(Encoding.DER)
    except (ValueError, binascii.Error, UnicodeEncodeError):
        return None
    return None


class Peers:
    """What the server believes about the far end of a connection."""

    def __init__(self, trusted: Sequence[Network], cert_header: str | None = None) -> None:
        self.trusted = tuple(trusted)
        self.cert_header = cert_header.lower().encode("latin-1") if cert_header else None
        self._verdicts: dict[str, bool] = {}

    def is_trusted(self, address: str) -> bool:
        verdict = self._verdicts.get(address)
        if verdict is None:
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:
                verdict = False
            else:
                verdict = any(ip in network for network in self.trusted)
            if len(self._verdicts) >= 4096:
                self._verdicts.clear()
            self._verdicts[address] = verdict
        return verdict

    def client_address(self, peer: str, headers: Headers) -> str:
        """The client's address: ``peer`` unless it is a trusted proxy that forwarded one."""
        if not self.trusted or not self.is_trusted(peer):
            return peer
        forwarded: list[str] = []
        x_forwarded: list[str] = []
        for name, value in headers:
            if name == b"forwarded":
                forwarded += _forwarded_for(value.decode("latin-1"))
            elif name == b"x-forwarded-for":
                x_forwarded += value.decode("latin-1").split(",")
        # RFC 7239 first; X-Forwarded-For only when there is no Forwarded header.
        chain = forwarded or x_forwarded
        found = peer
        for node in reversed(chain[-_MAX_HOPS:]):
            address = _address(node)
            if address is None:
                break  # the hop that wrote it was the last one we can name
            found = address
            if not self.is_trusted(address):
                break
        return found

    def header_certificate(self, peer: str, headers: Headers) -> bytes | None:
        """The DER certificate a trusted proxy forwarded; never from any other peer."""
        if self.cert_header is None or not self.is_trusted(peer):
            return None
        values = [value for name, value in headers if name == self.cert_header]
        if len(values) != 1:
            return None
        return der_from_header(values[0].decode("latin-1"))


CLIENT_CERT = "gatehouse.client_cert"  # the scope key of the DER client certificate


def peer_scope(peers: Peers | None, scope: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """The ASGI scope as the app should see it: ``client`` is the forwarded client address and
    ``scope[CLIENT_CERT]`` the forwarded certificate, when the peer is a trusted proxy."""
    client = scope.get("client")
    if peers is None or not isinstance(client, tuple) or not peers.is_trusted(str(client[0])):
        return scope
    headers: Headers = scope.get("headers", [])
    changed = dict(scope)
    changed["client"] = (peers.client_address(str(client[0]), headers), 0)
    certificate = peers.header_certificate(str(client[0]), headers)
    if certificate is not None:
        changed[CLIENT_CERT] = certificate
    return changed
