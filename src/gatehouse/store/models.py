"""Storage records: what a row holds, as frozen dataclasses. Never sent to a client as is."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from typing import Any, Final, Literal, TypedDict

# The JWS algorithms a signing key may have (the same set as gatehouse.oauth.keys.Alg; a test
# holds the two equal, as the store imports nothing of the protocol core).
Algorithm = Literal["ES256", "RS256", "PS256", "EdDSA"]
# next: published, not signing yet; active: signs; retired: published until every token it
# signed has expired; removed: out of the JWKS (gatehouse.keyring).
KeyState = Literal["next", "active", "retired", "removed"]
ALGORITHMS: tuple[Algorithm, ...] = ("ES256", "RS256", "PS256", "EdDSA")
KEY_STATES: tuple[KeyState, ...] = ("next", "active", "retired", "removed")


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    name: str
    created_at: float


@dataclass(frozen=True, slots=True)
class CorpusRole:
    corpus_key: str
    role: str


@dataclass(frozen=True, slots=True)
class AppClientRecord:
    """An application client row, hashes and sealed secret included."""

    id: str
    customer_id: str
    type: str
    name: str
    description: str
    client_id: str
    secret_hash: bytes = field(repr=False)
    secret_sealed: bytes | None = field(repr=False)
    previous_secret_hash: bytes | None = field(repr=False)
    previous_secret_expires_at: float | None
    api_roles: tuple[str, ...]
    corpus_roles: tuple[CorpusRole, ...]
    enabled: bool
    token_lifetime_seconds: int
    token_quota_per_hour: int | None
    tokens_revoked_before: float | None
    created_at: float
    updated_at: float
    last_used_at: float | None
    # How the client authenticates and what its tokens are bound to (RFC 7591, 8705, 9449).
    token_endpoint_auth_method: str = "client_secret_basic"  # noqa: S105
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    tls_client_auth_subject_dn: str | None = None
    tls_client_auth_san_dns: str | None = None
    tls_client_auth_san_uri: str | None = None
    tls_client_auth_san_ip: str | None = None
    tls_client_auth_san_email: str | None = None
    dpop_bound_access_tokens: bool = False
    tls_client_certificate_bound_access_tokens: bool = False


class Keep(enum.Enum):
    """The type of :data:`KEEP`: a column a change leaves as it is (``None`` is a value)."""

    KEEP = "keep"


KEEP: Final = Keep.KEEP
Kept = Literal[Keep.KEEP]


@dataclass(frozen=True, slots=True)
class ClientColumns:
    """The columns one write of an app client sets; :data:`KEEP` leaves a column unchanged.

    What the store's ``update_client`` verb takes (the services build it after validating)."""

    name: str | Kept = KEEP
    description: str | Kept = KEEP
    api_roles: tuple[str, ...] | Kept = KEEP
    corpus_roles: tuple[CorpusRole, ...] | Kept = KEEP
    enabled: bool | Kept = KEEP
    token_lifetime_seconds: int | Kept = KEEP
    token_quota_per_hour: int | Kept | None = KEEP
    tokens_revoked_before: float | Kept | None = KEEP
    secret_hash: bytes | Kept = field(default=KEEP, repr=False)
    secret_sealed: bytes | Kept | None = field(default=KEEP, repr=False)
    previous_secret_hash: bytes | Kept | None = field(default=KEEP, repr=False)
    previous_secret_expires_at: float | Kept | None = KEEP
    token_endpoint_auth_method: str | Kept = KEEP
    jwks: dict[str, Any] | Kept | None = KEEP
    jwks_uri: str | Kept | None = KEEP
    tls_client_auth_subject_dn: str | Kept | None = KEEP
    tls_client_auth_san_dns: str | Kept | None = KEEP
    tls_client_auth_san_uri: str | Kept | None = KEEP
    tls_client_auth_san_ip: str | Kept | None = KEEP
    tls_client_auth_san_email: str | Kept | None = KEEP
    dpop_bound_access_tokens: bool | Kept = KEEP
    tls_client_certificate_bound_access_tokens: bool | Kept = KEEP

    @classmethod
    def of(cls, values: dict[str, Any]) -> ClientColumns:
        """From column name to value (a name that is no column here is a ``TypeError``)."""
        return cls(**values)

    def values(self) -> dict[str, Any]:
        """The columns set, by name, in declaration order."""
        return {f.name: value for f in fields(self) if (value := getattr(self, f.name)) is not KEEP}


@dataclass(frozen=True, slots=True)
class FederatedCredentialRecord:
    """An outside issuer an app client trusts, and the rules its tokens must meet."""

    id: str
    app_id: str
    customer_id: str
    name: str
    issuer: str
    audience: str | None
    subject: str
    claims: dict[str, str]
    single_use: bool
    allow_any_subject: bool
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class SigningKeyRecord:
    kid: str
    customer_id: str
    alg: Algorithm
    state: KeyState
    private_key_sealed: bytes = field(repr=False)
    public_jwk: dict[str, str]
    created_at: float
    activated_at: float | None
    retired_at: float | None
    remove_after: float | None


class KeyChange(TypedDict, total=False):
    """The columns of a signing key that a state change sets."""

    state: KeyState
    activated_at: float
    retired_at: float
    remove_after: float


@dataclass(frozen=True, slots=True)
class Change:
    id: int
    kind: str
    customer_id: str
    entity_id: str
    at: float


@dataclass(frozen=True, slots=True)
class AuditEvent:
    customer_id: str
    at: float
    actor: str
    action: str
    target: str | None = None
    source: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
