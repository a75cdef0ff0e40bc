"""Application clients: create, change, rotate, revoke, delete — with validation and audit.

The CLI, the v2 API and the console all go through these functions.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from gatehouse import authmethods
from gatehouse.errors import InvalidInput
from gatehouse.masterkey import MasterKey
from gatehouse.oauth.metadata import API_ROLES, CORPUS_ROLES
from gatehouse.oauth.secrets import (
    generate_app_id,
    generate_client_id,
    generate_secret,
    hash_secret,
)
from gatehouse.store.models import AppClientRecord, AuditEvent, CorpusRole
from gatehouse.store.store import Store

CORPUS_KEY = re.compile(r"[a-zA-Z0-9_=-]{1,50}")
MIN_LIFETIME, MAX_LIFETIME = 300, 86400
MAX_GRACE = 7 * 86400
MAX_QUOTA = 100_000_000
CLIENT_TYPE = "client_credentials"


@dataclass(frozen=True)
class Actor:
    """Who acts (for the audit log): an app client id, a console user, or ``cli``."""

    name: str
    source: str | None = None

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


def _event(actor: Actor, record: AppClientRecord, action: str, **detail: Any) -> AuditEvent:
    """The audit row of an action on ``record``; the store writes it with the change."""
    return actor.event(record.customer_id, action, record.id, client_id=record.client_id, **detail)


def create_client(
    store: Store,
    master_key: MasterKey,
    *,
    customer_id: str,
    name: str,
    description: str = "",
    api_roles: Sequence[str] = (),
    corpus_roles: Iterable[dict[str, Any] | CorpusRole] = (),
    lifetime: int = 1800,
    quota: int | None = None,
    keep_secret: bool,
    actor: Actor,
    auth_fields: Mapping[str, Any] | None = None,
    allow_insecure_urls: bool = False,
) -> tuple[AppClientRecord, str | None]:
    """A new enabled client and its secret (the only time the caller gets it unasked); no
    secret for a client that authenticates otherwise (``auth_fields``, docs/secretless.md)."""
    app_id = generate_app_id()
    auth = authmethods.validate_fields(auth_fields or {}, allow_insecure=allow_insecure_urls)
    authmethods.check_consistent(auth)
    with_secret = authmethods.has_secret(
        auth.get("token_endpoint_auth_method", "client_secret_basic")
    )
    secret = generate_secret() if with_secret else None
    now = time.time()
    record = AppClientRecord(
        id=app_id,
        customer_id=customer_id,
        type=CLIENT_TYPE,
        name=validate_name(name),
        description=validate_description(description),
        client_id=generate_client_id(),
        # A secretless client stores an empty hash, which no presented secret's HMAC equals.
        secret_hash=hash_secret(secret, key=master_key.secret_hmac_key) if secret else b"",
        secret_sealed=(
            master_key.seal(secret.encode(), context=app_id) if keep_secret and secret else None
        ),
        previous_secret_hash=None,
        previous_secret_expires_at=None,
        api_roles=validate_api_roles(api_roles),
        corpus_roles=validate_corpus_roles(corpus_roles),
        enabled=True,
        token_lifetime_seconds=validate_lifetime(lifetime),
        token_quota_per_hour=validate_quota(quota),
        tokens_revoked_before=None,
        created_at=now,
        updated_at=now,
        last_used_at=None,
    )
    record = replace(record, **auth)
    store.insert_client(
        record=record,
        audit=_event(actor, record, "app_client.create", api_roles=list(record.api_roles)),
    )
    return record, secret


def update_client(
    store: Store,
    *,
    customer_id: str,
    app_id: str,
    changes: dict[str, Any],
    actor: Actor,
    allow_insecure_urls: bool = False,
) -> AppClientRecord:
    """Apply validated changes to ``description``, roles, ``enabled``, the token lifetime or
    the authentication fields of :mod:`gatehouse.authmethods`."""
    values: dict[str, Any] = {}
    auth_changes = {k: v for k, v in changes.items() if k in authmethods.FIELDS}
    if auth_changes:
        values.update(auth_values(store, customer_id, app_id, auth_changes, allow_insecure_urls))
    for name, value in changes.items():
        if name in authmethods.FIELDS:
            continue
        if name == "description":
            values[name] = validate_description(value)
        elif name == "name":
            values[name] = validate_name(value)
        elif name == "api_roles":
            values[name] = validate_api_roles(value)
        elif name == "corpus_roles":
            values[name] = validate_corpus_roles(value)
        elif name == "enabled":
            values[name] = bool(value)
            if not value:
                # Disabling revokes: tokens issued before stay dead if the client is re-enabled.
                values["tokens_revoked_before"] = time.time()
        elif name == "token_lifetime_seconds":
            values[name] = validate_lifetime(value)
        elif name == "token_quota_per_hour":
            values[name] = validate_quota(value)
        else:
            raise InvalidInput({name: "cannot be changed"})
    return store.update_client(
        customer_id=customer_id,
        app_id=app_id,
        values=values,
        audit=lambda record: _event(actor, record, "app_client.update", fields=sorted(values)),
    )


def auth_values(
    store: Store,
    customer_id: str,
    app_id: str,
    changes: Mapping[str, Any],
    allow_insecure_urls: bool,
) -> dict[str, Any]:
    """Validated column values for a change of authentication fields; leaving the secret method
    drops the secret (a secretless client has none; ``rotate_secret`` gives a new one after
    switching back)."""
    values = authmethods.validate_fields(changes, allow_insecure=allow_insecure_urls)
    # Registering keys one way replaces keys registered the other way.
    if values.get("jwks") is not None and "jwks_uri" not in changes:
        values["jwks_uri"] = None
    if values.get("jwks_uri") is not None and "jwks" not in changes:
        values["jwks"] = None
    current = store.get_client(app_id=app_id, customer_id=customer_id)
    state = {name: getattr(current, name) for name in authmethods.FIELDS} | values
    authmethods.check_consistent(state)
    if not authmethods.has_secret(state["token_endpoint_auth_method"]):
        values |= {
            "secret_hash": b"",
            "secret_sealed": None,
            "previous_secret_hash": None,
            "previous_secret_expires_at": None,
        }
    return values


def delete_client(store: Store, *, customer_id: str, app_id: str, actor: Actor) -> None:
    record = store.get_client(app_id=app_id, customer_id=customer_id)
    store.delete_client(
        customer_id=customer_id, app_id=app_id, audit=_event(actor, record, "app_client.delete")
    )


def rotate_secret(
    store: Store,
    master_key: MasterKey,
    *,
    customer_id: str,
    app_id: str,
    grace_period_seconds: int = 0,
    keep_secret: bool,
    actor: Actor,
) -> tuple[AppClientRecord, str]:
    """A new secret that works at once; the old one works for the grace period, then never."""
    if isinstance(grace_period_seconds, bool) or not 0 <= grace_period_seconds <= MAX_GRACE:
        raise InvalidInput({"grace_period_seconds": f"must be between 0 and {MAX_GRACE}"})
    current = store.get_client(app_id=app_id, customer_id=customer_id)
    if not authmethods.has_secret(current.token_endpoint_auth_method):
        raise InvalidInput(
            {
                "token_endpoint_auth_method": f"a {current.token_endpoint_auth_method} client "
                "has no secret to rotate"
            }
        )
    secret = generate_secret()
    now = time.time()
    values: dict[str, Any] = {
        "secret_hash": hash_secret(secret, key=master_key.secret_hmac_key),
        "secret_sealed": master_key.seal(secret.encode(), context=app_id) if keep_secret else None,
        "previous_secret_hash": (
            current.secret_hash if grace_period_seconds and current.secret_hash else None
        ),
        "previous_secret_expires_at": now + grace_period_seconds if grace_period_seconds else None,
    }
    record = store.update_client(
        customer_id=customer_id,
        app_id=app_id,
        values=values,
        audit=lambda changed: _event(
            actor, changed, "app_client.rotate_secret", grace_period_seconds=grace_period_seconds
        ),
    )
    return record, secret


def revoke_tokens(store: Store, *, customer_id: str, app_id: str, actor: Actor) -> AppClientRecord:
    """Every token issued to the client before now is rejected from now on."""
    return store.update_client(
        customer_id=customer_id,
        app_id=app_id,
        values={"tokens_revoked_before": time.time()},
        audit=lambda record: _event(actor, record, "app_client.revoke_tokens"),
    )


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
