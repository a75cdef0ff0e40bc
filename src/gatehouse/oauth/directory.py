"""What the protocol core needs to know about clients and keys, as plain read-only types.

The server keeps these in memory (``gatehouse.replica``); the core only reads them through
:class:`Directory`, so it needs neither the database nor the web framework.
"""

from __future__ import annotations

from dataclasses import dataclass
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


class Directory(Protocol):
    """Read access to clients and signing keys; every call is an in-memory lookup."""

    def find_client(self, client_id: str) -> ClientEntry | None: ...

    def signer_for(self, customer_id: str) -> Signer | None: ...
