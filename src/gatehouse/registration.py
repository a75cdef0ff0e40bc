"""Dynamic client registration (RFC 7591 / RFC 7592): what its use-cases share — the
:class:`Registrar` context, the checks of a registration request, and the client information
response. Registered clients are ordinary app clients, marked by a registration row that holds
the HMAC of their registration access token. The use-cases themselves (initial access tokens,
register, read, update, delete) are :mod:`gatehouse.services.registration`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from gatehouse import appclients, authmethods
from gatehouse.errors import InvalidInput
from gatehouse.masterkey import MasterKey
from gatehouse.oauth.registration import (
    ClientMetadata,
    InvalidClientMetadata,
    InvalidToken,
)
from gatehouse.oauth.secrets import hash_secret
from gatehouse.settings import Settings
from gatehouse.store.models import AppClientRecord
from gatehouse.store.registrations import (
    InitialTokenRecord,
    RegistrationRecord,
    RegistrationStore,
)
from gatehouse.store.store import Store

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


# -- RFC 7591 / RFC 7592 ------------------------------------------------------------------------


def registration_uri(ctx: Registrar, customer_id: str, client_id: str) -> str:
    return f"{ctx.settings.issuer(customer_id)}/oauth2/register/{client_id}"


def client_document(
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


def auth_fields(ctx: Registrar, metadata: ClientMetadata) -> dict[str, Any]:
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


def usable(record: InitialTokenRecord, now: float) -> bool:
    return (
        record.revoked_at is None
        and record.expires_at > now
        and (record.max_uses is None or record.uses < record.max_uses)
    )


def stored_metadata(metadata: ClientMetadata) -> dict[str, Any]:
    document = metadata.document()
    document.pop("scope")
    document.pop("client_name")
    return document


def find_registered(
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


def sent_client_id(body: bytes) -> object:
    document = orjson.loads(body)
    return document.get("client_id") if isinstance(document, dict) else None
