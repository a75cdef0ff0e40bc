"""Dynamic client registration (RFC 7591) and its management protocol (RFC 7592): the client
metadata a request may carry, checked and normalized, free of any web framework or store.

Gatehouse registers machine clients only: ``grant_types`` is ``["client_credentials"]`` (RFC
7591 §2 default for us), no ``response_types`` and no redirect URIs; ``token_endpoint_auth_method``
is ``client_secret_basic`` (the default), ``client_secret_post``, or ``private_key_jwt`` with the
client's public keys in ``jwks`` or at ``jwks_uri`` (RFC 7591 §2; their contents are checked by
the registration service, as for any app client). ``scope`` is a space-separated subset of
the roles the initial access token allows (default: all of them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from gatehouse.errors import BearerError, OAuthError

SECRET_METHODS = ("client_secret_basic", "client_secret_post")
METHODS = (*SECRET_METHODS, "private_key_jwt")
GRANT_TYPES = ("client_credentials",)
MAX_BODY = 16 * 1024
# Informational RFC 7591 §2 members kept and echoed back as given (strings).
_ECHOED = ("client_uri", "logo_uri", "tos_uri", "policy_uri", "software_id", "software_version")


class InvalidClientMetadata(OAuthError):
    """RFC 7591 §3.2.2: the value of one of the client metadata fields is invalid."""

    error = "invalid_client_metadata"


class InvalidToken(BearerError):
    """RFC 6750 §3.1: a missing or bad initial or registration access token."""


@dataclass(frozen=True, slots=True)
class ClientMetadata:
    """What a registration request asks for, checked."""

    client_name: str
    token_endpoint_auth_method: str
    roles: tuple[str, ...]
    extra: dict[str, Any]
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None

    @property
    def has_secret(self) -> bool:
        return self.token_endpoint_auth_method in SECRET_METHODS

    def document(self) -> dict[str, Any]:
        """The registered metadata as RFC 7591 §3.2.1 returns it."""
        return {
            "client_name": self.client_name,
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "grant_types": list(GRANT_TYPES),
            "response_types": [],
            "scope": " ".join(self.roles),
            **({"jwks": self.jwks} if self.jwks is not None else {}),
            **({"jwks_uri": self.jwks_uri} if self.jwks_uri is not None else {}),
            **self.extra,
        }


def parse_metadata(body: bytes, allowed_roles: tuple[str, ...]) -> ClientMetadata:
    """Check a registration (or RFC 7592 §2.2 update) body against what may be granted."""
    if len(body) > MAX_BODY:
        raise InvalidClientMetadata(f"the request body is larger than {MAX_BODY} bytes")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidClientMetadata("the request body is not a JSON object") from None
    # RFC 7591 §3.1: the client metadata is a JSON object.
    if not isinstance(document, dict):
        raise InvalidClientMetadata("the request body is not a JSON object")
    name = document.get("client_name", "registered client")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 200:
        raise InvalidClientMetadata("client_name must be 1 to 200 characters")
    if "\x00" in name:  # an app client's name holds no NUL (PostgreSQL text cannot)
        raise InvalidClientMetadata("client_name must not contain NUL characters")
    method = document.get("token_endpoint_auth_method", "client_secret_basic")
    if method not in METHODS:
        raise InvalidClientMetadata(
            "token_endpoint_auth_method must be client_secret_basic, client_secret_post or "
            "private_key_jwt"
        )
    jwks, jwks_uri = document.get("jwks"), document.get("jwks_uri")
    if method in SECRET_METHODS and (jwks is not None or jwks_uri is not None):
        raise InvalidClientMetadata("jwks and jwks_uri are for private_key_jwt clients")
    # RFC 7591 §2: jwks_uri and jwks MUST NOT both be present.
    if jwks is not None and jwks_uri is not None:
        raise InvalidClientMetadata("send jwks or jwks_uri, not both")
    if method == "private_key_jwt" and jwks is None and jwks_uri is None:
        raise InvalidClientMetadata("private_key_jwt needs the client's keys: jwks or jwks_uri")
    if jwks is not None and not isinstance(jwks, dict):
        raise InvalidClientMetadata("jwks must be a JWK Set object")
    if jwks_uri is not None and (not isinstance(jwks_uri, str) or len(jwks_uri) > 1000):
        raise InvalidClientMetadata("jwks_uri must be a URL of at most 1000 characters")
    grant_types = document.get("grant_types", list(GRANT_TYPES))
    if grant_types != list(GRANT_TYPES):
        raise InvalidClientMetadata("grant_types must be exactly client_credentials")
    response_types = document.get("response_types", [])
    if response_types != []:
        raise InvalidClientMetadata("response_types must be empty: no authorization endpoint")
    if document.get("redirect_uris") not in (None, []):
        # RFC 7591 §3.2.2: invalid_redirect_uri for redirect URIs a server cannot take.
        raise InvalidRedirectUri("redirect_uris must be empty: no authorization endpoint")
    scope = document.get("scope")
    if scope is None:
        roles = allowed_roles
    elif not isinstance(scope, str):
        raise InvalidClientMetadata("scope must be a space-separated string")
    else:
        roles = tuple(dict.fromkeys(s for s in scope.split(" ") if s))
        outside = [r for r in roles if r not in allowed_roles]
        if outside:
            raise InvalidClientMetadata(
                f"scope {outside[0]} is not allowed by the initial access token"
            )
    extra: dict[str, Any] = {}
    for member in _ECHOED:
        value = document.get(member)
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > 500:
            raise InvalidClientMetadata(f"{member} must be a string of at most 500 characters")
        extra[member] = value
    contacts = document.get("contacts")
    if contacts is not None:
        if (
            not isinstance(contacts, list)
            or not all(isinstance(c, str) and len(c) <= 320 for c in contacts[:20])
            or len(contacts) > 20
        ):
            raise InvalidClientMetadata("contacts must be at most 20 strings")
        extra["contacts"] = contacts
    return ClientMetadata(name.strip(), method, roles, extra, jwks, jwks_uri)


class InvalidRedirectUri(OAuthError):
    """RFC 7591 §3.2.2: a redirect URI is invalid."""

    error = "invalid_redirect_uri"


def bearer_token(authorization: list[str]) -> str:
    """The token of a single ``Authorization: Bearer`` header, or :class:`InvalidToken`."""
    if len(authorization) != 1 or authorization[0][:7].lower() != "bearer ":
        raise InvalidToken("an initial or registration access token is required")
    token = authorization[0][7:].strip()
    if not token or len(token) > 200:
        raise InvalidToken("the access token is malformed")
    return token
