"""What the protocol core needs to know about clients and keys, as plain read-only types.

The server keeps these in memory (``gatehouse.replica``, a bounded cache read through to the
store); the core only reads them through :class:`Directory`, so it needs neither the database
nor the web framework.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from gatehouse.oauth.keys import Signer


@dataclass(frozen=True, slots=True)
class ClientEntry:
    """An application client as the token endpoint sees it."""

    id: str
    customer_id: str
    client_id: str
    secret_hash: bytes
    previous_secret_hash: bytes | None
    previous_secret_expires_at: float | None
    api_roles: tuple[str, ...]
    enabled: bool
    token_lifetime_seconds: int
    token_quota_per_hour: int | None
    tokens_revoked_before: float | None
    # RFC 7591 §2 token_endpoint_auth_method, and what its assertions are checked with.
    auth_method: str = "client_secret_basic"
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    tls_client_auth_subject_dn: str | None = None
    tls_client_auth_san_dns: str | None = None
    tls_client_auth_san_uri: str | None = None
    tls_client_auth_san_ip: str | None = None
    tls_client_auth_san_email: str | None = None
    dpop_bound_access_tokens: bool = False
    tls_client_certificate_bound_access_tokens: bool = False
    # api id -> the scopes granted on that API (never the built-in API: that grant is api_roles)
    grants: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: NO_GRANTS)


NO_GRANTS: Mapping[str, tuple[str, ...]] = MappingProxyType({})


class ColdClient(Exception):
    """Raised by a directory that is *deferring* (docs/scale.md "Cold clients off the event
    loop"): answering needs a store read, which the caller makes elsewhere (a worker thread)
    and then asks again. ``stale`` is what memory holds when the read is a recheck."""

    def __init__(self, client_id: str, stale: ClientEntry | None) -> None:
        super().__init__(client_id)
        self.client_id = client_id
        self.stale = stale


@dataclass(frozen=True, slots=True)
class ApiEntry:
    """A registered API (resource server) of a customer, as the token endpoint sees it."""

    id: str
    customer_id: str
    identifier: str
    scopes: tuple[str, ...]
    token_lifetime_seconds: int | None


class Directory(Protocol):
    """Read access to clients and signing keys: an in-memory lookup for a hot client, one
    bounded read of the store for a cold one.

    ``find_client`` answers ``None`` for an unknown client, and raises
    :class:`gatehouse.errors.TemporarilyUnavailable` when the answer is not in memory and the
    store cannot be reached. ``recheck_client`` reads a client again after what memory holds
    (``stale``) failed to authenticate a request or lacked a requested role; within its read
    budget, else it returns ``stale``. While the caller has asked it to defer store reads,
    either may raise :class:`ColdClient` instead of reading.
    """

    def find_client(self, client_id: str) -> ClientEntry | None: ...

    def recheck_client(self, client_id: str, stale: ClientEntry) -> ClientEntry | None: ...

    def signer_for(self, customer_id: str) -> Signer | None: ...

    def find_api(self, customer_id: str, match_key: str) -> ApiEntry | None:
        """The customer's registered API whose identifier matches (see ``oauth.target``)."""
        ...
