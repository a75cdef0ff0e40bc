"""The client-authentication flags of ``gatehouse clients create`` and ``clients update``
(``--auth-method``, ``--jwks FILE``, ``--jwks-uri``, the TLS subject and the binding flags)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from gatehouse.authmethods import AUTH_METHODS
from gatehouse.cli.common import fail

AuthMethodOpt = Annotated[
    str | None,
    typer.Option("--auth-method", help=f"Token endpoint auth method: {', '.join(AUTH_METHODS)}."),
]
JwksOpt = Annotated[
    Path | None, typer.Option("--jwks", help="File holding the client's public JWK Set.")
]
JwksUriOpt = Annotated[
    str | None, typer.Option("--jwks-uri", help="https URL of the client's public JWK Set.")
]
TlsSubjectDnOpt = Annotated[
    str | None, typer.Option("--tls-subject-dn", help="tls_client_auth: subject DN (RFC 4514).")
]
TlsSanDnsOpt = Annotated[
    str | None, typer.Option("--tls-san-dns", help="tls_client_auth: SAN dNSName.")
]
TlsSanUriOpt = Annotated[
    str | None, typer.Option("--tls-san-uri", help="tls_client_auth: SAN URI.")
]
TlsSanIpOpt = Annotated[
    str | None, typer.Option("--tls-san-ip", help="tls_client_auth: SAN IP address.")
]
TlsSanEmailOpt = Annotated[
    str | None, typer.Option("--tls-san-email", help="tls_client_auth: SAN rfc822Name.")
]
DpopBoundOpt = Annotated[
    bool | None,
    typer.Option("--dpop-bound/--no-dpop-bound", help="Tokens only with a DPoP proof."),
]
CertBoundOpt = Annotated[
    bool | None,
    typer.Option("--cert-bound/--no-cert-bound", help="Tokens bound to the TLS certificate."),
]


def read_jwks(path: Path) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}", 2)
    except orjson.JSONDecodeError:
        fail(f"{path} is not JSON (a JWK Set is expected)", 2)


def auth_changes(
    *,
    auth_method: str | None,
    jwks: Path | None,
    jwks_uri: str | None,
    tls_subject_dn: str | None,
    tls_san_dns: str | None,
    tls_san_uri: str | None,
    tls_san_ip: str | None,
    tls_san_email: str | None,
    dpop_bound: bool | None,
    cert_bound: bool | None,
) -> dict[str, Any]:
    """The fields the flags set (a flag not given changes nothing)."""
    given: dict[str, Any] = {
        "token_endpoint_auth_method": auth_method,
        "jwks": read_jwks(jwks) if jwks is not None else None,
        "jwks_uri": jwks_uri,
        "tls_client_auth_subject_dn": tls_subject_dn,
        "tls_client_auth_san_dns": tls_san_dns,
        "tls_client_auth_san_uri": tls_san_uri,
        "tls_client_auth_san_ip": tls_san_ip,
        "tls_client_auth_san_email": tls_san_email,
        "dpop_bound_access_tokens": dpop_bound,
        "tls_client_certificate_bound_access_tokens": cert_bound,
    }
    return {name: value for name, value in given.items() if value is not None}
