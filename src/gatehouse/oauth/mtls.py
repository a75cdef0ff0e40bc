"""Mutual-TLS client authentication and certificate-bound tokens (RFC 8705).

RFC 8705 §2.1 (``tls_client_auth``: a certificate chaining to a trusted CA whose subject DN or
one subject alternative name is the one the client registered), §2.2
(``self_signed_tls_client_auth``: the certificate is one the client registered, as ``x5c`` of a
key in its ``jwks``), §3 (``cnf.x5t#S256`` binds a token to the certificate). The web layer hands
over the DER certificate of the connection (or of a trusted proxy's header); every check is here.
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from gatehouse.errors import InvalidClient, InvalidRequest
from gatehouse.oauth.bruteforce import BruteForceGuard
from gatehouse.oauth.client_auth import FAILED
from gatehouse.oauth.directory import ClientEntry, Directory

TLS_CLIENT_AUTH = "tls_client_auth"
SELF_SIGNED = "self_signed_tls_client_auth"
TLS_METHODS = frozenset({TLS_CLIENT_AUTH, SELF_SIGNED})
CHAIN_MEMO_SECONDS = 60  # how long a validated chain is remembered
_CHAINED_MAX = 4096  # certificates remembered at most


def x5t_s256(der: bytes) -> str:
    """RFC 8705 §3.1: the base64url SHA-256 of the DER certificate."""
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode("ascii")


def registered_certificates(client: ClientEntry) -> list[bytes]:
    """RFC 8705 §2.2: the DER certificates in the ``x5c`` of the client's ``jwks`` keys."""
    keys = client.jwks.get("keys") if isinstance(client.jwks, dict) else None
    found: list[bytes] = []
    for key in keys if isinstance(keys, list) else []:
        chain = key.get("x5c") if isinstance(key, dict) else None
        if isinstance(chain, list) and chain and isinstance(chain[0], str):
            try:
                found.append(base64.b64decode(chain[0], validate=True))
            except ValueError:
                continue
    return found


def _normalized_dn(name: x509.Name) -> tuple[tuple[tuple[str, str], ...], ...]:
    """RFC 4514 comparison: per RDN, attribute types by OID and values case- and
    space-insensitive (caseIgnoreMatch, the matching rule of the usual DN attributes)."""
    return tuple(
        tuple(
            sorted(
                (attribute.oid.dotted_string, " ".join(str(attribute.value).casefold().split()))
                for attribute in rdn
            )
        )
        for rdn in name.rdns
    )


@functools.lru_cache(maxsize=4096)
def _registered_dn(text: str) -> tuple[tuple[tuple[str, str], ...], ...] | None:
    """A registered subject DN (RFC 4514 text), normalized once; None if it is not one."""
    try:
        return _normalized_dn(x509.Name.from_rfc4514_string(text))
    except ValueError:
        return None


def subject_matches(client: ClientEntry, certificate: x509.Certificate) -> bool:
    """RFC 8705 §2.1.2: the registered subject DN or SAN value is the certificate's."""
    if client.tls_client_auth_subject_dn is not None:
        wanted = _registered_dn(client.tls_client_auth_subject_dn)
        return wanted is not None and wanted == _normalized_dn(certificate.subject)
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    if client.tls_client_auth_san_dns is not None:
        wanted_dns = client.tls_client_auth_san_dns.lower().rstrip(".")
        return wanted_dns in [
            n.lower().rstrip(".") for n in names.get_values_for_type(x509.DNSName)
        ]
    if client.tls_client_auth_san_uri is not None:
        return client.tls_client_auth_san_uri in names.get_values_for_type(
            x509.UniformResourceIdentifier
        )
    if client.tls_client_auth_san_ip is not None:
        try:
            wanted_ip = ipaddress.ip_address(client.tls_client_auth_san_ip)
        except ValueError:
            return False
        return wanted_ip in names.get_values_for_type(x509.IPAddress)
    if client.tls_client_auth_san_email is not None:
        wanted_email = client.tls_client_auth_san_email.lower()
        return wanted_email in [e.lower() for e in names.get_values_for_type(x509.RFC822Name)]
    return False


