"""The schema, as SQLAlchemy Core tables. Times are float seconds since the epoch (UTC)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

metadata = MetaData()

customers = Table(
    "customers",
    metadata,
    Column("id", String(63), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", Float, nullable=False),
)

app_clients = Table(
    "app_clients",
    metadata,
    Column("id", String(40), primary_key=True),
    Column(
        "customer_id", String(63), ForeignKey("customers.id", ondelete="CASCADE"), nullable=False
    ),
    Column("type", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("client_id", String(64), nullable=False, unique=True),
    Column("secret_hash", LargeBinary, nullable=False),
    Column("secret_sealed", LargeBinary, nullable=True),
    Column("previous_secret_hash", LargeBinary, nullable=True),
    Column("previous_secret_expires_at", Float, nullable=True),
    Column("api_roles", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("token_lifetime_seconds", Integer, nullable=False),
    Column("token_quota_per_hour", Integer, nullable=True),
    Column("tokens_revoked_before", Float, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("last_used_at", Float, nullable=True),
    # Client authentication and sender-constraint fields (RFC 7591 §2, RFC 8705, RFC 9449).
    Column(
        "token_endpoint_auth_method",
        String(40),
        nullable=False,
        server_default="client_secret_basic",
    ),
    Column("jwks", Text, nullable=True),
    Column("jwks_uri", Text, nullable=True),
    Column("tls_client_auth_subject_dn", Text, nullable=True),
    Column("tls_client_auth_san_dns", Text, nullable=True),
    Column("tls_client_auth_san_uri", Text, nullable=True),
    Column("tls_client_auth_san_ip", Text, nullable=True),
    Column("tls_client_auth_san_email", Text, nullable=True),
    Column("dpop_bound_access_tokens", Boolean, nullable=False, server_default=false()),
    Column(
        "tls_client_certificate_bound_access_tokens",
        Boolean,
        nullable=False,
        server_default=false(),
    ),
    Index("ix_app_clients_customer", "customer_id", "created_at"),
)

# An app client's corpus roles, one row each (migration 0010_corpus_roles): granting one role
# writes one row, whatever the client holds already.
app_client_corpus_roles = Table(
    "app_client_corpus_roles",
    metadata,
    Column(
        "app_id", String(40), ForeignKey("app_clients.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("corpus_key", String(50), primary_key=True),
    Column("role", String(40), primary_key=True),
    Index("ix_app_client_corpus_roles_key", "corpus_key"),
)

# The change-feed cursor each serving process has applied, and when it said so last (migration
# 0010): a writer waits for the live ones (gatehouse.propagation.await_readers).
change_readers = Table(
    "change_readers",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("applied", Integer, nullable=False),
    Column("seen_at", Float, nullable=False),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column(
        "customer_id", String(63), ForeignKey("customers.id", ondelete="CASCADE"), nullable=False
    ),
    Column("alg", String(10), nullable=False),
    Column("state", String(10), nullable=False),
    Column("private_key_sealed", LargeBinary, nullable=False),
    Column("public_jwk", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("activated_at", Float, nullable=True),
    Column("retired_at", Float, nullable=True),
    Column("remove_after", Float, nullable=True),
    Index("ix_signing_keys_customer", "customer_id"),
)

changes = Table(
    "changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),
    Column("customer_id", String(63), nullable=False),
    Column("entity_id", String(100), nullable=False),
    Column("at", Float, nullable=False),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(63), nullable=False),
    Column("at", Float, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(60), nullable=False),
    Column("target", String(200), nullable=True),
    Column("source", String(100), nullable=True),
    Column("detail", Text, nullable=False),
    Index("ix_audit_events_customer", "customer_id", "id"),
)

corpora = Table(
    "corpora",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "customer_id", String(63), ForeignKey("customers.id", ondelete="CASCADE"), nullable=False
    ),
    Column("key", String(50), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("customer_id", "key", name="uq_corpora_customer_key"),
    Index("ix_corpora_customer_id", "customer_id", "id"),  # ListCorpora's pages, by id
)

console_users = Table(
    "console_users",
    metadata,
    Column("id", String(40), primary_key=True),
    Column(
        "customer_id", String(63), ForeignKey("customers.id", ondelete="CASCADE"), nullable=False
    ),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("created_at", Float, nullable=False),
)

console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column(
        "user_id", String(40), ForeignKey("console_users.id", ondelete="CASCADE"), nullable=False
    ),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)

revoked_tokens = Table(
    "revoked_tokens",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("customer_id", String(63), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("revoked_at", Float, nullable=False),
    Index("ix_revoked_tokens_expires", "expires_at"),
)

# One row (id 1): an HMAC of a fixed label under a key derived from the master key, written by
# the first process; every later process compares its master key with it before anything else.
key_check = Table(
    "key_check",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("value", LargeBinary, nullable=False),
    Column("created_at", Float, nullable=False),
)

# DPoP proofs seen by the token endpoint (RFC 9449 §11.1): the SHA-256 of (jkt, jti), kept for
# the proof window so a proof is single-use across every process sharing the database.
dpop_proofs = Table(
    "dpop_proofs",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("expires_at", Float, nullable=False),
    Index("ix_dpop_proofs_expires", "expires_at"),
)

# Workload identity federation: outside issuers an app client trusts (docs/secretless.md).
federated_credentials = Table(
    "federated_credentials",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("app_id", String(40), ForeignKey("app_clients.id", ondelete="CASCADE"), nullable=False),
    Column("customer_id", String(63), nullable=False),
    Column("name", String(200), nullable=False),
    Column("issuer", Text, nullable=False),
    Column("audience", Text, nullable=True),
    Column("subject", Text, nullable=False),
    Column("claims", Text, nullable=False),
    Column("single_use", Boolean, nullable=False),
    Column("allow_any_subject", Boolean, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_federated_credentials_app", "app_id"),
)

# Assertion ids (jti) already used, until the assertion expires (RFC 7523 §3, single use).
used_assertions = Table(
    "used_assertions",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("expires_at", Float, nullable=False),
    Index("ix_used_assertions_expires", "expires_at"),
)

# An API (resource server) of a customer. ``identifier`` NULL is the built-in API, whose
# identifier is the configured GATEHOUSE_AUDIENCE; ``match_key`` is the identifier with its
# scheme and host lower-cased (RFC 3986 §6.2.2.1), unique per customer.
apis = Table(
    "apis",
    metadata,
    Column("id", String(40), primary_key=True),
    Column(
        "customer_id", String(63), ForeignKey("customers.id", ondelete="CASCADE"), nullable=False
    ),
    Column("identifier", String(255), nullable=True),
    Column("match_key", String(255), nullable=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("scopes", Text, nullable=False),
    Column("token_lifetime_seconds", Integer, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("customer_id", "match_key", name="uq_apis_customer_match_key"),
)

# Which scopes of an API a client may get (never for the built-in API: that grant is api_roles).
api_grants = Table(
    "api_grants",
    metadata,
    Column(
        "app_id", String(40), ForeignKey("app_clients.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("api_id", String(40), ForeignKey("apis.id", ondelete="CASCADE"), primary_key=True),
    Column("scopes", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_api_grants_api", "api_id"),
)

# One-time results of console actions (migration 0008_console): a form token acts once, and a
# secret made by the action is shown once.
console_results = Table(
    "console_results",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("form_token_hash", String(64), nullable=False),
    Column("session_hash", String(64), nullable=False),
    Column("location", Text, nullable=True),
    Column("notice", Text, nullable=True),
    Column("flash_sealed", LargeBinary, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    UniqueConstraint("form_token_hash", name="uq_console_results_form_token"),
    Index("ix_console_results_session", "session_hash"),
)

# RFC 7591 initial access tokens: only an HMAC of the token is kept.
initial_access_tokens = Table(
    "initial_access_tokens",
    metadata,
    Column("id", String(40), primary_key=True),
    Column(
        "customer_id", String(63), ForeignKey("customers.id", ondelete="CASCADE"), nullable=False
    ),
    Column("token_hash", LargeBinary, nullable=False),
    Column("roles", Text, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("max_uses", Integer, nullable=True),
    Column("uses", Integer, nullable=False),
    Column("revoked_at", Float, nullable=True),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("token_hash", name="uq_initial_access_tokens_hash"),
)

# A client registered through RFC 7591, with the HMAC of its registration access token.
client_registrations = Table(
    "client_registrations",
    metadata,
    Column(
        "app_id", String(40), ForeignKey("app_clients.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("customer_id", String(63), nullable=False),
    Column("access_token_hash", LargeBinary, nullable=False),
    Column("allowed_roles", Text, nullable=False),
    Column("metadata", Text, nullable=False),
    Column("initial_token_id", String(40), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_client_registrations_customer", "customer_id"),
)

# Values sealed under the current master key that must survive its rotation (gatehouse/rewrap.py):
# the client-secret HMAC key, once ``gatehouse keys rewrap`` has run.
master_key_state = Table(
    "master_key_state",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("sealed", LargeBinary, nullable=False),
    Column("updated_at", Float, nullable=False),
)
