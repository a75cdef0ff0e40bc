"""Find the bearer token in a request, framework-free (RFC 6750 §2 and §3.1).

The web adapters hand over the raw pieces (every ``Authorization`` header value, every
``access_token`` query and form value) and get back the one token or a typed error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import parse_qs

from gatehouse.verify.errors import InvalidRequest, InvalidToken, MissingToken

__all__ = ["FORM_CONTENT_TYPE", "extract_bearer", "extract_token", "form_access_tokens"]

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


def form_access_tokens(content_type: str | None, body: bytes) -> list[str]:
    """``access_token`` values of an ``application/x-www-form-urlencoded`` body (RFC 6750 §2.2)."""
    if content_type is None or content_type.split(";")[0].strip().lower() != FORM_CONTENT_TYPE:
        return []
    try:
        fields = parse_qs(body.decode("ascii"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        return []
    return fields.get("access_token", [])


def extract_bearer(
    authorization: Sequence[str],
    *,
    query_tokens: Sequence[str] = (),
    form_tokens: Sequence[str] = (),
    allow_query: bool = False,
    allow_form: bool = False,
) -> str:
    """Return the single bearer token of a request.

    Raises :class:`MissingToken` when there is none (or only another auth scheme, or only a
    method this server does not accept), :class:`InvalidRequest` when it was sent more than once
    or by more than one method, :class:`InvalidToken` when it is not a well-formed b64token.
    """
    # RFC 6750 §3.1: a request that repeats a parameter or uses more than one method for
    # including an access token is an invalid_request (400).
    if len(authorization) > 1:
        raise InvalidRequest("the request has more than one Authorization header")
    if len(authorization) + len(query_tokens) + len(form_tokens) > 1:
        raise InvalidRequest("the access token was sent by more than one method")
    if authorization:
        scheme, _, credentials = authorization[0].strip().partition(" ")
        # RFC 7235 §2.1: the auth-scheme name is case-insensitive.
        if scheme.lower() != "bearer":
            raise MissingToken("a bearer token is required")
        token = credentials.strip(" ")
    elif query_tokens and allow_query:
        # RFC 6750 §2.3: the URI query parameter method, off unless the server opts in.
        token = query_tokens[0]
    elif form_tokens and allow_form:
        # RFC 6750 §2.2: the form-encoded body parameter method, off unless the server opts in.
        token = form_tokens[0]
    else:
        raise MissingToken("a bearer token is required")
    if _B64TOKEN.fullmatch(token) is None:
        raise InvalidToken("invalid_token", "the bearer token is malformed")
    return token


def extract_token(
    authorization: Sequence[str],
    *,
    query_tokens: Sequence[str] = (),
    form_tokens: Sequence[str] = (),
    allow_query: bool = False,
    allow_form: bool = False,
) -> tuple[str, str]:
    """``(scheme, token)`` of a request: ``"DPoP"`` for ``Authorization: DPoP <token>``
    (RFC 9449 §7.1), else ``"Bearer"`` with :func:`extract_bearer`'s rules and errors."""
    if len(authorization) == 1:
        scheme, _, credentials = authorization[0].strip().partition(" ")
        if scheme.lower() == "dpop":
            if query_tokens or form_tokens:
                raise InvalidRequest("the access token was sent by more than one method")
            token = credentials.strip(" ")
            # RFC 9449 §7.1: the DPoP scheme carries the token as a token68, like Bearer.
            if _B64TOKEN.fullmatch(token) is None:
                error = InvalidToken("invalid_token", "the DPoP-bound token is malformed")
                error.scheme = "DPoP"
                raise error
            return "DPoP", token
    token = extract_bearer(
        authorization,
        query_tokens=query_tokens,
        form_tokens=form_tokens,
        allow_query=allow_query,
        allow_form=allow_form,
    )
    return "Bearer", token
