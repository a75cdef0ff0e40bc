"""How an app client authenticates, and the fields that go with it: validation at registration.

RFC 7591 §2 (``token_endpoint_auth_method``, ``jwks``, ``jwks_uri``), RFC 8705 §2.1.2 (the
``tls_client_auth_*`` subject fields) and RFC 9449 §5.2 / RFC 8705 §3.4 (the two
sender-constraint flags). Only public keys are ever accepted: a JWK with private members, a
symmetric key or an RSA key under 2048 bits is refused (docs/secretless.md).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import orjson
from cryptography import x509

from gatehouse.errors import InvalidInput
from gatehouse.verify.jws import pin_key

SECRET_METHOD = "client_secret_basic"  # noqa: S105 (a method name)
PRIVATE_KEY_JWT = "private_key_jwt"
TLS_METHODS = ("tls_client_auth", "self_signed_tls_client_auth")
AUTH_METHODS = (SECRET_METHOD, PRIVATE_KEY_JWT, *TLS_METHODS)
# Members that only a private or symmetric JWK has (RFC 7518 §6.2.2, §6.3.2, §6.4.1, RFC 8037).
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
MAX_KEYS = 20
MAX_JWKS_BYTES = 64 * 1024
MAX_TEXT = 1000
_DNS_NAME = re.compile(r"(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9-]{1,63}")

# The client fields of this module, as the API, the CLI and the store name them.
TLS_SUBJECT_FIELDS = (
    "tls_client_auth_subject_dn",
    "tls_client_auth_san_dns",
    "tls_client_auth_san_uri",
    "tls_client_auth_san_ip",
    "tls_client_auth_san_email",
)
FLAG_FIELDS = ("dpop_bound_access_tokens", "tls_client_certificate_bound_access_tokens")
FIELDS = ("token_endpoint_auth_method", "jwks", "jwks_uri", *TLS_SUBJECT_FIELDS, *FLAG_FIELDS)


def has_secret(method: str) -> bool:
    """Whether clients of ``method`` hold a client secret (only the secret method does)."""
    return method == SECRET_METHOD


def validate_auth_method(method: object) -> str:
    if method not in AUTH_METHODS:
        raise InvalidInput(
            {"token_endpoint_auth_method": f"must be one of {', '.join(AUTH_METHODS)}"}
        )
    return str(method)


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 §3: the SHA-256 thumbprint of a public JWK's required members, base64url."""
    kty = jwk.get("kty")
    members = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}
    required = members.get(str(kty))
    if required is None:
        raise ValueError("unsupported kty")
    canonical = orjson.dumps({name: jwk[name] for name in required}, option=orjson.OPT_SORT_KEYS)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def validate_jwks(document: object) -> dict[str, Any]:
    """A JWK Set of public signature keys, each with a ``kid`` (its RFC 7638 thumbprint when
    none was given); refuses private members, symmetric keys and RSA under 2048 bits."""

    def bad(reason: str) -> InvalidInput:
        return InvalidInput({"jwks": reason})

    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise bad('must be a JWK Set: {"keys": [...]} (RFC 7517 §5)')
    keys = document["keys"]
    if not 1 <= len(keys) <= MAX_KEYS:
        raise bad(f"must hold 1 to {MAX_KEYS} keys")
    if len(orjson.dumps(document)) > MAX_JWKS_BYTES:
        raise bad(f"must be at most {MAX_JWKS_BYTES} bytes")
    result: list[dict[str, Any]] = []
    kids: set[str] = set()
    for index, jwk in enumerate(keys):
        if not isinstance(jwk, dict):
            raise bad(f"key {index} is not a JSON object")
        if jwk.get("kty") == "oct":
            raise bad(f"key {index} is symmetric (kty oct); register public keys only")
        private = [name for name in _PRIVATE_MEMBERS if name in jwk]
        if private:
            raise bad(f"key {index} holds private key members ({', '.join(private)})")
        key = dict(jwk)
        try:
            if "kid" not in key:
                key["kid"] = jwk_thumbprint(key)
            pin_key(key)
        except (ValueError, KeyError, TypeError) as exc:
            reason = "an RSA key under 2048 bits" if "too small" in str(exc) else str(exc)
            raise bad(f"key {index} is not a usable public signature key: {reason}") from None
        if key["kid"] in kids:
            raise bad(f"key {index} repeats kid {key['kid']}")
        kids.add(key["kid"])
        result.append(key)
    return {"keys": result}


