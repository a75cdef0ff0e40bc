"""Errors: one class per RFC 6749 §5.2 error code, and ApiError for the v2 API.

An ``OAuthError`` knows its own status and headers, so every web adapter renders it the same way.
"""

from __future__ import annotations

import re
from typing import ClassVar

import orjson

# RFC 6749 §5.2: error_description must not include characters outside %x20-21 / %x23-5B /
# %x5D-7E (no quote, no backslash, no control or non-ASCII character).
_NOT_DESCRIPTION = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")
# What a description may quote from a request: a short text of plain characters; anything else
# is described, never echoed.
_QUOTABLE = re.compile(r"[A-Za-z0-9._:/ -]{1,80}")


def quoted(value: str, instead: str) -> str:
    """``value`` if it may appear in an error description as it is, else ``instead``."""
    return value if _QUOTABLE.fullmatch(value) else instead


class OAuthError(Exception):
    """An error of the token, revocation or introspection endpoints (RFC 6749 §5.2)."""

    error: ClassVar[str] = "invalid_request"
    status_code: ClassVar[int] = 400

    def __init__(self, description: str, *, log_detail: str = "") -> None:
        super().__init__(description)
        self.description = _NOT_DESCRIPTION.sub("?", description)
        # Detail for the server log only, never sent to the client.
        self.log_detail = log_detail

    def headers(self) -> list[tuple[str, str]]:
        # RFC 6749 §5.1: responses carrying tokens or errors must not be cached.
        return [("cache-control", "no-store"), ("pragma", "no-cache")]

    def body(self) -> bytes:
        return orjson.dumps({"error": self.error, "error_description": self.description})


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    error = "invalid_client"
    status_code = 401

    def headers(self) -> list[tuple[str, str]]:
        # RFC 6749 §5.2: a 401 for invalid_client must carry WWW-Authenticate.
        return [*super().headers(), ("www-authenticate", 'Basic realm="gatehouse"')]


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class InvalidTarget(OAuthError):
    """RFC 8707 §2: the requested resource or audience is not acceptable."""

    error = "invalid_target"


class UnsupportedTokenType(OAuthError):
    """RFC 7009 §2.2.1."""

    error = "unsupported_token_type"


class RequestTooLarge(OAuthError):
    error = "invalid_request"
    status_code = 413


class MethodNotAllowed(OAuthError):
    error = "invalid_request"
    status_code = 405

    def headers(self) -> list[tuple[str, str]]:
        return [*super().headers(), ("allow", "POST")]


class TooManyRequests(OAuthError):
    """Brute-force protection or a quota tripped (RFC 6749 §2.3.1 asks servers to guard against
    brute force). RFC 6749 §5.2 has no rate-limit code and ``slow_down`` belongs to the device
    flow (RFC 8628 §3.5), so the body is ``invalid_request``; the status (429, RFC 6585 §4) and
    ``Retry-After`` say what happened."""

    error = "invalid_request"
    status_code = 429

    def __init__(self, description: str, *, retry_after: int) -> None:
        super().__init__(description)
        self.retry_after = max(1, retry_after)

    def headers(self) -> list[tuple[str, str]]:
        return [*super().headers(), ("retry-after", str(self.retry_after))]


class ServerError(OAuthError):
    error = "server_error"
    status_code = 500


class TemporarilyUnavailable(OAuthError):
    """The store cannot be reached and the answer is not in memory (RFC 6749 §4.1.2.1 names the
    code; a 503 with Retry-After, RFC 9110 §15.6.4, rather than a 500)."""

    error = "temporarily_unavailable"
    status_code = 503

    def __init__(self, description: str, *, retry_after: int = 1) -> None:
        super().__init__(description)
        self.retry_after = max(1, retry_after)

    def headers(self) -> list[tuple[str, str]]:
        return [*super().headers(), ("retry-after", str(self.retry_after))]


class ApiError(Exception):
    """An error of the v2 API, rendered as ``{"messages": [...], "request_id": ...}``."""

    def __init__(
        self,
        status_code: int,
        *messages: str,
        field_errors: dict[str, str] | None = None,
        resource_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(messages[0] if messages else str(status_code))
        self.status_code = status_code
        self.messages = list(messages)
        self.field_errors = field_errors
        self.resource_id = resource_id
        self.headers = headers or {}


class InvalidInput(ValueError):
    """Input that breaks a documented rule; ``field_errors`` maps each field to what is wrong."""

    def __init__(self, field_errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in field_errors.items()))
        self.field_errors = field_errors


class InvalidDPoPProof(OAuthError):
    """RFC 9449 §5: the DPoP proof is missing where required, malformed or invalid."""

    error = "invalid_dpop_proof"


class UseDPoPNonce(OAuthError):
    """RFC 9449 §8: the server requires a nonce in the proof; the one to use is in DPoP-Nonce."""

    error = "use_dpop_nonce"

    def __init__(self, description: str, *, nonce: str) -> None:
        super().__init__(description)
        self.nonce = nonce

    def headers(self) -> list[tuple[str, str]]:
        return [*super().headers(), ("dpop-nonce", self.nonce)]