def load_ca_store(path: Path | None) -> Store | None:
    """The CAs that ``tls_client_auth`` certificates must chain to (a PEM bundle)."""
    if path is None:
        return None
    return Store(x509.load_pem_x509_certificates(path.read_bytes()))


def chains_to(store: Store, certificate: x509.Certificate, now: datetime.datetime) -> bool:
    """RFC 8705 §2.1: the chain is validated (PKIX, RFC 5280) to one of the trusted CAs. A
    subject-DN client certificate may lack a SAN, so the SAN is not required of the leaf."""
    leaf_policy = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
    )
    verifier = (
        PolicyBuilder()
        .store(store)
        .time(now)
        .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=leaf_policy)
        .build_client_verifier()
    )
    try:
        verifier.verify(certificate, [])
    except VerificationError:
        return False
    return True


@dataclass
class CertificateAuthenticator:
    """The mTLS step of the token endpoint, for clients of the two TLS methods."""

    directory: Directory
    guard: BruteForceGuard
    ca_store: Store | None
    clock: Callable[[], datetime.datetime] = field(
        default=lambda: datetime.datetime.now(datetime.UTC)
    )

    # A certificate whose chain validated is not validated again for a minute (never past its
    # notAfter): a client on new connections pays the path validation once a minute.
    _chained: dict[bytes, float] = field(default_factory=dict, init=False, repr=False)

    def chain_valid(self, der: bytes, certificate: x509.Certificate) -> bool:
        """RFC 8705 §2.1: ``certificate`` (``der``) chains to the client CA, now."""
        now = self.clock()
        stamp = now.timestamp()
        until = self._chained.get(der)
        if until is not None and stamp < until:
            return True
        if self.ca_store is None or not chains_to(self.ca_store, certificate, now):
            return False
        if len(self._chained) >= _CHAINED_MAX:
            self._chained.clear()
        expires = certificate.not_valid_after_utc.timestamp()
        self._chained[der] = min(stamp + CHAIN_MEMO_SECONDS, expires)
        return True

    def authenticate(
        self, client_id: str, der: bytes, *, client_addr: str, customer_id: str | None
    ) -> ClientEntry:
        """The enabled client the certificate proves, or :class:`InvalidClient`."""
        client = self.directory.find_client(client_id)
        detail = self._refusal(client, der, customer_id)
        if detail is not None:
            self.guard.record_failure(client_addr, client_id)
            raise InvalidClient(FAILED, log_detail=detail)
        assert client is not None
        return client

    def _refusal(
        self, client: ClientEntry | None, der: bytes, customer_id: str | None
    ) -> str | None:
        if client is None:
            return "unknown client_id"
        if client.auth_method not in TLS_METHODS:
            return "a certificate for a client of another method"
        if not client.enabled:
            return "client disabled"
        if customer_id is not None and client.customer_id != customer_id:
            return "client belongs to another customer"
        if client.auth_method == SELF_SIGNED:
            # RFC 8705 §2.2: the certificate must be one the client registered.
            return None if der in registered_certificates(client) else "unregistered certificate"
        try:
            certificate = x509.load_der_x509_certificate(der)
        except ValueError:
            return "unreadable certificate"
        # RFC 8705 §2.1: the chain is validated by the server, not only by the TLS stack.
        if not self.chain_valid(der, certificate):
            return "certificate does not chain to the client CA"
        # RFC 8705 §2.1.2: exactly the registered subject DN or SAN value.
        if not subject_matches(client, certificate):
            return "certificate subject does not match the registered one"
        return None


def certificate_binding(client: ClientEntry, der: bytes | None, authenticated: bool) -> str | None:
    """RFC 8705 §3: the ``x5t#S256`` a token gets, or None for an unbound token."""
    if authenticated and der is not None:
        return x5t_s256(der)
    if client.tls_client_certificate_bound_access_tokens:
        # RFC 8705 §3: a client registered for bound tokens must present its certificate.
        if der is None:
            raise InvalidRequest(
                "this client's tokens are certificate-bound: present a client certificate"
            )
        return x5t_s256(der)
    return None
