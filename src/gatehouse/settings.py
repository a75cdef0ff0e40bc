"""Typed settings, read from ``GATEHOUSE_*`` environment variables and validated at start-up."""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SigningAlg = Literal["ES256", "RS256", "PS256", "EdDSA"]

_PLACEHOLDERS = {"changeme", "change-me", "secret", "example", "xxx"}


class Settings(BaseSettings):
    """Every setting of the server and the CLI; one instance, passed explicitly."""

    model_config = SettingsConfigDict(
        env_prefix="GATEHOUSE_", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    data_dir: Path = Path("var")
    database_url: str = ""
    public_url: str = ""
    master_key: SecretStr | None = None
    master_key_file: Path | None = None
    redis_url: str | None = None
    secret_retrieval: bool = True
    signing_alg: SigningAlg = "ES256"
    token_lifetime: int = Field(default=1800, ge=300, le=86400)
    audience: str = ""
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    change_poll_interval: float = Field(default=0.25, gt=0, le=5)
    bruteforce_client_failures: int = Field(default=20, ge=1)
    bruteforce_address_failures: int = Field(default=100, ge=1)
    bruteforce_window_seconds: int = Field(default=60, ge=1)
    audit_flush_interval: float = Field(default=0.5, gt=0, le=60)
    # Token lifecycle (README "Revocation, rotation and audit"): a new signing key every N days
    # (0: only by hand), audit events kept N days (0: forever), and how often the background
    # maintenance (rotation, pruning of expired deny-list entries, keys and audit) runs.
    key_rotation_days: int = Field(default=90, ge=0, le=3650)
    audit_retention_days: int = Field(default=30, ge=0, le=36500)
    maintenance_interval: float = Field(default=60.0, gt=0, le=86400)
    # Clients at scale (docs/scale.md): app clients kept in memory per process (LRU), and the
    # store reads per second per process that may find no usable client (unknown ids, wrong
    # secrets); past it such a request is answered invalid_client without a read.
    client_cache_size: int = Field(default=100_000, ge=10, le=100_000_000)
    client_store_reads_per_second: int = Field(default=200, ge=1, le=1_000_000)
    metrics_token: SecretStr | None = None
    # Abuse limits (README "Settings"; docs/limits.md): the largest API request body read.
    api_max_body_bytes: int = Field(default=1_048_576, ge=1024, le=64 * 1_048_576)
    # Connections (gatehouse/connlimits.py): seconds a new connection may stay silent, a request
    # may take for its headers and then for its body, a kept-alive connection may idle; how
    # many connections one process keeps (0: its descriptor limit less 64) and how many
    # requests it serves at once before answering 503 (uvicorn's limit_concurrency).
    timeout_idle: float = Field(default=10.0, gt=0, le=3600)
    timeout_headers: float = Field(default=10.0, gt=0, le=3600)
    timeout_body: float = Field(default=30.0, gt=0, le=3600)
    timeout_keep_alive: float = Field(default=5.0, gt=0, le=3600)
    max_connections: int = Field(default=0, ge=0)
    limit_concurrency: int = Field(default=2048, ge=1)
    # http (not only https) for jwks_uri and federated issuers: for loopback tests only.
    allow_insecure_urls: bool = False
    environment: Literal["development", "production"] = "development"
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    # One line per request served by the ASGI app (accesslog.py); fast-lane token requests are
    # in the audit log instead.
    access_log: bool = True
    # Sender-constrained tokens and proxies (docs/sender-constrained.md, docs/proxy.md).
    dpop_nonce: bool = False
    trusted_proxies: str = ""
    client_cert_header: str | None = None
    client_ca_file: Path | None = None  # default: ssl_ca_certs
    # gatehouse serve --ssl-certfile/--ssl-keyfile/--ssl-ca-certs (RFC 8705 §2).
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    ssl_ca_certs: Path | None = None

    @field_validator("public_url", "audience")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if value and not re.match(r"^https?://[^/\s]+(/[^\s]*)?$", value):
            raise ValueError("must be an absolute http(s) URL such as https://auth.example.com")
        return value.rstrip("/")

    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, value: str) -> str:
        import ipaddress

        for item in value.split(","):
            if item.strip():
                try:
                    ipaddress.ip_network(item.strip(), strict=False)
                except ValueError as exc:
                    raise ValueError(f"{item.strip()!r} is not an address or CIDR") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must start with sqlite:/// or postgresql://")
        return value

    @field_validator("master_key")
    @classmethod
    def _check_master_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value()
        if raw.lower() in _PLACEHOLDERS:
            raise ValueError("is a placeholder; generate one with: openssl rand -base64 32")
        try:
            decoded = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("must be 32 bytes, base64-encoded") from exc
        if len(decoded) != 32:
            raise ValueError("must be 32 bytes, base64-encoded (openssl rand -base64 32)")
        return value

    @model_validator(mode="after")
    def _production_needs_real_keys(self) -> Settings:
        if (
            self.environment == "production"
            and self.master_key is None
            and (self.master_key_file is None)
        ):
            raise ValueError(
                "GATEHOUSE_MASTER_KEY or GATEHOUSE_MASTER_KEY_FILE is required in production"
            )
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """The SQLAlchemy URL of the store, with the psycopg 3 driver for PostgreSQL."""
        url = self.database_url or f"sqlite:///{self.data_dir / 'gatehouse.db'}"
        if url.startswith("postgresql://"):
            return "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url

    @property
    def base_url(self) -> str:
        """``GATEHOUSE_PUBLIC_URL``, or ``http://{host}:{port}`` when unset."""
        scheme = "https" if self.ssl_certfile is not None else "http"
        return self.public_url or f"{scheme}://{self.host}:{self.port}"

    @property
    def client_ca(self) -> Path | None:
        """The CAs tls_client_auth certificates must chain to."""
        return self.client_ca_file or self.ssl_ca_certs

    @property
    def default_audience(self) -> str:
        """The ``aud`` of a token requested without ``resource`` or ``audience``."""
        return self.audience or self.base_url

    def issuer(self, customer_id: str) -> str:
        """The issuer identifier of one customer (SPEC §2)."""
        return f"{self.base_url}/customers/{customer_id}"