def validate_https_url(url: object, *, field: str, allow_insecure: bool) -> str:
    """An absolute https URL (http only with ``GATEHOUSE_ALLOW_INSECURE_URLS``)."""
    if not isinstance(url, str) or not 1 <= len(url) <= MAX_TEXT or any(c.isspace() for c in url):
        raise InvalidInput({field: f"must be an absolute https URL of at most {MAX_TEXT} chars"})
    parts = urlsplit(url)
    allowed = ("https", "http") if allow_insecure else ("https",)
    if parts.scheme not in allowed or not parts.hostname or parts.fragment:
        hint = "" if allow_insecure else " (http needs GATEHOUSE_ALLOW_INSECURE_URLS=true)"
        raise InvalidInput({field: f"must be an absolute https URL without a fragment{hint}"})
    return url


def validate_subject_field(name: str, value: object) -> str:
    """One RFC 8705 §2.1.2 subject field, checked for its shape."""
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_TEXT:
        raise InvalidInput({name: f"must be 1 to {MAX_TEXT} characters"})
    ok = True
    if name == "tls_client_auth_subject_dn":
        try:
            ok = len(x509.Name.from_rfc4514_string(value).rdns) > 0
        except ValueError:
            ok = False
    elif name == "tls_client_auth_san_dns":
        ok = _DNS_NAME.fullmatch(value) is not None
    elif name == "tls_client_auth_san_uri":
        ok = bool(urlsplit(value).scheme) and not any(c.isspace() for c in value)
    elif name == "tls_client_auth_san_ip":
        try:
            ipaddress.ip_address(value)
        except ValueError:
            ok = False
    elif name == "tls_client_auth_san_email":
        ok = re.fullmatch(r"[^@\s]+@[^@\s]+", value) is not None
    if not ok:
        raise InvalidInput({name: "is not well-formed"})
    return value


def validate_fields(changes: Mapping[str, Any], *, allow_insecure: bool) -> dict[str, Any]:
    """The validated values of the fields of this module present in ``changes`` (None clears
    an optional field)."""
    values: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "token_endpoint_auth_method":
            values[name] = validate_auth_method(value)
        elif value is None and name not in FLAG_FIELDS:
            values[name] = None
        elif name == "jwks":
            values[name] = validate_jwks(value)
        elif name == "jwks_uri":
            values[name] = validate_https_url(value, field=name, allow_insecure=allow_insecure)
        elif name in TLS_SUBJECT_FIELDS:
            values[name] = validate_subject_field(name, value)
        elif name in FLAG_FIELDS:
            if not isinstance(value, bool):
                raise InvalidInput({name: "must be true or false"})
            values[name] = value
    return values


def check_consistent(state: Mapping[str, Any]) -> None:
    """Rules across fields, on the client's state after a change."""
    method = state.get("token_endpoint_auth_method", SECRET_METHOD)
    # RFC 7591 §2: the jwks_uri and jwks parameters MUST NOT both be present.
    if state.get("jwks") is not None and state.get("jwks_uri") is not None:
        raise InvalidInput({"jwks": "send jwks or jwks_uri, not both"})
    subjects = [name for name in TLS_SUBJECT_FIELDS if state.get(name) is not None]
    if method == "tls_client_auth" and len(subjects) != 1:
        raise InvalidInput(
            {
                "token_endpoint_auth_method": "tls_client_auth needs exactly one of "
                + ", ".join(TLS_SUBJECT_FIELDS)
            }
        )
    if method == "self_signed_tls_client_auth":
        jwks = state.get("jwks")
        if jwks is None or not any("x5c" in key for key in jwks["keys"]):
            raise InvalidInput(
                {"jwks": "self_signed_tls_client_auth needs jwks with the certificate as x5c"}
            )
