"""The client credentials grant (RFC 6749 §4.4): grant type, scope narrowing (§3.3) and the
token's audience (RFC 8707 ``resource``, or ``audience`` as Auth0 and Vectara clients send it)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from gatehouse.errors import (
    InvalidRequest,
    InvalidScope,
    InvalidTarget,
    UnsupportedGrantType,
    quoted,
)

GRANT_TYPE = "client_credentials"
# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
_AUDIENCE = re.compile(r"[\x21-\x7e]{1,255}")


def check_grant_type(params: dict[str, str]) -> None:
    grant_type = params.get("grant_type")
    # RFC 6749 §4.4.2: grant_type is required.
    if grant_type is None:
        raise InvalidRequest("grant_type is required")
    # RFC 6749 §5.2: a grant type this server does not support is unsupported_grant_type.
    if grant_type != GRANT_TYPE:
        raise UnsupportedGrantType("only grant_type=client_credentials is supported")


def narrow_scope(requested: str | None, granted: tuple[str, ...]) -> str:
    """The roles to put in the token: all of the client's, or the requested subset."""
    if requested is None:
        return " ".join(granted)
    wanted: list[str] = []
    for item in requested.split(" "):
        if not item:
            continue
        if _SCOPE_TOKEN.fullmatch(item) is None:
            raise InvalidScope("scope holds characters RFC 6749 section 3.3 does not allow")
        # RFC 6749 §5.2: a scope exceeding what the client was granted is invalid_scope.
        if item not in granted:
            scope = quoted(f"scope {item}", "a requested scope")
            raise InvalidScope(f"{scope} is not granted to this client")
        if item not in wanted:
            wanted.append(item)
    return " ".join(wanted)


def choose_audience(params: dict[str, str], default: str) -> str:
    """``resource`` (an absolute URI, RFC 8707 §2) or ``audience``, else the default."""
    resource = params.get("resource")
    audience = params.get("audience")
    if resource is not None and audience is not None:
        raise InvalidRequest("send resource or audience, not both")
    if resource is not None:
        try:
            parts = urlsplit(resource)
        except ValueError:  # e.g. an unclosed IPv6 literal, http://[::1
            raise InvalidTarget("resource must be an absolute URI without a fragment") from None
        # RFC 8707 §2: the resource must be an absolute URI and must not include a fragment.
        if not parts.scheme or not parts.netloc or parts.fragment or "#" in resource:
            raise InvalidTarget("resource must be an absolute URI without a fragment")
        if _AUDIENCE.fullmatch(resource) is None:
            raise InvalidTarget("resource is too long or holds spaces")
        return resource
    if audience is not None:
        if _AUDIENCE.fullmatch(audience) is None:
            raise InvalidTarget("audience must be 1 to 255 printable characters without spaces")
        return audience
    return default
