"""Application clients: who acts on them (:class:`Actor`), the rules their fields follow, and
their public view. The use-cases that write them are :mod:`gatehouse.services.app_clients`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gatehouse import authmethods
from gatehouse.errors import ApiError, InvalidInput
from gatehouse.masterkey import MasterKey
from gatehouse.oauth.metadata import API_ROLES, CORPUS_ROLES
from gatehouse.store.models import AppClientRecord, AuditEvent, CorpusRole

CORPUS_KEY = re.compile(r"[a-zA-Z0-9_=-]{1,50}")
MIN_LIFETIME, MAX_LIFETIME = 300, 86400
MAX_GRACE = 7 * 86400
MAX_QUOTA = 100_000_000
CLIENT_TYPE = "client_credentials"


OWNER_ONLY = "Only an owner may change an app client that holds the owner role, or grant owner."


def may_change_client(roles: Iterable[str], client_roles: Iterable[str]) -> bool:
    """Only an owner changes, rotates, revokes, deletes (or copies the secret of) a client that
    holds ``owner``: doing so would let an administrator act as owner."""
    return "owner" in roles or "owner" not in client_roles


def may_grant(roles: Iterable[str], granted: Iterable[str]) -> bool:
    """Only an owner grants ``owner``."""
    return "owner" in roles or "owner" not in granted


@dataclass(frozen=True)
class Actor:
    """Who acts (for the audit log): an app client id, a console user, or ``cli``; ``roles``:
    the account roles it acts with (``None``: an operator the rules do not bind, the CLI or
    dynamic registration, whose initial access token bounds what it grants)."""

    name: str
    source: str | None = None
    roles: frozenset[str] | None = None

    def require_may_change(self, client_roles: Iterable[str]) -> None:
        """The services' check of :func:`may_change_client` (the adapters check first, to
        answer in their own words; this holds whatever adapter calls)."""
        if self.roles is not None and not may_change_client(self.roles, client_roles):
            raise ApiError(403, OWNER_ONLY)

    def require_may_grant(self, granted: Iterable[str]) -> None:
        if self.roles is not None and not may_grant(self.roles, granted):
            raise ApiError(403, OWNER_ONLY)

    def event(self, customer_id: str, action: str, target: str, **detail: Any) -> AuditEvent:
        """The audit row of this actor's ``action`` on ``target`` (every admin action's shape)."""
        return AuditEvent(
            customer_id=customer_id,
            at=time.time(),
            actor=self.name,
            action=action,
            target=target,
            source=self.source,
            detail=detail,
        )


def validate_api_roles(roles: Iterable[str]) -> tuple[str, ...]:
    result: dict[str, None] = {}
    for role in roles:
        if role not in API_ROLES:
            raise InvalidInput(
                {"api_roles": f"unknown role {role!r}; one of {', '.join(API_ROLES)}"}
            )
        result[role] = None
    return tuple(result)


def validate_corpus_roles(roles: Iterable[dict[str, Any] | CorpusRole]) -> tuple[CorpusRole, ...]:
    result: dict[CorpusRole, None] = {}  # ordered, and de-duplicated in linear time
    for item in roles:
        role = (
            item
            if isinstance(item, CorpusRole)
            else CorpusRole(
                corpus_key=str(item.get("corpus_key", "")), role=str(item.get("role", ""))
            )
        )
        if CORPUS_KEY.fullmatch(role.corpus_key) is None:
            raise InvalidInput({"corpus_roles": f"bad corpus_key {role.corpus_key!r}"})
        if role.role not in CORPUS_ROLES:
            raise InvalidInput(
                {
                    "corpus_roles": f"unknown corpus role {role.role!r}; "
                    f"one of {', '.join(CORPUS_ROLES)}"
                }
            )
        result[role] = None
    return tuple(result)


def validate_lifetime(seconds: int) -> int:
    if isinstance(seconds, bool) or not MIN_LIFETIME <= seconds <= MAX_LIFETIME:
        raise InvalidInput(
            {"token_lifetime_seconds": f"must be between {MIN_LIFETIME} and {MAX_LIFETIME}"}
        )
    return seconds


def validate_quota(quota: int | None) -> int | None:
    if quota is None:
        return None
    if isinstance(quota, bool) or not 1 <= quota <= MAX_QUOTA:
        raise InvalidInput({"token_quota_per_hour": f"must be between 1 and {MAX_QUOTA}, or none"})
    return quota


def validate_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidInput({"name": "must be 1 to 200 characters"})
    if "\x00" in name:  # PostgreSQL text holds no NUL
        raise InvalidInput({"name": "must not contain NUL characters"})
    return name


def validate_description(description: str) -> str:
    if len(description) > 2000:
        raise InvalidInput({"description": "must be at most 2000 characters"})
    if "\x00" in description:  # PostgreSQL text holds no NUL
        raise InvalidInput({"description": "must not contain NUL characters"})
    return description


def reveal_secret(master_key: MasterKey, record: AppClientRecord) -> str | None:
    """The stored secret for "Copy secret", or None in show-once mode."""
    if record.secret_sealed is None:
        return None
    return master_key.unseal(record.secret_sealed, context=record.id).decode()


def client_view(
    record: AppClientRecord, *, secret: str | None = None, registered: bool = False
) -> dict[str, Any]:
    """The public AppClient shape of the v2 API and the CLI; the secret only when given;
    ``registered``: made through RFC 7591 dynamic registration."""
    view: dict[str, Any] = {
        "id": record.id,
        "type": record.type,
        "name": record.name,
        "description": record.description,
        "client_id": record.client_id,
        "api_roles": list(record.api_roles),
        "corpus_roles": [{"corpus_key": r.corpus_key, "role": r.role} for r in record.corpus_roles],
        "enabled": record.enabled,
        "token_lifetime_seconds": record.token_lifetime_seconds,
        "created_at": iso_time(record.created_at),
        "last_used_at": iso_time(record.last_used_at) if record.last_used_at else None,
        "token_endpoint_auth_method": record.token_endpoint_auth_method,
        "jwks": record.jwks,
        "jwks_uri": record.jwks_uri,
        **{name: getattr(record, name) for name in authmethods.TLS_SUBJECT_FIELDS},
        **{name: getattr(record, name) for name in authmethods.FLAG_FIELDS},
        "registered": registered,
    }
    if secret is not None:
        view["client_secret"] = secret
    return view


def iso_time(seconds: float) -> str:
    """RFC 3339 UTC time with milliseconds, as the Vectara API renders times."""
    from datetime import UTC, datetime

    return (
        datetime.fromtimestamp(seconds, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )
