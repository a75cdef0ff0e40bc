"""A request to one of the authorization server's endpoints, as the web layer received it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class TokenRequest:
    """The parts of an HTTP request the token, revocation, introspection and revocation feed
    endpoints read."""

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
    query: str = ""  # the query string (the revocation feed's cursor)


def request_from(
    method: str,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    client_addr: str,
    path_customer: str | None,
    json_allowed: bool,
    path: str = "",
) -> TokenRequest:
    """The core's request from raw ASGI-style headers (lower-case names), as both the ASGI
    routes and the fast lane receive them."""
    content_type: str | None = None
    authorization: str | None = None
    duplicate = False
    dpop: str | None = None
    duplicate_dpop = False
    for name, value in headers:
        if name == b"content-type":
            content_type = value.decode("latin-1")
        elif name == b"authorization":
            duplicate = authorization is not None
            authorization = value.decode("latin-1")
        elif name == b"dpop":
            duplicate_dpop = dpop is not None
            dpop = value.decode("latin-1")
    return TokenRequest(
        method=method,
        body=body,
        content_type=content_type,
        authorization=authorization,
        client_addr=client_addr,
        path_customer=path_customer,
        json_allowed=json_allowed,
        duplicate_authorization=duplicate,
        path=path,
        dpop=dpop,
        duplicate_dpop=duplicate_dpop,
    )
