"""App clients: create, change, enable or disable, set corpus roles, rotate the secret, revoke
the tokens, delete.

The v2 API, the console, the CLI, dynamic registration and the corpus and grant services all
call these, so each use-case exists once: it validates (:mod:`gatehouse.appclients`,
:mod:`gatehouse.authmethods`), authorizes (an actor with roles changes an owner client or
grants ``owner`` only as an owner), writes the change and its audit row through one store verb
in one transaction, and then tells the notifier (:mod:`gatehouse.services.notify`) once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from gatehouse import authmethods
from gatehouse.appclients import (
    CLIENT_TYPE,
    MAX_GRACE,
    Actor,
    validate_api_roles,
    validate_corpus_roles,
    validate_description,
    validate_lifetime,
    validate_name,
    validate_quota,
)
from gatehouse.errors import InvalidInput
from gatehouse.masterkey import MasterKey
from gatehouse.oauth.secrets import (
    generate_app_id,
    generate_client_id,
    generate_secret,
    hash_secret,
)
from gatehouse.services.notify import Notifier
from gatehouse.store.models import (
    KEEP,
    AppClientRecord,
    AuditEvent,
    ClientColumns,
    CorpusRole,
    Kept,
)
from gatehouse.store.store import Store


@dataclass(frozen=True, slots=True)
class ClientChanges:
    """What an update changes; ``None`` (``KEEP`` for the quota, where ``None`` means no
    limit) leaves a field as it is. ``auth`` holds the authentication fields of
    :mod:`gatehouse.authmethods` that change (a name absent is unchanged)."""

    name: str | None = None
    description: str | None = None
    api_roles: Sequence[str] | None = None
    corpus_roles: Sequence[CorpusRole] | None = None
    enabled: bool | None = None
    token_lifetime_seconds: int | None = None
    token_quota_per_hour: int | Kept | None = KEEP
    auth: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.auth) - set(authmethods.FIELDS)
        if unknown:
            raise InvalidInput({sorted(unknown)[0]: "cannot be changed"})

    def empty(self) -> bool:
        return self == ClientChanges()


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
    notify: Notifier,
    auth_fields: Mapping[str, Any] | None = None,
    allow_insecure_urls: bool = False,
) -> tuple[AppClientRecord, str | None]:
    """A new enabled client and its secret (the only time the caller gets it unasked); no
    secret for a client that authenticates otherwise (``auth_fields``, docs/secretless.md)."""
    actor.require_may_grant(api_roles)
    record, secret = new_client(
        master_key,
        customer_id=customer_id,
        name=name,
        description=description,
        api_roles=api_roles,
        corpus_roles=corpus_roles,
        lifetime=lifetime,
        quota=quota,
        keep_secret=keep_secret,
        auth_fields=auth_fields,
        allow_insecure_urls=allow_insecure_urls,
    )
    store.insert_client(record=record, audit=creation_event(actor, record))
    notify.changed()
    return record, secret


def new_client(
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
    auth_fields: Mapping[str, Any] | None = None,
    allow_insecure_urls: bool = False,
) -> tuple[AppClientRecord, str | None]:
    """The validated record of a new client and its secret, not yet written (a use-case that
    writes more in the same transaction, as registration does, writes it)."""
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
    return replace(record, **auth), secret


def creation_event(actor: Actor, record: AppClientRecord) -> AuditEvent:
    return _event(actor, record, "app_client.create", api_roles=list(record.api_roles))


def update_client(
    store: Store,
    *,
    customer_id: str,
    app_id: str,
    changes: ClientChanges,
    actor: Actor,
    notify: Notifier,
    allow_insecure_urls: bool = False,
) -> AppClientRecord:
    """Apply validated ``changes``; disabling also revokes the tokens issued so far.
    ``NotFound`` when the client is not the customer's."""
    authorize(store, customer_id, app_id, actor)
    if changes.api_roles is not None:
        actor.require_may_grant(changes.api_roles)
    columns = _columns(store, customer_id, app_id, changes, allow_insecure_urls)
    return _write(store, customer_id, app_id, columns, actor, notify)


def set_enabled(
    store: Store,
    *,
    customer_id: str,
    app_id: str,
    enabled: bool,
    actor: Actor,
    notify: Notifier,
) -> AppClientRecord:
    """Enable or disable; tokens issued before a disable stay dead once it is enabled again."""
    changes = ClientChanges(enabled=enabled)
    return update_client(
        store, customer_id=customer_id, app_id=app_id, changes=changes, actor=actor, notify=notify
    )


def set_corpus_roles(
    store: Store,
    *,
    customer_id: str,
    app_id: str,
    roles: Sequence[CorpusRole],
    actor: Actor,
    notify: Notifier,
) -> AppClientRecord:
    """Replace the client's corpus roles (the corpus service grants and takes them away)."""
    changes = ClientChanges(corpus_roles=roles)
    return update_client(
        store, customer_id=customer_id, app_id=app_id, changes=changes, actor=actor, notify=notify
    )


