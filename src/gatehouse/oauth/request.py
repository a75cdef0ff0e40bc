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
    path: str = ""  # the request path, for the DPoP htu (RFC 9449 §4.3)
    dpop: str | None = None  # the DPoP proof header (RFC 9449 §4.1)
    duplicate_dpop: bool = False
    client_cert: bytes | None = None  # the TLS client certificate, DER (RFC 8705 §2)
