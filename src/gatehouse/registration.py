"""Dynamic client registration: initial access tokens (create, list, revoke) and the RFC 7591 /
RFC 7592 operations, with validation and audit. Registered clients are ordinary app clients
(created, changed and deleted through :mod:`gatehouse.appclients`), marked by a registration
row that holds the HMAC of their registration access token.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from gatehouse import appclients, authmethods
from gatehouse.appclients import Actor
from gatehouse.errors import InvalidInput
from gatehouse.masterkey import MasterKey
from gatehouse.oauth.registration import (
    ClientMetadata,
    InvalidClientMetadata,
    InvalidToken,
    parse_metadata,
)
from gatehouse.oauth.secrets import hash_secret
from gatehouse.settings import Settings
from gatehouse.store.models import AppClientRecord
from gatehouse.store.registrations import (
    InitialTokenRecord,
    RegistrationRecord,
    RegistrationStore,
)
from gatehouse.store.store import NotFound, Store

INITIAL_PREFIX = "ghi_"
REGISTRATION_PREFIX = "ghr_"
DEFAULT_EXPIRY = 7 * 86400
MAX_EXPIRY = 365 * 86400
REFUSED = "the access token is invalid, expired, used up or revoked"


@dataclass(frozen=True)
class Registrar:
    store: Store
    registrations: RegistrationStore
    master_key: MasterKey
    settings: Settings

    @classmethod
    def of(cls, store: Store, master_key: MasterKey, settings: Settings) -> Registrar:
        return cls(store, RegistrationStore(store.engine), master_key, settings)

    def hash(self, token: str) -> bytes:
        return hash_secret(token, key=self.master_key.secret_hmac_key)


def _audit(
    ctx: Registrar, customer_id: str, actor: Actor, action: str, target: str, **detail: Any
) -> None:
    ctx.store.append_audit(events=[actor.event(customer_id, action, target, **detail)])


# -- initial access tokens ----------------------------------------------------------------------


def initial_token_view(record: InitialTokenRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "expires_at": appclients.iso_time(record.expires_at),
        "max_uses": record.max_uses,
        "uses": record.uses,
        "roles": list(record.roles),
        "revoked": record.revoked_at is not None,
        "created_at": appclients.iso_time(record.created_at),
    }


def create_initial_token(
    ctx: Registrar,
    *,
    customer_id: str,
    roles: Sequence[str] = ("viewer",),
    expires_in: int = DEFAULT_EXPIRY,
    max_uses: int | None = None,
    actor: Actor,
) -> tuple[str, InitialTokenRecord]:
    """A new initial access token (returned once; only its HMAC is stored)."""
    if isinstance(expires_in, bool) or not 60 <= expires_in <= MAX_EXPIRY:
        raise InvalidInput({"expires": f"must be between 60 and {MAX_EXPIRY} seconds"})
    if max_uses is not None and (isinstance(max_uses, bool) or not 1 <= max_uses <= 1_000_000):
        raise InvalidInput({"max_uses": "must be between 1 and 1000000, or unlimited"})
    now = time.time()
    record = InitialTokenRecord(
        id="iat_" + secrets.token_hex(8),
        customer_id=customer_id,
        roles=appclients.validate_api_roles(roles),
        expires_at=now + expires_in,
        max_uses=max_uses,
        uses=0,
        revoked_at=None,
        created_at=now,
    )
    token = INITIAL_PREFIX + secrets.token_urlsafe(32)
    ctx.registrations.insert_initial_token(record=record, token_hash=ctx.hash(token))
    _audit(
        ctx,
        customer_id,
        actor,
        "registration_token.create",
        record.id,
        roles=list(record.roles),
        max_uses=max_uses,
        expires_at=record.expires_at,
    )
    return token, record


def revoke_initial_token(ctx: Registrar, *, customer_id: str, token_id: str, actor: Actor) -> None:
    ctx.registrations.revoke_initial_token(customer_id=customer_id, token_id=token_id)
    _audit(ctx, customer_id, actor, "registration_token.revoke", token_id)


# -- RFC 7591 / RFC 7592 ------------------------------------------------------------------------


def registration_uri(ctx: Registrar, customer_id: str, client_id: str) -> str:
    return f"{ctx.settings.issuer(customer_id)}/oauth2/register/{client_id}"


def _document(
    ctx: Registrar,
    client: AppClientRecord,
    metadata: dict[str, Any],
    *,
    secret: str | None,
    access_token: str | None = None,
) -> dict[str, Any]:
    """RFC 7591 §3.2.1 / RFC 7592 §3: the client information response."""
    document: dict[str, Any] = {
        "client_id": client.client_id,
        "client_id_issued_at": int(client.created_at),
        **metadata,
        "scope": " ".join(client.api_roles),
        "client_name": client.name,
        "registration_client_uri": registration_uri(ctx, client.customer_id, client.client_id),
    }
    if secret is not None:
        # RFC 7591 §3.2.1: client_secret_expires_at is REQUIRED with a secret; 0: never.
        document["client_secret"] = secret
        document["client_secret_expires_at"] = 0
    if access_token is not None:
        document["registration_access_token"] = access_token
    return document


def register_client(
    ctx: Registrar, *, customer_id: str, initial_token: str, body: bytes, source: str | None
) -> dict[str, Any]:
    """RFC 7591 §3: register a client with an initial access token; the 201 document."""
    token_hash = ctx.hash(initial_token)
    now = time.time()
    found = ctx.registrations.find_initial_token(token_hash=token_hash)
    if found is None or found.customer_id != customer_id or not _usable(found, now):
        raise InvalidToken(REFUSED)
    metadata = parse_metadata(body, found.roles)
    auth = _auth_fields(ctx, metadata)  # checked before the token is used
    used = ctx.registrations.use_initial_token(token_hash=token_hash, now=now)
    if used is None:  # used up or revoked meanwhile
        raise InvalidToken(REFUSED)
    actor = Actor(name=f"registration:{used.id}", source=source)
    record, secret = appclients.create_client(
        ctx.store,
        ctx.master_key,
        customer_id=customer_id,
        name=metadata.client_name,
        description=f"Registered with initial access token {used.id}",
        api_roles=metadata.roles,
        lifetime=ctx.settings.token_lifetime,
        keep_secret=ctx.settings.secret_retrieval,
        actor=actor,
        auth_fields=auth,
        allow_insecure_urls=ctx.settings.allow_insecure_urls,
    )
    access_token = REGISTRATION_PREFIX + secrets.token_urlsafe(32)
    stored = _stored_metadata(metadata)
    ctx.registrations.insert_registration(
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
    )
    _audit(ctx, customer_id, actor, "app_client.register", record.id, client_id=record.client_id)
    return _document(ctx, record, stored, secret=secret, access_token=access_token)


def _auth_fields(ctx: Registrar, metadata: ClientMetadata) -> dict[str, Any]:
    """The app client's authentication fields for ``metadata``; keys that no app client may
    register (private members, symmetric or short keys, an http URL) are
    invalid_client_metadata (RFC 7591 §3.2.2)."""
    if metadata.has_secret:
        return {}
    fields = {
        "token_endpoint_auth_method": metadata.token_endpoint_auth_method,
        "jwks": metadata.jwks,
        "jwks_uri": metadata.jwks_uri,
    }
    try:
        checked = authmethods.validate_fields(
            fields, allow_insecure=ctx.settings.allow_insecure_urls
        )
        authmethods.check_consistent(checked)
    except InvalidInput as exc:
        raise InvalidClientMetadata(next(iter(exc.field_errors.values()))) from None
    return checked


def _usable(record: InitialTokenRecord, now: float) -> bool:
    return (
        record.revoked_at is None
        and record.expires_at > now
        and (record.max_uses is None or record.uses < record.max_uses)
    )


def _stored_metadata(metadata: ClientMetadata) -> dict[str, Any]:
    document = metadata.document()
    document.pop("scope")
    document.pop("client_name")
    return document


def _registered(
    ctx: Registrar, customer_id: str, client_id: str, access_token: str
) -> tuple[AppClientRecord, RegistrationRecord]:
    # RFC 7592 §2.1: an unknown client or a bad token both answer 401 invalid_token.
    client = ctx.store.find_client(client_id=client_id)
    if client is None or client.customer_id != customer_id:
        raise InvalidToken(REFUSED)
    registration = ctx.registrations.find_registration(
        app_id=client.id, access_token_hash=ctx.hash(access_token)
    )
    if registration is None:
        raise InvalidToken(REFUSED)
    return client, registration


def read_client(
    ctx: Registrar, *, customer_id: str, client_id: str, access_token: str
) -> dict[str, Any]:
    """RFC 7592 §2.1: the client's current registration."""
    client, registration = _registered(ctx, customer_id, client_id, access_token)
    secret = appclients.reveal_secret(ctx.master_key, client)
    return _document(ctx, client, registration.metadata, secret=secret)