def authorize(store: Store, customer_id: str, app_id: str, actor: Actor) -> None:
    """The actor may change this client (an actor with roles: one more read of the client)."""
    if actor.roles is not None:
        actor.require_may_change(store.get_client(app_id=app_id, customer_id=customer_id).api_roles)


def _write(
    store: Store,
    customer_id: str,
    app_id: str,
    columns: ClientColumns,
    actor: Actor,
    notify: Notifier,
) -> AppClientRecord:
    changed = sorted(columns.values())
    record = store.update_client(
        customer_id=customer_id,
        app_id=app_id,
        changes=columns,
        audit=lambda record: _event(actor, record, "app_client.update", fields=changed),
    )
    notify.changed()
    return record


def _columns(
    store: Store,
    customer_id: str,
    app_id: str,
    changes: ClientChanges,
    allow_insecure_urls: bool,
) -> ClientColumns:
    values: dict[str, Any] = {}
    if changes.auth:
        values |= auth_values(store, customer_id, app_id, changes.auth, allow_insecure_urls)
    if changes.description is not None:
        values["description"] = validate_description(changes.description)
    if changes.name is not None:
        values["name"] = validate_name(changes.name)
    if changes.api_roles is not None:
        values["api_roles"] = validate_api_roles(changes.api_roles)
    if changes.corpus_roles is not None:
        values["corpus_roles"] = validate_corpus_roles(changes.corpus_roles)
    if changes.enabled is not None:
        values["enabled"] = changes.enabled
        if not changes.enabled:
            # Disabling revokes: tokens issued before stay dead if the client is re-enabled.
            values["tokens_revoked_before"] = time.time()
    if changes.token_lifetime_seconds is not None:
        values["token_lifetime_seconds"] = validate_lifetime(changes.token_lifetime_seconds)
    if changes.token_quota_per_hour is not KEEP:
        values["token_quota_per_hour"] = validate_quota(changes.token_quota_per_hour)
    return ClientColumns.of(values)


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


def delete_client(
    store: Store, *, customer_id: str, app_id: str, actor: Actor, notify: Notifier
) -> None:
    """Delete the client; its tokens stop working. ``NotFound`` when it is not the customer's."""
    record = store.get_client(app_id=app_id, customer_id=customer_id)
    actor.require_may_change(record.api_roles)
    store.delete_client(
        customer_id=customer_id, app_id=app_id, audit=_event(actor, record, "app_client.delete")
    )
    notify.changed()


def rotate_secret(
    store: Store,
    master_key: MasterKey,
    *,
    customer_id: str,
    app_id: str,
    grace_period_seconds: int = 0,
    keep_secret: bool,
    actor: Actor,
    notify: Notifier,
) -> tuple[AppClientRecord, str]:
    """A new secret that works at once; the old one works for the grace period, then never."""
    if isinstance(grace_period_seconds, bool) or not 0 <= grace_period_seconds <= MAX_GRACE:
        raise InvalidInput({"grace_period_seconds": f"must be between 0 and {MAX_GRACE}"})
    current = store.get_client(app_id=app_id, customer_id=customer_id)
    actor.require_may_change(current.api_roles)
    if not authmethods.has_secret(current.token_endpoint_auth_method):
        raise InvalidInput(
            {
                "token_endpoint_auth_method": f"a {current.token_endpoint_auth_method} client "
                "has no secret to rotate"
            }
        )
    secret = generate_secret()
    now = time.time()
    columns = ClientColumns(
        secret_hash=hash_secret(secret, key=master_key.secret_hmac_key),
        secret_sealed=master_key.seal(secret.encode(), context=app_id) if keep_secret else None,
        previous_secret_hash=(
            current.secret_hash if grace_period_seconds and current.secret_hash else None
        ),
        previous_secret_expires_at=now + grace_period_seconds if grace_period_seconds else None,
    )
    record = store.update_client(
        customer_id=customer_id,
        app_id=app_id,
        changes=columns,
        audit=lambda changed: _event(
            actor, changed, "app_client.rotate_secret", grace_period_seconds=grace_period_seconds
        ),
    )
    notify.changed()
    return record, secret


def revoke_tokens(
    store: Store, *, customer_id: str, app_id: str, actor: Actor, notify: Notifier
) -> AppClientRecord:
    """Every token issued to the client before now is rejected from now on."""
    authorize(store, customer_id, app_id, actor)
    record = store.update_client(
        customer_id=customer_id,
        app_id=app_id,
        changes=ClientColumns(tokens_revoked_before=time.time()),
        audit=lambda record: _event(actor, record, "app_client.revoke_tokens"),
    )
    notify.changed()
    return record
