"""Dynamic client registration's use-cases: initial access tokens (create, revoke) and the
RFC 7591 / RFC 7592 operations (register, read, update, delete a registered client).

The registration route and the CLI call these. A write and its audit rows go through one store
verb in one transaction; a write that registered clients see tells the notifier once
(:mod:`gatehouse.services.notify`). The checks and the response shapes are
:mod:`gatehouse.registration`'s.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from typing import Any

from gatehouse import authmethods
from gatehouse.appclients import Actor, reveal_secret, validate_api_roles
from gatehouse.errors import InvalidInput
from gatehouse.oauth.registration import InvalidClientMetadata, InvalidToken, parse_metadata
from gatehouse.registration import (
    DEFAULT_EXPIRY,
    INITIAL_PREFIX,
    MAX_EXPIRY,
    REFUSED,
    REGISTRATION_PREFIX,
    Registrar,
    auth_fields,
    client_document,
    find_registered,
    sent_client_id,
    stored_metadata,
    usable,
)
from gatehouse.services import app_clients
from gatehouse.services.app_clients import ClientChanges
from gatehouse.services.notify import Notifier
from gatehouse.store.registrations import InitialTokenRecord, RegistrationRecord
from gatehouse.store.store import NotFound

# -- initial access tokens ----------------------------------------------------------------------


def create_initial_token(
    ctx: Registrar,
    *,
    customer_id: str,
    roles: Sequence[str] = ("viewer",),
    expires_in: int = DEFAULT_EXPIRY,
    max_uses: int | None = None,
    actor: Actor,
) -> tuple[str, InitialTokenRecord]:
    """A new initial access token (returned once; only its HMAC is stored). Nothing a server
    holds in memory changes, so there is nobody to notify."""
    if isinstance(expires_in, bool) or not 60 <= expires_in <= MAX_EXPIRY:
        raise InvalidInput({"expires": f"must be between 60 and {MAX_EXPIRY} seconds"})
    if max_uses is not None and (isinstance(max_uses, bool) or not 1 <= max_uses <= 1_000_000):
        raise InvalidInput({"max_uses": "must be between 1 and 1000000, or unlimited"})
    now = time.time()
    record = InitialTokenRecord(
        id="iat_" + secrets.token_hex(8),
        customer_id=customer_id,
        roles=validate_api_roles(roles),
        expires_at=now + expires_in,
        max_uses=max_uses,
        uses=0,
        revoked_at=None,
        created_at=now,
    )
    token = INITIAL_PREFIX + secrets.token_urlsafe(32)
    event = actor.event(
        customer_id,
        "registration_token.create",
        record.id,
        roles=list(record.roles),
        max_uses=max_uses,
        expires_at=record.expires_at,
    )
    ctx.registrations.insert_initial_token(record=record, token_hash=ctx.hash(token), audit=event)
    return token, record


def revoke_initial_token(ctx: Registrar, *, customer_id: str, token_id: str, actor: Actor) -> None:
    """Revoke the token (``NotFound`` when it is not the customer's); its clients stay."""
    event = actor.event(customer_id, "registration_token.revoke", token_id)
    ctx.registrations.revoke_initial_token(customer_id=customer_id, token_id=token_id, audit=event)


# -- RFC 7591 / RFC 7592 ------------------------------------------------------------------------


def register_client(
    ctx: Registrar,
    *,
    customer_id: str,
    initial_token: str,
    body: bytes,
    source: str | None,
    notify: Notifier,
) -> dict[str, Any]:
    """RFC 7591 §3: register a client with an initial access token; the 201 document."""
    token_hash = ctx.hash(initial_token)
    now = time.time()
    found = ctx.registrations.find_initial_token(token_hash=token_hash)
    if found is None or found.customer_id != customer_id or not usable(found, now):
        raise InvalidToken(REFUSED)
    metadata = parse_metadata(body, found.roles)
    auth = auth_fields(ctx, metadata)  # checked before the token is used
    used = ctx.registrations.use_initial_token(token_hash=token_hash, now=now)
    if used is None:  # used up or revoked meanwhile
        raise InvalidToken(REFUSED)
    actor = Actor(name=f"registration:{used.id}", source=source)
    record, secret = app_clients.new_client(
        ctx.master_key,
        customer_id=customer_id,
        name=metadata.client_name,
        description=f"Registered with initial access token {used.id}",
        api_roles=metadata.roles,
        lifetime=ctx.settings.token_lifetime,
        keep_secret=ctx.settings.secret_retrieval,
        auth_fields=auth,
        allow_insecure_urls=ctx.settings.allow_insecure_urls,
    )
    access_token = REGISTRATION_PREFIX + secrets.token_urlsafe(32)
    stored = stored_metadata(metadata)
    ctx.registrations.insert_registered_client(
        client=record,
        record=RegistrationRecord(
            app_id=record.id,
            customer_id=customer_id,
            allowed_roles=used.roles,
            metadata=stored,
            initial_token_id=used.id,
            created_at=now,
            updated_at=now,
        ),
        access_token_hash=ctx.hash(access_token),
        audit=(
            app_clients.creation_event(actor, record),
            actor.event(customer_id, "app_client.register", record.id, client_id=record.client_id),
        ),
    )
    notify.changed()
    return client_document(ctx, record, stored, secret=secret, access_token=access_token)


def read_client(
    ctx: Registrar, *, customer_id: str, client_id: str, access_token: str
) -> dict[str, Any]:
    """RFC 7592 §2.1: the client's current registration."""
    client, registration = find_registered(ctx, customer_id, client_id, access_token)
    secret = reveal_secret(ctx.master_key, client)
    return client_document(ctx, client, registration.metadata, secret=secret)


def update_client(
    ctx: Registrar,
    *,
    customer_id: str,
    client_id: str,
    access_token: str,
    body: bytes,
    source: str | None,
    notify: Notifier,
) -> dict[str, Any]:
    """RFC 7592 §2.2: replace the client's metadata (every field; omitted ones reset)."""
    client, registration = find_registered(ctx, customer_id, client_id, access_token)
    metadata = parse_metadata(body, registration.allowed_roles)
    # RFC 7592 §2.2: the request MUST include client_id, equal to the registered one.
    if sent_client_id(body) != client.client_id:
        raise InvalidClientMetadata("client_id must be sent and match the registered client")
    # A client keeps its kind: a secret one stays secret, a private_key_jwt one gets new keys.
    if metadata.has_secret != authmethods.has_secret(client.token_endpoint_auth_method):
        raise InvalidClientMetadata(
            "token_endpoint_auth_method cannot change between a secret and private_key_jwt; "
            "register a new client"
        )
    changes = ClientChanges(
        name=metadata.client_name, api_roles=metadata.roles, auth=auth_fields(ctx, metadata)
    )
    actor = Actor(name=f"registration:{client.client_id}", source=source)
    try:
        updated = app_clients.update_client(
            ctx.store,
            customer_id=customer_id,
            app_id=client.id,
            changes=changes,
            actor=actor,
            notify=notify,
            allow_insecure_urls=ctx.settings.allow_insecure_urls,
        )
    except NotFound:
        raise InvalidToken(REFUSED) from None
    stored = stored_metadata(metadata)
    # The stored metadata is what RFC 7592 §2.1 reads back; no server holds it in memory.
    ctx.registrations.update_registration(app_id=client.id, metadata=stored)
    secret = reveal_secret(ctx.master_key, updated)
    return client_document(ctx, updated, stored, secret=secret)


def delete_client(
    ctx: Registrar,
    *,
    customer_id: str,
    client_id: str,
    access_token: str,
    source: str | None,
    notify: Notifier,
) -> None:
    """RFC 7592 §2.3: deregister; the client and its tokens stop working."""
    client, _registration = find_registered(ctx, customer_id, client_id, access_token)
    actor = Actor(name=f"registration:{client.client_id}", source=source)
    try:
        app_clients.delete_client(
            ctx.store, customer_id=customer_id, app_id=client.id, actor=actor, notify=notify
        )
    except NotFound:
        raise InvalidToken(REFUSED) from None