def update_client(
    ctx: Registrar,
    *,
    customer_id: str,
    client_id: str,
    access_token: str,
    body: bytes,
    source: str | None,
) -> dict[str, Any]:
    """RFC 7592 §2.2: replace the client's metadata (every field; omitted ones reset)."""
    client, registration = _registered(ctx, customer_id, client_id, access_token)
    metadata = parse_metadata(body, registration.allowed_roles)
    sent = _sent_client_id(body)
    # RFC 7592 §2.2: the request MUST include client_id, equal to the registered one.
    if sent != client.client_id:
        raise InvalidClientMetadata("client_id must be sent and match the registered client")
    # A client keeps its kind: a secret one stays secret, a private_key_jwt one gets new keys.
    if metadata.has_secret != authmethods.has_secret(client.token_endpoint_auth_method):
        raise InvalidClientMetadata(
            "token_endpoint_auth_method cannot change between a secret and private_key_jwt; "
            "register a new client"
        )
    changes: dict[str, Any] = {"name": metadata.client_name, "api_roles": metadata.roles}
    changes |= _auth_fields(ctx, metadata)
    actor = Actor(name=f"registration:{client.client_id}", source=source)
    try:
        updated = appclients.update_client(
            ctx.store,
            customer_id=customer_id,
            app_id=client.id,
            changes=changes,
            actor=actor,
            allow_insecure_urls=ctx.settings.allow_insecure_urls,
        )
    except NotFound:
        raise InvalidToken(REFUSED) from None
    stored = _stored_metadata(metadata)
    ctx.registrations.update_registration(app_id=client.id, metadata=stored)
    secret = appclients.reveal_secret(ctx.master_key, updated)
    return _document(ctx, updated, stored, secret=secret)


def _sent_client_id(body: bytes) -> object:
    document = orjson.loads(body)
    return document.get("client_id") if isinstance(document, dict) else None


def delete_client(
    ctx: Registrar, *, customer_id: str, client_id: str, access_token: str, source: str | None
) -> None:
    """RFC 7592 §2.3: deregister; the client and its tokens stop working."""
    client, _registration = _registered(ctx, customer_id, client_id, access_token)
    actor = Actor(name=f"registration:{client.client_id}", source=source)
    try:
        appclients.delete_client(ctx.store, customer_id=customer_id, app_id=client.id, actor=actor)
    except NotFound:
        raise InvalidToken(REFUSED) from None
