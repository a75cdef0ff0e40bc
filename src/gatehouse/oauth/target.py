"""The API a token is for: RFC 8707 resource indicators (and ``audience``, as Auth0 and Vectara
clients send it) checked against the customer's registered APIs and the client's grants.

A target is one registered API identifier; the client must hold a grant on it. Identifiers are
compared with scheme and host case-insensitive and the rest exactly (RFC 3986 §6.2.2.1). No
target is the built-in API, whose grant is the client's roles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from gatehouse.errors import InvalidRequest, InvalidTarget
from gatehouse.oauth.directory import ApiEntry, ClientEntry, Directory

_PRINTABLE = re.compile(r"[\x21-\x7e]{1,255}")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")


def match_key(identifier: str) -> str:
    """``identifier`` with scheme and host lower-cased: equal keys name the same API."""
    scheme, sep, rest = identifier.partition(":")
    if not sep:
        return identifier
    if rest.startswith("//"):
        authority_end = len(rest)
        for mark in "/?#":
            found = rest.find(mark, 2)
            if found != -1:
                authority_end = min(authority_end, found)
        return f"{scheme.lower()}:{rest[:authority_end].lower()}{rest[authority_end:]}"
    return f"{scheme.lower()}:{rest}"


def identifier_problem(identifier: str) -> str | None:
    """Why ``identifier`` cannot name an API (None if it can): an absolute URI, no fragment."""
    if _PRINTABLE.fullmatch(identifier) is None:
        return "must be 1 to 255 printable characters without spaces"
    scheme, sep, _rest = identifier.partition(":")
    # RFC 8707 §2: the resource must be an absolute URI and must not include a fragment.
    if not sep or _SCHEME.fullmatch(scheme) is None or "#" in identifier:
        return "must be an absolute URI without a fragment"
    try:
        parts = urlsplit(identifier)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 literal, http://[::1
        return "must be an absolute URI without a fragment"
    if parts.scheme in ("http", "https") and not host:
        return "must name a host"
    return None


@dataclass(frozen=True, slots=True)
class Target:
    """The API of a token: ``api`` None is the built-in API."""

    audience: str
    api: ApiEntry | None


def requested_target(params: dict[str, str]) -> str | None:
    """The ``resource`` or ``audience`` of a request, or None; refuses both together."""
    resource = params.get("resource")
    audience = params.get("audience")
    if resource is not None and audience is not None:
        raise InvalidRequest("send resource or audience, not both")
    if resource is not None:
        # RFC 8707 §2: the resource must be an absolute URI and must not include a fragment.
        problem = identifier_problem(resource)
        if problem is not None:
            raise InvalidTarget(f"resource {problem}")
        return resource
    if audience is not None and _PRINTABLE.fullmatch(audience) is None:
        raise InvalidTarget("audience must be 1 to 255 printable characters without spaces")
    return audience


def resolve_target(
    requested: str, client: ClientEntry, directory: Directory, builtin_key: str, builtin: str
) -> Target:
    """The registered API ``requested`` names, if the client holds a grant on it."""
    key = match_key(requested)
    if key == builtin_key:
        return Target(builtin, None)
    api = directory.find_api(client.customer_id, key)
    # RFC 8707 §2: a resource the server does not know, or the client may not get, is
    # invalid_target.
    if api is None:
        raise InvalidTarget(f"{requested} is not a registered API")
    if api.id not in client.grants:
        raise InvalidTarget(f"this client has no grant on {requested}")
    return Target(api.identifier, api)
