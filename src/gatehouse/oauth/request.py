"""A request to one of the authorization server's endpoints, as the web layer received it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class TokenRequest:
    """The parts of an HTTP request the token, revocation and introspection endpoints read."""

    method: str
    body: bytes
    content_type: str | None
    authorization: str | None
    client_addr: str
    path_customer: str | None = None
    json_allowed: bool = False
    duplicate_authorization: bool = False
