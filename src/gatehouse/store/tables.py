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
    Column("corpus_roles", Text, nullable=False),
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
